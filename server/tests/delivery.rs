//! Delivery you can trust, over real sockets: resume after a reconnect, stale
//! conversations, presence, typing, "seen by", the SSE transport, slow consumers, and
//! connection churn.

mod common;

use std::time::Duration;

use app::model::{Activity, Presence};
use app::protocol::{ClientFrame, ServerFrame};
use common::{SseClient, TestServer};
use futures::StreamExt;

fn message_bodies(frames: &[ServerFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Message { message, .. } => Some(message.body.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_in_order_then_live_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let internal = server.channel(&alice_cookie, "internal").await;

    let carol = server.connect(&carol_cookie).await;
    let carol_position = server.last_event(&carol_cookie).await;
    drop(carol); // her laptop sleeps

    let mut alice = server.connect(&alice_cookie).await;
    for n in 0..5 {
        alice.send_message(channel.id, &format!("missed {n}")).await;
        alice
            .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    // Not for carol's eyes: must not be replayed to her.
    alice.send_message(internal.id, "staff only").await;
    alice
        .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let dm: app::model::ConversationSummary = server
        .call(
            &alice_cookie,
            "open_direct",
            &[("other", carol_id.0.to_string())],
        )
        .await
        .unwrap();

    let (mut carol, replayed) = server
        .connect_after(&carol_cookie, Some(carol_position))
        .await;
    assert_eq!(
        message_bodies(&replayed),
        ["missed 0", "missed 1", "missed 2", "missed 3", "missed 4"]
    );
    let seqs: Vec<i64> = replayed
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Message { message, .. } => Some(message.seq),
            _ => None,
        })
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in seq order: {seqs:?}"
    );
    assert!(
        replayed.iter().any(|f| matches!(f, ServerFrame::Conversation { conversation, .. } if conversation.id == dm.id)),
        "the direct message alice started meanwhile is announced"
    );
    let events: Vec<_> = replayed.iter().filter_map(ServerFrame::event_id).collect();
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "events in stream order"
    );

    // Live events continue, each once.
    alice.send_message(channel.id, "after the reconnect").await;
    assert_eq!(carol.next_message().await.body, "after the reconnect");
    // Resuming from the newest position replays nothing.
    let newest = server.last_event(&carol_cookie).await;
    let (_again, nothing) = server.connect_after(&carol_cookie, Some(newest)).await;
    assert!(message_bodies(&nothing).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_client_too_far_behind_is_told_to_reload_that_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.resume_max_per_conversation = 3).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let busy = server.channel(&alice_cookie, "internal").await;
    let quiet = server.channel(&alice_cookie, "manufacturer").await;
    let position = server.last_event(&bob_cookie).await;
    let mut alice = server.connect(&alice_cookie).await;
    for n in 0..4 {
        alice.send_message(busy.id, &format!("flood {n}")).await;
        alice
            .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    alice.send_message(quiet.id, "just one").await;
    alice
        .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;

    let (_bob, replayed) = server.connect_after(&bob_cookie, Some(position)).await;
    assert!(replayed.contains(&ServerFrame::Stale {
        conversation_id: busy.id
    }));
    assert_eq!(
        message_bodies(&replayed),
        ["just one"],
        "the quiet conversation is replayed"
    );
    server.stop().await;
}

#[tokio::test]
async fn presence_follows_tabs_and_is_shown_only_to_those_who_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let carol_id = server.bootstrap(&carol_cookie).await.me.id;
    let bob_id = server.bootstrap(&bob_cookie).await.me.id;

    let mut bob = server.connect(&bob_cookie).await;
    let mut dave = server.connect(&dave_cookie).await;
    let presence_of = |user| {
        move |f: ServerFrame| match f {
            ServerFrame::Presence { users } => {
                users.into_iter().find(|(u, _)| *u == user).map(|(_, p)| p)
            }
            _ => None,
        }
    };
    let mut carol = server.connect(&carol_cookie).await;
    assert_eq!(bob.until(presence_of(carol_id)).await, Presence::Online);
    let mut carol_tab2 = server.connect(&carol_cookie).await;
    carol
        .send_frame(&ClientFrame::Activity {
            activity: Activity::Idle,
        })
        .await;
    carol_tab2
        .send_frame(&ClientFrame::Activity {
            activity: Activity::Idle,
        })
        .await;
    assert_eq!(bob.until(presence_of(carol_id)).await, Presence::Away);
    carol
        .send_frame(&ClientFrame::Activity {
            activity: Activity::Active,
        })
        .await;
    assert_eq!(bob.until(presence_of(carol_id)).await, Presence::Online);
    drop(carol);
    assert_eq!(
        bob.until(presence_of(carol_id)).await,
        Presence::Away,
        "the idle tab is left"
    );
    drop(carol_tab2);
    assert_eq!(bob.until(presence_of(carol_id)).await, Presence::Offline);

    // Dave (another outside organisation) never heard about carol, only about staff.
    let seen_by_dave = dave.drain(Duration::from_millis(300)).await;
    assert!(seen_by_dave.iter().all(|f| match f {
        ServerFrame::Presence { users } => users.iter().all(|(u, _)| *u != carol_id),
        _ => true,
    }));
    // A new connection starts with a snapshot of who is around.
    let presence = snapshot(&server, &carol_cookie).await;
    assert!(
        presence.contains(&(bob_id, Presence::Online)),
        "{presence:?}"
    );
    assert!(presence.iter().all(|(u, _)| *u != carol_id), "not oneself");
    server.stop().await;
}

/// The presence snapshot a new connection opens with.
async fn snapshot(server: &TestServer, cookie: &str) -> Vec<(app::model::UserId, Presence)> {
    let request = server.ws_request(cookie, "");
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut found = None;
    while found.is_none() {
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = socket.next().await
        else {
            panic!("connection ended before the presence snapshot");
        };
        if let ServerFrame::Presence { users } = serde_json::from_str(&text).unwrap() {
            found = Some(users);
        }
    }
    let _ = socket.close(None).await;
    found.unwrap()
}

#[tokio::test]
async fn typing_reaches_the_others_in_the_conversation_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let mut alice = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let mut dave = server.connect(&dave_cookie).await;

    carol
        .send_frame(&ClientFrame::Typing {
            conversation_id: channel.id,
        })
        .await;
    let (user, name) = alice
        .until(|f| match f {
            ServerFrame::Typing {
                user_id,
                name,
                conversation_id,
            } if conversation_id == channel.id => Some((user_id, name)),
            _ => None,
        })
        .await;
    assert_eq!(name, "Carol Chen");
    assert_eq!(user, server.bootstrap(&carol_cookie).await.me.id);
    let not_for_them = |frames: Vec<ServerFrame>| {
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::Typing { .. }))
    };
    assert!(
        not_for_them(carol.drain(Duration::from_millis(300)).await),
        "not echoed to the typist"
    );
    assert!(
        not_for_them(dave.drain(Duration::from_millis(300)).await),
        "not to outsiders"
    );

    // Typing where one may not post is refused.
    let internal = server.channel(&alice_cookie, "internal").await;
    carol
        .send_frame(&ClientFrame::Typing {
            conversation_id: internal.id,
        })
        .await;
    let refused = carol
        .until(|f| match f {
            ServerFrame::Error { error, .. } => Some(error.code),
            _ => None,
        })
        .await;
    assert_eq!(refused, app::error::ErrorCode::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn reading_updates_my_tabs_and_shows_seen_by_to_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&carol_cookie, "oracare-team").await;
    assert!(channel.unread > 0, "the demo history is unread for carol");
    let mut alice = server.connect(&alice_cookie).await;
    let mut carol = server.connect(&carol_cookie).await;
    let mut carol_tab2 = server.connect(&carol_cookie).await;

    alice
        .send_message(channel.id, "@carol please look at 1031")
        .await;
    alice
        .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    let mentioned = server.channel(&carol_cookie, "oracare-team").await;
    assert_eq!(mentioned.mentions, 1);
    assert_eq!(mentioned.unread, channel.unread + 1);

    carol
        .send_frame(&ClientFrame::Read {
            conversation_id: channel.id,
            seq: mentioned.last_seq,
        })
        .await;
    let read = |f: ServerFrame| match f {
        ServerFrame::Read {
            last_read_seq,
            unread,
            mentions,
            ..
        } => Some((last_read_seq, unread, mentions)),
        _ => None,
    };
    assert_eq!(
        carol_tab2.until(read).await,
        (mentioned.last_seq, 0, 0),
        "every tab of mine"
    );
    let seen = alice
        .until(|f| match f {
            ServerFrame::SeenBy { name, seq, .. } => Some((name, seq)),
            _ => None,
        })
        .await;
    assert_eq!(seen, ("Carol Chen".to_string(), mentioned.last_seq));
    let page = server
        .history(&alice_cookie, channel.id, None)
        .await
        .unwrap();
    assert!(
        page.seen_by
            .iter()
            .any(|s| s.display_name == "Carol Chen" && s.seq == mentioned.last_seq)
    );
    // Reading never goes backwards.
    carol
        .send_frame(&ClientFrame::Read {
            conversation_id: channel.id,
            seq: 1,
        })
        .await;
    carol.assert_alive().await;
    assert_eq!(
        server
            .channel(&carol_cookie, "oracare-team")
            .await
            .last_read_seq,
        mentioned.last_seq
    );
    server.stop().await;
}

#[tokio::test]
async fn server_sent_events_carry_the_same_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let position = server.last_event(&carol_cookie).await;
    let mut ws_alice = server.connect(&alice_cookie).await;
    ws_alice
        .send_message(channel.id, "before carol's stream")
        .await;
    ws_alice
        .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    assert_eq!(ws_alice.next_message().await.body, "before carol's stream");

    let mut carol = SseClient::open(&server, &carol_cookie, Some(position)).await;
    let replayed = carol
        .until(|f| match f {
            ServerFrame::Message { message, .. } => Some(message.body),
            _ => None,
        })
        .await;
    assert_eq!(replayed, "before carol's stream");
    carol
        .until(|f| matches!(f, ServerFrame::CaughtUp { .. }).then_some(()))
        .await;

    let client_id = uuid::Uuid::new_v4();
    let send = ClientFrame::Send {
        client_id,
        conversation_id: channel.id,
        body: "over SSE".into(),
        reply_to: None,
        attachments: Vec::new(),
    };
    let ack = carol.post(&server, &carol_cookie, &send).await;
    assert!(matches!(ack, Some(ServerFrame::Ack { client_id: c, .. }) if c == client_id));
    let again = carol.post(&server, &carol_cookie, &send).await;
    assert_eq!(again, ack, "idempotent over SSE too");
    assert_eq!(ws_alice.next_message().await.body, "over SSE");
    let echoed = carol
        .until(|f| match f {
            ServerFrame::Message { message, .. } => Some(message.body),
            _ => None,
        })
        .await;
    assert_eq!(echoed, "over SSE");

    let refused = carol
        .post(
            &server,
            &carol_cookie,
            &ClientFrame::Send {
                client_id: uuid::Uuid::new_v4(),
                conversation_id: server.channel(&alice_cookie, "internal").await.id,
                body: "no".into(),
                reply_to: None,
                attachments: Vec::new(),
            },
        )
        .await;
    assert!(
        matches!(refused, Some(ServerFrame::Error { error, .. }) if error.code == app::error::ErrorCode::NotFound)
    );
    let unauthenticated = reqwest::get(server.url("/events")).await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    server.stop().await;
}

/// A live connection whose TCP receive window is tiny, so the server's socket to it
/// fills as soon as it reads slowly (or not at all).
async fn connect_with_small_window(
    server: &TestServer,
    cookie: &str,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let request = server.ws_request(cookie, "");
    tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn a_stalled_reader_is_cut_off_while_others_keep_receiving() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.outgoing_queue = 8;
        c.write_timeout_secs = 1;
        // Two hundred sends as fast as they are acked: load, not a person.
        c.without_rate_limits();
        c.max_message_chars = 60_000;
        c.max_frame_bytes = 256 * 1024;
    })
    .await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let channel = server.channel(&alice_cookie, "internal").await;

    // A client that completes the handshake with a tiny receive window, then never reads.
    let stalled = connect_with_small_window(&server, &bob_cookie).await;

    let mut bob = server.connect(&bob_cookie).await;
    let mut alice = server.connect(&alice_cookie).await;
    server.wait_for_metric("parley_live_connections", 3.0).await;
    let body = "x".repeat(50_000);
    let total = 200;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < total {
            if let ServerFrame::Message { .. } = bob.next_frame().await {
                got += 1;
            }
        }
        (got, bob)
    });
    for _ in 0..total {
        alice.send_message(channel.id, &body).await;
        alice
            .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    let (got, _bob) = reader.await.unwrap();
    assert_eq!(got, total, "the reading client got everything");
    server.wait_for_metric("parley_live_connections", 2.0).await;
    drop(stalled);
    server.stop().await;
}

/// The client's pings are answered on the same socket as the server's frames: under a
/// reader slow enough that the server's writes are cut short (the socket full), every
/// frame still arrives whole and in order, each ping gets its own pong, and the server's
/// pings come through. (Written for an experiment that wrote frames past tungstenite,
/// BENCHMARKS.md; it holds for any way the frames are written.)
#[tokio::test]
async fn pings_and_pongs_share_a_full_socket_with_the_servers_frames() {
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.without_rate_limits();
        c.max_message_chars = 60_000;
        c.max_frame_bytes = 256 * 1024;
        c.ping_secs = 1;
    })
    .await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let channel = server.channel(&alice_cookie, "internal").await;
    // Bob's receive window is small, so the server's socket fills.
    let mut bob = connect_with_small_window(&server, &bob_cookie).await;
    let mut alice = server.connect(&alice_cookie).await;
    server.wait_for_metric("parley_live_connections", 2.0).await;

    let total = 120;
    let reader = tokio::spawn(async move {
        let (mut bodies, mut pongs, mut pings_sent, mut server_pings) =
            (Vec::new(), Vec::new(), 0u8, 0);
        while bodies.len() < total || pongs.len() < usize::from(pings_sent) {
            let message = tokio::time::timeout(Duration::from_secs(20), bob.next())
                .await
                .expect("the server went quiet")
                .expect("the connection ended")
                .expect("a frame that does not parse");
            match message {
                WsMessage::Text(text) => {
                    if let ServerFrame::Message { message, .. } =
                        serde_json::from_str(&text).unwrap()
                    {
                        bodies.push(message.body);
                        // Slow: the server's socket fills and its writes are cut short.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if bodies.len() % 6 == 0 {
                            futures::SinkExt::send(
                                &mut bob,
                                WsMessage::Ping(vec![pings_sent].into()),
                            )
                            .await
                            .unwrap();
                            pings_sent += 1;
                        }
                    }
                }
                WsMessage::Pong(payload) => pongs.push(payload.to_vec()),
                WsMessage::Ping(_) => server_pings += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        (bodies, pongs, pings_sent, server_pings)
    });
    for n in 0..total {
        let body = format!("{n:03}{}", "x".repeat(50_000));
        alice.send_message(channel.id, &body).await;
        alice
            .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    let (bodies, pongs, pings_sent, server_pings) = reader.await.unwrap();
    let numbers: Vec<String> = bodies.iter().map(|b| b[..3].to_string()).collect();
    let expected: Vec<String> = (0..total).map(|n| format!("{n:03}")).collect();
    assert_eq!(numbers, expected, "every message, whole and in order");
    assert!(bodies.iter().all(|b| b.len() == 50_003));
    let expected_pongs: Vec<Vec<u8>> = (0..pings_sent).map(|n| vec![n]).collect();
    assert_eq!(pongs, expected_pongs, "each ping answered once, in order");
    assert!(server_pings >= 1, "the server's pings came through");
    server.stop().await;
}

#[tokio::test]
async fn a_thousand_connect_disconnect_cycles_leave_the_hub_empty() {
    let dir = tempfile::tempdir().unwrap();
    // A thousand connections in seconds are over a person's rate on purpose.
    let server = TestServer::start_with(dir.path(), |c| c.without_rate_limits()).await;
    let cookie = server.login("carol").await;
    for _ in 0..1_000 {
        let client = server.connect(&cookie).await;
        drop(client);
    }
    let mut sse = SseClient::open(&server, &cookie, None).await;
    sse.until(|f| matches!(f, ServerFrame::CaughtUp { .. }).then_some(()))
        .await;
    drop(sse);
    server.wait_for_metric("parley_live_connections", 0.0).await;
    assert_eq!(server.metric("parley_online_users").await, 0.0);
    assert_eq!(
        server.metric("parley_connections_opened_total").await,
        1_001.0
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_tells_live_clients_to_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cookie = server.login("bob").await;
    let mut bob = server.connect(&cookie).await;
    server.stop().await;
    let close = tokio::time::timeout(common::PATIENCE, bob.socket.next())
        .await
        .unwrap();
    match close {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), app::protocol::CLOSE_GOING_AWAY);
        }
        other => panic!("expected a going-away close, got {other:?}"),
    }
}

/// A graceful shutdown answers every send it has read before closing: whatever it
/// stored was acked, whatever it acked is stored, once. (Several threads, so the server
/// reads and commits while the sends go out and the shutdown lands among them.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_acks_the_sends_it_read_and_commits_them_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cookie = server.login("bob").await;
    let channel = server.channel(&cookie, "oracare-team").await;
    let before = server.full_history(&cookie, channel.id).await.len();
    let mut bob = server.connect(&cookie).await;
    let mut sent = std::collections::HashSet::new();
    for i in 0..100 {
        sent.insert(
            bob.send_message(channel.id, &format!("going down {i}"))
                .await,
        );
    }
    // Once the server is reading them, shut it down among the rest.
    let (first, id) = bob
        .until(|f| match f {
            ServerFrame::Ack { client_id, id, .. } => Some((client_id, id)),
            _ => None,
        })
        .await;
    let stopped = tokio::spawn(server.stop());
    let (mut acked, close) = bob.acks_until_close().await;
    assert_eq!(close, Some(app::protocol::CLOSE_GOING_AWAY));
    assert!(acked.keys().all(|c| sent.contains(c) && *c != first));
    acked.insert(first, (id, 0));
    stopped.await.unwrap();

    let server = TestServer::start(dir.path()).await;
    let cookie = server.login("bob").await;
    let stored = server.full_history(&cookie, channel.id).await;
    let new: Vec<_> = stored[before..].iter().map(|m| m.id).collect();
    let mut acked_ids: Vec<_> = acked.values().map(|(id, _)| *id).collect();
    acked_ids.sort();
    assert_eq!(new, acked_ids, "stored exactly what was acked");
    server.stop().await;
}

#[tokio::test]
async fn signing_out_closes_that_sessions_live_connections_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let laptop = server.login("bob").await;
    let phone = server.login("bob").await;
    let mut laptop_ws = server.connect(&laptop).await;
    let mut laptop_sse = SseClient::open(&server, &laptop, None).await;
    let mut phone_ws = server.connect(&phone).await;

    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url("/auth/logout"))
        .header("Origin", server.origin())
        .header("Cookie", &laptop)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);

    loop {
        match tokio::time::timeout(common::PATIENCE, laptop_ws.socket.next())
            .await
            .expect("the laptop's socket is closed")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), app::protocol::CLOSE_UNAUTHENTICATED);
                break;
            }
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(None))) | None => {
                panic!("closed without saying why")
            }
            Some(_) => {}
        }
    }
    let said = laptop_sse
        .until(|f| match f {
            ServerFrame::Error {
                client_id: None,
                error,
            } => Some(error.code),
            _ => None,
        })
        .await;
    assert_eq!(said, app::error::ErrorCode::Unauthenticated);

    // The other session is untouched and still receives.
    phone_ws.assert_alive().await;
    let channel = server.channel(&phone, "internal").await;
    phone_ws.send_message(channel.id, "still here").await;
    assert_eq!(phone_ws.next_message().await.body, "still here");
    // Stats settle: one user, one connection left.
    server.wait_for_metric("parley_live_connections", 1.0).await;
    server.stop().await;
}

/// A mute is the muter's own event: their other tabs hear it live, a tab that was away
/// hears it on resume (as things are now), and nobody else hears of it at all.
#[tokio::test]
async fn a_mute_reaches_the_muters_other_tabs_live_and_on_resume_and_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice_cookie = server.login("alice").await;
    let bob_cookie = server.login("bob").await;
    let internal = server.channel(&alice_cookie, "internal").await;
    let mute = async |muted: bool| {
        let args = [
            ("conversation_id", internal.id.0.to_string()),
            ("muted", muted.to_string()),
        ];
        server
            .call::<()>(&alice_cookie, "set_muted", &args)
            .await
            .unwrap();
    };

    let mut other_tab = server.connect(&alice_cookie).await;
    let mut bob = server.connect(&bob_cookie).await;
    let away_since = server.last_event(&alice_cookie).await;
    mute(true).await;
    let live = other_tab
        .until(|f| match f {
            ServerFrame::Muted {
                conversation_id,
                muted,
                ..
            } => Some((conversation_id, muted)),
            _ => None,
        })
        .await;
    assert_eq!(live, (internal.id, true));
    assert_eq!(
        server.bootstrap(&alice_cookie).await.muted,
        vec![internal.id]
    );
    // Muting again changes nothing and says nothing.
    mute(true).await;
    mute(false).await;
    let live = other_tab
        .until(|f| match f {
            ServerFrame::Muted { muted, .. } => Some(muted),
            _ => None,
        })
        .await;
    assert!(
        !live,
        "the repeated mute sent nothing; the unmute comes next"
    );
    mute(true).await;

    // A tab that was away gets both changes, each saying how it is now: muted.
    let (_, replayed) = server.connect_after(&alice_cookie, Some(away_since)).await;
    let mutes: Vec<bool> = replayed
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Muted { muted, .. } => Some(*muted),
            _ => None,
        })
        .collect();
    assert_eq!(mutes, vec![true, true, true]);

    // Bob hears nothing of it, live or on resume.
    let heard: Vec<ServerFrame> = bob.drain(Duration::from_millis(300)).await;
    assert!(
        !heard.iter().any(|f| matches!(f, ServerFrame::Muted { .. })),
        "{heard:?}"
    );
    let (_, replayed) = server.connect_after(&bob_cookie, Some(away_since)).await;
    assert!(
        !replayed
            .iter()
            .any(|f| matches!(f, ServerFrame::Muted { .. })),
        "{replayed:?}"
    );
    assert!(server.bootstrap(&bob_cookie).await.muted.is_empty());
    server.stop().await;
}
