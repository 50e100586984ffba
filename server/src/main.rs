//! `parley serve [--demo]`: wiring only. See the `parley_server` crate.

use clap::Parser;
use parley_server::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(config) => parley_server::run(config).await,
        Command::BenchSeed(seed) => {
            parley_server::bench_seed::seed(
                &seed.data_dir,
                seed.users,
                seed.room_size,
                seed.order_threads,
                seed.messages,
                &seed.out,
            )
            .await
        }
    }
}
