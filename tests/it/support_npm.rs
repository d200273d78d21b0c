//! Test fixtures that come from the npm registry: `ensure_npm_package`
//! fetches a package's files once into `target/npm/node_modules/<name>`.
//!
//! It uses `npm pack` and `tar` rather than `npm install`: the corpora we
//! read are plain files, and packing fetches only the package's own tarball,
//! so none of its (old, unneeded) dependencies are resolved and no install
//! scripts run. A missing package is fetched, never skipped: if npm or tar
//! fails, the test panics with their output. Concurrent tests (threads, or
//! separate processes under nextest) serialise on a file lock, and a package
//! appears under `node_modules` only once complete (staged, then renamed).

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Serialises installs within this process; the file lock covers other processes.
static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Returns `<repo>/target/npm/node_modules/<name>`, fetching `name@version`
/// there first unless that exact version is already present.
pub fn ensure_npm_package(name: &str, version: &str) -> PathBuf {
    let prefix = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("npm");
    let dest = prefix.join("node_modules").join(name);
    let _in_process = IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    fs::create_dir_all(&prefix).unwrap_or_else(|e| panic!("creating {}: {e}", prefix.display()));
    let lock_path = prefix.join(".install.lock");
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("opening {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if installed_version(&dest).as_deref() != Some(version) {
        install(name, version, &prefix, &dest);
    }
    dest
}

fn installed_version(dir: &Path) -> Option<String> {
    let manifest = fs::read_to_string(dir.join("package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    manifest.get("version")?.as_str().map(str::to_owned)
}

fn install(name: &str, version: &str, prefix: &Path, dest: &Path) {
    let staging = prefix.join(format!(".staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).unwrap_or_else(|e| panic!("creating {}: {e}", staging.display()));

    let spec = format!("{name}@{version}");
    run(Command::new("npm")
        .args(["pack", &spec, "--pack-destination"])
        .arg(&staging)
        .current_dir(&staging));
    let tarball = fs::read_dir(&staging)
        .unwrap_or_else(|e| panic!("reading {}: {e}", staging.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .unwrap_or_else(|| panic!("`npm pack {spec}` left no .tgz in {}", staging.display()));
    run(Command::new("tar")
        .args(["--no-same-owner", "-xzf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&staging));

    let unpacked = staging.join("package");
    let found = installed_version(&unpacked);
    assert_eq!(
        found.as_deref(),
        Some(version),
        "{spec}: the tarball holds version {found:?}"
    );
    if dest.exists() {
        fs::remove_dir_all(dest).unwrap_or_else(|e| panic!("removing {}: {e}", dest.display()));
    }
    let parent = dest.parent().expect("node_modules/<name> has a parent");
    fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    fs::rename(&unpacked, dest).unwrap_or_else(|e| panic!("moving into {}: {e}", dest.display()));
    let _ = fs::remove_dir_all(&staging);
}

/// Runs a command to completion, panicking with its output if it fails.
fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not start {command:?}: {e} (is it installed?)"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
