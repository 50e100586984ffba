//! `parley serve [--demo]`: wiring only. See the `parley_server` crate.

use clap::Parser;
use parley_server::config::{Cli, Command, LogFormat};

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads start, so that they inherit it (sched.rs).
    parley_server::sched::batch_this_thread();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
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
        Command::BenchSeed(seed) if seed.database_url.is_some() => {
            anyhow::ensure!(
                seed.order_threads == 0 && seed.messages == 0,
                "on PostgreSQL bench-seed makes users, rooms and sessions only"
            );
            let url = seed.database_url.as_ref().expect("matched");
            parley_server::bench_seed::seed_postgres(
                url.expose_str(),
                seed.users,
                seed.room_size,
                &seed.out,
            )
            .await
        }
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
