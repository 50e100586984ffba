//! Search against a real server and SQLite FTS5 index: only what the user may see, never
//! deleted or superseded text, with operators and highlighted snippets.

mod common;

use app::model::ConversationId;
use app::protocol::ServerFrame;
use app::search::SearchResults;
use common::{Client, Endpoint, TestServer};

async fn search(server: &Endpoint, cookie: &str, query: &str) -> SearchResults {
    server
        .call(cookie, "search", &[("query", query.to_string())])
        .await
        .unwrap()
}

fn bodies(results: &SearchResults) -> Vec<String> {
    results
        .hits
        .iter()
        .map(|h| h.message.body.clone())
        .collect()
}

async fn say(
    client: &mut Client,
    conversation: ConversationId,
    body: &str,
) -> app::model::MessageId {
    let client_id = client.send_message(conversation, body).await;
    client
        .until(|f| match f {
            ServerFrame::Ack {
                client_id: c, id, ..
            } if c == client_id => Some(id),
            _ => None,
        })
        .await
}

#[tokio::test]
async fn search_finds_only_what_the_user_may_see_and_only_current_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let bob_cookie = server.login("bob").await;
    let carol_cookie = server.login("carol").await;
    let shared = server.channel(&bob_cookie, "oracare-team").await;
    let internal = server.channel(&bob_cookie, "internal").await;
    let manufacturer = server.channel(&bob_cookie, "manufacturer").await;
    let mut bob = server.connect(&bob_cookie).await;

    say(
        &mut bob,
        shared.id,
        "The damaged pallet for order 1042 is back in stock",
    )
    .await;
    say(
        &mut bob,
        internal.id,
        "Internal: the damaged pallet was our fault",
    )
    .await;
    say(
        &mut bob,
        manufacturer.id,
        "Acme: damaged pallet photos attached",
    )
    .await;
    let edited = say(&mut bob, shared.id, "Tracking is at the carrier site").await;
    let deleted = say(
        &mut bob,
        shared.id,
        "The door code is 4321, damaged pallet area",
    )
    .await;
    let _: app::model::Message = server
        .call(
            &bob_cookie,
            "edit_message",
            &[
                ("message_id", edited.0.to_string()),
                ("version", "1".into()),
                (
                    "body",
                    "Tracking: https://carrier.example/track/1042".into(),
                ),
            ],
        )
        .await
        .unwrap();
    let _: app::model::Message = server
        .call(
            &bob_cookie,
            "delete_message",
            &[("message_id", deleted.0.to_string())],
        )
        .await
        .unwrap();

    // Carol sees #oracare-team only.
    let found = search(&server, &carol_cookie, "damaged pallet").await;
    assert_eq!(
        bodies(&found),
        ["The damaged pallet for order 1042 is back in stock"]
    );
    let hit = &found.hits[0];
    assert_eq!(hit.conversation_title, "#oracare-team");
    let marked: Vec<&str> = hit
        .snippet
        .iter()
        .filter(|(_, m)| *m)
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(marked, ["damaged", "pallet"]);
    // Bob sees all three channels.
    assert_eq!(
        search(&server, &bob_cookie, "damaged pallet")
            .await
            .hits
            .len(),
        3
    );
    // A deleted message is never found, nor the words an edit replaced.
    assert!(
        search(&server, &bob_cookie, "door code")
            .await
            .hits
            .is_empty()
    );
    assert!(
        search(&server, &carol_cookie, "carrier site")
            .await
            .hits
            .is_empty()
    );
    assert_eq!(
        search(&server, &carol_cookie, "carrier").await.hits.len(),
        1
    );

    // Operators.
    assert_eq!(
        search(&server, &bob_cookie, "pallet in:#internal")
            .await
            .hits
            .len(),
        1
    );
    assert_eq!(
        search(&server, &bob_cookie, "pallet in:manufacturer")
            .await
            .hits
            .len(),
        1
    );
    assert_eq!(
        search(&server, &carol_cookie, "pallet in:#internal")
            .await
            .hits
            .len(),
        0
    );
    assert_eq!(
        search(&server, &carol_cookie, "from:bob has:link")
            .await
            .hits
            .len(),
        1
    );
    assert_eq!(
        search(&server, &carol_cookie, "from:alice 1042")
            .await
            .hits
            .len(),
        0
    );
    assert_eq!(
        search(&server, &carol_cookie, "\"back in stock\"")
            .await
            .hits
            .len(),
        1
    );
    assert_eq!(
        search(&server, &carol_cookie, "\"stock back in\"")
            .await
            .hits
            .len(),
        0
    );
    assert_eq!(
        search(&server, &carol_cookie, "pallet before:2000-01-01")
            .await
            .hits
            .len(),
        0
    );
    assert_eq!(
        search(&server, &carol_cookie, "pallet after:2000-01-01")
            .await
            .hits
            .len(),
        1
    );
    // What cannot be understood is said, and the rest searched.
    let odd = search(&server, &carol_cookie, "colour:red \"damaged pallet").await;
    assert_eq!(odd.hits.len(), 1);
    assert_eq!(odd.ignored.len(), 2, "{:?}", odd.ignored);
    // FTS syntax typed in is only text.
    assert!(
        search(&server, &carol_cookie, "NEAR(damaged pallet) OR *")
            .await
            .hits
            .is_empty()
    );
    server.stop().await;
}
