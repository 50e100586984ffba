//! The REST API (issue 9 item 3): personal access tokens (shown once, hashed, scoped,
//! revocable) and `/api/v1/…` going through the same command path as the live
//! connection; its OpenAPI document.

mod common;

use app::error::{ApiError, ErrorCode};
use app::model::{ApiScope, ApiToken, IssuedToken};
use app::protocol::ServerFrame;
use common::TestServer;
use serde_json::{Value, json};

struct Api<'a> {
    server: &'a TestServer,
    token: Option<String>,
}

impl Api<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new().request(method, self.server.url(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

fn code(body: &Value) -> ErrorCode {
    serde_json::from_value::<ApiError>(body.clone())
        .unwrap_or_else(|_| panic!("not an error envelope: {body}"))
        .code
}

async fn issue(server: &TestServer, cookie: &str, name: &str, write: bool) -> IssuedToken {
    server
        .call(
            cookie,
            "create_api_token",
            &[("name", name.to_string()), ("write", write.to_string())],
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bot_posts_reads_and_opens_threads_with_a_token_and_loses_it_when_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let channel = server.channel(&alice, "internal").await;
    let mut bob_tab = server.connect(&bob).await;

    let issued = issue(&server, &alice, "ERP bot", true).await;
    assert!(issued.secret.starts_with("parley_pat_"));
    assert_eq!(issued.token.scopes, [ApiScope::Read, ApiScope::Write]);
    // Listed without the secret, which is never shown again.
    let listed: Vec<ApiToken> = server.call(&alice, "api_tokens", &[]).await.unwrap();
    assert_eq!(listed, vec![issued.token.clone()]);
    let listing = serde_json::to_string(&listed).unwrap();
    assert!(!listing.contains(&issued.secret[11..]));

    let api = Api {
        server: &server,
        token: Some(issued.secret.clone()),
    };
    let path = format!("/api/v1/conversations/{}/messages", channel.id.0);
    let client_id = uuid::Uuid::new_v4();
    let (status, posted) = api
        .post(
            &path,
            json!({"body": "Pallet **42** is in", "client_id": client_id}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["client_id"], client_id.to_string());
    // Fanned out live like any message.
    let live = bob_tab
        .until(|f| match f {
            ServerFrame::Message { message, .. } => Some(message),
            _ => None,
        })
        .await;
    assert_eq!(live.body, "Pallet **42** is in");
    assert_eq!(live.sender_name, "Alice Adams");
    // The same client id again: the first answer, not a second message.
    let (status, again) = api
        .post(
            &path,
            json!({"body": "Pallet **42** is in", "client_id": client_id}),
        )
        .await;
    assert_eq!((status, &again), (201, &posted));

    let (status, history) = api.get(&path).await;
    assert_eq!(status, 200);
    let bodies: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies
            .iter()
            .filter(|b| **b == "Pallet **42** is in")
            .count(),
        1
    );
    let (status, list) = api.get("/api/v1/conversations").await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["slug"] == "internal")
    );

    let orders: Vec<app::model::Order> = server.call(&alice, "orders", &[]).await.unwrap();
    let reference = format!("order:{}", orders[0].number);
    let (status, thread) = api
        .post("/api/v1/threads", json!({"reference": reference}))
        .await;
    assert_eq!(status, 200, "{thread}");
    assert_eq!(thread["kind"], "order");

    // Bad input: typed errors, nothing stored.
    let (status, body) = api.post(&path, json!({"body": "   "})).await;
    assert_eq!((status, code(&body)), (400, ErrorCode::EmptyMessage));
    let (status, body) = api.post(&path, json!({"text": "wrong field"})).await;
    assert_eq!((status, code(&body)), (400, ErrorCode::BadRequest));
    let (status, body) = api.get("/api/v1/conversations/abc/messages").await;
    assert_eq!((status, code(&body)), (400, ErrorCode::BadRequest));
    let (status, body) = api.get(&format!("{path}?before=-3")).await;
    assert_eq!((status, code(&body)), (400, ErrorCode::BadRequest));
    let (status, body) = api
        .post("/api/v1/threads", json!({"reference": "invoice:7"}))
        .await;
    assert_eq!((status, code(&body)), (400, ErrorCode::BadRequest));

    // A read-only token reads and may not write.
    let reader = Api {
        server: &server,
        token: Some(issue(&server, &alice, "dashboard", false).await.secret),
    };
    assert_eq!(reader.get(&path).await.0, 200);
    let (status, body) = reader.post(&path, json!({"body": "hi"})).await;
    assert_eq!((status, code(&body)), (403, ErrorCode::Forbidden));

    // Revoked: refused at once, like no token at all or a made-up one.
    let _: () = server
        .call(
            &alice,
            "revoke_api_token",
            &[("id", issued.token.id.to_string())],
        )
        .await
        .unwrap();
    for token in [
        Some(issued.secret.clone()),
        None,
        Some("parley_pat_0000".into()),
    ] {
        let api = Api {
            server: &server,
            token,
        };
        let (status, body) = api.get("/api/v1/conversations").await;
        assert_eq!((status, code(&body)), (401, ErrorCode::Unauthenticated));
    }
    // Another person cannot revoke alice's token (it is not theirs to know of).
    let other = issue(&server, &alice, "other", true).await;
    let refused = server
        .call::<()>(
            &bob,
            "revoke_api_token",
            &[("id", other.token.id.to_string())],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn a_guests_token_reaches_only_what_the_guest_may() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.login("alice").await;
    let internal = server.channel(&alice, "internal").await;
    let manufacturer = server.channel(&alice, "manufacturer").await;
    let carol = server.login("carol").await;
    let api = Api {
        server: &server,
        token: Some(issue(&server, &carol, "oracare sync", true).await.secret),
    };
    for channel in [&internal, &manufacturer] {
        let path = format!("/api/v1/conversations/{}/messages", channel.id.0);
        let (status, body) = api.get(&path).await;
        assert_eq!((status, code(&body)), (404, ErrorCode::NotFound));
        let (status, body) = api.post(&path, json!({"body": "let me in"})).await;
        assert_eq!((status, code(&body)), (404, ErrorCode::NotFound));
    }
    let (_, list) = api.get("/api/v1/conversations").await;
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["slug"].as_str())
        .collect();
    assert!(slugs.contains(&"oracare-team"));
    assert!(!slugs.contains(&"internal") && !slugs.contains(&"manufacturer"));
    // Nothing was posted where she cannot see.
    let history = server.full_history(&alice, internal.id).await;
    assert!(history.iter().all(|m| m.body != "let me in"));
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (status, doc) = Api {
        server: &server,
        token: None,
    }
    .get("/api/openapi.json")
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/conversations",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/threads",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ApiMessage"].is_object());
    server.stop().await;
}
