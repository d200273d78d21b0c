//! Installing test tools from package registries, once: a directory holds a
//! complete install stamped with the hash of what was asked for, or it is
//! wiped and installed again. Serialised within the process and, by a file
//! lock beside the directory, across processes. Failures panic with the
//! tool's output; nothing is ever skipped.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

pub fn describe(output: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Makes `dir` hold a complete install stamped `stamp` that has `ready` in
/// it: unless it already does, wipes it and runs `install` in it, then
/// writes the stamp (so an interrupted install is redone). Serialised by
/// `in_process` within this process and by a file lock beside `dir` across
/// processes.
pub fn ensure_installed(
    in_process: &Mutex<()>,
    dir: &Path,
    stamp: &str,
    ready: &Path,
    install: impl FnOnce(&Path),
) {
    let _in_process = in_process
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let parent = dir.parent().expect("an install dir has a parent");
    fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    let name = dir.file_name().expect("an install dir has a name");
    let lock_path = parent.join(format!(".{}.lock", name.to_string_lossy()));
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("opening {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    let stamp_path = dir.join(".backfeed-install-stamp");
    if ready.exists() && fs::read_to_string(&stamp_path).is_ok_and(|found| found == stamp) {
        return;
    }
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("removing {}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    install(dir);
    fs::write(&stamp_path, stamp)
        .unwrap_or_else(|e| panic!("writing {}: {e}", stamp_path.display()));
}

/// Runs an install step to completion, panicking with its output if it fails.
pub fn run_install(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("could not start {command:?}: {e} (is it installed?)"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        describe(&output)
    );
    output
}

/// A Python tool pinned in a requirements file, installed into its own venv.
pub struct PipTool<'a> {
    /// The pinned requirements (`pip freeze` style).
    pub requirements: &'a Path,
    /// The line the requirements must hold, e.g. `moto[server]==5.2.5`.
    pub pin: &'a str,
    /// The venv, under `target/`.
    pub venv: &'a Path,
    /// A file in the venv that exists once the install is complete.
    pub ready: &'a Path,
    /// The module whose `__version__` must equal `version`.
    pub module: &'a str,
    pub version: &'a str,
}

/// Creates `tool.venv` and installs `tool.requirements` there unless that
/// install is current (stamped with the requirements' hash), then checks
/// the module's version.
pub fn ensure_pip_tool(in_process: &Mutex<()>, tool: &PipTool<'_>) {
    let requirements = fs::read_to_string(tool.requirements)
        .unwrap_or_else(|e| panic!("reading {}: {e}", tool.requirements.display()));
    assert!(
        requirements.lines().any(|line| line.trim() == tool.pin),
        "{} must pin {}",
        tool.requirements.display(),
        tool.pin
    );
    let python = tool.venv.join("bin").join("python");
    let stamp = crate::helpers::md5_hex(&requirements);
    ensure_installed(in_process, tool.venv, &stamp, tool.ready, |dir| {
        run_install(Command::new("python3").args(["-m", "venv"]).arg(dir));
        run_install(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check"])
                .args(["--no-input", "-r"])
                .arg(tool.requirements),
        );
        let check = format!("import {0}; print({0}.__version__)", tool.module);
        let version = run_install(Command::new(&python).args(["-c", &check]));
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            tool.version,
            "pip installed another {}",
            tool.module
        );
    });
    assert!(tool.ready.exists(), "{} is missing", tool.ready.display());
}
