//! SQLite on a full disk: writes fail with a clear 503 and a JSON body,
//! nothing acknowledged is lost, the file stays consistent
//! (`PRAGMA integrity_check`), and the service recovers by itself when
//! space returns. The database lives on a small tmpfs this test mounts
//! (the tests run as root) and unmounts when it ends.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fake_blog::FakeBlog;
use crate::helpers::spawn_app_without_workers;

/// A tmpfs mounted on a fresh directory, unmounted (lazily, so open files
/// do not keep it) when dropped.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mount a tmpfs (the tests run as root)");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros into `dir/filler` until the file system has no space left.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    path
}

fn integrity(db: &Path) -> String {
    let connection = rusqlite::Connection::open(db).unwrap();
    connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_answers_503_loses_nothing_and_recovers() {
    let disk = Tmpfs::mount("2m");
    let db = disk.path().join("backfeed.db");
    let database_url = format!("sqlite://{}", db.display());
    let app = spawn_app_without_workers(|env| {
        env.insert("DATABASE_URL".into(), database_url);
    })
    .await;
    let sources = FakeBlog::start().await;
    let target = app.publish("full", "Full");
    assert_eq!(app.lookup(&target).await.status(), 200);

    let filler = fill(disk.path());
    // Free pages inside the file may take a few more writes; a growing
    // store soon needs more space than there is.
    let mut accepted = Vec::new();
    let mut refusal = None;
    for i in 0..500 {
        let source = sources.url(&format!("/reply/{i}"));
        let response = app.send_webmention(&source, &target).await;
        match response.status().as_u16() {
            201 => accepted.push(response.headers()["location"].to_str().unwrap().to_owned()),
            _ => {
                refusal = Some(response);
                break;
            }
        }
    }
    let refusal = refusal.expect("a full disk refuses a write within 500 webmentions");
    assert_eq!(refusal.status(), 503);
    assert_eq!(refusal.headers()["access-control-allow-origin"], "*");
    assert!(refusal.headers().contains_key("retry-after"));
    let body: serde_json::Value = refusal.json().await.expect("a JSON body");
    assert_eq!(body["code"], 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("store"),
        "the error says what is wrong: {body}"
    );
    // Reads still work, and the mapping answers as before.
    assert_eq!(app.lookup(&target).await.status(), 200);
    assert_eq!(integrity(&db), "ok", "no corruption while full");

    // Space returns: the service writes again, with no restart.
    std::fs::remove_file(filler).unwrap();
    let source = sources.url("/reply/after");
    let status_url = app.accepted_webmention(&source, &target).await;
    assert_eq!(app.get_json(&status_url).await["status"], "pending");
    let other = app.publish("after-full", "After");
    assert_eq!(app.lookup(&other).await.status(), 200);
    for location in &accepted {
        let status = app.get(location).await;
        assert_eq!(
            status.status(),
            200,
            "{location} was acknowledged and is kept"
        );
    }
    assert_eq!(integrity(&db), "ok", "no corruption after recovery");
}
