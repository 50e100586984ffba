//! Admin settings against a real server: limits an admin sets within the operator's,
//! enforced on the next message and upload; retention that deletes old messages for
//! good, with their files.

mod common;

use std::time::Duration;

use app::error::{ApiError, ErrorCode};
use app::model::{AdminOverview, AdminSettings};
use app::protocol::{ClientFrame, ServerFrame};
use common::{Endpoint, TestServer};

async fn save(server: &Endpoint, cookie: &str, s: &AdminSettings) -> Result<(), ApiError> {
    let mut args = vec![
        ("settings[edit_window_secs]", s.edit_window_secs.to_string()),
        (
            "settings[max_message_chars]",
            s.max_message_chars.to_string(),
        ),
        (
            "settings[max_attachment_bytes]",
            s.max_attachment_bytes.to_string(),
        ),
    ];
    let types: Vec<(String, String)> = s
        .attachment_types
        .iter()
        .enumerate()
        .map(|(n, t)| (format!("settings[attachment_types][{n}]"), t.clone()))
        .collect();
    args.extend(types.iter().map(|(k, v)| (k.as_str(), v.clone())));
    if let Some(days) = s.retention_days {
        args.push(("settings[retention_days]", days.to_string()));
    }
    server.call(cookie, "save_settings", &args).await
}

async fn overview(server: &Endpoint, cookie: &str) -> AdminOverview {
    server.call(cookie, "admin_overview", &[]).await.unwrap()
}

#[tokio::test]
async fn admins_set_limits_within_the_operators_and_they_hold_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let current = overview(&server, &alice_cookie).await;
    assert_eq!(
        current.settings.max_message_chars,
        current.bounds.max_message_chars
    );
    assert_eq!(current.settings.retention_days, None);

    let tight = AdminSettings {
        edit_window_secs: 60,
        max_message_chars: 20,
        max_attachment_bytes: 100,
        attachment_types: vec!["text/plain".into()],
        retention_days: None,
    };
    assert_eq!(
        save(&server, &bob_cookie, &tight).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    for wrong in [
        AdminSettings {
            max_message_chars: current.bounds.max_message_chars + 1,
            ..tight.clone()
        },
        AdminSettings {
            max_message_chars: 0,
            ..tight.clone()
        },
        AdminSettings {
            max_attachment_bytes: current.bounds.max_attachment_bytes + 1,
            ..tight.clone()
        },
        AdminSettings {
            attachment_types: vec!["text/html".into()],
            ..tight.clone()
        },
        AdminSettings {
            edit_window_secs: -1,
            ..tight.clone()
        },
        AdminSettings {
            retention_days: Some(0),
            ..tight.clone()
        },
    ] {
        assert_eq!(
            save(&server, &alice_cookie, &wrong).await.unwrap_err().code,
            ErrorCode::BadRequest,
            "{wrong:?}"
        );
    }
    assert_eq!(
        overview(&server, &alice_cookie).await.settings,
        current.settings,
        "nothing changed"
    );

    save(&server, &alice_cookie, &tight).await.unwrap();
    let boot = server.bootstrap(&bob_cookie).await;
    assert_eq!(boot.settings.max_message_chars, 20);
    assert_eq!(boot.settings.edit_window_ms, 60_000);
    assert_eq!(boot.settings.attachment_types, ["text/plain"]);
    let internal = server.channel(&bob_cookie, "internal").await;
    let mut bob = server.connect(&bob_cookie).await;
    bob.send_frame(&ClientFrame::Send {
        client_id: uuid::Uuid::new_v4(),
        conversation_id: internal.id,
        body: "twenty-one characters".into(),
        reply_to: None,
        attachments: vec![],
    })
    .await;
    let error = bob
        .until(|f| match f {
            ServerFrame::Error { error, .. } => Some(error),
            _ => None,
        })
        .await;
    assert_eq!(error.code, ErrorCode::MessageTooLong);
    bob.send_message(internal.id, "short enough").await;
    assert_eq!(bob.next_message().await.body, "short enough");

    let refused = server
        .upload(&bob_cookie, internal.id, "a.png", "image/png", vec![1; 10])
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
    let refused = server
        .upload(
            &bob_cookie,
            internal.id,
            "big.txt",
            "text/plain",
            vec![b'x'; 101],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::FrameTooLarge);
    server
        .upload(
            &bob_cookie,
            internal.id,
            "note.txt",
            "text/plain",
            b"fits".to_vec(),
        )
        .await
        .unwrap();

    // Kept across a restart, and audited.
    server.stop().await;
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let after = overview(&server, &alice_cookie).await;
    assert_eq!(
        after.settings,
        AdminSettings {
            attachment_types: vec!["text/plain".into()],
            ..tight
        }
    );
    assert_eq!(after.audit[0].action, "settings_changed");
    server.stop().await;
}

#[tokio::test]
async fn retention_deletes_old_messages_for_good_with_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.retention_sweep_secs = 1).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let internal = server.channel(&bob_cookie, "internal").await;
    let mut bob = server.connect(&bob_cookie).await;
    let file = server
        .upload(
            &bob_cookie,
            internal.id,
            "old-manifest.txt",
            "text/plain",
            b"pallet manifest, March".to_vec(),
        )
        .await
        .unwrap();
    bob.send_frame(&ClientFrame::Send {
        client_id: uuid::Uuid::new_v4(),
        conversation_id: internal.id,
        body: "the zeppelin manifest from March".into(),
        reply_to: None,
        attachments: vec![file.id],
    })
    .await;
    let old = bob.next_message().await;
    bob.send_reply(internal.id, "still about the zeppelin", Some(old.id))
        .await;
    let reply = bob.next_message().await;
    assert!(reply.reply_to.is_some());

    // Forty days pass for the first message (and its file).
    let hash: String = {
        let db = common::Database::of(dir.path()).await;
        let forty_days_ago = app_now_ms() - 40 * 24 * 3600 * 1000;
        db.execute(
            "UPDATE messages SET created_at_ms = $1 WHERE id = $2",
            &[forty_days_ago, old.id.0],
        )
        .await;
        let hashes: Vec<(String,)> = db
            .fetch_all("SELECT hash FROM attachments WHERE id = $1", &[file.id.0])
            .await;
        db.close().await;
        hashes[0].0.clone()
    };
    let blob = dir.path().join("attachments").join(&hash[..2]).join(&hash);
    std::fs::File::options()
        .append(true)
        .open(&blob)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(40 * 24 * 3600))
        .unwrap();

    let mut keep = overview(&server, &alice_cookie).await.settings;
    keep.retention_days = Some(30);
    save(&server, &alice_cookie, &keep).await.unwrap();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let history = server.full_history(&bob_cookie, internal.id).await;
        if !history.iter().any(|m| m.id == old.id) {
            let kept = history
                .iter()
                .find(|m| m.id == reply.id)
                .expect("the newer reply stays");
            assert!(kept.reply_to.is_none(), "its quote went with the original");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old message was never deleted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!blob.exists(), "its file is gone too");
    let found: app::search::SearchResults = server
        .call(&bob_cookie, "search", &[("query", "zeppelin".to_string())])
        .await
        .unwrap();
    assert_eq!(found.hits.len(), 1, "only the reply is found");
    server.stop().await;
}

fn app_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
