//! Operations (issue 9 item 5): a backup taken while messages are being written restores
//! to a whole, consistent server; one server per data folder; every answer names its
//! request id; `/metrics` has the send→ack histogram and the queue depths.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use app::model::ClientId;
use app::protocol::{ClientFrame, ServerFrame};
use common::TestServer;
use parley_server::backup;

#[tokio::test]
async fn a_backup_taken_while_writing_restores_whole_with_its_files() {
    if common::on_postgres() {
        eprintln!("`parley backup` copies the SQLite file; PostgreSQL has pg_dump");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.without_rate_limits()).await;
    let alice = server.login("alice").await;
    let channel = server.channel(&alice, "internal").await;
    let file = server
        .upload(
            &alice,
            channel.id,
            "notes.txt",
            "text/plain",
            b"kept in the backup".to_vec(),
        )
        .await
        .unwrap();
    let mut tab = server.connect(&alice).await;
    tab.send_frame(&ClientFrame::Send {
        client_id: uuid::Uuid::new_v4(),
        conversation_id: channel.id,
        body: "with a file".into(),
        reply_to: None,
        attachments: vec![file.id],
    })
    .await;
    tab.until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;

    // A writer that keeps sending (and counting acks) while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, acked) = (stop.clone(), acked.clone());
        let mut tab = server.connect(&alice).await;
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id: ClientId = tab.send_message(channel.id, &format!("during {n}")).await;
                tab.until(|f| match f {
                    ServerFrame::Ack { client_id, .. } if client_id == id => Some(()),
                    _ => None,
                })
                .await;
                acked.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while acked.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let acked_before = acked.load(Ordering::Relaxed);
    let target = tempfile::tempdir().unwrap();
    let into = target.path().join("backup");
    let (data, to) = (server.data_dir.clone(), into.clone());
    let copied = tokio::task::spawn_blocking(move || backup::backup(&data, &to))
        .await
        .unwrap()
        .unwrap();
    let acked_after = acked.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(copied.database_bytes > 0);
    assert_eq!(copied.attachments, 1, "the uploaded file (one blob)");
    assert!(
        acked_after > acked_before,
        "writes went on during the backup"
    );

    // Backing up into the same folder again is refused (never overwritten).
    assert!(backup::backup(&server.data_dir, &into).is_err());
    // Restoring while the server runs is refused: it holds the folder.
    let refused = backup::restore(&server.data_dir, &into).unwrap_err();
    assert!(refused.to_string().contains("running"), "{refused}");
    // And so is a second server on the same folder.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = parley_server::start(
        parley_server::config::Config::for_tests(server.data_dir.clone()),
        listener,
        tokio_util::sync::CancellationToken::new(),
    )
    .await;
    assert!(second.is_err(), "two servers on one data folder");
    let original = server.full_history(&alice, channel.id).await;
    server.stop().await;

    // Restored into an empty folder, a server starts on it with a consistent snapshot:
    // a prefix of what the original ended with, holding everything acked before.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = backup::restore(restored_dir.path(), &into).unwrap();
    assert_eq!(restored.attachments, 1);
    let server = TestServer::start(restored_dir.path()).await;
    let alice = server.login("alice").await;
    let history = server.full_history(&alice, channel.id).await;
    let during =
        |h: &[app::model::Message]| h.iter().filter(|m| m.body.starts_with("during ")).count();
    assert!(
        during(&history) >= acked_before,
        "everything acked before the backup"
    );
    assert!(during(&history) <= during(&original));
    let bodies = |h: &[app::model::Message]| {
        h.iter()
            .map(|m| (m.seq, m.body.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bodies(&history),
        bodies(&original)[..history.len()],
        "a prefix, no gaps"
    );
    let (status, _, bytes) = server.get(&alice, &file.url()).await;
    assert_eq!(
        (status, bytes.as_slice()),
        (200, b"kept in the backup".as_slice())
    );

    // Restoring over a folder keeps what was there aside.
    server.stop().await;
    backup::restore(restored_dir.path(), &into).unwrap();
    let aside = std::fs::read_dir(restored_dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("before-restore-")
        })
        .count();
    assert_eq!(aside, 1);
}

#[tokio::test]
async fn answers_name_their_request_and_metrics_show_latency_and_queues() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let client = reqwest::Client::new();
    let made = client.get(server.url("/healthz")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = client
        .get(server.url("/healthz"))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "from-the-proxy-42");

    let bob = server.login("bob").await;
    let channel = server.channel(&bob, "internal").await;
    let mut tab = server.connect(&bob).await;
    tab.send_message(channel.id, "measured").await;
    tab.until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    assert_eq!(server.metric("parley_send_ack_seconds_count").await, 1.0);
    assert!(server.metric("parley_send_ack_seconds_sum").await > 0.0);
    let text = server.metrics_text().await;
    for gauge in [
        "parley_queued_writes ",
        "parley_live_queued_frames ",
        "parley_live_deepest_queue ",
    ] {
        assert!(text.contains(gauge), "{gauge} missing from /metrics");
    }
    server.stop().await;
}

/// A database made at SQLite's default page size (every Parley database before the
/// smaller pages) comes out of `parley backup` at today's, with its rows: backup and
/// restore is how an older deployment moves to it.
#[test]
fn a_backup_is_made_at_todays_page_size() {
    let data = tempfile::tempdir().unwrap();
    {
        let old = rusqlite::Connection::open(data.path().join(backup::DATABASE)).unwrap();
        old.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;
             CREATE TABLE kept (body TEXT NOT NULL);
             INSERT INTO kept VALUES ('one'), ('two');",
        )
        .unwrap();
        let size: u32 = old.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        assert_eq!(size, 4096);
    }
    let into = tempfile::tempdir().unwrap();
    let to = into.path().join("backup");
    backup::backup(data.path(), &to).unwrap();
    let copy = rusqlite::Connection::open(to.join(backup::DATABASE)).unwrap();
    let size: u32 = copy
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(size, parley_server::store::sqlite::PAGE_SIZE);
    let rows: i64 = copy
        .query_row("SELECT COUNT(*) FROM kept", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2);
}
