//! The seed's contract through every way AWS can deliver an HTTP request:
//! REST API (stage, base path mapping), HTTP API (named stage, `$default`)
//! and Function URL. The same assertions as `lookup.rs` makes against the
//! socket server, read back from the Lambda results.

use super::aws_events::{Deployment, Request, fixture};
use super::fake_runtime_api::Outcome;
use super::function::{HttpAnswer, LambdaFunction};

fn assert_cors(answer: &HttpAnswer, what: &str) {
    assert_eq!(
        answer.header("access-control-allow-origin").as_deref(),
        Some("*"),
        "{what}: {answer:?}"
    );
}

fn assert_seed_error(answer: &HttpAnswer, message: &str, what: &str) {
    assert_eq!(answer.status, 400, "{what}: {answer:?}");
    assert_cors(answer, what);
    assert_eq!(
        answer.body,
        format!(r#"{{"code":400,"error":"{message}"}}"#),
        "{what}"
    );
}

async fn the_seed_contract_holds(deployment: Deployment) {
    let mut function = LambdaFunction::start().await;

    let post = function.publish("hello", "Hello world");
    let answer = function.request(deployment, &Request::lookup(&post)).await;
    assert_eq!(answer.status, 200, "{answer:?}\n{}", function.output());
    assert_cors(&answer, "lookup");
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/json")
    );
    let statuses = function.mastodon.statuses();
    let toot_id = statuses[0]["id"].as_str().expect("ids are strings");
    let host = function.mastodon.base_url.trim_start_matches("http://");
    assert_eq!(
        answer.body,
        format!(r#"{{"host":"{host}","user":"testuser","toot_id":"{toot_id}"}}"#)
    );
    let again = function.request(deployment, &Request::lookup(&post)).await;
    assert_eq!(again.body, answer.body, "the mapping is stable");
    assert_eq!(function.mastodon.posts_received(), 1);

    for request in [Request::get("/"), Request::get("/").query("url", "")] {
        let answer = function.request(deployment, &request).await;
        assert_seed_error(&answer, "No `url` query argument provided", "no url");
    }
    function.blog.page("/about/", "<p>about</p>");
    let outside = Request::lookup(&function.blog.url("/about/"));
    let answer = function.request(deployment, &outside).await;
    assert_seed_error(
        &answer,
        "Provided `url` is not a handled",
        "outside the pattern",
    );
    let draft = Request::lookup(&function.blog.url("/posts/draft/"));
    let answer = function.request(deployment, &draft).await;
    assert_seed_error(&answer, "Post does not exist yet", "post page not 200");
    assert_eq!(function.mastodon.posts_received(), 1);

    let preflight = Request::options("/")
        .query("url", "x")
        .header("Origin", "https://blog.example")
        .header("Access-Control-Request-Method", "GET");
    let answer = function.request(deployment, &preflight).await;
    assert!((200..300).contains(&answer.status), "preflight: {answer:?}");
    assert_cors(&answer, "preflight");
    let methods = answer
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("GET"), "{answer:?}");

    let answer = function.request(deployment, &Request::get("/nope")).await;
    assert_eq!(answer.status, 404, "{answer:?}");
    assert_cors(&answer, "unknown route");
    assert_eq!(answer.json()["code"], 404);
}

#[tokio::test]
async fn the_seed_contract_holds_through_a_rest_api_stage() {
    the_seed_contract_holds(Deployment::RestStage).await;
}

#[tokio::test]
async fn the_seed_contract_holds_through_a_rest_api_base_path_mapping() {
    the_seed_contract_holds(Deployment::RestBasePath).await;
}

#[tokio::test]
async fn the_seed_contract_holds_through_an_http_api_named_stage() {
    the_seed_contract_holds(Deployment::HttpStage).await;
}

#[tokio::test]
async fn the_seed_contract_holds_through_an_http_api_default_stage() {
    the_seed_contract_holds(Deployment::HttpDefault).await;
}

#[tokio::test]
async fn the_seed_contract_holds_through_a_function_url() {
    the_seed_contract_holds(Deployment::FunctionUrl).await;
}

#[tokio::test]
async fn a_webmention_gets_201_with_a_location_where_the_client_sees_the_service() {
    let mut function = LambdaFunction::start().await;
    function.blog.page("/posts/target/", "<p>the post</p>");
    let target = function.blog.url("/posts/target/");
    for deployment in Deployment::ALL {
        let source = format!("https://alice.example/{deployment:?}/");
        let form = Request::form("/webmention", &[("source", &source), ("target", &target)]);
        let answer = function.request(deployment, &form).await;
        assert_eq!(answer.status, 201, "{deployment:?}: {answer:?}");
        assert_cors(&answer, "webmention");
        let body = answer.json();
        assert_eq!(body["status"], "pending", "{body}");
        let id = body["id"].as_i64().expect("an id");
        // The status URL carries the id and its signature.
        let route = body["location"].as_str().expect("a location").to_owned();
        assert!(
            route.starts_with(&format!("/webmention/status/{id}-")),
            "{route}"
        );
        assert_eq!(
            answer.header("location"),
            Some(format!("{}{route}", deployment.public_prefix())),
            "{deployment:?}"
        );

        let status = function.request(deployment, &Request::get(&route)).await;
        assert_eq!(status.status, 200, "{deployment:?}: {status:?}");
        assert_eq!(status.json()["source"], source, "{deployment:?}");
    }
}

#[tokio::test]
async fn every_recorded_event_as_it_is_gets_an_answer_in_its_format_with_cors() {
    let mut function = LambdaFunction::start().await;
    for deployment in Deployment::ALL {
        let result = match function.invoke(fixture(deployment.fixture())).await {
            Outcome::Response(result) => result,
            other => panic!("{deployment:?}: {other:?}\n{}", function.output()),
        };
        let answer = HttpAnswer::read(deployment, result);
        assert_cors(&answer, deployment.fixture());
        // The recorded requests name blog.example, which this blog is not;
        // the HTTP API one asks for /status.
        let expected = match deployment {
            Deployment::HttpStage => 200,
            _ => 400,
        };
        assert_eq!(answer.status, expected, "{deployment:?}: {answer:?}");
    }
}
