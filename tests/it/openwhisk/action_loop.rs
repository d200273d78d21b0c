//! The ActionLoop protocol itself, as the Go runtime's proxy drives the
//! binary: the acknowledgement, one result line per input line whatever the
//! line holds, the end of input, fd 3, CORS and header names.

use serde_json::json;

use super::harness::{ActionLoop, Fakes, web};
use crate::process;

fn status_request() -> serde_json::Value {
    web("get", "/status", json!({}), json!({}))
}

#[tokio::test]
async fn the_acknowledgement_comes_first_when_the_proxy_waits_for_it() {
    let fakes = Fakes::start().await.with("__OW_WAIT_FOR_ACK", "1");
    let mut action = ActionLoop::start(&fakes.env).await;
    assert_eq!(
        action.next_result().await,
        json!({"ok": true}),
        "before any input"
    );
    let status = action.invoke(&status_request()).await;
    assert_eq!(status["statusCode"], 200, "{status}");
}

#[tokio::test]
async fn started_with_no_arguments_by_the_go_proxy_it_speaks_the_action_loop() {
    // The proxy runs `<action>/bin/exec` with no arguments and exports
    // __OW_WAIT_FOR_ACK (when its OW_WAIT_FOR_ACK is set) and
    // __OW_EXECUTION_ENV, __OW_PROXY_VERSION.
    let fakes = Fakes::start()
        .await
        .with("__OW_WAIT_FOR_ACK", "1")
        .with("__OW_PROXY_VERSION", "1.24.0");
    let mut action = ActionLoop::start_as_exec(&fakes.env).await;
    assert_eq!(action.next_result().await, json!({"ok": true}));
    let status = action.invoke(&status_request()).await;
    assert_eq!(status["statusCode"], 200, "{status}");
}

#[tokio::test]
async fn without_the_variable_the_first_line_is_the_first_result() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    let status = action.invoke(&status_request()).await;
    assert_eq!(status["statusCode"], 200, "{status}");
    assert_eq!(
        status["body"],
        r#"{"code":200,"message":"OK","rev":"test-rev"}"#
    );
}

#[tokio::test]
async fn a_malformed_line_gets_an_error_result_and_the_loop_goes_on() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    for (line, says) in [
        ("this is not json", "not JSON"),
        ("[1,2,3]", "not a JSON object"),
        (r#"{"value":"text"}"#, "`value`"),
        (
            r#"{"value":{"__ow_method":"no such method"}}"#,
            "__ow_method",
        ),
    ] {
        action.send_line(line).await;
        let result = action.next_result().await;
        let error = result["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{result}"));
        assert!(error.contains(says), "{line}: {error}");
    }
    let status = action.invoke(&status_request()).await;
    assert_eq!(status["statusCode"], 200, "still serving: {status}");
}

#[tokio::test]
async fn the_end_of_input_ends_the_process_with_success_and_stdout_holds_no_result() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    assert_eq!(action.invoke(&status_request()).await["statusCode"], 200);
    let stdout = action.stdout.clone();
    let (status, stderr) = action.finish().await;
    assert!(
        !stdout.text().contains("statusCode"),
        "results go to fd 3 only: {}",
        stdout.text()
    );
    assert!(stderr.contains("end of input"), "{stderr}");
    assert!(status.success(), "{status:?}; stderr:\n{stderr}");
}

#[tokio::test]
async fn without_a_pipe_on_fd_3_it_stops_and_says_why() {
    let fakes = Fakes::start().await;
    let (code, _, stderr) = process::run(&fakes.env, &["openwhisk"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("file descriptor 3"), "{stderr}");
    assert!(
        stderr.contains("--http"),
        "it names the alternative: {stderr}"
    );
}

#[tokio::test]
async fn backfeed_adds_cors_headers_only_when_platform_cors_is_off() {
    let fakes = Fakes::start().await.with("BACKFEED_PLATFORM_CORS", "false");
    let mut action = ActionLoop::start(&fakes.env).await;
    let result = action
        .invoke(&web(
            "get",
            "",
            json!({"origin": "https://blog.example"}),
            json!({}),
        ))
        .await;
    assert_eq!(result["statusCode"], 400, "{result}");
    assert_eq!(result["headers"]["access-control-allow-origin"], "*");

    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    let result = action
        .invoke(&web(
            "get",
            "",
            json!({"origin": "https://blog.example"}),
            json!({}),
        ))
        .await;
    assert_eq!(result["statusCode"], 400, "{result}");
    assert!(
        result["headers"]
            .get("access-control-allow-origin")
            .is_none(),
        "{result}"
    );
}

#[tokio::test]
async fn header_names_are_taken_in_any_case_and_given_in_lower_case() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    fakes.blog.page("/posts/a/", "<p>post</p>");
    let result = action
        .invoke(&web(
            "post",
            "/webmention",
            json!({"Content-Type": "application/x-www-form-urlencoded"}),
            json!({"source": "https://elsewhere.example/reply", "target": fakes.blog.url("/posts/a/")}),
        ))
        .await;
    assert_eq!(result["statusCode"], 201, "{result}");
    let headers = result["headers"].as_object().expect("headers");
    assert!(headers.contains_key("location"), "{result}");
    for name in headers.keys() {
        assert_eq!(name, &name.to_ascii_lowercase(), "{result}");
    }
}
