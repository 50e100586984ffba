//! The chat over real WebSockets against a real server with a fresh SQLite file.

mod common;

use std::collections::HashSet;

use app::error::ErrorCode;
use app::model::ConversationId;
use app::protocol::{ClientFrame, ServerFrame};
use common::TestServer;

fn ack_of(frame: ServerFrame) -> Option<(app::model::ClientId, app::model::MessageId, i64)> {
    match frame {
        ServerFrame::Ack {
            client_id, id, seq, ..
        } => Some((client_id, id, seq)),
        ServerFrame::Error { error, .. } => panic!("expected an ack, got {error}"),
        _ => None,
    }
}

fn error_of(frame: ServerFrame) -> Option<(Option<app::model::ClientId>, ErrorCode)> {
    match frame {
        ServerFrame::Error { client_id, error } => Some((client_id, error.code)),
        ServerFrame::Ack { .. } => panic!("expected an error, got an ack"),
        _ => None,
    }
}

#[tokio::test]
async fn two_users_exchange_messages_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut alice_tab2 = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;

    let sent = alice
        .send_message(channel.id, "Order 1031 shipped today")
        .await;
    let (client_id, id, seq) = alice.until_keeping(|f| ack_of(f.clone())).await;
    assert_eq!(client_id, sent);
    assert_eq!(seq, channel.last_seq + 1);
    // The sender's own tabs receive the message like everyone else.
    assert_eq!(alice.next_message().await.id, id);
    assert_eq!(alice_tab2.next_message().await.id, id);
    let at_carol = carol.next_message().await;
    assert_eq!((at_carol.id, at_carol.seq), (id, seq));
    assert_eq!(at_carol.body, "Order 1031 shipped today");
    assert_eq!(at_carol.sender_name, "Alice Adams");

    carol.send_message(channel.id, "Great, thanks!").await;
    let (_, reply_id, reply_seq) = carol.until_keeping(|f| ack_of(f.clone())).await;
    assert_eq!(reply_seq, seq + 1);
    assert_eq!(alice.next_message().await.id, reply_id);
    server.stop().await;
}

#[tokio::test]
async fn ack_means_durable_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cookie = server.login("bob").await;
    let channel = server.channel(&cookie, "internal").await;
    let mut bob = server.connect(&cookie).await;
    bob.send_message(channel.id, "written before the restart")
        .await;
    let (_, id, seq) = bob.until(ack_of).await;
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let cookie = server.login("bob").await;
    let history = server.full_history(&cookie, channel.id).await;
    let found = history
        .iter()
        .find(|m| m.id == id)
        .expect("acked message survives");
    assert_eq!(
        (found.seq, found.body.as_str()),
        (seq, "written before the restart")
    );
    // The demo world was seeded once, not again on the second start.
    assert_eq!(
        history
            .iter()
            .filter(|m| m.body.starts_with("Reminder: stock count"))
            .count(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn resend_of_client_id_returns_first_ack() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;

    let frame = ClientFrame::Send {
        client_id: uuid::Uuid::new_v4(),
        conversation_id: channel.id,
        body: "only once".into(),
        reply_to: None,
        attachments: Vec::new(),
    };
    alice.send_frame(&frame).await;
    let first = alice.until(ack_of).await;
    alice.send_frame(&frame).await;
    let second = alice.until(ack_of).await;
    assert_eq!(first, second);
    // A different connection of the same user resending gets the same answer.
    let mut alice_again = server.connect(&alice_cookie).await;
    alice_again.send_frame(&frame).await;
    assert_eq!(alice_again.until(ack_of).await, first);

    alice.send_message(channel.id, "next").await;
    let (_, _, next_seq) = alice.until(ack_of).await;
    assert_eq!(next_seq, first.2 + 1, "no seq was spent on the resends");
    assert_eq!(carol.next_message().await.body, "only once");
    assert_eq!(
        carol.next_message().await.body,
        "next",
        "the resends were not fanned out"
    );
    let stored = server.full_history(&alice_cookie, channel.id).await;
    assert_eq!(stored.iter().filter(|m| m.body == "only once").count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_guest_cannot_post_into_internal_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let internal = server.channel(&alice_cookie, "internal").await;
    let before = server.full_history(&alice_cookie, internal.id).await;

    let carol_sees: Vec<String> = server
        .bootstrap(&carol_cookie)
        .await
        .conversations
        .into_iter()
        .map(|c| c.slug)
        .collect();
    assert!(carol_sees.contains(&"oracare-team".to_string()));
    assert!(!carol_sees.contains(&"internal".to_string()));
    assert!(!carol_sees.contains(&"manufacturer".to_string()));

    let mut alice = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let sent = carol.send_message(internal.id, "let me in").await;
    assert_eq!(
        carol.until(error_of).await,
        (Some(sent), ErrorCode::NotFound)
    );
    carol.assert_alive().await;
    assert_eq!(
        server.full_history(&alice_cookie, internal.id).await,
        before
    );
    // Nor can carol read it through history.
    let refused = server
        .history(&carol_cookie, internal.id, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    // And alice received nothing.
    alice.assert_alive().await;
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_connection_survives() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.max_message_chars = 100;
        c.max_frame_bytes = 2_000;
    })
    .await;
    let cookie = server.login("bob").await;
    let channel = server.channel(&cookie, "internal").await;
    let before = server.full_history(&cookie, channel.id).await.len();
    let mut bob = server.connect(&cookie).await;

    let empty = bob.send_message(channel.id, "   \n ").await;
    assert_eq!(
        bob.until(error_of).await,
        (Some(empty), ErrorCode::EmptyMessage)
    );
    // Nothing that shows: zero-width space, soft hyphen, braille blank, bidi override.
    let invisible = bob
        .send_message(channel.id, "\u{200B}\u{00AD}\u{2800}\u{202E}")
        .await;
    assert_eq!(
        bob.until(error_of).await,
        (Some(invisible), ErrorCode::EmptyMessage)
    );
    // A NUL is refused by name (it used to fail the database's check: `internal`).
    for body in ["\u{0}", "\u{0}hidden after a NUL"] {
        let nul = bob.send_message(channel.id, body).await;
        assert_eq!(
            bob.until(error_of).await,
            (Some(nul), ErrorCode::BadRequest)
        );
    }
    let long = bob.send_message(channel.id, &"x".repeat(101)).await;
    assert_eq!(
        bob.until(error_of).await,
        (Some(long), ErrorCode::MessageTooLong)
    );
    let unknown = bob.send_message(ConversationId(9_999), "hello?").await;
    assert_eq!(
        bob.until(error_of).await,
        (Some(unknown), ErrorCode::NotFound)
    );
    bob.send_text("{not json".into()).await;
    assert_eq!(bob.until(error_of).await, (None, ErrorCode::MalformedFrame));
    bob.send_text(r#"{"type":"send","body":"no ids"}"#.into())
        .await;
    assert_eq!(bob.until(error_of).await, (None, ErrorCode::MalformedFrame));
    bob.send_text(format!(
        r#"{{"type":"ping","nonce":1,"pad":"{}"}}"#,
        "y".repeat(3_000)
    ))
    .await;
    assert_eq!(bob.until(error_of).await, (None, ErrorCode::FrameTooLarge));
    bob.assert_alive().await;

    assert_eq!(
        server.full_history(&cookie, channel.id).await.len(),
        before,
        "nothing was stored"
    );
    // Text that looks like HTML is stored and returned exactly as typed.
    let html = "<img src=x onerror=alert(1)>";
    bob.send_message(channel.id, html).await;
    // (The fan-out of it may come before or after its ack: only the message matters.)
    assert_eq!(bob.next_message().await.body, html);
    server.stop().await;
}

#[tokio::test]
async fn history_pages_are_complete_and_disjoint() {
    let dir = tempfile::tempdir().unwrap();
    // Forty sends at once are over a person's frame rate; this is about paging.
    let server = TestServer::start_with(dir.path(), |c| {
        c.history_page = 7;
        c.without_rate_limits();
    })
    .await;
    let cookie = server.login("alice").await;
    let channel = server.channel(&cookie, "manufacturer").await;
    let mut alice = server.connect(&cookie).await;
    for n in 0..40 {
        alice
            .send_message(channel.id, &format!("message {n}"))
            .await;
        alice.until(ack_of).await;
    }
    let total = channel.last_seq + 40;

    let mut seen = HashSet::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = server.history(&cookie, channel.id, before).await.unwrap();
        pages += 1;
        assert!(page.messages.len() <= 7);
        assert!(
            page.messages.windows(2).all(|w| w[0].seq + 1 == w[1].seq),
            "a page is contiguous"
        );
        if let Some(cursor) = before {
            assert!(
                page.messages.iter().all(|m| m.seq < cursor),
                "pages go back in time"
            );
        }
        for m in &page.messages {
            assert!(seen.insert(m.seq), "seq {} appeared twice", m.seq);
        }
        match page.next_before {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, (1..=total).collect::<HashSet<_>>());
    assert_eq!(pages, (total as usize).div_ceil(7));
    server.stop().await;
}

#[tokio::test]
async fn concurrent_senders_get_gapless_seqs_seen_in_order_by_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut watcher = server.connect(&carol_cookie).await;
    let per_sender = 25;
    let mut tasks = Vec::new();
    for cookie in [
        alice_cookie.clone(),
        bob_cookie.clone(),
        carol_cookie.clone(),
    ] {
        let mut client = server.connect(&cookie).await;
        tasks.push(tokio::spawn(async move {
            for n in 0..per_sender {
                client.send_message(channel.id, &format!("burst {n}")).await;
            }
            let mut acks = 0;
            while acks < per_sender {
                if matches!(client.next_frame().await, ServerFrame::Ack { .. }) {
                    acks += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let expected: Vec<i64> =
        (channel.last_seq + 1..=channel.last_seq + 3 * per_sender as i64).collect();
    let mut received = Vec::new();
    while received.len() < expected.len() {
        received.push(watcher.next_message().await.seq);
    }
    assert_eq!(received, expected, "in seq order, no gaps, no duplicates");
    server.stop().await;
}

#[tokio::test]
async fn a_direct_message_appears_for_the_other_person() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let mut carol = server.connect(&carol_cookie).await;

    let people: Vec<app::model::Person> = server.call(&carol_cookie, "people", &[]).await.unwrap();
    let names: Vec<&str> = people.iter().map(|p| p.display_name.as_str()).collect();
    assert!(names.contains(&"Alice Adams") && names.contains(&"Bob Baker"));
    assert!(
        !names.contains(&"Dave Diaz"),
        "guests only message internal staff"
    );
    // The first-run admin has not signed in yet (its one-time password is unchanged):
    // nobody is offered it, nor sees it among a channel's members.
    assert!(!names.contains(&"Administrator"), "{names:?}");
    let internal = server.channel(&alice_cookie, "internal").await;
    let members: Vec<app::model::User> = server
        .call(
            &alice_cookie,
            "members",
            &[("conversation_id", internal.id.0.to_string())],
        )
        .await
        .unwrap();
    assert!(members.iter().any(|m| m.display_name == "Bob Baker"));
    assert!(!members.iter().any(|m| m.display_name == "Administrator"));
    let dave = server.bootstrap(&dave_cookie).await.me;
    let refused = server
        .call::<app::model::ConversationSummary>(
            &carol_cookie,
            "open_direct",
            &[("other", dave.id.0.to_string())],
        )
        .await
        .unwrap_err();
    // Refused exactly as a person who does not exist, so a guest cannot find out who does.
    let unknown = server
        .call::<app::model::ConversationSummary>(
            &carol_cookie,
            "open_direct",
            &[("other", "987654".to_string())],
        )
        .await
        .unwrap_err();
    assert_eq!(refused, unknown);
    assert_eq!(refused.code, ErrorCode::NotFound);

    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let dm: app::model::ConversationSummary = server
        .call(
            &alice_cookie,
            "open_direct",
            &[("other", carol_id.0.to_string())],
        )
        .await
        .unwrap();
    assert_eq!(dm.title, "Carol Chen");
    let appeared = carol
        .until(|f| match f {
            ServerFrame::Conversation { conversation, .. } => Some(conversation),
            _ => None,
        })
        .await;
    assert_eq!(
        (appeared.id, appeared.title.as_str()),
        (dm.id, "Alice Adams")
    );
    // Opening again is idempotent.
    let again: app::model::ConversationSummary = server
        .call(
            &alice_cookie,
            "open_direct",
            &[("other", carol_id.0.to_string())],
        )
        .await
        .unwrap();
    assert_eq!(again.id, dm.id);
    // Dave cannot read it.
    let refused = server.history(&dave_cookie, dm.id, None).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn order_threads_are_one_per_order_and_follow_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let orders: Vec<app::model::Order> = server.call(&carol_cookie, "orders", &[]).await.unwrap();
    assert_eq!(orders.len(), 40, "carol sees every Oracare order");
    let dave_orders: Vec<app::model::Order> =
        server.call(&dave_cookie, "orders", &[]).await.unwrap();
    assert!(
        !dave_orders.is_empty() && dave_orders.len() < 40,
        "dave sees only Acme's"
    );
    let not_daves = orders
        .iter()
        .find(|o| !dave_orders.iter().any(|d| d.number == o.number))
        .unwrap()
        .number;

    let open = |cookie: String, number: i64| {
        let server = &server;
        async move {
            server
                .call::<app::model::ConversationSummary>(
                    &cookie,
                    "open_order_thread",
                    &[("number", number.to_string())],
                )
                .await
        }
    };
    let first = open(bob_cookie.clone(), 1042).await.unwrap();
    let second = open(carol_cookie.clone(), 1042).await.unwrap();
    assert_eq!(first.id, second.id);
    assert_eq!(first.title, "Order 1042");
    let refused = open(dave_cookie.clone(), not_daves).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    server.stop().await;
}

/// A frame over the hard cap is not read, and text that is not UTF-8 cannot be: either
/// way the connection is closed with the code RFC 6455 gives it (1009, 1007), not dropped.
#[tokio::test]
async fn unreadable_frames_are_closed_with_their_code() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.max_frame_bytes = 2_000).await;
    let cookie = server.login("bob").await;
    let close_code = async |mut client: common::Client, frame: Message| {
        client.socket.send(frame).await.unwrap();
        loop {
            match client.socket.next().await {
                Some(Ok(Message::Close(Some(close)))) => return u16::from(close.code),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    panic!("the connection ended without a close code")
                }
                Some(Ok(_)) => {}
            }
        }
    };

    // The hard cap is 1 MiB here (four times the 2,000-byte limit, at least 1 MiB).
    let huge = Message::Text("x".repeat((1 << 20) + 1).into());
    assert_eq!(close_code(server.connect(&cookie).await, huge).await, 1009);
    let not_utf8 = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    assert_eq!(
        close_code(server.connect(&cookie).await, Message::Frame(not_utf8)).await,
        1007
    );
    server.stop().await;
}
