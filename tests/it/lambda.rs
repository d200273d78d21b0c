//! AWS Lambda: the real binary, started the way Lambda starts `bootstrap`,
//! served events by a fake Lambda Runtime API. Recorded API Gateway (REST
//! and HTTP API), Function URL and EventBridge events come from
//! `tests/fixtures/lambda/`; `cargo_lambda_watch` runs it under the
//! emulator Rust users develop with.

mod aws_events;
mod background;
mod cargo_lambda_watch;
mod fake_runtime_api;
mod function;
mod http_contract;
