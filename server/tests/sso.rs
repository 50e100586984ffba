//! Single sign-on from a host dashboard (SPEC.md §6), over real HTTP: a token the host
//! signs opens a session and makes or updates the user and organisation; every tampered,
//! expired, replayed or foreign variant opens nothing and makes nothing.

mod common;

use app::error::ErrorCode;
use app::model::{AdminOverview, Bootstrap, Role};
use common::{Endpoint, TestServer};
use parley_server::auth::sso::{Payload, sign};
use parley_server::config::DEMO_SSO_SECRET;

const HOST: &str = "http://ops.host.example";

fn payload(sub: &str, name: &str, role: &str, org: &str, org_kind: &str) -> Payload {
    Payload {
        sub: sub.into(),
        name: name.into(),
        email: format!("{sub}@host.example"),
        role: role.into(),
        org: org.into(),
        org_kind: org_kind.into(),
        exp: now() + 120,
        nonce: uuid::Uuid::new_v4().to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn token(p: &Payload) -> String {
    sign(DEMO_SSO_SECRET.as_bytes(), p)
}

struct Answer {
    status: u16,
    location: String,
    cookie: Option<String>,
    body: String,
}

/// `POST /auth/sso` as the host page's form does, from `origin`, with a session `cookie`.
async fn post(
    server: &Endpoint,
    origin: Option<&str>,
    cookie: Option<&str>,
    token: &str,
) -> Answer {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.post(server.url("/auth/sso")).form(&[
        ("token", token),
        ("open", "1"),
        ("accent", "#0a7d62"),
    ]);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    Answer {
        status: response.status().as_u16(),
        location: header("location").unwrap_or_default(),
        cookie: header("set-cookie").map(|c| c.split(';').next().unwrap().to_string()),
        body: response.text().await.unwrap(),
    }
}

async fn start(dir: &std::path::Path) -> TestServer {
    TestServer::start_with(dir, |config| config.embed_origins = vec![HOST.into()]).await
}

async fn user_names(server: &Endpoint, admin: &str) -> Vec<String> {
    let overview: AdminOverview = server.call(admin, "admin_overview", &[]).await.unwrap();
    overview.users.into_iter().map(|u| u.display_name).collect()
}

#[tokio::test]
async fn a_signed_token_opens_a_session_and_makes_the_user_and_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;

    let hana = payload("nw-17", "Hana Hill", "guest", "Northwind Retail", "client");
    let answer = post(&server, Some(HOST), None, &token(&hana)).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.location,
        "/embed?host=http%3A//ops.host.example&open=1&accent=%230a7d62"
    );
    let cookie = answer.cookie.expect("a session");
    let boot: Bootstrap = server.bootstrap(&cookie).await;
    assert_eq!(boot.me.display_name, "Hana Hill");
    assert_eq!(boot.me.role, Role::Guest);
    assert_eq!(boot.me.organisation_name, "Northwind Retail");
    assert_eq!(boot.me.username, "nw-17");
    // A new client organisation: none of the demo's channels admit it.
    assert!(boot.conversations.is_empty(), "{:?}", boot.conversations);

    // Next time, by the same `sub`: the same account, its name as the host says now.
    let renamed = payload(
        "nw-17",
        "Hana H. Hill",
        "guest",
        "Northwind Retail",
        "client",
    );
    let again = post(&server, Some(HOST), None, &token(&renamed)).await;
    let second = again.cookie.expect("another session");
    let boot2: Bootstrap = server.bootstrap(&second).await;
    assert_eq!(boot2.me.id, boot.me.id);
    assert_eq!(boot2.me.display_name, "Hana H. Hill");

    // An existing organisation, by name: Oracare's guest sees Oracare's channel.
    let olga = payload("nw-18", "Olga Ortiz", "guest", "Oracare", "client");
    let olga_cookie = post(&server, Some(HOST), None, &token(&olga))
        .await
        .cookie
        .unwrap();
    let boot: Bootstrap = server.bootstrap(&olga_cookie).await;
    assert!(
        boot.conversations
            .iter()
            .any(|c| c.title == "#oracare-team")
    );

    // The host moves her to its internal staff: what she had open ends (it admitted a
    // guest of Oracare), and the new session sees the internal channels.
    let moved = payload(
        "nw-18",
        "Olga Ortiz",
        "member",
        "Axiom Fulfillment",
        "internal",
    );
    let moved_cookie = post(&server, Some(HOST), None, &token(&moved))
        .await
        .cookie
        .unwrap();
    let gone: Result<Bootstrap, _> = server.call(&olga_cookie, "bootstrap", &[]).await;
    assert_eq!(gone.unwrap_err().code, ErrorCode::Unauthenticated);
    let boot: Bootstrap = server.bootstrap(&moved_cookie).await;
    assert_eq!(boot.me.role, Role::Member);
    assert!(boot.conversations.iter().any(|c| c.title == "#internal"));

    // An SSO account has no password that signs in.
    assert!(server.try_login("nw-17", "").await.is_none());
    let alice = server.login("alice").await;
    let audit: AdminOverview = server.call(&alice, "admin_overview", &[]).await.unwrap();
    let actions: Vec<&str> = audit.audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"user_created_by_sso"), "{actions:?}");
    assert!(actions.contains(&"user_role_changed_by_sso"), "{actions:?}");
    server.stop().await;
}

#[tokio::test]
async fn tampered_expired_replayed_and_foreign_tokens_open_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let alice = server.login("alice").await;
    let before = user_names(&server, &alice).await;

    let good = payload("nw-30", "Mallory Moss", "guest", "Oracare", "client");
    let signed = token(&good);
    let (body, signature) = signed.split_once('.').unwrap();
    let mut admin = good.clone();
    admin.role = "admin".into();
    admin.org = "Axiom Fulfillment".into();
    admin.org_kind = "internal".into();
    let forged = format!("{}.{signature}", token(&admin).split_once('.').unwrap().0);
    let mut expired = payload("nw-31", "Ed Expired", "guest", "Oracare", "client");
    expired.exp = now() - 3600;
    let mut forever = payload("nw-32", "Fay Forever", "guest", "Oracare", "client");
    forever.exp = now() + 86_400 * 365;
    let wrong_kind = payload("nw-33", "Kim Kind", "guest", "Oracare", "manufacturer");
    let wrong_secret = sign(
        b"not-the-secret-the-server-has",
        &payload("nw-34", "Sam Secret", "guest", "Oracare", "client"),
    );

    let cases = [
        ("forged payload", Some(HOST), forged, 401, "signature"),
        (
            "cut signature",
            Some(HOST),
            format!("{body}."),
            401,
            "signature",
        ),
        (
            "no signature",
            Some(HOST),
            body.to_string(),
            401,
            "not a Parley",
        ),
        ("wrong secret", Some(HOST), wrong_secret, 401, "signature"),
        ("expired", Some(HOST), token(&expired), 401, "expired"),
        (
            "valid for a year",
            Some(HOST),
            token(&forever),
            401,
            "too long",
        ),
        (
            "no token",
            Some(HOST),
            String::new(),
            401,
            "no sign-in token",
        ),
        (
            "foreign site",
            Some("http://evil.example"),
            signed.clone(),
            403,
            "may not embed",
        ),
        ("no origin", None, signed.clone(), 403, "may not embed"),
        (
            "organisation kind",
            Some(HOST),
            token(&wrong_kind),
            400,
            "another kind",
        ),
    ];
    for (what, origin, token, status, says) in cases {
        let answer = post(&server, origin, None, &token).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.body);
        assert!(answer.cookie.is_none(), "{what}: no session");
        assert!(answer.body.contains(says), "{what}: {}", answer.body);
        assert!(
            answer.body.contains("\"type\":\"parley:error\""),
            "{what}: the envelope"
        );
    }
    assert_eq!(user_names(&server, &alice).await, before, "nobody was made");

    // The good token works once; the same token again (a replay) opens nothing.
    let first = post(&server, Some(HOST), None, &signed).await;
    assert!(first.cookie.is_some());
    let replay = post(&server, Some(HOST), None, &signed).await;
    assert_eq!(replay.status, 401);
    assert!(replay.cookie.is_none());
    assert!(replay.body.contains("used already"), "{}", replay.body);
    // Unless it comes from the browser already holding that person's session (the host's
    // page from its cache): that session goes on, and no new one is made.
    let cookie = first.cookie.unwrap();
    let back = post(&server, Some(HOST), Some(&cookie), &signed).await;
    assert_eq!(back.status, 303);
    assert!(back.cookie.is_none());
    // ... but never someone else's token on that session.
    let other = post(&server, Some(HOST), Some(&cookie), &token(&expired)).await;
    assert_eq!(other.status, 401);

    // A disabled account does not come back through single sign-on.
    let boot: Bootstrap = server.bootstrap(&cookie).await;
    let _: () = server
        .call(
            &alice,
            "set_user_disabled",
            &[
                ("user_id", boot.me.id.0.to_string()),
                ("disabled", "true".into()),
            ],
        )
        .await
        .unwrap();
    let again = payload("nw-30", "Mallory Moss", "guest", "Oracare", "client");
    let refused = post(&server, Some(HOST), None, &token(&again)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("disabled"));
    server.stop().await;
}

/// The `frame-ancestors` directive of an answer's policy.
fn frame_ancestors(headers: &reqwest::header::HeaderMap) -> String {
    headers["content-security-policy"]
        .to_str()
        .unwrap()
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("frame-ancestors"))
        .expect("a frame-ancestors directive")
        .to_string()
}

#[tokio::test]
async fn only_the_embedding_origins_may_frame_the_widget() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let hana = payload("nw-40", "Hana Hill", "guest", "Oracare", "client");
    let cookie = post(&server, Some(HOST), None, &token(&hana))
        .await
        .cookie
        .unwrap();

    let (status, headers, body) = server
        .get(&cookie, "/embed?host=http://ops.host.example")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        frame_ancestors(&headers),
        format!("frame-ancestors 'self' {HOST} http://127.0.0.1:0")
    );
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Open chat"), "the widget, server-rendered");
    let (_, headers, _) = server.get(&cookie, "/dashboard").await;
    assert_eq!(frame_ancestors(&headers), "frame-ancestors 'self'");

    // Without a session, the frame says why instead of showing a sign-in page.
    let (status, _, body) = server.get("", "/embed").await;
    assert_eq!(status, 401);
    assert!(String::from_utf8(body).unwrap().contains("blocked Parley"));
    server.stop().await;
}
