//! The authorization matrix (issue 9): every HTTP endpoint, server function and frame
//! type that takes a conversation or a message, for every demo user, against the
//! conversations that user may not see (another organisation's channel and order thread,
//! other people's direct message and group) → `not_found`, exactly as if it did not
//! exist; every admin action for every non-admin → `forbidden`; and no answer carries a
//! foreign message's text, a foreign conversation's name, or its counts.

mod common;

use app::model::{ConversationId, ConversationSummary, MessageId, Order, UserId};
use app::protocol::{ClientFrame, ServerFrame};
use common::TestServer;

/// Text only the conversation it was written in may show.
fn secret(place: &str) -> String {
    format!("SECRET-{place}-7731")
}

/// A conversation some user may not see, with a message (and a file) of its own.
struct Foreign {
    label: &'static str,
    conversation: ConversationSummary,
    message: MessageId,
    seq: i64,
    file: app::model::Attachment,
}

/// What one probe got back: its name, status, body.
struct Answer {
    probe: String,
    status: u16,
    body: String,
}

async fn raw_call(
    server: &TestServer,
    cookie: &str,
    endpoint: &str,
    args: &[(&str, String)],
) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(server.url(&format!("/api/{endpoint}")))
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .form(args)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn raw_get(
    server: &TestServer,
    cookie: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(server.url(path))
        .header("Cookie", cookie);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned(),
    )
}

/// Every probe of one user against one foreign conversation.
async fn probe(server: &TestServer, cookie: &str, token: &str, foreign: &Foreign) -> Vec<Answer> {
    let c = foreign.conversation.id.0.to_string();
    let m = foreign.message.0.to_string();
    let mut answers = Vec::new();
    let calls: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("history", vec![("conversation_id", c.clone())]),
        (
            "history_after",
            vec![("conversation_id", c.clone()), ("after", "0".into())],
        ),
        ("members", vec![("conversation_id", c.clone())]),
        (
            "conversation",
            vec![("slug", foreign.conversation.slug.clone())],
        ),
        (
            "set_muted",
            vec![("conversation_id", c.clone()), ("muted", "true".into())],
        ),
        ("leave_group", vec![("conversation_id", c.clone())]),
        (
            "add_to_group",
            vec![("conversation_id", c.clone()), ("members[0]", "1".into())],
        ),
        ("edit_history", vec![("message_id", m.clone())]),
        (
            "edit_message",
            vec![
                ("message_id", m.clone()),
                ("version", "1".into()),
                ("body", "mine now".into()),
            ],
        ),
        ("delete_message", vec![("message_id", m.clone())]),
        (
            "react",
            vec![
                ("message_id", m.clone()),
                ("emoji", "thumbs_up".into()),
                ("on", "true".into()),
            ],
        ),
    ];
    for (endpoint, args) in calls {
        let (status, body) = raw_call(server, cookie, endpoint, &args).await;
        answers.push(Answer {
            probe: format!("server function {endpoint}"),
            status,
            body,
        });
    }
    for path in [
        foreign.file.url(),
        foreign
            .file
            .thumbnail_url()
            .expect("an image has a thumbnail"),
        format!("/chat/{}", foreign.conversation.slug),
        format!("/api/v1/conversations/{c}/messages"),
    ] {
        let (status, body) = raw_get(server, cookie, &path, Some(token)).await;
        answers.push(Answer {
            probe: format!("GET {path}"),
            status,
            body,
        });
    }
    let upload = reqwest::Client::new()
        .post(server.url("/files"))
        .query(&[("conversation_id", c.clone()), ("name", "x.txt".into())])
        .header("Origin", server.origin())
        .header("Cookie", cookie)
        .header("Content-Type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    answers.push(Answer {
        probe: "POST /files".into(),
        status: upload.status().as_u16(),
        body: upload.text().await.unwrap(),
    });
    let posted = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/conversations/{c}/messages")))
        .bearer_auth(token)
        .json(&serde_json::json!({"body": "via the API"}))
        .send()
        .await
        .unwrap();
    answers.push(Answer {
        probe: "POST /api/v1/…/messages".into(),
        status: posted.status().as_u16(),
        body: posted.text().await.unwrap(),
    });
    answers
}

/// Every frame type that names a conversation or message, sent into `foreign`: each is
/// refused `not_found`, and nothing reaches the conversation.
async fn probe_frames(server: &TestServer, cookie: &str, foreign: &Foreign) -> Vec<Answer> {
    let mut tab = server.connect(cookie).await;
    let mut answers = Vec::new();
    let frames = [
        (
            "send",
            ClientFrame::Send {
                client_id: uuid::Uuid::new_v4(),
                conversation_id: foreign.conversation.id,
                body: "let me in".into(),
                reply_to: None,
                attachments: vec![],
            },
        ),
        (
            "send quoting",
            ClientFrame::Send {
                client_id: uuid::Uuid::new_v4(),
                conversation_id: ConversationId(0),
                body: "quoting you".into(),
                reply_to: Some(foreign.message),
                attachments: vec![],
            },
        ),
        (
            "send with its file",
            ClientFrame::Send {
                client_id: uuid::Uuid::new_v4(),
                conversation_id: foreign.conversation.id,
                body: "a file".into(),
                reply_to: None,
                attachments: vec![foreign.file.id],
            },
        ),
        (
            "read",
            ClientFrame::Read {
                conversation_id: foreign.conversation.id,
                seq: foreign.seq,
            },
        ),
        (
            "typing",
            ClientFrame::Typing {
                conversation_id: foreign.conversation.id,
            },
        ),
    ];
    for (name, frame) in frames {
        tab.send_frame(&frame).await;
        let answer = tab
            .until(|f| match f {
                ServerFrame::Error { error, .. } => Some(Ok(error)),
                ServerFrame::Ack { .. } => Some(Err("acked")),
                _ => None,
            })
            .await;
        let (status, body) = match answer {
            Ok(error) => (
                error.code.http_status(),
                serde_json::to_string(&error).unwrap(),
            ),
            Err(acked) => (200, acked.to_string()),
        };
        answers.push(Answer {
            probe: format!("frame {name}"),
            status,
            body,
        });
    }
    answers
}

#[tokio::test]
async fn nobody_reaches_what_they_may_not_see_and_only_admins_administer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.without_rate_limits()).await;
    let alice = server.login("alice").await;
    let people: Vec<app::model::Person> = server.call(&alice, "people", &[]).await.unwrap();
    let id_of = |name: &str| people.iter().find(|p| p.display_name == name).unwrap().id;
    let (bob_id, carol_id, dave_id) = (id_of("Bob Baker"), id_of("Carol Chen"), id_of("Dave Diaz"));
    let mut tab = server.connect(&alice).await;

    // The foreign objects, each with a secret message and a file.
    let mut places: Vec<(&'static str, ConversationSummary)> = vec![
        ("internal", server.channel(&alice, "internal").await),
        ("manufacturer", server.channel(&alice, "manufacturer").await),
        ("oracare-team", server.channel(&alice, "oracare-team").await),
    ];
    let dm: ConversationSummary = server
        .call(&alice, "open_direct", &[("other", bob_id.0.to_string())])
        .await
        .unwrap();
    places.push(("dm-alice-bob", dm));
    let dm: ConversationSummary = server
        .call(&alice, "open_direct", &[("other", carol_id.0.to_string())])
        .await
        .unwrap();
    places.push(("dm-alice-carol", dm));
    let group: ConversationSummary = server
        .call(
            &alice,
            "create_group",
            &[
                ("members[0]", carol_id.0.to_string()),
                ("members[1]", bob_id.0.to_string()),
            ],
        )
        .await
        .unwrap();
    places.push(("group-alice-bob-carol", group));
    let orders: Vec<Order> = server.call(&alice, "orders", &[]).await.unwrap();
    let oracare_only = orders
        .iter()
        .find(|o| o.organisation_names == ["Oracare"])
        .unwrap();
    let thread: ConversationSummary = server
        .call(
            &alice,
            "open_order_thread",
            &[("number", oracare_only.number.to_string())],
        )
        .await
        .unwrap();
    places.push(("oracare-order", thread));
    let mut foreign = Vec::new();
    for (label, conversation) in places {
        let file = server
            .upload(&alice, conversation.id, "secret.png", "image/png", png())
            .await
            .unwrap();
        let (message, seq) = tab.send_acked(conversation.id, &secret(label)).await;
        foreign.push(Foreign {
            label,
            conversation,
            message,
            seq,
            file,
        });
    }

    // Who may not see what (SPEC §4: staff see channels and order threads, not other
    // people's direct messages; guests only their organisation's).
    let matrix: [(&str, UserId, &[&str]); 3] = [
        ("bob", bob_id, &["dm-alice-carol"]),
        (
            "carol",
            carol_id,
            &["internal", "manufacturer", "dm-alice-bob"],
        ),
        (
            "dave",
            dave_id,
            &[
                "internal",
                "oracare-team",
                "dm-alice-bob",
                "dm-alice-carol",
                "group-alice-bob-carol",
                "oracare-order",
            ],
        ),
    ];
    let mut failures = Vec::new();
    let mut probes = 0;
    for (username, _, hidden) in matrix {
        let cookie = server.login(username).await;
        // What this user may not read anywhere.
        let secrets: Vec<String> = foreign
            .iter()
            .filter(|f| hidden.contains(&f.label))
            .map(|f| secret(f.label))
            .collect();
        let token = server
            .call::<app::model::IssuedToken>(
                &cookie,
                "create_api_token",
                &[("name", "matrix".into()), ("write", "true".into())],
            )
            .await
            .unwrap()
            .secret;
        for place in foreign.iter().filter(|f| hidden.contains(&f.label)) {
            let mut answers = probe(&server, &cookie, &token, place).await;
            answers.extend(probe_frames(&server, &cookie, place).await);
            for answer in answers {
                probes += 1;
                // A page echoes the address asked for, and names people the user may see
                // elsewhere: there, the conversation as data (its summary) is what must
                // not appear.
                let page = answer.probe.starts_with("GET /chat/");
                let named = if page {
                    answer
                        .body
                        .contains(&format!("\"title\":\"{}\"", place.conversation.title))
                        || answer
                            .body
                            .contains(&format!("\"id\":{},", place.conversation.id.0))
                } else {
                    answer.body.contains(&place.conversation.title)
                        || answer.body.contains(&place.conversation.slug)
                };
                let leaked = named || secrets.iter().any(|s| answer.body.contains(s));
                // A page for a conversation one may not see is the app's "not found" page.
                if answer.status != 404 || leaked {
                    failures.push(format!(
                        "{username} × {} × {}: {} {}",
                        place.label,
                        answer.probe,
                        answer.status,
                        answer.body.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
        // Search never finds what they may not see.
        let results: app::search::SearchResults = server
            .call(&cookie, "search", &[("query", "\"7731\"".into())])
            .await
            .unwrap();
        let found = serde_json::to_string(&results).unwrap();
        for place in foreign.iter().filter(|f| hidden.contains(&f.label)) {
            probes += 1;
            if found.contains(&secret(place.label)) {
                failures.push(format!("{username} found {} by search", place.label));
            }
        }
        // Their list and bootstrap name none of it, nor count it.
        let boot = serde_json::to_string(&server.bootstrap(&cookie).await).unwrap();
        for place in foreign.iter().filter(|f| hidden.contains(&f.label)) {
            probes += 1;
            if boot.contains(&secret(place.label))
                || boot.contains(&format!("\"slug\":\"{}\"", place.conversation.slug))
            {
                failures.push(format!("{username}'s bootstrap shows {}", place.label));
            }
        }
        // Admin actions: forbidden, whatever the arguments.
        for (endpoint, args) in admin_calls(dave_id) {
            probes += 1;
            let (status, body) = raw_call(&server, &cookie, endpoint, &args).await;
            if status != 403 || secrets.iter().any(|s| body.contains(s)) {
                failures.push(format!("{username} × {endpoint}: {status} {body}"));
            }
        }
        for place in &foreign {
            probes += 1;
            let (status, _) = raw_get(
                &server,
                &cookie,
                &format!("/admin/export/{}", place.conversation.id.0),
                None,
            )
            .await;
            if status != 403 {
                failures.push(format!("{username} exported {}: {status}", place.label));
            }
        }
        let (status, _) = raw_get(&server, &cookie, "/admin", None).await;
        probes += 1;
        if status != 403 {
            failures.push(format!("{username} opened /admin: {status}"));
        }
    }
    // Nothing they tried landed: every secret conversation holds only alice's message.
    for place in &foreign {
        let history = server.full_history(&alice, place.conversation.id).await;
        let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
        assert!(
            bodies.last() == Some(&secret(place.label).as_str())
                && !history.last().unwrap().deleted,
            "{} was changed: {bodies:?}",
            place.label
        );
        assert!(
            history.last().unwrap().reactions.is_empty(),
            "{} got a reaction",
            place.label
        );
    }
    eprintln!("authorization matrix: {probes} probes");
    assert!(
        failures.is_empty(),
        "{} refusals missing or leaking:\n{}",
        failures.len(),
        failures.join("\n")
    );
    server.stop().await;
}

fn admin_calls(someone: UserId) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let user = someone.0.to_string();
    vec![
        ("admin_overview", vec![]),
        (
            "create_channel",
            vec![("name", "sneaky".into()), ("organisations[0]", "1".into())],
        ),
        (
            "change_user",
            vec![
                ("user_id", user.clone()),
                ("role", "admin".into()),
                ("organisation_id", "1".into()),
            ],
        ),
        (
            "create_user",
            vec![
                ("username", "mallory".into()),
                ("display_name", "Mallory".into()),
                ("role", "admin".into()),
                ("organisation_id", "1".into()),
            ],
        ),
        (
            "set_user_disabled",
            vec![("user_id", user.clone()), ("disabled", "true".into())],
        ),
        ("reset_password", vec![("user_id", user)]),
        ("set_connection_mode", vec![("mode", "sse".into())]),
        ("set_edit_window", vec![("secs", "99999".into())]),
    ]
}

fn png() -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 30, 30]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}
