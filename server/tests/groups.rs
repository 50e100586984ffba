//! Groups against a real server: started by staff with 3–9 people, people added and
//! leaving, each change live and replayed, and someone who left receiving nothing more.

mod common;

use std::time::Duration;

use app::error::{ApiError, ErrorCode};
use app::model::{ConversationId, ConversationSummary, UserId};
use app::protocol::ServerFrame;
use common::{Endpoint, TestServer};

async fn create(
    server: &Endpoint,
    cookie: &str,
    members: &[UserId],
    name: Option<&str>,
) -> Result<ConversationSummary, ApiError> {
    let mut args: Vec<(String, String)> = members
        .iter()
        .enumerate()
        .map(|(n, id)| (format!("members[{n}]"), id.0.to_string()))
        .collect();
    if let Some(name) = name {
        args.push(("name".into(), name.into()));
    }
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    server.call(cookie, "create_group", &args).await
}

async fn add(
    server: &Endpoint,
    cookie: &str,
    group: ConversationId,
    members: &[UserId],
) -> Result<ConversationSummary, ApiError> {
    let mut args = vec![("conversation_id".to_string(), group.0.to_string())];
    args.extend(
        members
            .iter()
            .enumerate()
            .map(|(n, id)| (format!("members[{n}]"), id.0.to_string())),
    );
    let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    server.call(cookie, "add_to_group", &args).await
}

async fn leave(server: &Endpoint, cookie: &str, group: ConversationId) -> Result<(), ApiError> {
    server
        .call(
            cookie,
            "leave_group",
            &[("conversation_id", group.0.to_string())],
        )
        .await
}

#[tokio::test]
async fn a_group_is_started_joined_and_left_live() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cookies: Vec<String> =
        futures::future::join_all(["alice", "bob", "carol", "dave"].map(|u| server.login(u))).await;
    let [alice_cookie, bob_cookie, carol_cookie, dave_cookie] =
        [0, 1, 2, 3].map(|n| cookies[n].clone());
    let id_of = |cookie: String| {
        let server = &server;
        async move { server.bootstrap(&cookie).await.me.id }
    };
    let (alice, bob, carol, dave) = (
        id_of(alice_cookie.clone()).await,
        id_of(bob_cookie.clone()).await,
        id_of(carol_cookie.clone()).await,
        id_of(dave_cookie.clone()).await,
    );
    let mut carol_tab = server.connect(&carol_cookie).await;
    let mut bob_tab = server.connect(&bob_cookie).await;

    // Sizes, and who may start one.
    assert_eq!(
        create(&server, &alice_cookie, &[bob], None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    let ten: Vec<UserId> = (100..109).map(UserId).collect();
    assert_eq!(
        create(&server, &alice_cookie, &ten, None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );
    assert_eq!(
        create(&server, &carol_cookie, &[alice, bob], None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );

    let group = create(&server, &alice_cookie, &[bob, carol], None)
        .await
        .unwrap();
    assert_eq!(group.title, "Bob, Carol");
    let seen = carol_tab
        .until(|f| match f {
            ServerFrame::Conversation { conversation, .. } if conversation.id == group.id => {
                Some(conversation)
            }
            _ => None,
        })
        .await;
    assert_eq!(
        seen.title, "Alice, Bob",
        "each member sees the others' first names"
    );
    assert_eq!(seen.slug, group.slug);

    // Guests may not add people; staff may.
    assert_eq!(
        add(&server, &carol_cookie, group.id, &[dave])
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let mut dave_tab = server.connect(&dave_cookie).await;
    let grown = add(&server, &alice_cookie, group.id, &[dave])
        .await
        .unwrap();
    assert_eq!(grown.audience.members.len(), 4);
    dave_tab
        .until(|f| matches!(f, ServerFrame::Conversation { conversation, .. } if conversation.id == group.id).then_some(()))
        .await;
    assert!(server.history(&dave_cookie, group.id, None).await.is_ok());

    // Bob leaves: his tabs drop it, and he receives nothing from it any more.
    let bob_position = server.last_event(&bob_cookie).await;
    leave(&server, &bob_cookie, group.id).await.unwrap();
    bob_tab
        .until(|f| matches!(f, ServerFrame::ConversationGone { conversation_id, .. } if conversation_id == group.id).then_some(()))
        .await;
    let mut alice_tab = server.connect(&alice_cookie).await;
    alice_tab.send_message(group.id, "after bob left").await;
    assert_eq!(carol_tab.next_message().await.body, "after bob left");
    let later = bob_tab.drain(Duration::from_millis(300)).await;
    assert!(
        !later.iter().any(|f| matches!(f, ServerFrame::Message { message, .. } if message.conversation_id == group.id)),
        "{later:?}"
    );
    assert_eq!(
        server
            .history(&bob_cookie, group.id, None)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert!(
        !server
            .bootstrap(&bob_cookie)
            .await
            .conversations
            .iter()
            .any(|c| c.id == group.id)
    );
    // A tab of bob's that was offline learns it on resume.
    let (_tab, replayed) = server.connect_after(&bob_cookie, Some(bob_position)).await;
    assert!(replayed.iter().any(|f| matches!(f, ServerFrame::ConversationGone { conversation_id, .. } if *conversation_id == group.id)));
    // Leaving twice, or leaving a channel, is refused.
    assert_eq!(
        leave(&server, &bob_cookie, group.id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    let channel = server.channel(&bob_cookie, "internal").await;
    assert_eq!(
        leave(&server, &bob_cookie, channel.id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::BadRequest
    );

    // A named group is called by its name.
    let named = create(&server, &bob_cookie, &[alice, dave], Some("Pallet recall"))
        .await
        .unwrap();
    assert_eq!(named.title, "Pallet recall");
    // A name of nothing visible is no name: the group is called by its members.
    let unnamed = create(
        &server,
        &bob_cookie,
        &[alice, dave],
        Some("\u{200B}\u{3164} "),
    )
    .await
    .unwrap();
    assert_eq!(unnamed.title, "Alice, Dave");
    server.stop().await;
}
