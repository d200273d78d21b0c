//! Prometheus metrics: requests by route and status, latency, and the
//! counters other modules record (`backfeed_toots_created_total`,
//! `backfeed_mastodon_errors_total`).
//!
//! The recorder is process-global (the `metrics` facade is), so it is
//! installed once and every `App` in the process shares its handle.
//!
//! Invariant: every label takes one of a fixed, small set of values, because
//! each distinct value is a series kept in memory for the life of the
//! process. Clients choose methods and paths, so neither is ever a label as
//! sent: the route is the matched route template (or `unmatched`), the method
//! one of the standard ones (or `other`), the status a number below 1000.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Clone)]
pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the global recorder the first time; later calls share it.
    pub fn install() -> Self {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    spawn_upkeep(handle.clone());
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics are off: cannot install the recorder");
                    None
                }
            }
        });
        Self {
            handle: handle.clone(),
        }
    }

    pub fn render(&self) -> String {
        match &self.handle {
            Some(handle) => {
                handle.run_upkeep();
                handle.render()
            }
            None => String::new(),
        }
    }
}

/// Histograms keep their samples until upkeep drains them; without a
/// periodic upkeep, memory grows with traffic whenever nobody scrapes
/// `/metrics`. A plain thread, so it works whatever runtime (if any) runs.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start metrics upkeep; memory use will grow with traffic");
    }
}

/// Records one request: counted by route, method and status, timed by route.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard ones (RFC 9110 §9 and PATCH) by name,
/// any extension method a client makes up as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_are_labels_and_made_up_ones_are_other() {
        for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
            let parsed = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(method_label(&parsed), method);
        }
        for made_up in ["PROPFIND", "get", "X".repeat(1000).as_str()] {
            let parsed = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&parsed), "other", "{made_up}");
        }
    }
}
