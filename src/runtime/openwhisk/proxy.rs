//! `backfeed openwhisk --http`: the action proxy protocol that OpenWhisk's
//! invoker speaks to a "blackbox" (Docker) action's container on port 8080
//! (openwhisk `docs/actions-docker.md`; openwhisk-runtime-go's proxy).
//!
//! - `POST /init` `{"value":{"name","main","code","binary","env"}}`: the
//!   binary is already in the image, so `code` is ignored. `env` carries the
//!   action's environment (a DigitalOcean `environment:` clause arrives
//!   there): when it holds settings, the app is built again from the
//!   process environment overlaid with them. Answers `{"ok":true}`; a second
//!   `/init` is refused with 403, as the Go proxy does.
//! - `POST /run` `{"value":{…},"activation_id",…,"deadline"}`: answers the
//!   activation's result (see `invoke`) with 200.
//!
//! Errors are `{"error":"…"}` with a 4xx or 5xx status. Here backfeed is the
//! proxy, so it writes the end-of-activation marker the invoker waits for
//! on both output streams after each run.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::activation::Activation;
use super::invoke::Invoker;
use crate::App;
use crate::config::{Config, Overrides};

/// What the invoker reads up to in each stream's log of an activation.
const LOG_SENTINEL: &str = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX";
/// `/init` may carry an action's code (up to 48 MB, base64): accepted, unused.
const MAX_INIT_BYTES: usize = 72 * 1024 * 1024;
const MAX_RUN_BYTES: usize = 16 * 1024 * 1024;

struct Proxy {
    invoker: RwLock<Invoker>,
    initialized: tokio::sync::Mutex<bool>,
    listen: SocketAddr,
}

/// Binds `listen` and serves `/init` and `/run` until the process is stopped.
pub async fn serve_action_proxy(app: Arc<App>, listen: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let local = listener.local_addr()?;
    let proxy = Arc::new(Proxy {
        invoker: RwLock::new(Invoker::new(app)),
        initialized: tokio::sync::Mutex::new(false),
        listen: local,
    });
    let routes = Router::new()
        .route(
            "/init",
            post(init).layer(DefaultBodyLimit::max(MAX_INIT_BYTES)),
        )
        .route(
            "/run",
            post(run).layer(DefaultBodyLimit::max(MAX_RUN_BYTES)),
        )
        .fallback(|| async { ProxyError::UnknownPath })
        .with_state(proxy);
    tracing::info!("OpenWhisk action proxy listening on http://{local}");
    axum::serve(listener, routes).await
}

async fn init(State(proxy): State<Arc<Proxy>>, body: Bytes) -> Result<Response, ProxyError> {
    let mut initialized = proxy.initialized.lock().await;
    if *initialized {
        return Err(ProxyError::AlreadyInitialized);
    }
    let request: Value =
        serde_json::from_slice(&body).map_err(|e| ProxyError::Unreadable(e.to_string()))?;
    let settings = action_settings(request.pointer("/value/env"));
    if !settings.is_empty() {
        let app = rebuild(&settings, proxy.listen)
            .await
            .map_err(ProxyError::Environment)?;
        let mut invoker = proxy.invoker.write().map_err(|_| ProxyError::Unusable)?;
        *invoker = Invoker::new(app);
        tracing::info!(count = settings.len(), "applied the action's environment");
    }
    *initialized = true;
    Ok(axum::Json(json!({"ok": true})).into_response())
}

async fn run(State(proxy): State<Arc<Proxy>>, body: Bytes) -> Result<Response, ProxyError> {
    let activation = Activation::parse(&body).map_err(|e| ProxyError::Unreadable(e.to_string()))?;
    let invoker = proxy
        .invoker
        .read()
        .map_err(|_| ProxyError::Unusable)?
        .clone();
    let result = invoker.answer(activation).await;
    end_activation_logs();
    Ok(axum::Json(result).into_response())
}

/// What the action proxy protocol refuses; `http::error` maps each to its
/// status and the protocol's `{"error":"…"}` body.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("only /init and /run are served")]
    UnknownPath,
    /// The Go proxy's exact words.
    #[error("Cannot initialize the action more than once.")]
    AlreadyInitialized,
    #[error("Error unmarshaling request: {0}")]
    Unreadable(String),
    #[error("cannot apply the action's environment: {0}")]
    Environment(String),
    #[error("the action is unusable")]
    Unusable,
}

/// The action's own settings from `/init`'s `env`; the platform's
/// `__OW_*` metadata is left out. Non-string values are kept as JSON text.
fn action_settings(env: Option<&Value>) -> HashMap<String, String> {
    let Some(Value::Object(env)) = env else {
        return HashMap::new();
    };
    env.iter()
        .filter(|(key, _)| !key.starts_with("__OW_"))
        .map(|(key, value)| {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (key.clone(), value)
        })
        .collect()
}

async fn rebuild(
    settings: &HashMap<String, String>,
    listen: SocketAddr,
) -> Result<Arc<App>, String> {
    let lookup = |var: &str| {
        settings
            .get(var)
            .cloned()
            .or_else(|| std::env::var(var).ok())
    };
    let file = lookup("BACKFEED_CONFIG").map(PathBuf::from);
    let overrides = Overrides {
        listen: Some(listen.to_string()),
        platform_cors_default: true,
    };
    let config = Config::load(file.as_deref(), &lookup, overrides).map_err(|e| e.to_string())?;
    App::build(config).await.map_err(|e| e.to_string())
}

fn end_activation_logs() {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{LOG_SENTINEL}").and_then(|()| stdout.flush());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{LOG_SENTINEL}").and_then(|()| stderr.flush());
}
