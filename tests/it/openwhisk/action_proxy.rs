//! The `/init` + `/run` protocol of blackbox actions (`--http`), as the
//! OpenWhisk invoker drives a container: one `/init`, then runs, each
//! ending its logs with the marker the invoker reads up to.

use std::time::Duration;

use serde_json::json;

use super::harness::{ActionProxy, Fakes, json_body, scheduled, web};

const SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";

#[tokio::test]
async fn init_accepts_code_it_does_not_need_and_only_once() {
    let fakes = Fakes::start().await;
    let proxy = ActionProxy::start(&fakes.env).await;
    let body = json!({"value": {
        "name": "backfeed", "main": "main", "binary": true, "code": "UEsDBAo=",
    }});
    let (status, answer) = proxy.post("/init", body.to_string()).await;
    assert_eq!((status, answer), (200, json!({"ok": true})));
    let (status, answer) = proxy.post("/init", body.to_string()).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].is_string(), "{answer}");
}

#[tokio::test]
async fn the_actions_environment_from_init_configures_the_app() {
    let fakes = Fakes::start().await;
    let proxy = ActionProxy::start(&fakes.env).await;
    let (status, answer) = proxy
        .init(json!({"VERSION": "from-init", "__OW_API_HOST": "https://functions.invalid"}))
        .await;
    assert_eq!((status, &answer), (200, &json!({"ok": true})));
    let result = proxy
        .invoke(&web("get", "/status", json!({}), json!({})))
        .await;
    assert_eq!(json_body(&result)["rev"], "from-init", "{result}");
}

#[tokio::test]
async fn an_invalid_environment_from_init_is_refused_with_its_reason() {
    let fakes = Fakes::start().await;
    let proxy = ActionProxy::start(&fakes.env).await;
    let (status, answer) = proxy.init(json!({"BACKFEED_FETCH_TIMEOUT": "soon"})).await;
    assert_eq!(status, 502, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("BACKFEED_FETCH_TIMEOUT"), "{error}");
}

#[tokio::test]
async fn a_malformed_run_is_a_400_with_an_error() {
    let fakes = Fakes::start().await;
    let proxy = ActionProxy::start(&fakes.env).await;
    for body in ["not json", r#"{"value": 3}"#] {
        let (status, answer) = proxy.post("/run", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    let (status, answer) = proxy.post("/elsewhere", "{}").await;
    assert_eq!(status, 404, "{answer}");
}

#[tokio::test]
async fn each_run_ends_both_log_streams_with_the_marker() {
    let fakes = Fakes::start().await;
    let proxy = ActionProxy::start(&fakes.env).await;
    let report = proxy.invoke(&scheduled()).await;
    assert_eq!(report["verifications"], 0, "a scheduled run: {report}");
    let status = proxy
        .invoke(&web("get", "/status", json!({}), json!({})))
        .await;
    assert_eq!(status["statusCode"], 200, "{status}");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = proxy.stdout.text().matches(SENTINEL).count();
        let err = proxy.stderr.text().matches(SENTINEL).count();
        if out == 2 && err == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "markers: {out} on stdout, {err} on stderr"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
