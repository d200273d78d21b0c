//! A second, independent S3 API on loopback: `s3s-fs` from crates.io, which
//! serves a directory. It checks `If-None-Match` and `If-Match`, then writes
//! in a second step, so racing conditional writes can all succeed: the kind
//! of provider the S3 store must never lose data on.
//!
//! Installed once with `cargo install` into `target/s3s-fs` (a stamp names
//! the version; a file lock serialises test processes; several minutes on
//! two cores, the first time), started once per run of this test binary on
//! a free port with a fresh directory, under a `sh` watchdog that stops it
//! when this process is gone. Each test gets a new bucket (a directory).

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::support_install::{ensure_installed, run_install};
use crate::support_s3::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, set_test_credentials};

const VERSION: &str = "0.14.1";

struct S3sFs {
    endpoint: String,
    root: PathBuf,
}

/// `s3://<new empty bucket>?endpoint=…&region=us-east-1` on s3s-fs.
pub async fn fresh_bucket() -> String {
    let server = tokio::task::spawn_blocking(server)
        .await
        .expect("starting s3s-fs");
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!("backfeed-{}", COUNT.fetch_add(1, Ordering::Relaxed));
    // A bucket is a directory under the served root.
    fs::create_dir(server.root.join(&bucket)).expect("creating the bucket directory");
    format!(
        "s3://{bucket}/?endpoint={}&region={REGION}",
        server.endpoint
    )
}

fn server() -> &'static S3sFs {
    static SERVER: OnceLock<S3sFs> = OnceLock::new();
    SERVER.get_or_init(|| {
        let binary = ensure_s3s_fs();
        set_test_credentials();
        start(&binary)
    })
}

fn start(binary: &Path) -> S3sFs {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let root = tempfile::Builder::new()
        .prefix("backfeed-s3s-fs-")
        .tempdir()
        .expect("a directory for s3s-fs")
        .keep();
    let log = root.with_extension("log");
    fs::write(&log, "").expect("s3s-fs log");
    // The watchdog: s3s-fs in the background, stopped (and its directory
    // removed) when our process, or s3s-fs itself, is gone.
    let script = r#"
        "$1" --host 127.0.0.1 --port "$2" --access-key "$5" --secret-key "$6" "$3" >>"$4" 2>&1 &
        server=$!
        while kill -0 "$7" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
        kill "$server" 2>/dev/null
        rm -rf "$3" "$4"
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(binary)
        .arg(port.to_string())
        .arg(&root)
        .arg(&log)
        .args([ACCESS_KEY_ID, SECRET_ACCESS_KEY])
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting s3s-fs under sh");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = watchdog.try_wait() {
            panic!(
                "s3s-fs stopped ({status}) before listening:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "s3s-fs did not listen on {address} within 60 s:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The watchdog is never waited for: it ends with this process.
    std::mem::forget(watchdog);
    S3sFs {
        endpoint: format!("http://{address}"),
        root,
    }
}

/// `target/s3s-fs/bin/s3s-fs`, installed unless the stamped install is
/// there. Not under the workspace lock of a running `cargo test`: `cargo
/// install` builds in its own temporary directory.
fn ensure_s3s_fs() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("s3s-fs");
    let binary = root.join("bin").join("s3s-fs");
    ensure_installed(&IN_PROCESS, &root, VERSION, &binary, |dir| {
        run_install(
            Command::new(env!("CARGO"))
                .args(["install", "s3s-fs", "--locked", "--features", "binary"])
                .args(["--version", VERSION, "--root"])
                .arg(dir),
        );
    });
    assert!(binary.exists(), "{} is missing", binary.display());
    binary
}
