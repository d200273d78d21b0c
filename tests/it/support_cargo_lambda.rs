//! `cargo lambda watch`, the local Lambda emulator most Rust users develop
//! with: PyPI's `cargo-lambda`, installed once into the venv
//! `target/py-cargo-lambda` from the pinned `tests/lambda/requirements.txt`
//! (redone only when that file changes; a failing install panics with pip's
//! output, nothing is skipped).
//!
//! It is installed without its dependencies: the wheel holds one static
//! binary, and its only dependency (ziglang, 400 MB) is for cross-compiling
//! builds, which the tests never do.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::support_install::{ensure_installed, run_install};

/// Pinned in `tests/lambda/requirements.txt`.
const CARGO_LAMBDA_VERSION: &str = "1.9.2";

/// Returns the `cargo-lambda` binary, installing it first unless the
/// install is current.
pub fn ensure_cargo_lambda() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("lambda")
        .join("requirements.txt");
    let pinned = fs::read_to_string(&requirements)
        .unwrap_or_else(|e| panic!("reading {}: {e}", requirements.display()));
    let pin = format!("cargo-lambda=={CARGO_LAMBDA_VERSION}");
    assert!(
        pinned.lines().any(|line| line.trim() == pin),
        "{} must pin {pin}",
        requirements.display()
    );
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("py-cargo-lambda");
    let binary = venv.join("bin").join("cargo-lambda");
    let stamp = crate::helpers::md5_hex(&pinned);
    ensure_installed(&IN_PROCESS, &venv, &stamp, &binary, |dir| {
        run_install(Command::new("python3").args(["-m", "venv"]).arg(dir));
        run_install(
            Command::new(dir.join("bin").join("python"))
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(["--no-input", "--no-deps", "-r"])
                .arg(&requirements),
        );
        // Cargo runs a subcommand as `cargo-lambda lambda …`.
        let version = run_install(
            Command::new(dir.join("bin").join("cargo-lambda")).args(["lambda", "--version"]),
        );
        let version = String::from_utf8_lossy(&version.stdout);
        assert!(
            version.starts_with(&format!("cargo-lambda {CARGO_LAMBDA_VERSION} ")),
            "pip installed another cargo-lambda: {version}"
        );
    });
    binary
}
