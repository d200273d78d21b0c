//! `backfeed mastodon login <instance>`: registers backfeed on the
//! instance, has the owner authorise it in a browser, exchanges the code
//! for a token, checks the token (its scopes, and whose it is), and writes
//! `MASTODON_HOST`, `MASTODON_USER` and `MASTODON_OAUTH_TOKEN` into the
//! file named (`--env-file` for `KEY=value` lines, `--config` for the TOML
//! file), or prints them as `export` lines.
//!
//! Runs before any configuration is loaded: it is how a first
//! configuration gets written. Messages go to standard error; standard
//! output carries only the `export` lines, so `eval "$(…)"` works.
//! Invariant: a file written holds the token, so it is replaced whole
//! (written aside, then renamed) with mode 0600, and its other lines are
//! kept as they were.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::clients::http::FetchPolicy;
use crate::clients::mastodon::oauth::{LoginError, MastodonOAuth, RegisteredApp, missing_scopes};
use crate::config::{MastodonBase, Secret};

#[derive(clap::Subcommand)]
pub enum MastodonCommand {
    /// Register backfeed on your instance, authorise it in a browser, and
    /// save the token (MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN).
    ///
    /// Writes into --env-file FILE (KEY=value lines, as systemd's
    /// EnvironmentFile and `docker --env-file` read) or into the TOML file
    /// given with --config; with neither, prints `export` lines.
    Login(LoginArgs),
}

#[derive(clap::Args)]
pub struct LoginArgs {
    /// Your instance: a host name (mastodon.social) or a base URL
    /// (http://127.0.0.1:3000).
    instance: String,
    /// The authorisation code, instead of pasting it when asked. It belongs
    /// to one registered application: give that application's
    /// --client-id and --client-secret (printed by the first run).
    #[arg(long, requires_all = ["client_id", "client_secret"])]
    code: Option<String>,
    /// The application registered by an earlier run (skips registering).
    #[arg(long, requires = "client_secret", value_name = "ID")]
    client_id: Option<String>,
    /// That application's secret.
    #[arg(long, requires = "client_id", value_name = "SECRET")]
    client_secret: Option<String>,
    /// Write the settings into this file of KEY=value lines (created with
    /// mode 0600; other lines are kept).
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
}

/// Where the settings go.
pub enum Output<'a> {
    EnvFile(&'a Path),
    TomlFile(&'a Path),
    Exports,
}

pub async fn run(command: &MastodonCommand, config_file: Option<&Path>) -> Result<(), String> {
    let MastodonCommand::Login(args) = command;
    let output = match (&args.env_file, config_file) {
        (Some(_), Some(_)) => {
            return Err("give --env-file or --config, not both".to_owned());
        }
        (Some(path), None) => Output::EnvFile(path),
        (None, Some(path)) => Output::TomlFile(path),
        (None, None) => Output::Exports,
    };
    login(args, &output).await.map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Login(#[from] LoginError),
    #[error("`{0}`")]
    Instance(String),
    #[error("no authorisation code was given")]
    NoCode,
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

async fn login(args: &LoginArgs, output: &Output<'_>) -> Result<(), Failure> {
    let base = MastodonBase::parse(&args.instance).map_err(Failure::Instance)?;
    let oauth = MastodonOAuth::new(base.clone(), &FetchPolicy::default())
        .map_err(|e| Failure::Client(e.to_string()))?;
    let scopes = oauth.scopes_to_request().await?;
    let app = match (&args.client_id, &args.client_secret) {
        (Some(id), Some(secret)) => RegisteredApp {
            client_id: id.clone(),
            client_secret: Secret::new(secret.clone()),
        },
        _ => {
            let app = oauth.register(&scopes).await?;
            eprintln!("Registered backfeed on {}.", base.host);
            app
        }
    };
    let code = match &args.code {
        Some(code) => code.clone(),
        None => ask_for_code(&oauth, &app, &scopes, &args.instance).await?,
    };
    let token = oauth.exchange(&app, &code, &scopes).await?;
    let missing = missing_scopes(&token.scopes);
    if !token.scopes.is_empty() && !missing.is_empty() {
        return Err(LoginError::MissingScope { missing }.into());
    }
    let account = oauth
        .verify_credentials(token.access_token.expose())
        .await?;
    eprintln!(
        "Signed in as @{}@{}; the token may {}.",
        account.username,
        base.host,
        if token.scopes.is_empty() {
            scopes.clone()
        } else {
            token.scopes.join(" ")
        }
    );
    let settings = [
        ("MASTODON_HOST", host_setting(&base)),
        ("MASTODON_USER", account.username.clone()),
        (
            "MASTODON_OAUTH_TOKEN",
            token.access_token.expose().to_owned(),
        ),
    ];
    match output {
        Output::Exports => {
            for (name, value) in &settings {
                println!("export {name}={}", shell_quote(value));
            }
        }
        Output::EnvFile(path) => {
            let text = read_or_empty(path)?;
            write_private(path, &set_env_lines(&text, &settings))?;
            eprintln!(
                "Wrote MASTODON_HOST, MASTODON_USER and MASTODON_OAUTH_TOKEN to {} (mode 0600).",
                path.display()
            );
        }
        Output::TomlFile(path) => {
            let text = read_or_empty(path)?;
            let keys = [
                ("host", settings[0].1.clone()),
                ("user", settings[1].1.clone()),
                ("token", settings[2].1.clone()),
            ];
            write_private(path, &set_toml_keys(&text, "mastodon", &keys))?;
            eprintln!(
                "Wrote [mastodon] host, user and token to {} (mode 0600).",
                path.display()
            );
        }
    }
    Ok(())
}

async fn ask_for_code(
    oauth: &MastodonOAuth,
    app: &RegisteredApp,
    scopes: &str,
    instance: &str,
) -> Result<String, Failure> {
    eprintln!(
        "Open this address in a browser, sign in as the account that should post, and allow backfeed:\n\n  {}\n",
        oauth.authorize_url(app, scopes)
    );
    eprintln!(
        "(To finish from a script instead: backfeed mastodon login {instance} --client-id {} --client-secret {} --code CODE)",
        app.client_id,
        app.client_secret.expose()
    );
    eprint!("Paste the code the instance shows: ");
    let _ = std::io::stderr().flush();
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let line = read.map_err(|source| Failure::Read {
        path: "standard input".to_owned(),
        source,
    })?;
    let code = line.trim();
    if code.is_empty() {
        return Err(Failure::NoCode);
    }
    Ok(code.to_owned())
}

/// `MASTODON_HOST` as `MastodonBase::parse` reads it back: the bare host
/// for https on the default port, else the base URL.
fn host_setting(base: &MastodonBase) -> String {
    let url = &base.api_base;
    if url.scheme() == "https" && url.port().is_none() {
        base.host.clone()
    } else {
        url.as_str().trim_end_matches('/').to_owned()
    }
}

fn read_or_empty(path: &Path) -> Result<String, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(Failure::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Writes `text` to a new file beside `path` with mode 0600, then renames
/// it over `path`: readers never see half a file, and the token is never
/// readable by others, whatever mode the old file had.
fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    let failed = |source| Failure::Write {
        path: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&aside).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&aside, path)) {
        let _ = std::fs::remove_file(&aside);
        return Err(failed(error));
    }
    Ok(())
}

/// `text` (KEY=value lines) with each setting's line replaced, or added at
/// the end; every other line kept.
pub fn set_env_lines(text: &str, settings: &[(&str, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (name, value) in settings {
        let line = format!("{name}={}", env_quote(value));
        let existing = lines.iter().position(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            l.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        match existing {
            Some(at) => lines[at] = line,
            None => lines.push(line),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A value for an env file: bare when it is plain (docker's `--env-file`
/// takes quotes literally), else double-quoted (systemd unquotes it).
fn env_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@+=~".contains(c));
    if plain {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `text` (TOML) with `[section]`'s keys set: a key's existing line is
/// replaced, a missing one added at the end of the section (the section
/// is added when missing). Comments and every other line are kept.
pub fn set_toml_keys(text: &str, section: &str, keys: &[(&str, String)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header = format!("[{section}]");
    let start = match lines.iter().position(|l| l.trim() == header) {
        Some(at) => at,
        None => {
            if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                lines.push(String::new());
            }
            lines.push(header);
            lines.len() - 1
        }
    };
    for (key, value) in keys {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |at| start + 1 + at);
        let line = format!("{key} = {}", toml::Value::String(value.clone()));
        let existing = lines[start + 1..end].iter().position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
        match existing {
            Some(at) => lines[start + 1 + at] = line,
            None => {
                // After the section's last non-blank line.
                let mut at = end;
                while at > start + 1 && lines[at - 1].trim().is_empty() {
                    at -= 1;
                }
                lines.insert(at, line);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Vec<(&'static str, String)> {
        vec![
            ("MASTODON_HOST", "social.example".to_owned()),
            ("MASTODON_OAUTH_TOKEN", "abc-123_XYZ".to_owned()),
        ]
    }

    #[test]
    fn env_lines_are_replaced_in_place_or_added() {
        let before = "# backfeed\nDATABASE_URL=sqlite:///var/lib/backfeed/backfeed.db\nexport MASTODON_HOST=old.example\n";
        assert_eq!(
            set_env_lines(before, &settings()),
            "# backfeed\nDATABASE_URL=sqlite:///var/lib/backfeed/backfeed.db\nMASTODON_HOST=social.example\nMASTODON_OAUTH_TOKEN=abc-123_XYZ\n"
        );
        assert_eq!(
            set_env_lines("", &[("X", "a b\"c".to_owned())]),
            "X=\"a b\\\"c\"\n"
        );
        assert_eq!(
            set_env_lines("MASTODON_HOSTNAME=x\n", &settings()[..1]),
            "MASTODON_HOSTNAME=x\nMASTODON_HOST=social.example\n",
            "only the whole name matches"
        );
    }

    #[test]
    fn toml_keys_are_set_in_their_section_keeping_comments() {
        let before = "listen = \"127.0.0.1:8080\"\n\n[mastodon]\n# The instance.\n# host = \"mastodon.social\"\nhost = \"old.example\"\nvisibility = \"public\"\n\n[blog]\npost_pattern = '^https://blog'\n";
        let keys = [
            ("host", "social.example".to_owned()),
            ("token", "t\"k".to_owned()),
        ];
        let after = set_toml_keys(before, "mastodon", &keys);
        assert_eq!(
            after,
            "listen = \"127.0.0.1:8080\"\n\n[mastodon]\n# The instance.\n# host = \"mastodon.social\"\nhost = \"social.example\"\nvisibility = \"public\"\ntoken = 't\"k'\n\n[blog]\npost_pattern = '^https://blog'\n"
        );
        let parsed: toml::Table = after.parse().unwrap();
        assert_eq!(parsed["mastodon"]["token"].as_str(), Some("t\"k"));
        let fresh = set_toml_keys("listen = \"x\"\n", "mastodon", &keys);
        assert_eq!(
            fresh,
            "listen = \"x\"\n\n[mastodon]\nhost = \"social.example\"\ntoken = 't\"k'\n"
        );
    }

    #[test]
    fn the_host_setting_reads_back_the_same() {
        for (given, written) in [
            ("mastodon.social", "mastodon.social"),
            ("https://mastodon.social", "mastodon.social"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
            (
                "https://social.example:8443/",
                "https://social.example:8443",
            ),
        ] {
            let base = MastodonBase::parse(given).unwrap();
            assert_eq!(host_setting(&base), written);
            assert_eq!(MastodonBase::parse(written).unwrap(), base);
        }
    }

    #[test]
    fn export_lines_are_shell_quoted() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
