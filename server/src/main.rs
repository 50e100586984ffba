//! `parley serve [--demo]`: wiring only. See the `parley_server` crate.

use clap::Parser;
use parley_server::config::{Cli, Command, LogFormat};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_env("PARLEY_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
    );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
    match cli.command {
        Command::Backup(args) => {
            let copied = parley_server::backup::backup(&args.data_dir, &args.to)?;
            println!(
                "backed up {} to {}: database {} bytes, {} new attachment files",
                args.data_dir.display(),
                args.to.display(),
                copied.database_bytes,
                copied.attachments
            );
            Ok(())
        }
        Command::Restore(args) => {
            let copied = parley_server::backup::restore(&args.data_dir, &args.from)?;
            println!(
                "restored {} into {}: database {} bytes, {} attachment files added",
                args.from.display(),
                args.data_dir.display(),
                copied.database_bytes,
                copied.attachments
            );
            Ok(())
        }
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
