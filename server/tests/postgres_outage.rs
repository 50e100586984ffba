//! PostgreSQL going away under a running server and coming back: `/readyz` says
//! `unavailable`, a send is answered `unavailable` (the browser keeps it in its outbox
//! and resends it) with nothing half-written, and once the database is back the resend
//! goes through, stored once. Run by `scripts/test` through `scripts/with-postgres`,
//! which gives `PARLEY_TEST_PG_CTL` to stop and start its cluster; alone in its test
//! binary, since it takes the database away from everything else.

mod common;

use std::time::Duration;

use app::error::ErrorCode;
use app::protocol::{ClientFrame, ServerFrame};
use common::TestServer;

fn pg_ctl(action: &str) {
    let ctl = std::env::var("PARLEY_TEST_PG_CTL").expect("run through scripts/with-postgres");
    let mut command = std::process::Command::new(ctl);
    command.arg(action);
    if action == "stop" {
        command.args(["-m", "fast"]);
    }
    assert!(command.status().unwrap().success(), "pg_ctl {action}");
}

async fn readyz(server: &TestServer) -> (u16, String) {
    let response = reqwest::get(server.url("/readyz")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn sends_wait_out_a_database_outage_and_go_through_once_after() {
    assert!(common::on_postgres(), "run through scripts/with-postgres");
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.without_rate_limits();
        c.database_timeout_ms = 500;
    })
    .await;
    let alice = server.login("alice").await;
    let channel = server.channel(&alice, "internal").await;
    let mut tab = server.connect(&alice).await;
    let (_, before) = tab.send_acked(channel.id, "before the outage").await;

    pg_ctl("stop");
    let (status, body) = readyz(&server).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"unavailable\""), "{body}");
    let client_id = uuid::Uuid::new_v4();
    let send = ClientFrame::Send {
        client_id,
        conversation_id: channel.id,
        body: "during the outage".into(),
        reply_to: None,
        attachments: vec![],
    };
    tab.send_frame(&send).await;
    let refused = tab
        .until(|f| match f {
            ServerFrame::Error {
                client_id: Some(id),
                error,
            } if id == client_id => Some(error),
            ServerFrame::Ack { client_id: id, .. } if id == client_id => {
                panic!("acked while the database was down")
            }
            _ => None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Unavailable, "{refused:?}");
    assert!(refused.retry_after_ms.is_some());

    pg_ctl("start");
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while readyz(&server).await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The browser's outbox resends it, with the same client id.
    tab.send_frame(&send).await;
    let seq = tab
        .until(|f| match f {
            ServerFrame::Ack {
                client_id: id, seq, ..
            } if id == client_id => Some(seq),
            _ => None,
        })
        .await;
    assert_eq!(seq, before + 1, "nothing half-written took a seq");
    let texts: Vec<String> = server
        .full_history(&alice, channel.id)
        .await
        .into_iter()
        .filter(|m| m.seq >= before)
        .map(|m| m.body)
        .collect();
    assert_eq!(texts, ["before the outage", "during the outage"]);
    server.stop().await;
}
