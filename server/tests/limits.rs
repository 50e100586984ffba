//! Rate limits (issue 9): a burst of wrong passwords, HTTP requests, live frames and new
//! connections over their settings are refused with `rate_limited` and a wait, other
//! users do not notice, and a client that waits and resends loses nothing.

mod common;

use std::time::{Duration, Instant};

use app::error::{ApiError, ErrorCode};
use app::model::ClientId;
use app::protocol::{ClientFrame, ServerFrame};
use common::{PATIENCE, TestServer};
use parley_server::rate::Rate;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

fn rate(s: &str) -> Rate {
    Rate::parse(s).unwrap()
}

/// One sign-in attempt without following the redirect: its status, `Location` and
/// `Retry-After`.
async fn attempt(
    server: &TestServer,
    username: &str,
    password: &str,
    accept: &str,
) -> (u16, String, Option<u64>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(server.url("/auth/login"))
        .header("Origin", server.origin())
        .header("Accept", accept)
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/chat"),
        ])
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let location = header("location").unwrap_or_default();
    let retry = header("retry-after").and_then(|v| v.parse().ok());
    (response.status().as_u16(), location, retry)
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_is_limited_and_other_users_do_not_notice() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.rate_login_per_address = rate("10/min");
        c.rate_login_per_account = rate("20/min");
    })
    .await;
    // Another user, already signed in and connected, keeps pinging through the burst.
    let carol = server.login("carol").await;
    let mut watcher = server.connect(&carol).await;

    let started = Instant::now();
    let burst: Vec<_> = (0..200)
        .map(|n| {
            let server_addr = server.addr;
            tokio::spawn(async move {
                let endpoint = common::Endpoint { addr: server_addr };
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                let response = client
                    .post(endpoint.url("/auth/login"))
                    .header("Origin", endpoint.origin())
                    .form(&[("username", "bob"), ("password", &format!("guess-{n}"))])
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry = response.headers().get("retry-after").is_some();
                let body = response.bytes().await.unwrap();
                (status, retry, body)
            })
        })
        .collect();
    let ping_sent = Instant::now();
    watcher.assert_alive().await;
    let ping_took = ping_sent.elapsed();

    let (mut checked, mut limited) = (0, 0);
    for task in burst {
        let (status, retry, body) = task.await.unwrap();
        match status {
            // Checked and wrong: back to the sign-in page.
            303 => checked += 1,
            429 => {
                assert!(retry, "a refusal says when to come back");
                let error: ApiError = serde_json::from_slice(&body).unwrap();
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert!(error.retry_after_ms.is_some_and(|ms| ms > 0));
                limited += 1;
            }
            other => panic!("unexpected answer {other}"),
        }
    }
    eprintln!(
        "200 wrong passwords in {:?}: {checked} checked, {limited} refused unchecked; \
         another user's ping answered in {ping_took:?}",
        started.elapsed()
    );
    // Only the address's allowance (10) is ever hashed, plus those already waiting for
    // a turn when the tenth failure blocked the address (at most the turns: 1 here).
    assert!(
        (10..=12).contains(&checked),
        "{checked} passwords were checked"
    );
    assert_eq!(checked + limited, 200);
    assert!(
        server.metric("parley_rate_limited_total").await >= limited as f64,
        "sign-in refusals are counted like the others"
    );

    // The right password is refused too while the address is blocked: a browser is sent
    // back to the sign-in page with the wait, which the page shows.
    let (status, location, retry) = attempt(&server, "alice", "parley-demo", "text/html").await;
    assert_eq!(status, 303);
    assert!(
        location.starts_with("/login?error=limited&retry="),
        "{location}"
    );
    let wait = retry.expect("Retry-After");
    assert!((1..=60).contains(&wait), "{wait}");

    // After the window it works.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, location, _) = attempt(&server, "alice", "parley-demo", "text/html").await;
    assert_eq!((status, location.as_str()), (303, "/chat"));
    server.stop().await;
}

#[tokio::test]
async fn a_user_over_the_http_limit_is_refused_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.rate_http_per_user = rate("5/min");
        // Two sign-ins (below) and five page loads.
        c.rate_http_per_address = rate("7/min");
    })
    .await;
    let bob = server.login("bob").await;
    let carol = server.login("carol").await;
    for _ in 0..5 {
        let (status, _, _) = server.get(&bob, "/chat").await;
        assert_eq!(status, 200);
    }
    let (status, headers, body) = server.get(&bob, "/chat").await;
    assert_eq!(status, 429);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    let error: ApiError = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.code, ErrorCode::RateLimited);
    // A server function too (the same budget), with the status its envelope names.
    let refused = server
        .call::<app::model::Bootstrap>(&bob, "bootstrap", &[])
        .await;
    assert_eq!(refused.unwrap_err().code, ErrorCode::RateLimited);
    // Carol has her own budget, though she shares bob's address.
    let (status, _, _) = server.get(&carol, "/chat").await;
    assert_eq!(status, 200);
    // The bundle and health checks are not counted.
    let (status, _, _) = server.get(&bob, "/healthz").await;
    assert_eq!(status, 200);
    // Without a session, the address counts: the sign-in page, five times, then no more.
    let anonymous = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            anonymous
                .get(server.url("/login"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert!(server.metric("parley_rate_limited_total").await >= 3.0);
    server.stop().await;
}

#[tokio::test]
async fn sends_over_the_frame_limit_wait_and_resent_in_order_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.rate_frames_per_user = rate("4/s");
    })
    .await;
    let alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let channel = server.channel(&alice, "internal").await;
    let mut tab = server.connect(&alice).await;
    let mut other = server.connect(&bob).await;

    // Twelve messages at once, as an outbox flushed after a reconnect would.
    let outbox: Vec<(ClientId, String)> = (0..12)
        .map(|n| (uuid::Uuid::new_v4(), format!("queued {n}")))
        .collect();
    let mut waiting: Vec<(ClientId, String)> = outbox.clone();
    let mut rounds = 0;
    while !waiting.is_empty() {
        rounds += 1;
        assert!(rounds < 40, "the outbox never emptied");
        for (client_id, body) in &waiting {
            tab.send_frame(&ClientFrame::Send {
                client_id: *client_id,
                conversation_id: channel.id,
                body: body.clone(),
                reply_to: None,
                attachments: vec![],
            })
            .await;
        }
        // Every send gets an ack or a refusal, in order.
        let mut acked = Vec::new();
        let mut refused = Vec::new();
        let mut wait_ms = 0;
        while acked.len() + refused.len() < waiting.len() {
            match tab.next_frame().await {
                ServerFrame::Ack { client_id, .. } => acked.push(client_id),
                ServerFrame::Error {
                    client_id: Some(client_id),
                    error,
                } => {
                    assert_eq!(error.code, ErrorCode::RateLimited, "{error:?}");
                    wait_ms = wait_ms.max(error.retry_after_ms.expect("a wait"));
                    refused.push(client_id);
                }
                _ => {}
            }
        }
        // What went through is the front of the queue; what did not is the rest.
        let sent: Vec<ClientId> = waiting.iter().map(|(id, _)| *id).collect();
        assert_eq!(sent[..acked.len()], acked[..], "accepted out of order");
        assert_eq!(sent[acked.len()..], refused[..]);
        waiting.retain(|(id, _)| refused.contains(id));
        // Another user is not held up meanwhile.
        other.send_message(channel.id, "bob is unaffected").await;
        other
            .until(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
    }
    assert!(rounds > 1, "the limit was never reached");
    let history = server.full_history(&alice, channel.id).await;
    let mine: Vec<&str> = history
        .iter()
        .filter(|m| m.body.starts_with("queued "))
        .map(|m| m.body.as_str())
        .collect();
    let expected: Vec<&str> = outbox.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(mine, expected, "every message once, in the order written");
    server.stop().await;
}

#[tokio::test]
async fn new_live_connections_over_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| {
        c.rate_connections_per_user = rate("3/min");
    })
    .await;
    let carol = server.login("carol").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(server.connect(&carol).await);
    }
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Cookie", HeaderValue::from_str(&carol).unwrap());
    request
        .headers_mut()
        .insert("Origin", HeaderValue::from_str(&server.origin()).unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!(
            "a fourth connection in a minute was let in: {:?}",
            other.is_ok()
        ),
    }
    // The event stream is the same budget.
    let (status, headers, _) = server.get(&carol, "/events").await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    // Those already open still work, and another user connects.
    for client in &mut open {
        tokio::time::timeout(PATIENCE, client.assert_alive())
            .await
            .unwrap();
    }
    let bob = server.login("bob").await;
    server.connect(&bob).await.assert_alive().await;
    server.stop().await;
}
