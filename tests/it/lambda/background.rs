//! What a frozen-between-invocations process needs: webmentions accepted in
//! one invocation and verified by a later scheduled one (or inside their own
//! request with inline verification), scheduled runs that end before their
//! deadline, and events that are not for this function answered with an
//! error result while the process keeps serving.

use std::time::Duration;

use serde_json::json;

use super::aws_events::{Deployment, Request};
use super::fake_runtime_api::Outcome;
use super::function::{LambdaFunction, lambda_variables};
use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process;

fn reply_html(target: &str) -> String {
    format!(
        r#"<article class="h-entry"><p class="e-content">Agreed.</p>
        <a class="u-in-reply-to" href="{target}">re</a></article>"#
    )
}

struct Mention {
    route: String,
    source_site: FakeBlog,
}

/// Sends a webmention for a reply on another site; returns its status route.
async fn send_webmention(function: &mut LambdaFunction) -> (Mention, serde_json::Value) {
    let source_site = FakeBlog::start().await;
    function.blog.page("/posts/a/", "<p>post</p>");
    let target = function.blog.url("/posts/a/");
    source_site.page("/reply/", &reply_html(&target));
    let source = source_site.url("/reply/");
    let form = Request::form("/webmention", &[("source", &source), ("target", &target)]);
    let answer = function.request(Deployment::FunctionUrl, &form).await;
    assert_eq!(answer.status, 201, "{answer:?}\n{}", function.output());
    let body = answer.json();
    let route = answer.header("location").expect("a Location");
    (Mention { route, source_site }, body)
}

async fn status_of(function: &mut LambdaFunction, route: &str) -> serde_json::Value {
    let answer = function
        .request(Deployment::FunctionUrl, &Request::get(route))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json()["status"].clone()
}

#[tokio::test]
async fn a_scheduled_event_verifies_a_webmention_accepted_in_an_earlier_invocation() {
    let mut function = LambdaFunction::start().await;
    let (mention, accepted) = send_webmention(&mut function).await;
    assert_eq!(accepted["status"], "pending");
    assert_eq!(status_of(&mut function, &mention.route).await, "pending");
    assert_eq!(
        mention.source_site.hits("/reply/"),
        0,
        "no background worker runs between invocations"
    );

    let report = function.scheduled_run(Duration::from_secs(60)).await;

    assert_eq!(
        report["verifications"],
        1,
        "{report}\n{}",
        function.output()
    );
    assert_eq!(report["stopped_early"], false, "{report}");
    assert_eq!(mention.source_site.hits("/reply/"), 1);
    assert_eq!(status_of(&mut function, &mention.route).await, "verified");
    let again = function.scheduled_run(Duration::from_secs(60)).await;
    assert_eq!(
        again["verifications"], 0,
        "nothing is verified twice: {again}"
    );
}

#[tokio::test]
async fn a_scheduled_event_starts_nothing_it_cannot_finish_before_its_deadline() {
    // A verification may take the fetch timeout (3 s in tests) plus 1 s;
    // 5 s before the deadline, less the 2 s safety margin, leaves 3 s.
    let mut function = LambdaFunction::start().await;
    let (mention, _) = send_webmention(&mut function).await;

    // Not timed here (a loaded machine would make that flaky): the report
    // shows that no verification was started.
    let report = function.scheduled_run(Duration::from_secs(5)).await;

    assert_eq!(report["verifications"], 0, "{report}");
    assert_eq!(
        report["stopped_early"], true,
        "left for the next run: {report}"
    );
    assert_eq!(mention.source_site.hits("/reply/"), 0);
    assert_eq!(status_of(&mut function, &mention.route).await, "pending");
}

#[tokio::test]
async fn with_inline_verification_the_201_already_says_verified() {
    let mut function = LambdaFunction::start_with(|env| {
        env.insert("BACKFEED_VERIFY_INLINE".into(), "true".into());
    })
    .await;
    let (mention, accepted) = send_webmention(&mut function).await;
    assert_eq!(accepted["status"], "verified", "{accepted}");
    assert_eq!(mention.source_site.hits("/reply/"), 1);
    assert_eq!(status_of(&mut function, &mention.route).await, "verified");
}

#[tokio::test]
async fn events_not_for_this_function_get_an_error_result_and_the_next_event_is_served() {
    let mut function = LambdaFunction::start().await;
    let s3_notification =
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]});
    let broken_body = {
        let mut event = Deployment::FunctionUrl.event(&Request::form("/webmention", &[]));
        event["body"] = json!("this is not base64!");
        event
    };
    let cases = [
        (s3_notification, "Backfeed.UnrecognisedEvent", "Records"),
        (
            json!("ping"),
            "Backfeed.UnrecognisedEvent",
            "not a JSON object",
        ),
        (
            json!({"version": "2.0", "requestContext": {"http": {"method": "NOT A METHOD"}}}),
            "Backfeed.MalformedEvent",
            "HTTP API",
        ),
        (broken_body, "Backfeed.BadRequest", "base64"),
    ];
    for (event, expected_type, expected_words) in cases {
        match function.invoke(event.clone()).await {
            // The runtime client sends `unhandled` as the header's type;
            // the body says which error it was.
            Outcome::Error { body, .. } => {
                assert_eq!(body["errorType"], expected_type, "{event}: {body}");
                let message = body["errorMessage"].as_str().unwrap_or_default();
                assert!(message.contains(expected_words), "{event}: {message}");
            }
            Outcome::Response(result) => panic!("{event} got a result: {result}"),
        }
        assert!(function.is_running(), "{}", function.output());
    }

    let answer = function
        .request(Deployment::FunctionUrl, &Request::get("/status"))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(function.is_running());
    assert!(
        !function.output().contains("panicked"),
        "{}",
        function.output()
    );
    assert!(function.api.init_errors().is_empty());
}

#[tokio::test]
async fn without_the_variables_lambda_sets_the_binary_stops_with_a_message_not_a_panic() {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.extend(lambda_variables("127.0.0.1:9"));
    env.remove("AWS_LAMBDA_FUNCTION_NAME");
    let (code, _, stderr) = process::run(&env, &[]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("AWS_LAMBDA_FUNCTION_NAME"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn the_sam_template_declares_what_the_guide_relies_on() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aws/template.yaml");
    let template = std::fs::read_to_string(path).expect("deploy/aws/template.yaml");
    for needed in [
        "Runtime: provided.al2023",
        "Handler: bootstrap",
        "CodeUri: ../../target/lambda/backfeed/",
        "AuthType: NONE",
        "Type: AWS::S3::Bucket",
        "Schedule: rate(5 minutes)",
        "- !Sub s3://${StoreBucket}/backfeed?region=${AWS::Region}",
        "- !Sub dynamodb://${StoreTable}?region=${AWS::Region}",
        "Type: AWS::DynamoDB::Table",
        "BillingMode: PAY_PER_REQUEST",
        "AttributeName: x",
        "dynamodb:Query",
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "NoEcho: true",
        "FunctionUrl",
        // A queued thread refresh costs about ten store requests, most of
        // a typical month's bill (bench/cost.sh).
        "BACKFEED_THREAD_REFRESH_INLINE: \"true\"",
    ] {
        assert!(template.contains(needed), "the template lacks `{needed}`");
    }
    // A Function URL with CORS configured would add a second
    // Access-Control-Allow-Origin beside backfeed's own.
    assert!(
        !template.contains("Cors:"),
        "no CORS in the Function URL configuration"
    );
    assert!(
        !template.contains("s3:*") && !template.contains("dynamodb:*"),
        "least privilege: no wildcard actions"
    );
    // A scheduled run stops `jobs::PLATFORM_MARGIN` (2 s) before the
    // timeout and starts a job only while a lease (twice the default
    // Mastodon timeout, 20 s, plus 2 s) and 1 s more fit: a shorter
    // timeout and no job ever runs on the schedule.
    let timeout: u64 = template
        .lines()
        .find_map(|line| line.trim().strip_prefix("Timeout: "))
        .and_then(|t| t.trim().parse().ok())
        .expect("the function's Timeout");
    let (margin, lease, spare) = (2, 2 * 20 + 2, 1);
    assert!(timeout >= margin + lease + spare, "Timeout: {timeout}");
}

/// AWS's own linter (from the moto venv) reads the template, the SAM
/// transform and both store choices included, without an error.
#[test]
fn the_sam_template_passes_cfn_lint() {
    let template =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/aws/template.yaml");
    let output = std::process::Command::new(crate::support_s3::venv_program("cfn-lint"))
        .arg(&template)
        .output()
        .expect("running cfn-lint");
    assert!(
        output.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The fediverse inbox on Lambda: verified and answered within the request
/// (202), the work left on the queue for the next scheduled run, which
/// sends the signed `Accept`.
#[tokio::test]
async fn the_inbox_answers_within_the_request_and_a_scheduled_run_sends_the_accept() {
    let peer = crate::fake_fediverse::FakeFediverse::start().await;
    let mut function = LambdaFunction::start_with(|env| {
        env.insert("BACKFEED_ACTIVITYPUB".into(), "true".into());
        env.insert("BACKFEED_PUBLIC_URL".into(), "https://fn.example/".into());
    })
    .await;
    let follow = peer.follow("https://fn.example/ap/actor");
    let body = follow.to_string();
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut request = Request {
        method: "POST",
        body: Some(body.clone()),
        ..Request::get("/ap/inbox")
    };
    for (name, value) in peer.sign_post(
        "https://fn.example/ap/inbox",
        "fn.example",
        &date,
        body.as_bytes(),
    ) {
        request = request.header(&name, &value);
    }
    let answer = function.request(Deployment::FunctionUrl, &request).await;
    assert_eq!(answer.status, 202, "{answer:?}\n{}", function.output());
    assert!(
        peer.delivered().is_empty(),
        "no background worker runs between invocations"
    );

    let report = function.scheduled_run(Duration::from_secs(60)).await;
    let delivered = peer.delivered();
    assert_eq!(delivered.len(), 1, "{report}\n{}", function.output());
    assert_eq!(delivered[0].path, "/users/alice/inbox");
    assert_eq!(delivered[0].json()["type"], "Accept");
}
