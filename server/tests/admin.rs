//! Administration against a real server: admins only, channels created live for whom
//! they admit, exports, and the audit log.

mod common;

use std::time::Duration;

use app::error::{ApiError, ErrorCode};
use app::model::{AdminOverview, ConversationKind, ConversationSummary, OrganisationId};
use app::protocol::ServerFrame;
use common::{Endpoint, TestServer};

async fn create_channel(
    server: &Endpoint,
    cookie: &str,
    name: &str,
    orgs: &[OrganisationId],
) -> Result<ConversationSummary, ApiError> {
    let mut args = vec![("name".to_string(), name.to_string())];
    args.extend(
        orgs.iter()
            .enumerate()
            .map(|(n, o)| (format!("organisations[{n}]"), o.0.to_string())),
    );
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    server.call(cookie, "create_channel", &args).await
}

async fn get(server: &Endpoint, cookie: &str, path: &str) -> (u16, String, String) {
    let (status, headers, body) = server.get(cookie, path).await;
    let disposition = headers
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, disposition, String::from_utf8(body).unwrap())
}

#[tokio::test]
async fn only_admins_administer_and_what_they_do_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;

    for cookie in [&bob_cookie, &carol_cookie] {
        let refused: Result<AdminOverview, _> = server.call(cookie, "admin_overview", &[]).await;
        assert_eq!(refused.unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(get(&server, cookie, "/admin").await.0, 403);
    }
    assert_eq!(get(&server, &alice_cookie, "/admin").await.0, 200);
    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    assert!(overview.users.iter().any(|u| u.username == "carol"));
    // The admin page lists channels from the admin's conversation list: all of them.
    let channels = server
        .bootstrap(&alice_cookie)
        .await
        .conversations
        .into_iter()
        .filter(|c| c.kind == ConversationKind::Channel)
        .count();
    assert_eq!(channels, 3);
    let axiom = overview
        .organisations
        .iter()
        .find(|o| o.kind == "internal")
        .unwrap()
        .id;

    // A channel for internal staff: live for bob, never for carol.
    let mut bob = server.connect(&bob_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    assert_eq!(
        create_channel(&server, &bob_cookie, "night-shift", &[axiom])
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        create_channel(&server, &alice_cookie, "Night Shift!", &[axiom])
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    let channel = create_channel(&server, &alice_cookie, "#Night-Shift", &[axiom])
        .await
        .unwrap();
    assert_eq!(
        (channel.title.as_str(), channel.slug.as_str()),
        ("#night-shift", "night-shift")
    );
    let seen = bob
        .until(|f| match f {
            ServerFrame::Conversation { conversation, .. } => Some(conversation),
            _ => None,
        })
        .await;
    assert_eq!(seen.id, channel.id);
    let carol_saw = carol.drain(Duration::from_millis(300)).await;
    assert!(
        !carol_saw
            .iter()
            .any(|f| matches!(f, ServerFrame::Conversation { .. })),
        "{carol_saw:?}"
    );
    assert!(
        !server
            .bootstrap(&carol_cookie)
            .await
            .conversations
            .iter()
            .any(|c| c.id == channel.id)
    );
    assert_eq!(
        create_channel(&server, &alice_cookie, "night-shift", &[axiom])
            .await
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );

    // Exports: admins only; deleted text stays out.
    bob.send_message(channel.id, "Forklift 3 needs a new battery, \"urgent\"")
        .await;
    let gone = bob.send_message(channel.id, "the alarm code is 9911").await;
    let gone_id = bob
        .until(|f| match f {
            ServerFrame::Ack { client_id, id, .. } if client_id == gone => Some(id),
            _ => None,
        })
        .await;
    let _: app::model::Message = server
        .call(
            &bob_cookie,
            "delete_message",
            &[("message_id", gone_id.0.to_string())],
        )
        .await
        .unwrap();
    let path = |format: &str| format!("/admin/export/{}?format={format}", channel.id);
    assert_eq!(get(&server, &bob_cookie, &path("json")).await.0, 403);
    let (status, disposition, json) = get(&server, &alice_cookie, &path("json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        disposition,
        "attachment; filename=\"parley-night-shift.json\""
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["messages"].as_array().unwrap().len(), 2);
    assert!(!json.contains("9911"));
    let (status, _, csv) = get(&server, &alice_cookie, &path("csv")).await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("seq,id,sent_at_ms,sender,body,version,deleted,reply_to\r\n"));
    assert!(csv.contains("\"Forklift 3 needs a new battery, \"\"urgent\"\"\""));
    assert!(!csv.contains("9911"));
    assert_eq!(
        get(
            &server,
            &alice_cookie,
            &format!("/admin/export/{}?format=xml", channel.id)
        )
        .await
        .0,
        400
    );

    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    let actions: Vec<&str> = overview.audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "conversation_exported",
            "conversation_exported",
            "message_deleted",
            "channel_created"
        ]
    );
    assert_eq!(
        overview.audit[3].conversation.as_deref(),
        Some("night-shift")
    );
    assert_eq!(overview.audit[3].actor, "Alice Adams");
    server.stop().await;
}

#[tokio::test]
async fn admins_create_disable_and_reset_accounts() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let oracare = organisation(&server, &alice_cookie, "Oracare").await;
    let axiom = organisation(&server, &alice_cookie, "Axiom Fulfillment").await;
    let create =
        |cookie: String, username: &'static str, role: &'static str, org: OrganisationId| {
            let server = &server;
            async move {
                server
                    .call::<app::model::IssuedPassword>(
                        &cookie,
                        "create_user",
                        &[
                            ("username", username.to_string()),
                            ("display_name", "Erin Ellis".to_string()),
                            ("role", role.to_string()),
                            ("organisation_id", org.0.to_string()),
                        ],
                    )
                    .await
            }
        };
    assert_eq!(
        create(bob_cookie.clone(), "erin", "guest", oracare)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        create(alice_cookie.clone(), "erin", "guest", axiom)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        create(alice_cookie.clone(), "carol", "guest", oracare)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );
    // A name nobody can see is no name (app::model::has_visible_text).
    let invisible: Result<app::model::IssuedPassword, _> = server
        .call(
            &alice_cookie,
            "create_user",
            &[
                ("username", "erin".to_string()),
                ("display_name", "\u{200B}\u{202E}\u{2800}".to_string()),
                ("role", "guest".to_string()),
                ("organisation_id", oracare.0.to_string()),
            ],
        )
        .await;
    assert_eq!(invisible.unwrap_err().code, ErrorCode::BadRequest);
    let issued = create(alice_cookie.clone(), "erin", "guest", oracare)
        .await
        .unwrap();
    assert_eq!(issued.user.organisation_name, "Oracare");
    assert!(
        server.try_login("erin", &issued.password).await.is_some(),
        "the one-time password opens a session"
    );

    // Disabling carol closes her live connection at once and keeps her out.
    let mut carol = server.connect(&carol_cookie).await;
    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let _: () = server
        .call(
            &alice_cookie,
            "set_user_disabled",
            &[
                ("user_id", carol_id.0.to_string()),
                ("disabled", "true".into()),
            ],
        )
        .await
        .unwrap();
    let closed = tokio::time::timeout(common::PATIENCE, carol.socket.next())
        .await
        .expect("closed in time");
    assert!(
        matches!(closed, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(ref f)))) if u16::from(f.code) == app::protocol::CLOSE_UNAUTHENTICATED),
        "{closed:?}"
    );
    assert!(
        server
            .try_login("carol", parley_server::demo::DEMO_PASSWORD)
            .await
            .is_none()
    );
    let refused: Result<app::model::Bootstrap, _> =
        server.call(&carol_cookie, "bootstrap", &[]).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::Unauthenticated);
    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    assert_eq!(overview.disabled, [carol_id]);
    let _: () = server
        .call(
            &alice_cookie,
            "set_user_disabled",
            &[
                ("user_id", carol_id.0.to_string()),
                ("disabled", "false".into()),
            ],
        )
        .await
        .unwrap();
    assert!(
        server
            .try_login("carol", parley_server::demo::DEMO_PASSWORD)
            .await
            .is_some()
    );

    // A reset password replaces the old one and ends the sessions.
    let bob_id = server.bootstrap(&bob_cookie).await.me.id;
    let reset: app::model::IssuedPassword = server
        .call(
            &alice_cookie,
            "reset_password",
            &[("user_id", bob_id.0.to_string())],
        )
        .await
        .unwrap();
    assert!(
        server
            .try_login("bob", parley_server::demo::DEMO_PASSWORD)
            .await
            .is_none()
    );
    assert!(server.try_login("bob", &reset.password).await.is_some());
    let refused: Result<app::model::Bootstrap, _> =
        server.call(&bob_cookie, "bootstrap", &[]).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::Unauthenticated);
    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    let actions: Vec<&str> = overview.audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "password_reset",
            "user_enabled",
            "user_disabled",
            "user_created"
        ]
    );
    server.stop().await;
}

/// The id of the organisation called `name`, as an admin sees it.
async fn organisation(server: &Endpoint, admin_cookie: &str, name: &str) -> OrganisationId {
    let overview: AdminOverview = server
        .call(admin_cookie, "admin_overview", &[])
        .await
        .unwrap();
    overview
        .organisations
        .iter()
        .find(|o| o.name == name)
        .unwrap()
        .id
}

/// The next `conversation` frame about `id`.
async fn next_change_of(
    client: &mut common::Client,
    id: app::model::ConversationId,
) -> ConversationSummary {
    client
        .until(|f| match f {
            ServerFrame::Conversation { conversation, .. } if conversation.id == id => {
                Some(conversation)
            }
            _ => None,
        })
        .await
}

/// The next error frame.
async fn refusal(client: &mut common::Client) -> ApiError {
    client
        .until(|f| match f {
            ServerFrame::Error { error, .. } => Some(error),
            _ => None,
        })
        .await
}

/// The form fields of `change_channel`.
fn channel_settings(
    id: app::model::ConversationId,
    name: &str,
    orgs: &[OrganisationId],
    roles: &[&str],
    archived: bool,
) -> Vec<(String, String)> {
    let mut args = vec![
        ("conversation_id".to_string(), id.0.to_string()),
        ("settings[name]".to_string(), name.to_string()),
        ("settings[archived]".to_string(), archived.to_string()),
    ];
    for (n, o) in orgs.iter().enumerate() {
        args.push((format!("settings[organisations][{n}]"), o.0.to_string()));
    }
    for (n, r) in roles.iter().enumerate() {
        args.push((format!("settings[roles][{n}]"), r.to_string()));
    }
    args
}

async fn change_channel(
    server: &Endpoint,
    cookie: &str,
    args: &[(String, String)],
) -> Result<ConversationSummary, ApiError> {
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    server.call(cookie, "change_channel", &args).await
}

#[tokio::test]
async fn channels_are_renamed_archived_and_reshaped_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let axiom = organisation(&server, &alice_cookie, "Axiom Fulfillment").await;
    let oracare = organisation(&server, &alice_cookie, "Oracare").await;
    let dock = create_channel(&server, &alice_cookie, "dock", &[axiom, oracare])
        .await
        .unwrap();
    assert_eq!(dock.audience.roles.len(), 3, "every role by default");
    let mut bob = server.connect(&bob_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let carol_before = server.last_event(&carol_cookie).await;
    carol
        .send_message(dock.id, "Is the dock open on Sunday?")
        .await;
    carol.next_message().await;

    // Refusals first: nothing changes.
    let guests_out = channel_settings(
        dock.id,
        "dock-team",
        &[axiom, oracare],
        &["admin", "member"],
        false,
    );
    assert_eq!(
        change_channel(&server, &bob_cookie, &guests_out)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let taken = channel_settings(dock.id, "internal", &[axiom, oracare], &["member"], false);
    assert_eq!(
        change_channel(&server, &alice_cookie, &taken)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Conflict
    );
    let nobody = channel_settings(dock.id, "dock", &[axiom], &[], false);
    assert_eq!(
        change_channel(&server, &alice_cookie, &nobody)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    let group_like = channel_settings(
        app::model::ConversationId(999_999),
        "x",
        &[axiom],
        &["member"],
        false,
    );
    assert_eq!(
        change_channel(&server, &alice_cookie, &group_like)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );

    // Renamed, and guests no longer admitted: carol loses it at once, bob sees the name.
    let changed = change_channel(&server, &alice_cookie, &guests_out)
        .await
        .unwrap();
    assert_eq!(
        (changed.title.as_str(), changed.slug.as_str()),
        ("#dock-team", "dock")
    );
    let gone = carol
        .until(|f| match f {
            ServerFrame::ConversationGone {
                conversation_id, ..
            } => Some(conversation_id),
            _ => None,
        })
        .await;
    assert_eq!(gone, dock.id);
    let renamed = next_change_of(&mut bob, dock.id).await;
    assert_eq!(renamed.title, "#dock-team");
    assert_eq!(renamed.last_seq, 1);
    assert!(
        !server
            .bootstrap(&carol_cookie)
            .await
            .conversations
            .iter()
            .any(|c| c.id == dock.id)
    );
    let refused = server.history(&carol_cookie, dock.id, None).await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::NotFound);
    carol.send_message(dock.id, "hello?").await;
    let error = refusal(&mut carol).await;
    assert_eq!(error.code, ErrorCode::NotFound);
    // A tab of carol's that was offline learns it on resume.
    let (_, replayed) = server
        .connect_after(&carol_cookie, Some(carol_before))
        .await;
    assert!(
        replayed.iter().any(|f| matches!(f, ServerFrame::ConversationGone { conversation_id, .. } if *conversation_id == dock.id)),
        "{replayed:?}"
    );

    // Archived: read-only for everyone, shown as such; unarchived: open again.
    let archive = channel_settings(
        dock.id,
        "dock-team",
        &[axiom, oracare],
        &["admin", "member"],
        true,
    );
    change_channel(&server, &alice_cookie, &archive)
        .await
        .unwrap();
    let archived = next_change_of(&mut bob, dock.id).await;
    assert!(archived.audience.archived);
    bob.send_message(dock.id, "one more thing").await;
    let error = refusal(&mut bob).await;
    assert_eq!(error.code, ErrorCode::Forbidden);
    assert!(error.message.contains("archived"), "{}", error.message);
    assert_eq!(server.full_history(&bob_cookie, dock.id).await.len(), 1);
    let reopen = channel_settings(
        dock.id,
        "dock-team",
        &[axiom, oracare],
        &["admin", "member"],
        false,
    );
    change_channel(&server, &alice_cookie, &reopen)
        .await
        .unwrap();
    bob.send_message(dock.id, "open again").await;
    assert_eq!(bob.next_message().await.body, "open again");

    // Guests admitted again: carol gets it back, live.
    let everyone = channel_settings(
        dock.id,
        "dock-team",
        &[axiom, oracare],
        &["admin", "member", "guest"],
        false,
    );
    change_channel(&server, &alice_cookie, &everyone)
        .await
        .unwrap();
    let back = next_change_of(&mut carol, dock.id).await;
    assert_eq!(back.title, "#dock-team");

    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    let actions: Vec<&str> = overview
        .audit
        .iter()
        .take(6)
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "channel_access_changed",
            "channel_unarchived",
            "channel_archived",
            "channel_access_changed",
            "channel_renamed",
            "channel_created"
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_new_role_ends_the_sessions_and_changes_what_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let acme = organisation(&server, &alice_cookie, "Acme Manufacturing").await;
    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let alice_id = server.bootstrap(&alice_cookie).await.me.id;
    let change =
        |cookie: String, user: app::model::UserId, role: &'static str, org: OrganisationId| {
            let server = &server;
            async move {
                server
                    .call::<()>(
                        &cookie,
                        "change_user",
                        &[
                            ("user_id", user.0.to_string()),
                            ("role", role.to_string()),
                            ("organisation_id", org.0.to_string()),
                        ],
                    )
                    .await
            }
        };
    // A guest cannot be staff of an outside organisation, nor may admins demote themselves.
    assert_eq!(
        change(alice_cookie.clone(), carol_id, "member", acme)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        change(alice_cookie.clone(), alice_id, "guest", acme)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    let mut carol = server.connect(&carol_cookie).await;
    change(alice_cookie.clone(), carol_id, "guest", acme)
        .await
        .unwrap();
    use futures::StreamExt;
    let closed = tokio::time::timeout(common::PATIENCE, carol.socket.next())
        .await
        .expect("closed in time");
    assert!(
        matches!(closed, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(ref f)))) if u16::from(f.code) == app::protocol::CLOSE_UNAUTHENTICATED),
        "{closed:?}"
    );
    let again = server.login("carol").await;
    let slugs: Vec<String> = server
        .bootstrap(&again)
        .await
        .conversations
        .into_iter()
        .filter(|c| c.kind == app::model::ConversationKind::Channel)
        .map(|c| c.slug)
        .collect();
    assert_eq!(slugs, ["manufacturer"]);
    let overview: AdminOverview = server
        .call(&alice_cookie, "admin_overview", &[])
        .await
        .unwrap();
    assert_eq!(overview.audit[0].action, "user_role_changed");
    assert_eq!(overview.audit[0].subject.as_deref(), Some("Carol Chen"));
    server.stop().await;
}
