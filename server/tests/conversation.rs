//! Conversation features against a real server, SQLite file and WebSockets: edits with
//! their history, deletes, replies, reactions, each with its refusal side, resume after
//! them, and events in one order on every path.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use app::error::{ApiError, ErrorCode};
use app::model::{ConversationId, Emoji, Message, MessageId, MessageVersion, Seq};
use app::protocol::ServerFrame;
use common::{Client, Endpoint, TestServer};

/// Sends a message and waits for its ack; returns the stored message as history has it.
async fn post(
    server: &Endpoint,
    client: &mut Client,
    cookie: &str,
    conversation: ConversationId,
    body: &str,
) -> Message {
    post_reply(server, client, cookie, conversation, body, None).await
}

async fn post_reply(
    server: &Endpoint,
    client: &mut Client,
    cookie: &str,
    conversation: ConversationId,
    body: &str,
    reply_to: Option<MessageId>,
) -> Message {
    let client_id = client.send_reply(conversation, body, reply_to).await;
    let seq = client
        .until(|f| match f {
            ServerFrame::Ack {
                client_id: c, seq, ..
            } if c == client_id => Some(seq),
            ServerFrame::Error {
                client_id: Some(c),
                error,
            } if c == client_id => {
                panic!("refused: {error}")
            }
            _ => None,
        })
        .await;
    message_at(server, cookie, conversation, seq).await
}

async fn message_at(
    server: &Endpoint,
    cookie: &str,
    conversation: ConversationId,
    seq: Seq,
) -> Message {
    server
        .history(cookie, conversation, Some(seq + 1))
        .await
        .unwrap()
        .messages
        .into_iter()
        .find(|m| m.seq == seq)
        .expect("the message is in history")
}

async fn edit(
    server: &Endpoint,
    cookie: &str,
    id: MessageId,
    version: u32,
    body: &str,
) -> Result<Message, ApiError> {
    server
        .call(
            cookie,
            "edit_message",
            &[
                ("message_id", id.0.to_string()),
                ("version", version.to_string()),
                ("body", body.to_string()),
            ],
        )
        .await
}

async fn delete(server: &Endpoint, cookie: &str, id: MessageId) -> Result<Message, ApiError> {
    server
        .call(
            cookie,
            "delete_message",
            &[("message_id", id.0.to_string())],
        )
        .await
}

async fn react(
    server: &Endpoint,
    cookie: &str,
    id: MessageId,
    emoji: &str,
    on: bool,
) -> Result<Message, ApiError> {
    server
        .call(
            cookie,
            "react",
            &[
                ("message_id", id.0.to_string()),
                ("emoji", emoji.to_string()),
                ("on", on.to_string()),
            ],
        )
        .await
}

async fn versions(
    server: &Endpoint,
    cookie: &str,
    id: MessageId,
) -> Result<Vec<MessageVersion>, ApiError> {
    server
        .call(cookie, "edit_history", &[("message_id", id.0.to_string())])
        .await
}

/// The next `message_changed` frame.
async fn next_change(client: &mut Client) -> Message {
    client
        .until(|f| match f {
            ServerFrame::MessageChanged { message, .. } => Some(message),
            _ => None,
        })
        .await
}

fn code<T: std::fmt::Debug>(result: Result<T, ApiError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[tokio::test]
async fn an_edit_keeps_every_version_and_reaches_everyone_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;

    let sent = post(
        &server,
        &mut alice,
        &alice_cookie,
        channel.id,
        "Order 1042 ships monday",
    )
    .await;
    assert_eq!((sent.version, sent.edited()), (1, false));
    let edited = edit(
        &server,
        &alice_cookie,
        sent.id,
        1,
        "Order 1042 ships tuesday",
    )
    .await
    .unwrap();
    assert_eq!((edited.version, edited.edited()), (2, true));
    let seen = next_change(&mut bob).await;
    assert_eq!(
        (seen.id, seen.body.as_str(), seen.version),
        (sent.id, "Order 1042 ships tuesday", 2)
    );

    let history = versions(&server, &bob_cookie, sent.id).await.unwrap();
    let texts: Vec<&str> = history.iter().map(|v| v.body.as_str()).collect();
    assert_eq!(
        texts,
        ["Order 1042 ships monday", "Order 1042 ships tuesday"]
    );
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );

    // A stale edit (it names version 1, but version 2 landed first) changes nothing.
    assert_eq!(
        code(edit(&server, &alice_cookie, sent.id, 1, "ships friday").await),
        ErrorCode::Conflict
    );
    // The same edit repeated (a retry) is answered as done, without a second change.
    let again = edit(
        &server,
        &alice_cookie,
        sent.id,
        1,
        "Order 1042 ships tuesday",
    )
    .await
    .unwrap();
    assert_eq!(again.version, 2);
    // Nobody edits somebody else's words, admins included.
    let bobs = post(&server, &mut bob, &bob_cookie, channel.id, "bob's words").await;
    assert_eq!(
        code(edit(&server, &alice_cookie, bobs.id, 1, "alice's words").await),
        ErrorCode::Forbidden
    );
    // Bad text is refused as when sending.
    assert_eq!(
        code(edit(&server, &alice_cookie, sent.id, 2, "   ").await),
        ErrorCode::EmptyMessage
    );
    assert_eq!(
        message_at(&server, &bob_cookie, channel.id, sent.seq)
            .await
            .body,
        "Order 1042 ships tuesday"
    );
    assert_eq!(
        versions(&server, &bob_cookie, sent.id).await.unwrap().len(),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn edits_after_the_window_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.edit_window_secs = 0).await;
    let bob_cookie = server.login("bob").await;
    let channel = server.channel(&bob_cookie, "internal").await;
    let mut bob = server.connect(&bob_cookie).await;
    let sent = post(&server, &mut bob, &bob_cookie, channel.id, "typo").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        code(edit(&server, &bob_cookie, sent.id, 1, "fixed").await),
        ErrorCode::EditWindowClosed
    );
    server.stop().await;
}

#[tokio::test]
async fn a_deleted_message_loses_its_text_everywhere_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&bob_cookie, "oracare-team").await;
    let mut bob = server.connect(&bob_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let carol_position = server.last_event(&carol_cookie).await;

    let secret = "the door code is 4321";
    let sent = post(&server, &mut bob, &bob_cookie, channel.id, secret).await;
    edit(&server, &bob_cookie, sent.id, 1, "the door code is 4322")
        .await
        .unwrap();
    let carols = post(&server, &mut carol, &carol_cookie, channel.id, "thanks!").await;

    // Somebody else's message: only an admin may delete it.
    assert_eq!(
        code(delete(&server, &carol_cookie, sent.id).await),
        ErrorCode::Forbidden
    );
    let deleted = delete(&server, &bob_cookie, sent.id).await.unwrap();
    assert!(deleted.deleted && deleted.body.is_empty());
    // The edit's change may still be queued for carol ahead of the deletion's (her own
    // send's ack can overtake it): wait for the deletion.
    let live = carol
        .until(|f| match f {
            ServerFrame::MessageChanged { message, .. } if message.deleted => Some(message),
            _ => None,
        })
        .await;
    assert!(live.deleted && live.body.is_empty());
    // Deleting again changes nothing and is not an error.
    assert!(delete(&server, &bob_cookie, sent.id).await.unwrap().deleted);
    // An admin deletes anyone's.
    assert!(
        delete(&server, &alice_cookie, carols.id)
            .await
            .unwrap()
            .deleted
    );

    // Gone from history, edit history, a resume, and the server-rendered page.
    let stored = message_at(&server, &carol_cookie, channel.id, sent.seq).await;
    assert!(stored.deleted && stored.body.is_empty() && stored.seq == sent.seq);
    assert!(
        versions(&server, &carol_cookie, sent.id)
            .await
            .unwrap()
            .is_empty()
    );
    let (_again, replayed) = server
        .connect_after(&carol_cookie, Some(carol_position))
        .await;
    let text = serde_json::to_string(&replayed).unwrap();
    assert!(!text.contains("door code"), "{text}");
    let page = reqwest::Client::new()
        .get(server.url("/chat/oracare-team"))
        .header("Cookie", &carol_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("door code"));
    assert!(page.contains("Message deleted"));
    // Editing, reacting to or replying to a deleted message: there is nothing there.
    assert_eq!(
        code(edit(&server, &bob_cookie, sent.id, 2, "back").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(react(&server, &bob_cookie, sent.id, "heart", true).await),
        ErrorCode::NotFound
    );

    // The audit log says who deleted what, and when.
    let db = common::Database::of(&server.data_dir).await;
    let rows: Vec<(i64, String, i64, i64)> = db
        .fetch_all(
            "SELECT actor_id, action, message_id, subject_id FROM audit_log ORDER BY id",
            &[],
        )
        .await;
    let alice_id = server.bootstrap(&alice_cookie).await.me.id.0;
    let bob_id = server.bootstrap(&bob_cookie).await.me.id.0;
    let carol_id = server.bootstrap(&carol_cookie).await.me.id.0;
    assert_eq!(
        rows,
        [
            (bob_id, "message_deleted".to_string(), sent.id.0, bob_id),
            (
                alice_id,
                "message_deleted".to_string(),
                carols.id.0,
                carol_id
            ),
        ]
    );
    let leftover: Vec<(i64,)> = db
        .fetch_all(
            "SELECT COUNT(*) FROM message_versions WHERE message_id = $1",
            &[sent.id.0],
        )
        .await;
    assert_eq!(leftover, [(0,)], "no earlier text is kept either");
    db.close().await;
    server.stop().await;
}

#[tokio::test]
async fn reactions_toggle_once_per_person_and_emoji_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&carol_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let sent = post(&server, &mut alice, &alice_cookie, channel.id, "Shipped!").await;

    let once = react(&server, &carol_cookie, sent.id, "tada", true)
        .await
        .unwrap();
    let twice = react(&server, &carol_cookie, sent.id, "tada", true)
        .await
        .unwrap();
    assert_eq!(once.reactions, twice.reactions, "one per (person, emoji)");
    react(&server, &alice_cookie, sent.id, "tada", true)
        .await
        .unwrap();
    react(&server, &alice_cookie, sent.id, "thumbs_up", true)
        .await
        .unwrap();
    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let alice_id = server.bootstrap(&alice_cookie).await.me.id;
    let mut last = next_change(&mut carol).await;
    while last.reactions.len() < 2 {
        last = next_change(&mut carol).await;
    }
    assert_eq!(last.reactions[0].emoji, Emoji::ThumbsUp);
    assert_eq!(last.reactions[1].emoji, Emoji::Tada);
    assert_eq!(last.reactions[1].users, [carol_id, alice_id]);
    let off = react(&server, &carol_cookie, sent.id, "tada", false)
        .await
        .unwrap();
    assert!(!off.reacted(carol_id, Emoji::Tada) && off.reacted(alice_id, Emoji::Tada));
    assert_eq!(
        message_at(&server, &alice_cookie, channel.id, sent.seq)
            .await
            .reactions,
        off.reactions
    );
    // Not in the set: refused, nothing stored.
    assert_eq!(
        code(react(&server, &carol_cookie, sent.id, "rocket", true).await),
        ErrorCode::BadRequest
    );
    assert_eq!(
        message_at(&server, &alice_cookie, channel.id, sent.seq)
            .await
            .reactions,
        off.reactions
    );
    server.stop().await;
}

#[tokio::test]
async fn a_reply_quotes_its_original_from_the_same_conversation_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&carol_cookie, "oracare-team").await;
    let internal = server.channel(&bob_cookie, "internal").await;
    let mut bob = server.connect(&bob_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;

    let question = post(
        &server,
        &mut carol,
        &carol_cookie,
        channel.id,
        "When does order 1042 arrive? It was promised for monday.",
    )
    .await;
    let answer = post_reply(
        &server,
        &mut bob,
        &bob_cookie,
        channel.id,
        "Tuesday morning.",
        Some(question.id),
    )
    .await;
    let quote = answer.reply_to.expect("a quote");
    assert_eq!(
        (quote.id, quote.seq, quote.sender_name.as_str()),
        (question.id, question.seq, "Carol Chen")
    );
    assert!(quote.excerpt.starts_with("When does order 1042 arrive?"));
    let live = carol
        .until(|f| match f {
            ServerFrame::Message { message, .. } if message.id == answer.id => Some(message),
            _ => None,
        })
        .await;
    assert_eq!(
        live.reply_to.map(|q| q.id),
        Some(question.id),
        "the live copy carries the quote too"
    );

    // A reply to a message of another conversation, or of one carol cannot see.
    let staff = post(&server, &mut bob, &bob_cookie, internal.id, "staff only").await;
    let client_id = bob
        .send_reply(channel.id, "cross-posted", Some(staff.id))
        .await;
    let refused = bob
        .until(|f| match f {
            ServerFrame::Error {
                client_id: Some(c),
                error,
            } if c == client_id => Some(error.code),
            ServerFrame::Ack { client_id: c, .. } if c == client_id => panic!("accepted"),
            _ => None,
        })
        .await;
    assert_eq!(refused, ErrorCode::NotFound);
    let client_id = carol.send_reply(internal.id, "peek", Some(staff.id)).await;
    let refused = carol
        .until(|f| match f {
            ServerFrame::Error {
                client_id: Some(c),
                error,
            } if c == client_id => Some(error.code),
            ServerFrame::Ack { client_id: c, .. } if c == client_id => panic!("accepted"),
            _ => None,
        })
        .await;
    assert_eq!(refused, ErrorCode::NotFound);
    server.stop().await;
}

/// Carol (Oracare) cannot reach `#internal` or `#manufacturer` through any of the new
/// doors: each answers as if the message did not exist.
#[tokio::test]
async fn carol_cannot_reach_messages_she_cannot_see() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let mut bob = server.connect(&bob_cookie).await;
    for slug in ["internal", "manufacturer"] {
        let hidden = server.channel(&bob_cookie, slug).await;
        let sent = post(&server, &mut bob, &bob_cookie, hidden.id, "not for clients").await;
        assert_eq!(
            code(edit(&server, &carol_cookie, sent.id, 1, "x").await),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(delete(&server, &carol_cookie, sent.id).await),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(react(&server, &carol_cookie, sent.id, "eyes", true).await),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(versions(&server, &carol_cookie, sent.id).await),
            ErrorCode::NotFound
        );
        let untouched = message_at(&server, &bob_cookie, hidden.id, sent.seq).await;
        assert!(untouched.reactions.is_empty() && !untouched.deleted && untouched.version == 1);
    }
    assert_eq!(
        code(versions(&server, &carol_cookie, MessageId(999_999)).await),
        ErrorCode::NotFound
    );
    server.stop().await;
}

/// What a tab knows: messages by `seq`, from frames applied in order.
fn apply(known: &mut BTreeMap<Seq, Message>, conversation: ConversationId, frames: &[ServerFrame]) {
    for frame in frames {
        match frame {
            ServerFrame::Message { message, .. } | ServerFrame::MessageChanged { message, .. }
                if message.conversation_id == conversation =>
            {
                known.insert(message.seq, message.clone());
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_tab_offline_during_changes_ends_where_an_online_tab_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    let mut online = server.connect(&carol_cookie).await;
    let mut fresh: BTreeMap<Seq, Message> = server
        .full_history(&carol_cookie, channel.id)
        .await
        .into_iter()
        .map(|m| (m.seq, m))
        .collect();
    let mut offline_known = fresh.clone();
    let mut online_known = fresh.clone();
    let position = server.last_event(&carol_cookie).await;

    let first = post(
        &server,
        &mut alice,
        &alice_cookie,
        channel.id,
        "first @carol",
    )
    .await;
    let second = post(&server, &mut bob, &bob_cookie, channel.id, "second").await;
    let third = post_reply(
        &server,
        &mut bob,
        &bob_cookie,
        channel.id,
        "third",
        Some(first.id),
    )
    .await;
    edit(&server, &alice_cookie, first.id, 1, "first, edited")
        .await
        .unwrap();
    react(&server, &bob_cookie, first.id, "heart", true)
        .await
        .unwrap();
    react(&server, &alice_cookie, second.id, "eyes", true)
        .await
        .unwrap();
    delete(&server, &bob_cookie, second.id).await.unwrap();
    edit(&server, &bob_cookie, third.id, 1, "third, edited")
        .await
        .unwrap();
    react(&server, &alice_cookie, third.id, "check_mark", true)
        .await
        .unwrap();
    react(&server, &alice_cookie, third.id, "check_mark", false)
        .await
        .unwrap();
    let last = post(&server, &mut alice, &alice_cookie, channel.id, "last").await;

    // The online tab saw it all live.
    let mut frames = Vec::new();
    loop {
        let frame = online.next_frame().await;
        let done = matches!(&frame, ServerFrame::Message { message, .. } if message.id == last.id);
        frames.push(frame);
        if done {
            break;
        }
    }
    apply(&mut online_known, channel.id, &frames);
    // The offline tab resumes from where it was.
    let (_tab, replayed) = server.connect_after(&carol_cookie, Some(position)).await;
    apply(&mut offline_known, channel.id, &replayed);
    let ids: Vec<_> = replayed.iter().filter_map(ServerFrame::event_id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] <= w[1]),
        "replayed in event order: {ids:?}"
    );
    // And a fresh load.
    fresh = server
        .full_history(&carol_cookie, channel.id)
        .await
        .into_iter()
        .map(|m| (m.seq, m))
        .collect();
    assert_eq!(offline_known, fresh);
    assert_eq!(online_known, fresh);
    // The counts the resumed tab is left with are a fresh load's.
    let read = replayed
        .iter()
        .rev()
        .find_map(|f| match f {
            ServerFrame::Read {
                conversation_id,
                unread,
                mentions,
                ..
            } if *conversation_id == channel.id => Some((*unread, *mentions)),
            _ => None,
        })
        .expect("counts after the changes");
    let summary = server.channel(&carol_cookie, "oracare-team").await;
    assert_eq!(read, (summary.unread, summary.mentions));
    assert_eq!(
        summary.mentions, 0,
        "the edit took the mention of carol away"
    );
    server.stop().await;
}

/// Messages, reads, new conversations and message changes are all published by the one
/// writer in commit order, so a tab receives event ids in increasing order and resuming
/// after the newest one it saw never skips one.
#[tokio::test]
async fn every_kind_of_event_arrives_in_event_order() {
    let dir = tempfile::tempdir().unwrap();
    // Concurrent bursts, faster than a person's frame rate: this is about ordering.
    let server = TestServer::start_with(dir.path(), |c| c.without_rate_limits()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut watcher = server.connect(&alice_cookie).await;
    let start = server.last_event(&alice_cookie).await;
    let bob_id = server.bootstrap(&bob_cookie).await.me.id;
    let orders: Vec<app::model::Order> = server.call(&alice_cookie, "orders", &[]).await.unwrap();

    let mut tasks = Vec::new();
    for n in 0..4 {
        let (server, cookie) = (*server, bob_cookie.clone());
        tasks.push(tokio::spawn(async move {
            let mut bob = server.connect(&cookie).await;
            for i in 0..10 {
                let sent = post(&server, &mut bob, &cookie, channel.id, &format!("{n}.{i}")).await;
                bob.send_frame(&app::protocol::ClientFrame::Read {
                    conversation_id: channel.id,
                    seq: sent.seq,
                })
                .await;
                if i % 3 == 0 {
                    react(&server, &cookie, sent.id, "eyes", true)
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for order in orders.iter().take(5) {
        let (server, cookie, number) = (*server, alice_cookie.clone(), order.number);
        tasks.push(tokio::spawn(async move {
            let _: app::model::ConversationSummary = server
                .call(
                    &cookie,
                    "open_order_thread",
                    &[("number", number.to_string())],
                )
                .await
                .unwrap();
        }));
    }
    let _: app::model::ConversationSummary = server
        .call(
            &alice_cookie,
            "open_direct",
            &[("other", bob_id.0.to_string())],
        )
        .await
        .unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let newest = server.last_event(&alice_cookie).await;
    let mut live = Vec::new();
    while live.last().is_none_or(|last| *last < newest) {
        if let Some(id) = watcher.next_frame().await.event_id() {
            live.push(id);
        }
    }
    assert!(
        live.windows(2).all(|w| w[0] < w[1]),
        "live events in id order: {live:?}"
    );
    let (_again, replayed) = server.connect_after(&alice_cookie, Some(start)).await;
    let replayed: Vec<_> = replayed.iter().filter_map(ServerFrame::event_id).collect();
    for id in &live {
        assert!(replayed.contains(id), "event {id} is replayed too");
    }
    server.stop().await;
}

async fn open_thread(
    server: &Endpoint,
    cookie: &str,
    reference: &str,
) -> Result<app::model::ConversationSummary, ApiError> {
    server
        .call(
            cookie,
            "open_thread",
            &[("reference", reference.to_string())],
        )
        .await
}

#[tokio::test]
async fn sku_and_shipment_threads_work_like_order_threads() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let orders: Vec<app::model::Order> = server.call(&alice_cookie, "orders", &[]).await.unwrap();
    let acme = |o: &app::model::Order| {
        o.organisation_names
            .iter()
            .any(|n| n == "Acme Manufacturing")
    };
    // A SKU some of whose orders Acme makes, and a shipment carrying none of Acme's.
    let sku = orders.iter().find(|o| acme(o)).unwrap().sku.clone();
    let shipment = orders
        .iter()
        .filter_map(|o| o.shipment.clone())
        .find(|s| {
            orders
                .iter()
                .filter(|o| o.shipment.as_deref() == Some(s.as_str()))
                .all(|o| !acme(o))
        })
        .unwrap();

    let mut dave = server.connect(&dave_cookie).await;
    let thread = open_thread(&server, &carol_cookie, &format!("sku:{sku}"))
        .await
        .unwrap();
    assert_eq!(thread.title, format!("SKU {sku}"));
    assert_eq!(thread.slug, format!("sku-{sku}"));
    let again = open_thread(&server, &alice_cookie, &format!("sku:{sku}"))
        .await
        .unwrap();
    assert_eq!(again.id, thread.id, "one thread per reference");
    // Dave makes some of that SKU's orders: the thread appears for him, live.
    let seen = dave
        .until(|f| match f {
            ServerFrame::Conversation { conversation, .. } => Some(conversation),
            _ => None,
        })
        .await;
    assert_eq!(seen.id, thread.id);
    let subject: app::model::ThreadSubject = server
        .call(
            &dave_cookie,
            "thread_subject",
            &[("reference", format!("sku:{sku}"))],
        )
        .await
        .unwrap();
    assert!(
        !subject.orders.is_empty() && subject.orders.iter().all(acme),
        "dave sees only his orders of it"
    );

    let carried = open_thread(&server, &carol_cookie, &format!("shipment:{shipment}"))
        .await
        .unwrap();
    assert_eq!(carried.title, format!("Shipment {shipment}"));
    let subject: app::model::ThreadSubject = server
        .call(
            &carol_cookie,
            "thread_subject",
            &[("reference", format!("shipment:{shipment}"))],
        )
        .await
        .unwrap();
    assert_eq!(subject.shipment.unwrap().reference, shipment);
    assert!(
        subject
            .orders
            .iter()
            .all(|o| o.shipment.as_deref() == Some(shipment.as_str()))
    );
    // Dave has no order in that shipment: not found, and not let into its thread.
    assert_eq!(
        open_thread(&server, &dave_cookie, &format!("shipment:{shipment}"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        server
            .history(&dave_cookie, carried.id, None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    let dave_saw = dave.drain(std::time::Duration::from_millis(300)).await;
    assert!(
        !dave_saw.iter().any(|f| matches!(f, ServerFrame::Conversation { conversation, .. } if conversation.id == carried.id)),
        "{dave_saw:?}"
    );
    for bad in [
        "sku:",
        "shipment:<b>",
        "invoice:7",
        "sku:NO-SUCH-SKU",
        "shipment:NOPE",
    ] {
        let code = open_thread(&server, &carol_cookie, bad)
            .await
            .unwrap_err()
            .code;
        assert!(
            matches!(code, ErrorCode::BadRequest | ErrorCode::NotFound),
            "{bad}: {code:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_list_holds_followed_and_recent_order_threads_not_all() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.recent_threads = 2).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let threads = |cookie: String| {
        let server = &server;
        async move {
            let mut numbers: Vec<String> = server
                .bootstrap(&cookie)
                .await
                .conversations
                .into_iter()
                .filter(|c| c.kind == app::model::ConversationKind::Order)
                .map(|c| c.slug)
                .collect();
            numbers.sort();
            numbers
        }
    };
    let mut opened = Vec::new();
    for number in [1020, 1021, 1022, 1023] {
        let thread = open_thread(&server, &alice_cookie, &format!("order:{number}"))
            .await
            .unwrap();
        opened.push(thread);
        // Distinct activity times.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        threads(bob_cookie.clone()).await,
        ["order-1022", "order-1023"],
        "the two most recent"
    );

    // A message makes a thread the most recently active.
    let mut alice = server.connect(&alice_cookie).await;
    post(
        &server,
        &mut alice,
        &alice_cookie,
        opened[0].id,
        "the zeppelin left the dock",
    )
    .await;
    assert_eq!(
        threads(bob_cookie.clone()).await,
        ["order-1020", "order-1023"]
    );

    // A thread bob has read in stays in his list however old.
    let mut bob = server.connect(&bob_cookie).await;
    // An unlisted thread opens by its page name.
    let _: app::model::ConversationSummary = server
        .call(
            &bob_cookie,
            "conversation",
            &[("slug", "order-1021".to_string())],
        )
        .await
        .unwrap();
    post(
        &server,
        &mut bob,
        &bob_cookie,
        opened[1].id,
        "I follow this one",
    )
    .await;
    for number in [1030, 1031] {
        open_thread(&server, &alice_cookie, &format!("order:{number}"))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        threads(bob_cookie.clone()).await,
        ["order-1021", "order-1030", "order-1031"],
        "followed, and the two most recent"
    );

    // Search still looks through every thread bob may see, listed or not.
    let found: app::search::SearchResults = server
        .call(&bob_cookie, "search", &[("query", "zeppelin".to_string())])
        .await
        .unwrap();
    assert_eq!(found.hits.len(), 1);
    assert_eq!(found.hits[0].conversation_slug, "order-1020");
    // Carol's list holds only Oracare's threads (all of these are Oracare's orders).
    let carol_cookie = server.login("carol").await;
    assert_eq!(threads(carol_cookie).await, ["order-1030", "order-1031"]);
    server.stop().await;
}

/// Each conversation in the list carries its newest message as a line of plain words
/// (Markdown read, not shown), and a deleted one says so without its text.
#[tokio::test]
async fn the_list_previews_each_conversations_newest_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    alice.send_message(channel.id, "first").await;
    alice.next_message().await;
    alice
        .send_message(
            channel.id,
            "**Pallet 7** is `damaged`,\nsee [photo](https://x.example/7)",
        )
        .await;
    let newest = alice.next_message().await;

    let preview = |boot: app::model::Bootstrap| {
        boot.conversations
            .into_iter()
            .find(|c| c.id == channel.id)
            .and_then(|c| c.last_message)
            .expect("a preview")
    };
    let seen = preview(server.bootstrap(&carol_cookie).await);
    assert_eq!(seen.seq, newest.seq);
    assert_eq!(seen.sender_name, "Alice Adams");
    assert_eq!(seen.excerpt, "Pallet 7 is damaged, see photo");
    assert!(!seen.deleted);

    delete(&server, &alice_cookie, newest.id).await.unwrap();
    let seen = preview(server.bootstrap(&carol_cookie).await);
    assert!(seen.deleted && seen.excerpt.is_empty(), "{seen:?}");
    server.stop().await;
}
