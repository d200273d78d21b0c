//! A real S3 API on loopback for the S3 store's tests: PyPI's `moto`
//! server, installed once into the venv `target/py-moto` from the pinned
//! `tests/s3/requirements.txt` (redone only when that file changes; a
//! failing install panics with pip's output, nothing is skipped), and
//! started once per run of this test binary, lazily, on a free port.
//!
//! The server must not outlive the test binary, whose end no test sees: it
//! runs under a small `sh` watchdog that kills it once our process is gone.
//! Each test gets its own new, empty bucket from [`fresh_bucket`].

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};

use crate::support_install::{PipTool, describe, ensure_pip_tool};

/// Pinned in `tests/s3/requirements.txt`.
const MOTO_VERSION: &str = "5.2.5";
/// Test credentials; moto accepts any.
pub const ACCESS_KEY_ID: &str = "backfeed-test-key";
pub const SECRET_ACCESS_KEY: &str = "backfeed-test-secret";
pub const REGION: &str = "us-east-1";

struct Moto {
    endpoint: String,
    log: PathBuf,
}

/// `s3://<new empty bucket>?endpoint=…&region=us-east-1`: no prefix, so the
/// seed's keys sit at the bucket's root as the seed writes them.
pub async fn fresh_bucket() -> String {
    fresh_bucket_with_prefix("").await
}

/// Like [`fresh_bucket`], with every key under `prefix`.
pub async fn fresh_bucket_with_prefix(prefix: &str) -> String {
    let moto = tokio::task::spawn_blocking(moto)
        .await
        .expect("starting moto");
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!(
        "backfeed-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {bucket} on moto: {e}\n{}", log_of(moto)));
    assert!(
        response.status().is_success(),
        "moto refused to create bucket {bucket}: {} {:?}",
        response.status(),
        response.text().await
    );
    format!(
        "s3://{bucket}/{prefix}?endpoint={}&region={REGION}",
        moto.endpoint
    )
}

/// `dynamodb://<new table name>?endpoint=…&region=us-east-1` on the same
/// moto server; the table does not exist yet: the store creates it.
pub async fn fresh_table() -> String {
    format!(
        "dynamodb://{}?endpoint={}&region={REGION}",
        fresh_table_name().await,
        moto_endpoint().await
    )
}

/// A table name no test used, with moto running.
pub async fn fresh_table_name() -> String {
    moto_endpoint().await;
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "backfeed-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The moto server's base URL (started when it is not running yet).
pub async fn moto_endpoint() -> String {
    tokio::task::spawn_blocking(|| moto().endpoint.clone())
        .await
        .expect("starting moto")
}

/// An object_store client for the bucket of a [`fresh_bucket`] URL, with the
/// test credentials passed explicitly: for reading and writing the bucket
/// behind backfeed's back.
pub fn direct_client(bucket_url: &str) -> AmazonS3 {
    let url = url::Url::parse(bucket_url).expect("bucket URL");
    let bucket = url.host_str().expect("bucket");
    AmazonS3Builder::new()
        .with_endpoint(moto().endpoint.clone())
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region(REGION)
        .with_access_key_id(ACCESS_KEY_ID)
        .with_secret_access_key(SECRET_ACCESS_KEY)
        .build()
        .expect("an S3 client")
}

/// Runs `code` with the venv's Python (boto3 is there, as in the seed),
/// with the test credentials and `ENDPOINT`, `BUCKET` in its environment;
/// returns its stdout.
pub fn python(bucket_url: &str, code: &str) -> String {
    let moto = moto();
    let url = url::Url::parse(bucket_url).expect("bucket URL");
    let output = Command::new(venv_dir().join("bin").join("python"))
        .args(["-c", code])
        .env("ENDPOINT", &moto.endpoint)
        .env("BUCKET", url.host_str().expect("bucket"))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .expect("running the venv's python");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        describe(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `code` with the venv's Python (boto3), with the test credentials
/// and `ENDPOINT` (the moto server) in its environment; returns its stdout.
pub async fn python_on_moto(code: &str) -> String {
    let endpoint = moto_endpoint().await;
    let output = Command::new(venv_dir().join("bin").join("python"))
        .args(["-c", code])
        .env("ENDPOINT", &endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .expect("running the venv's python");
    assert!(
        output.status.success(),
        "python failed:\n{}",
        describe(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A program of the moto venv (installed when missing): `cfn-lint` is
/// there, as a dependency of moto's server.
pub fn venv_program(name: &str) -> PathBuf {
    ensure_moto();
    venv_dir().join("bin").join(name)
}

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let server = ensure_moto();
        set_test_credentials();
        start(&server)
    })
}

/// backfeed's S3 store reads its credentials from the environment (as on
/// Lambda), so the test process must have them.
pub fn set_test_credentials() {
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
    ] {
        if std::env::var(name).as_deref() != Ok(value) {
            // SAFETY: done once per process, before any S3 store exists.
            // Rust's own environment reads are serialised with this write;
            // other tests' threads may still run C code that calls getenv,
            // which is the residual risk std warns about, accepted here
            // because the S3 store has no other way to get credentials.
            unsafe { std::env::set_var(name, value) };
        }
    }
}

fn start(server: &Path) -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let log = venv_dir().join(format!("moto-{}.log", std::process::id()));
    fs::write(&log, "").expect("moto log");
    // The watchdog: moto in the background, killed when our process (or
    // moto itself) is gone.
    let script = r#"
        "$1" -H 127.0.0.1 -p "$2" >>"$4" 2>&1 &
        moto=$!
        while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done
        kill "$moto" 2>/dev/null
    "#;
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(server)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto_server under sh");
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = watchdog.try_wait() {
            panic!(
                "moto_server stopped ({status}) before listening:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {address} within 60 s:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The watchdog is never waited for: it ends with this process.
    std::mem::forget(watchdog);
    Moto {
        endpoint: format!("http://{address}"),
        log,
    }
}

/// The request lines moto has logged for `bucket`, in order.
pub fn moto_requests(bucket: &str) -> Vec<String> {
    let moto = moto();
    let (key, listing) = (format!(" /{bucket}/"), format!(" /{bucket}?"));
    fs::read_to_string(&moto.log)
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.contains(" HTTP/1.") && (line.contains(&key) || line.contains(&listing))
        })
        .map(str::to_owned)
        .collect()
}

fn log_of(moto: &Moto) -> String {
    format!(
        "--- moto log\n{}",
        fs::read_to_string(&moto.log).unwrap_or_default()
    )
}

/// Creates the venv `target/py-moto` and installs the pinned requirements
/// there unless that install is current; returns `moto_server`.
fn ensure_moto() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let venv = venv_dir();
    let server = venv.join("bin").join("moto_server");
    ensure_pip_tool(
        &IN_PROCESS,
        &PipTool {
            requirements: &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join("s3")
                .join("requirements.txt"),
            pin: &format!("moto[server]=={MOTO_VERSION}"),
            venv: &venv,
            ready: &server,
            module: "moto",
            version: MOTO_VERSION,
        },
    );
    server
}

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("py-moto")
}
