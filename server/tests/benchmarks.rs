//! The benchmarks' own tools at a tiny size, so CI notices when they stop working: the
//! real `parley bench-seed`, `parley serve` and `loadgen` binaries, durable sends and a
//! fan-out. No timing is asserted (BENCHMARKS.md has the figures, measured on release
//! builds with the server and the load generator on separate cores); what is asserted is
//! what the load generator reports about correctness: every send acked, every delivery
//! made exactly once and in order, and every acked message stored once.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::Endpoint;

/// `parley bench-seed` with `users` users in rooms of `room_size`; the sessions file.
fn seed(dir: &Path, database: Option<&str>, users: usize, room_size: usize) -> std::path::PathBuf {
    let sessions = dir.join("sessions.tsv");
    let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
    if let Some(url) = database {
        command.env("DATABASE_URL", url);
    }
    let status = command
        .args(["bench-seed", "--data-dir"])
        .arg(dir)
        .args([
            "--users",
            &users.to_string(),
            "--room-size",
            &room_size.to_string(),
        ])
        .arg("--out")
        .arg(&sessions)
        .stdout(Stdio::null())
        .status()
        .expect("run parley bench-seed");
    assert!(status.success(), "bench-seed failed");
    sessions
}

/// `parley serve` on the seeded data, without the per-user limits a load generator
/// exceeds on purpose.
struct Server(Child);

impl Server {
    async fn start(addr: SocketAddr, dir: &Path, database: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
        if let Some(url) = database {
            command.env("DATABASE_URL", url);
        }
        let child = command
            .args(["serve", "--addr", &addr.to_string(), "--data-dir"])
            .arg(dir)
            .env("PARLEY_LOG", "warn")
            .env("PARLEY_RATE_FRAMES_PER_USER", "off")
            .env("PARLEY_RATE_CONNECTIONS_PER_USER", "off")
            .env("PARLEY_RATE_HTTP_PER_USER", "off")
            .stdout(Stdio::null())
            .spawn()
            .expect("start parley");
        Endpoint { addr }.wait_ready().await;
        Self(child)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `loadgen` to the end; its report.
async fn loadgen(args: Vec<String>) -> String {
    let output: Output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(&args)
            .output()
            .expect("run loadgen")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "loadgen failed: {report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// The number after `label` in a report (`acked 12` or `12 acked`).
fn figure(report: &str, label: &str, before: bool) -> u64 {
    let words: Vec<&str> = report.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == label)
        .unwrap_or_else(|| panic!("no {label:?} in {report}"));
    let word = if before { words[at - 1] } else { words[at + 1] };
    word.parse()
        .unwrap_or_else(|_| panic!("{label:?} is not followed by a count in {report}"))
}

#[tokio::test]
async fn durable_sends_and_fan_out_run_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_for(dir.path()).await;
    let sessions = seed(dir.path(), database.as_deref(), 40, 10);
    let addr = common::free_addr();
    let server = Server::start(addr, dir.path(), database.as_deref()).await;
    let common_args = |scenario: &str| {
        vec![
            scenario.to_string(),
            "--server".into(),
            addr.to_string(),
            "--source-ips".into(),
            "1".into(),
            "--sessions".into(),
            sessions.display().to_string(),
            "--seconds".into(),
            "1".into(),
        ]
    };

    let mut sends = common_args("sends");
    sends.extend(["--senders", "4", "--window", "4"].map(String::from));
    let report = loadgen(sends).await;
    let acked = figure(&report, "acked", true);
    assert!(acked > 0, "{report}");
    // Every ack is a stored message, stored once (a send still in flight at the end may
    // be stored without its ack having been counted).
    let db = common::Database::of(dir.path()).await;
    let stored: Vec<(i64, i64)> = db
        .fetch_all(
            "SELECT COUNT(*), COUNT(DISTINCT client_id) FROM messages",
            &[],
        )
        .await;
    let (stored, distinct) = stored[0];
    assert_eq!(stored, distinct, "a client id stored twice");
    assert!(
        stored as u64 >= acked && stored as u64 <= acked + 16,
        "{stored} stored for {acked} acked"
    );
    db.close().await;

    let mut fanout = common_args("fanout");
    fanout.extend(["--senders", "2", "--rate", "20"].map(String::from));
    let report = loadgen(fanout).await;
    let (sent, acked) = (
        figure(&report, "sent", false),
        figure(&report, "acked", false),
    );
    assert!(sent > 0 && acked == sent, "{report}");
    assert!(figure(&report, "delivered", false) > 0, "{report}");
    for label in ["lost", "duplicated"] {
        assert_eq!(figure(&report, label, false), 0, "{label}: {report}");
    }
    assert!(report.contains("out of order 0"), "{report}");
    drop(server);
}

/// `loadgen floor` (the kernel's own cost of a loopback delivery, no Parley) runs and
/// every byte it wrote arrives.
#[tokio::test]
async fn the_loopback_floor_runs_and_every_byte_arrives() {
    let report = loadgen(
        [
            "floor",
            "--connections",
            "64",
            "--rate",
            "2000",
            "--seconds",
            "1",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let expected = figure(&report, "expected", false);
    assert!(expected >= 330 * 1_000, "{report}");
    assert_eq!(figure(&report, "received", false), expected, "{report}");
    assert!(report.contains("µs per frame"), "{report}");
}
