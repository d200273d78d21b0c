//! AWS Lambda: the Router behind `lambda_http` (placeholder, being written).

use std::sync::Arc;

use crate::App;

/// Lambda sets `AWS_LAMBDA_RUNTIME_API` for the function's process.
pub fn is_lambda_environment() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some_and(|v| !v.is_empty())
}

pub async fn run(_app: Arc<App>) -> std::io::Result<()> {
    Err(std::io::Error::other("the Lambda runtime is not built yet"))
}
