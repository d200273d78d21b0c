//! A real PostgreSQL server for the tests, started from Debian's
//! `postgresql` binaries (never skipped: without them the tests panic and
//! say what to install).
//!
//! One shared server starts lazily, once per test-binary run, in a temporary
//! directory (`initdb --auth=trust`, a Unix socket in that directory, TCP on
//! 127.0.0.1 at a free port, fsync off); `fresh_database()` gives each test
//! its own empty database on it. Tests that stop and start the database use
//! a server of their own (`PgServer::start`), stopped and removed on drop.
//! PostgreSQL refuses to run as root, so under root the server runs as the
//! `postgres` system user. A statically held child is never dropped, so a
//! watchdog shell waits for the test binary to exit, then stops the server
//! (fast shutdown) and removes its directory.

// Not every test uses every helper.
#![allow(dead_code)]

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "apt-get install postgresql (as ./test.sh does)";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

static SHARED: OnceLock<PgServer> = OnceLock::new();

/// Creates an empty database on the shared server and returns its URL.
pub async fn fresh_database() -> String {
    let server = tokio::task::spawn_blocking(shared)
        .await
        .expect("starting PostgreSQL");
    server.fresh_database().await
}

/// The shared server, started on first use.
pub fn shared() -> &'static PgServer {
    SHARED.get_or_init(PgServer::start)
}

/// One PostgreSQL server in its own temporary directory.
pub struct PgServer {
    bin: PathBuf,
    /// Holds `data/`, the Unix socket and `postgres.log`.
    dir: PathBuf,
    pub port: u16,
    /// The unprivileged user and group to run as, when we are root.
    owner: Option<(u32, u32)>,
    postmaster: Mutex<Option<Child>>,
    watchdog: Mutex<Option<Child>>,
    databases: AtomicU64,
    /// Extra `-c name=value` settings (`{dir}` stands for `dir`).
    settings: Vec<String>,
}

impl PgServer {
    /// Initialises a cluster and starts it; blocks until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    /// Like [`Self::start`], with `files` written into the server's
    /// directory first (readable by the server's user only, as PostgreSQL
    /// wants a private key) and `settings` (`name=value`, where `{dir}`
    /// stands for that directory) given to the server.
    pub fn start_with(files: &[(&str, &[u8])], settings: &[&str]) -> Self {
        let bin = bin_dir();
        let owner = unprivileged_owner();
        let dir = tempfile::Builder::new()
            .prefix("backfeed-postgres-")
            .tempdir()
            .expect("temporary directory for PostgreSQL")
            .keep();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", dir.display()));
        }
        let data = dir.join("data");
        let output = command(&bin.join("initdb"), owner)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg("--no-sync")
            .output()
            .unwrap_or_else(|e| panic!("running initdb: {e}; {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "initdb failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for (name, contents) in files {
            let path = dir.join(name);
            fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            }
        }
        let directory = dir.to_string_lossy().into_owned();
        let server = Self {
            bin,
            dir,
            port: free_port(),
            owner,
            postmaster: Mutex::new(None),
            watchdog: Mutex::new(None),
            databases: AtomicU64::new(0),
            settings: settings
                .iter()
                .map(|s| s.replace("{dir}", &directory))
                .collect(),
        };
        *server.watchdog.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.spawn_watchdog());
        server.start_again();
        server
    }

    /// `postgres://postgres@127.0.0.1:PORT/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `t_<n>`, a new empty database, and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t_{}", self.databases.fetch_add(1, Ordering::SeqCst));
        // Over the Unix socket, which every server of ours accepts (one
        // that takes only TLS on TCP included).
        let (client, connection) = tokio_postgres::Config::new()
            .host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connecting to the test PostgreSQL");
        let connection = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        drop(client);
        let _ = connection.await;
        self.url(&name)
    }

    /// Starts the server (again) on the same directory and port, and waits
    /// until it accepts connections.
    pub fn start_again(&self) {
        let mut postmaster = self.postmaster.lock().unwrap_or_else(|p| p.into_inner());
        assert!(postmaster.is_none(), "PostgreSQL is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("PostgreSQL log file");
        let child = command(&self.bin.join("postgres"), self.owner)
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=500"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres: {e}; {INSTALL_HINT}"));
        *postmaster = Some(child);
        self.wait_until_ready(postmaster.as_mut().expect("just set"));
    }

    /// Stops the server with a fast shutdown (SIGINT: clients are
    /// disconnected, nothing is lost) and waits for it to exit.
    pub fn stop(&self) {
        let mut postmaster = self.postmaster.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut child) = postmaster.take() else {
            return;
        };
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "could not signal postgres");
        child.wait().expect("postgres exits");
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn wait_until_ready(&self, child: &mut Child) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("postgres exited ({status}) at start-up:\n{}", self.log());
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections within {READY_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and removes its directory once this test binary has
    /// exited, whichever way it exits (the shared server is never dropped).
    fn spawn_watchdog(&self) -> Child {
        const SCRIPT: &str = r#"
            test_pid=$1; dir=$2
            while kill -0 "$test_pid" 2>/dev/null; do sleep 1; done
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
            if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
                i=0
                # A clean shutdown removes postmaster.pid (the process may
                # linger as a zombie until its new parent reaps it).
                while [ -e "$dir/data/postmaster.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
                kill -KILL "$pid" 2>/dev/null
            fi
            rm -rf "$dir"
        "#;
        Command::new("sh")
            .args(["-c", SCRIPT, "watchdog"])
            .arg(std::process::id().to_string())
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the PostgreSQL watchdog")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
        let watchdog = self.watchdog.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut watchdog) = watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// A command that runs as `owner` when given (we are root).
fn command(program: &Path, owner: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(program);
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command.env("LC_ALL", "C").current_dir("/");
    command
}

/// The directory of `initdb` and `postgres`: `pg_config --bindir`, else
/// the newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> PathBuf {
    let complete = |dir: &Path| {
        ["initdb", "postgres", "pg_isready"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| complete(d)) {
        return dir;
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).unwrap_or_else(|| {
        panic!("PostgreSQL server binaries (initdb, postgres) not found: {INSTALL_HINT}")
    })
}

/// `Some((uid, gid))` of the `postgres` user when running as root.
fn unprivileged_owner() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let output = Command::new("id").args(args).output().ok()?;
        if !output.status.success() {
            return None;
        }
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    if id(&["-u"]).expect("`id -u` works") != 0 {
        return None;
    }
    let uid = id(&["-u", "postgres"]);
    let gid = id(&["-g", "postgres"]);
    match (uid, gid) {
        (Some(uid), Some(gid)) => Some((uid, gid)),
        _ => panic!("running as root needs the `postgres` system user: {INSTALL_HINT}"),
    }
}

/// A TCP port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}
