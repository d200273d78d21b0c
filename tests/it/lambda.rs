//! AWS Lambda: the real binary, started the way Lambda starts `bootstrap`,
//! served events by a fake Lambda Runtime API. Recorded API Gateway (REST
//! and HTTP API), Function URL and EventBridge events come from
//! `tests/fixtures/lambda/`.

mod aws_events;
mod background;
mod fake_runtime_api;
mod function;
mod http_contract;
