//! A real webmention receiver that no one here wrote accepts our
//! webmentions: PyPI's `django-webmention` (its view and middleware, in the
//! minimal Django site `tests/receivers/django_site.py`), installed once
//! into the venv `target/py-receivers` from the pinned
//! `tests/receivers/requirements.txt`, and run on loopback.
//!
//! It advertises its endpoint with an HTTP `Link` header on every page,
//! fetches the source itself (with `requests`), and stores the mention
//! when the source contains the target (202); when a re-sent source no
//! longer does, it answers 400 and marks the stored mention as no longer
//! current, which is what our update re-send to a removed link is for.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use backfeed::domain::sent::SendStatus;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use super::harness::{item, scene};
use crate::support_install::{PipTool, ensure_pip_tool};

/// Pinned in `tests/receivers/requirements.txt`.
const DJANGO_VERSION: &str = "5.2.19";

static INSTALL: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ensure_django_webmention() -> PathBuf {
    let venv = root().join("target").join("py-receivers");
    let python = venv.join("bin").join("python");
    ensure_pip_tool(
        &INSTALL,
        &PipTool {
            requirements: &root()
                .join("tests")
                .join("receivers")
                .join("requirements.txt"),
            pin: "django-webmention==4.0.0",
            venv: &venv,
            ready: &python,
            module: "django",
            version: DJANGO_VERSION,
        },
    );
    python
}

struct Receiver {
    _child: Child,
    base: String,
    python: PathBuf,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    async fn start(python: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("receiver.sqlite3");
        let mut child = Command::new(&python)
            .arg(root().join("tests/receivers/django_site.py"))
            .arg("serve")
            .arg(&db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the Django site");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the site starts within a minute")
            .unwrap()
            .expect("the site prints its port");
        let port = line
            .strip_prefix("PORT ")
            .expect("PORT <n>")
            .trim()
            .to_owned();
        Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            python,
            db,
            _dir: dir,
        }
    }

    /// What the receiver stored: `{source, target, current}` per mention.
    async fn received(&self) -> Vec<serde_json::Value> {
        let output = Command::new(&self.python)
            .arg(root().join("tests/receivers/django_site.py"))
            .arg("dump")
            .arg(&self.db)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

#[tokio::test]
async fn django_webmention_accepts_our_webmentions_and_sees_a_removed_link_go() {
    let python = ensure_django_webmention();
    let receiver = Receiver::start(python).await;
    let s = scene(|_| {}).await;
    let target = format!("{}/notes/hello/", receiver.base);
    let post = s.post("to-django", std::slice::from_ref(&target));
    s.feed(&[item(&post, "To Django", "1")]);

    let run = s.publish().await;

    assert_eq!(run.done.sent, 1, "{run:#?}");
    let sent = s.sent(&post).await;
    let record = sent.target(&Url::parse(&target).unwrap()).unwrap();
    assert_eq!(record.status, SendStatus::Sent);
    assert_eq!(record.http_status, Some(202));
    assert_eq!(
        record.endpoint.as_deref(),
        Some(format!("{}/webmention/receive", receiver.base).as_str()),
        "found in its Link header"
    );
    let stored = receiver.received().await;
    assert_eq!(
        stored,
        vec![serde_json::json!({"source": post, "target": target, "current": true})]
    );

    // The link is edited out: the re-send tells the receiver, which drops it.
    s.post("to-django", &[]);
    s.feed(&[item(&post, "To Django", "2")]);
    s.app.advance(std::time::Duration::from_secs(60));
    let edited = s.publish().await;

    assert_eq!(edited.scan.changed, 1, "{edited:#?}");
    let stored = receiver.received().await;
    assert_eq!(stored[0]["current"], false, "{stored:?}");
    let record = s.sent(&post).await.targets[0].clone();
    assert_eq!(record.http_status, Some(400), "{record:?}");
    assert!(
        record
            .answer
            .as_deref()
            .is_some_and(|a| a.contains("did not contain target")),
        "{record:?}"
    );
}
