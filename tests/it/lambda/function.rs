//! The real binary as Lambda runs it: no subcommand (as `bootstrap`), the
//! variables Lambda sets, `AWS_LAMBDA_RUNTIME_API` pointing at the fake,
//! and the usual fake Mastodon and fake blog. Answers are read back in the
//! format of the event's source.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlResponse;
use base64::Engine;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;

use super::aws_events::{Deployment, Request, fixture};
use super::fake_runtime_api::{FakeRuntimeApi, Outcome};
use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process;

/// What an ordinary invocation may take before it counts as lost: generous,
/// for a loaded machine.
const INVOCATION_BUDGET: Duration = Duration::from_secs(60);
const WAIT_FOR_RESULT: Duration = Duration::from_secs(90);

pub struct LambdaFunction {
    pub api: FakeRuntimeApi,
    pub mastodon: FakeMastodon,
    pub blog: FakeBlog,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

/// The variables Lambda sets for a `provided.al2023` function.
pub fn lambda_variables(runtime_api: &str) -> HashMap<String, String> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "backfeed"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/backfeed"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef",
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("_HANDLER", "bootstrap"),
        ("TZ", ":UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

impl LambdaFunction {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the binary after `adjust` has changed its environment.
    pub async fn start_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Self {
        let api = FakeRuntimeApi::start().await;
        let mastodon = FakeMastodon::start().await;
        let blog = FakeBlog::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = test_env(&mastodon, &blog, &dir);
        env.extend(lambda_variables(&api.address));
        adjust(&mut env);
        let mut child = process::command(&env, &[])
            .spawn()
            .expect("spawn backfeed as bootstrap");
        let output = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take(), &output);
        collect_lines(child.stderr.take(), &output);
        Self {
            api,
            mastodon,
            blog,
            child,
            output,
            _dir: dir,
        }
    }

    /// Everything the process wrote so far (Lambda sends it to CloudWatch).
    pub fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// One invocation with an ordinary deadline.
    pub async fn invoke(&mut self, event: Value) -> Outcome {
        self.invoke_with_budget(event, INVOCATION_BUDGET).await
    }

    /// One invocation whose deadline is `budget` after it is handed over.
    pub async fn invoke_with_budget(&mut self, event: Value, budget: Duration) -> Outcome {
        match self.api.invoke(event, budget, WAIT_FOR_RESULT).await {
            Some(outcome) => outcome,
            None => {
                let status = self.child.try_wait();
                panic!(
                    "no result from the function (process: {status:?}); its output:\n{}",
                    self.output()
                )
            }
        }
    }

    /// Sends `request` as `deployment` delivers it; the answer must be a result.
    pub async fn request(&mut self, deployment: Deployment, request: &Request) -> HttpAnswer {
        let event = deployment.event(request);
        match self.invoke(event).await {
            Outcome::Response(result) => HttpAnswer::read(deployment, result),
            Outcome::Error { error_type, body } => panic!(
                "{request:?} via {deployment:?} got an error result {error_type}: {body}\n{}",
                self.output()
            ),
        }
    }

    /// The EventBridge scheduled event, with `budget` until its deadline;
    /// returns the jobs report.
    pub async fn scheduled_run(&mut self, budget: Duration) -> Value {
        match self
            .invoke_with_budget(fixture("eventbridge-scheduled.json"), budget)
            .await
        {
            Outcome::Response(report) => report,
            Outcome::Error { error_type, body } => {
                panic!(
                    "the scheduled run failed: {error_type}: {body}\n{}",
                    self.output()
                )
            }
        }
    }

    /// Publishes a post page on the fake blog and returns its URL.
    pub fn publish(&self, slug: &str, title: &str) -> String {
        self.blog.publish_post(slug, title)
    }
}

pub fn collect_lines(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    into: &Arc<Mutex<Vec<String>>>,
) {
    let Some(stream) = stream else { return };
    let into = Arc::clone(into);
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    });
}

/// An HTTP answer read back from a Lambda result.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    /// Lower-case names; REST answers keep each value apart, HTTP API
    /// answers carry one joined value.
    pub headers: BTreeMap<String, Vec<String>>,
    pub body: String,
}

impl HttpAnswer {
    /// Reads `result` in the format `deployment`'s source expects, and
    /// checks that it is that format.
    pub fn read(deployment: Deployment, result: Value) -> Self {
        assert_aws_shape(deployment, &result);
        let status = result["statusCode"]
            .as_u64()
            .unwrap_or_else(|| panic!("no statusCode: {result}"));
        let headers = if deployment.is_rest() {
            assert!(
                result
                    .get("headers")
                    .is_none_or(|h| h.as_object().is_some_and(|h| h.is_empty())),
                "a REST answer keeps its headers in multiValueHeaders: {result}"
            );
            object(&result["multiValueHeaders"])
                .iter()
                .map(|(name, values)| {
                    let values = values
                        .as_array()
                        .unwrap_or_else(|| panic!("{name}: not a list: {result}"))
                        .iter()
                        .map(|v| v.as_str().unwrap_or_default().to_owned())
                        .collect();
                    (name.to_ascii_lowercase(), values)
                })
                .collect()
        } else {
            assert!(
                result.get("multiValueHeaders").is_none(),
                "HTTP API and Function URL answers have no multiValueHeaders: {result}"
            );
            object(&result["headers"])
                .iter()
                .map(|(name, value)| {
                    let value = value.as_str().unwrap_or_default().to_owned();
                    (name.to_ascii_lowercase(), vec![value])
                })
                .collect()
        };
        let text = result["body"].as_str().unwrap_or_default();
        let body = if result["isBase64Encoded"] == true {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("a base64 body");
            String::from_utf8(bytes).expect("a text body")
        } else {
            text.to_owned()
        };
        Self {
            status: u16::try_from(status).expect("a status code"),
            headers,
            body,
        }
    }

    /// The header's values joined as one (as an HTTP client would see them).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|values| values.join(", "))
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Lambda itself is lenient, but tools built on `aws_lambda_events` (the
/// emulator of `cargo lambda watch` among them) read an answer into that
/// crate's type for its source and refuse one that does not fit.
fn assert_aws_shape(deployment: Deployment, result: &Value) {
    let read = match deployment {
        Deployment::RestStage | Deployment::RestBasePath => {
            serde_json::from_value::<ApiGatewayProxyResponse>(result.clone()).map(drop)
        }
        Deployment::HttpStage | Deployment::HttpDefault => {
            serde_json::from_value::<ApiGatewayV2httpResponse>(result.clone()).map(drop)
        }
        Deployment::FunctionUrl => {
            serde_json::from_value::<LambdaFunctionUrlResponse>(result.clone()).map(drop)
        }
    };
    if let Err(error) = read {
        panic!("not a {deployment:?} answer as aws_lambda_events reads it: {error}\n{result}");
    }
}

fn object(value: &Value) -> serde_json::Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
