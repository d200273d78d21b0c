//! `POST /webmention` through activations, in every shape the web gateway
//! may give its body, and what becomes of an accepted webmention when the
//! platform freezes the process after the answer: it waits in the store
//! for the scheduled activation, or with `BACKFEED_VERIFY_INLINE` it is
//! verified within the request.

use serde_json::{Value, json};

use super::harness::{ActionLoop, Fakes, json_body, scheduled, web, web_raw};
use crate::fake_blog::FakeBlog;

const FORM: &str = "application/x-www-form-urlencoded";

fn reply_html(target: &str) -> String {
    format!(
        r#"<article class="h-entry"><p class="e-content">Agreed.</p>
        <a class="u-in-reply-to" href="{target}">re</a></article>"#
    )
}

fn form(source: &str, target: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("source", source)
        .append_pair("target", target)
        .finish()
}

/// The webmention's status through an activation: `GET` its `Location`.
async fn status_of(action: &mut ActionLoop, accepted: &Value) -> String {
    let location = accepted["headers"]["location"].as_str().expect("Location");
    let result = action
        .invoke(&web("get", location, json!({}), json!({})))
        .await;
    assert_eq!(result["statusCode"], 200, "{result}");
    json_body(&result)["status"]
        .as_str()
        .expect("a status")
        .to_owned()
}

#[tokio::test]
async fn a_webmention_form_is_accepted_merged_plain_or_base64() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    fakes.blog.page("/posts/a/", "<p>post</p>");
    let target = fakes.blog.url("/posts/a/");
    let body = form("https://elsewhere.example/one", &target);
    let activations = [
        // `web: true`: the gateway parses the form into parameters.
        web(
            "post",
            "/webmention",
            json!({"content-type": FORM}),
            json!({"source": "https://elsewhere.example/merged", "target": target}),
        ),
        // `web: raw`: the form as it came, as text.
        web_raw(
            "post",
            "/webmention",
            "",
            json!({"content-type": FORM}),
            &body,
        ),
        // A form that was base64-encoded on the way.
        web_raw(
            "post",
            "/web-mentions",
            "",
            json!({"content-type": FORM}),
            &base64(form("https://elsewhere.example/two", &target).as_bytes()),
        ),
    ];
    for activation in &activations {
        let result = action.invoke(activation).await;
        assert_eq!(result["statusCode"], 201, "{activation}\n{result}");
        assert_eq!(json_body(&result)["status"], "pending", "{result}");
    }
}

#[tokio::test]
async fn a_binary_body_is_decoded_and_refused_as_not_a_form() {
    let fakes = Fakes::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    let result = action
        .invoke(&web_raw(
            "post",
            "/webmention",
            "",
            json!({"content-type": "application/octet-stream"}),
            &base64(&[0, 159, 146, 150, 255]),
        ))
        .await;
    assert_eq!(result["statusCode"], 400, "{result}");
    let error = json_body(&result)["error"].as_str().unwrap().to_owned();
    assert!(error.contains("application/octet-stream"), "{error}");
}

#[tokio::test]
async fn a_scheduled_activation_verifies_what_requests_left_pending() {
    let fakes = Fakes::start().await;
    let sources = FakeBlog::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    fakes.blog.page("/posts/a/", "<p>post</p>");
    let target = fakes.blog.url("/posts/a/");
    sources.page("/reply/", &reply_html(&target));

    let accepted = action
        .invoke(&web(
            "post",
            "/webmention",
            json!({"content-type": FORM}),
            json!({"source": sources.url("/reply/"), "target": target}),
        ))
        .await;
    assert_eq!(accepted["statusCode"], 201, "{accepted}");
    assert_eq!(status_of(&mut action, &accepted).await, "pending");
    assert_eq!(
        sources.hits("/reply/"),
        0,
        "nothing runs between activations"
    );

    let report = action.invoke(&scheduled()).await;
    assert_eq!(report["verifications"], 1, "{report}");
    assert_eq!(report["stopped_early"], false, "{report}");
    assert_eq!(status_of(&mut action, &accepted).await, "verified");

    let again = action.invoke(&scheduled()).await;
    assert_eq!(again["verifications"], 0, "nothing twice: {again}");
}

#[tokio::test]
async fn with_inline_verification_the_request_itself_verifies() {
    let fakes = Fakes::start().await.with("BACKFEED_VERIFY_INLINE", "true");
    let sources = FakeBlog::start().await;
    let mut action = ActionLoop::start(&fakes.env).await;
    fakes.blog.page("/posts/a/", "<p>post</p>");
    let target = fakes.blog.url("/posts/a/");
    sources.page("/reply/", &reply_html(&target));

    let accepted = action
        .invoke(&web(
            "post",
            "/webmention",
            json!({"content-type": FORM}),
            json!({"source": sources.url("/reply/"), "target": target}),
        ))
        .await;
    assert_eq!(accepted["statusCode"], 201, "{accepted}");
    assert_eq!(json_body(&accepted)["status"], "verified", "{accepted}");
    assert_eq!(sources.hits("/reply/"), 1);
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
