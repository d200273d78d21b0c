//! `backfeed migrate` (placeholder, being written).

use clap::Args;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Where to copy from: a store URL (sqlite://…, postgres://…, s3://…),
    /// or `jf2:<file>` for a webmention.io export.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to copy into.
    #[arg(long, value_name = "URL")]
    pub to: String,
}

pub async fn run(_args: &MigrateArgs) -> Result<(), String> {
    Err("migrate is not built yet".to_owned())
}
