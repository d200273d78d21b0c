//! OpenWhisk / DigitalOcean Functions (placeholder, being written).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::App;

pub async fn run_action_loop(_app: Arc<App>) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "the ActionLoop runtime is not built yet",
    ))
}

pub async fn serve_action_proxy(_app: Arc<App>, _listen: SocketAddr) -> std::io::Result<()> {
    Err(std::io::Error::other("the action proxy is not built yet"))
}
