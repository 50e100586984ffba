//! Accounts and sessions: argon2 password hashes, random session tokens of which only a
//! SHA-256 is stored, the `parley_session` cookie (`HttpOnly`, `SameSite=Lax`, `Secure`
//! when configured), sign-in and sign-out handlers, and the middleware that resolves the
//! session of every request and keeps pages behind it.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use app::account::{NEW_PASSWORD_PAGE, check_new_password, safe_next};
use app::api::backend::Authenticated;
use app::error::{ApiError, ErrorCode};
use app::model::User;
use app::protocol::SESSION_PROBE;

use crate::clock::now_ms;
use crate::config::Secret;
use crate::hub::Hub;
use crate::store::StoreResult;
use crate::store::prelude::*;
use crate::web::{AppState, error_response, origin_allowed};

pub mod sso;

pub const SESSION_COOKIE: &str = "parley_session";

/// A session token as the browser holds it. Not `Serialize`, not `Display`: it appears
/// only in the `Set-Cookie` header.
pub struct SessionToken(String);

impl SessionToken {
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// What the database stores.
    pub(crate) fn hash(&self) -> String {
        hash_token(&self.0)
    }

    /// The token itself, for a client outside the browser (`bench-seed` writes them for
    /// `loadgen`).
    pub(crate) fn into_inner(self) -> String {
        self.0
    }
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh one-time password: 20 random letters and digits.
pub fn one_time_password() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// Hashes a password with argon2id (default parameters). Runs on a blocking thread.
pub async fn hash_password(password: String) -> Secret {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Secret::new(
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .expect("argon2 with default parameters hashes any password")
                .to_string(),
        )
    })
    .await
    .expect("hashing task")
}

/// Checks a password against a stored hash on a blocking thread.
async fn verify_password(password: String, hash: Secret) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(hash.expose_str()).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// Used when the username is unknown, so that a wrong username costs as long as a wrong
/// password and timing does not reveal which accounts exist.
static DUMMY_HASH: std::sync::LazyLock<Secret> = std::sync::LazyLock::new(|| {
    let salt = SaltString::encode_b64(b"parley-dummy-salt").expect("static salt");
    Secret::new(
        Argon2::default()
            .hash_password(b"not a password", &salt)
            .expect("static hash")
            .to_string(),
    )
});

/// Opens a session for `user` and returns the `Set-Cookie` value. An `embedded` session
/// (the widget's frame on a host's page) served over TLS gets a `SameSite=None;
/// Partitioned` cookie: the browser keeps it for that host's pages only (CHIPS), so it
/// works where third-party cookies are blocked. Without TLS (the demo) the host must be
/// same-site (another port of the same name), where `SameSite=Lax` is sent.
pub async fn open_session(
    store: &dyn Store,
    user: &User,
    state: &AppState,
    embedded: bool,
) -> Result<HeaderValue, ApiError> {
    let token = SessionToken::generate();
    let now = now_ms();
    let ttl = state.config.session_ttl();
    store
        .create_session(&token.hash(), user.id, now, now + ttl.as_millis() as i64)
        .await
        .map_err(|e| e.to_api("could not store a session"))?;
    let scope = match (state.config.secure_cookies, embedded) {
        (true, true) => "SameSite=None; Secure; Partitioned",
        (true, false) => "SameSite=Lax; Secure",
        (false, _) => "SameSite=Lax",
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; {scope}; Max-Age={}",
        token.0,
        ttl.as_secs()
    ))
    .map_err(|_| ApiError::internal())
}

fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("parley_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| cookie::Cookie::parse(pair.trim()).ok())
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// The stored key (hash) of the request's session cookie, if it has one.
pub fn session_key(headers: &HeaderMap) -> Option<String> {
    session_token(headers).map(|token| hash_token(&token))
}

/// The signed-in user of a request, from its cookie, and whether they must choose a new
/// password before anything else. A session that cannot be read (the database failing)
/// is an error, not a sign-out: the browser keeps its pages and its session.
pub async fn session_user(
    store: &dyn Store,
    headers: &HeaderMap,
) -> Result<Option<(User, bool)>, ApiError> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    store
        .session_user(&hash_token(&token), now_ms())
        .await
        .map_err(|e| e.to_api("could not read a session"))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /auth/login`: checks the password, opens a session, redirects to `next`.
pub async fn login(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next).to_string();
    let address = crate::web::client_address(&state, peer, &headers);
    let limits = &state.rate_limits;
    if let Err(limited) = limits.login_allowed(address, &form.username) {
        return login_limited(&headers, limited, &next);
    }
    let found = match state.store.credentials(form.username.trim()).await {
        Ok(found) => found,
        Err(e) => return error_response(e.to_api("could not read credentials")),
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, DUMMY_HASH.clone()),
    };
    let valid = {
        let _turn = match limits.password_check().await {
            Ok(turn) => turn,
            Err(limited) => return login_limited(&headers, limited, &next),
        };
        // Failures counted while this one waited may have blocked it meanwhile.
        if let Err(limited) = limits.login_allowed(address, &form.username) {
            return login_limited(&headers, limited, &next);
        }
        verify_password(form.password, hash).await
    };
    match user.filter(|_| valid) {
        Some(user) => match open_session(state.store.as_ref(), &user, &state, false).await {
            Ok(cookie) => {
                tracing::info!(user = %user.username, "signed in");
                let mut response = Redirect::to(&next).into_response();
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                response
            }
            Err(e) => error_response(e),
        },
        None => {
            limits.login_failed(address, &form.username);
            tracing::info!(username = %form.username, %address, "failed sign-in");
            let query = format!("/login?error=1&next={}", urlencode(&next));
            Redirect::to(&query).into_response()
        }
    }
}

/// A sign-in refused for now: a browser's form goes back to the sign-in page, which says
/// how long to wait; anything else gets `rate_limited` with `Retry-After`.
fn login_limited(headers: &HeaderMap, limited: crate::rate::Limited, next: &str) -> Response {
    let error = ApiError::from(limited);
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_page {
        return error_response(error);
    }
    let secs = error.retry_after_secs().unwrap_or(1);
    let mut response = Redirect::to(&format!(
        "/login?error=limited&retry={secs}&next={}",
        urlencode(next)
    ))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `POST /auth/logout`: ends the session, closes the live connections opened with it
/// (every tab of this browser goes to the sign-in page) and clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(key) = session_key(&headers) {
        if let Err(e) = state.store.delete_session(&key).await {
            tracing::error!(error = %e, "could not end a session");
        }
        let closed = state.chat.hub().end_session(&key);
        tracing::info!(closed, "signed out");
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    response
}

/// How often expired sessions are deleted and their live connections closed.
pub const SESSION_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Deletes the sessions expired at `now_ms` and closes the live connections opened with
/// them, as signing out does. Returns how many connections it closed.
pub async fn end_expired_sessions(store: &dyn Store, hub: &Hub, now_ms: i64) -> StoreResult<usize> {
    let expired = store.delete_expired_sessions(now_ms).await?;
    let closed = expired.iter().map(|key| hub.end_session(key)).sum();
    if !expired.is_empty() {
        tracing::info!(sessions = expired.len(), closed, "expired sessions ended");
    }
    Ok(closed)
}

/// Runs [`end_expired_sessions`] every [`SESSION_SWEEP_EVERY`] until `shutdown`.
pub async fn sweep_sessions(
    store: std::sync::Arc<dyn Store>,
    hub: std::sync::Arc<Hub>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(SESSION_SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = end_expired_sessions(store.as_ref(), &hub, now_ms()).await {
                    tracing::warn!(error = %e, "could not end expired sessions");
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}

/// `GET /auth/session`: reached only with a session (the gate answers 401 otherwise).
pub async fn session_probe() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Marks a request whose session was opened with a one-time password.
#[derive(Clone, Copy)]
pub struct OneTimePassword;

/// What a user who must choose a new password may still reach.
const PASSWORD_CHANGE_PATHS: [&str; 3] = [NEW_PASSWORD_PAGE, "/auth/password", "/auth/logout"];

#[derive(Deserialize)]
pub struct NewPasswordForm {
    password: String,
    repeat: String,
    #[serde(default)]
    next: String,
}

/// `POST /auth/password`: a user whose password was a one-time one chooses their own.
/// Problems go back to the form as `?error=short|long|mismatch`.
pub async fn change_password(
    State(state): State<AppState>,
    user: Option<axum::Extension<Authenticated>>,
    one_time: Option<axum::Extension<OneTimePassword>>,
    headers: HeaderMap,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    let Some(axum::Extension(Authenticated(user))) = user else {
        return error_response(ApiError::unauthenticated());
    };
    if one_time.is_none() {
        return error_response(ApiError::new(
            ErrorCode::Forbidden,
            "Only a one-time password is changed here.",
        ));
    }
    let next = safe_next(&form.next).to_string();
    if let Err(problem) = check_new_password(&form.password, &form.repeat) {
        let back = format!(
            "{NEW_PASSWORD_PAGE}?error={}&next={}",
            problem.as_str(),
            urlencode(&next)
        );
        return Redirect::to(&back).into_response();
    }
    let hash = {
        let _turn = match state.rate_limits.password_check().await {
            Ok(turn) => turn,
            Err(limited) => return error_response(limited.into()),
        };
        hash_password(form.password).await
    };
    // Whoever else held a session (the one-time password, passed on or seen) is out,
    // and their live connections close now.
    let keep = session_key(&headers).unwrap_or_default();
    match state.store.set_password(user.id, &hash, &keep).await {
        Ok(ended) => {
            for session in &ended {
                state.chat.hub().end_session(session);
            }
        }
        Err(e) => return error_response(e.to_api("could not store a new password")),
    }
    tracing::info!(user = %user.username, "chose a new password");
    Redirect::to(&next).into_response()
}

/// Paths anyone may fetch without a session.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/auth/login"
            | "/healthz"
            | "/readyz"
            | "/metrics"
            | "/favicon.svg"
            | "/favicon.ico"
            | "/sw.js"
            | "/auth/sso"
            | "/embed.js"
            | crate::http::rest::OPENAPI_PATH
    ) || path.starts_with("/pkg/")
        // The REST API checks its own token and never reads the session.
        || path.starts_with(crate::http::rest::PREFIX)
}

/// Resolves the session of every request into an [`Authenticated`] extension, refuses
/// cross-site state-changing requests, and sends unauthenticated page loads to `/login`.
pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    // `/auth/sso` comes from the host's page: it checks the embedding origins itself. The
    // REST API takes a token, never a cookie: another site cannot borrow a browser's.
    if request.method() != Method::GET
        && request.method() != Method::HEAD
        && path != "/auth/sso"
        && !path.starts_with(crate::http::rest::PREFIX)
        && !origin_allowed(request.headers(), &state.config.allowed_origins, false)
    {
        tracing::warn!(%path, "refused a cross-site request");
        return error_response(ApiError::forbidden());
    }
    let found = match session_user(state.store.as_ref(), request.headers()).await {
        Ok(found) => found,
        Err(error) => return error_response(error),
    };
    let signed_in = found.is_some();
    let one_time = found.as_ref().is_some_and(|(_, required)| *required);
    if let Some((user, _)) = found {
        tracing::Span::current().record("user", user.username.as_str());
        request.extensions_mut().insert(Authenticated(user));
    }
    if one_time {
        request.extensions_mut().insert(OneTimePassword);
    }
    let blocked_by_one_time =
        one_time && !is_public(&path) && !PASSWORD_CHANGE_PATHS.contains(&path.as_str());
    if (signed_in && !blocked_by_one_time) || is_public(&path) {
        return next.run(request).await;
    }
    // Refused: a page load goes where it can go on (and comes back after); anything else
    // gets the error.
    let page_load = request.method() == Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/events")
        && path != "/ws"
        && path != SESSION_PROBE;
    if path == app::protocol::EMBED_PAGE && !signed_in {
        // The widget's frame without a session: say why there, not with a sign-in page.
        return sso::embed_notice(&ApiError::new(
            ErrorCode::Unauthenticated,
            "Chat could not keep you signed in: this browser blocked Parley's cookie in this page.",
        ));
    }
    if !page_load {
        return error_response(if signed_in {
            ApiError::new(
                ErrorCode::Forbidden,
                "Choose a new password first (your password was a one-time one).",
            )
        } else {
            ApiError::unauthenticated()
        });
    }
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let to = if signed_in {
        NEW_PASSWORD_PAGE
    } else {
        "/login"
    };
    let target = format!("{to}?next={}", urlencode(&format!("{path}{query}")));
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(hash_token("abc").len(), 64);
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }

    #[tokio::test]
    async fn expired_sessions_are_deleted_and_their_connections_closed() {
        use crate::store::sqlite::{SqliteSettings, SqliteStore};
        use crate::store::{NewUser, OrganisationKind};
        use app::model::Role;
        use app::rules::Actor;

        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("parley.db"), &SqliteSettings::default())
            .await
            .unwrap();
        let org = store
            .create_organisation("Axiom", OrganisationKind::Internal)
            .await
            .unwrap();
        let bob = store
            .create_user(NewUser {
                username: "bob".into(),
                display_name: "Bob".into(),
                password_hash: DUMMY_HASH.clone(),
                role: Role::Member,
                organisation_id: org,
                password_change_required: false,
            })
            .await
            .unwrap();
        let (old, new) = (hash_token("old"), hash_token("new"));
        store.create_session(&old, bob, 0, 1_000).await.unwrap();
        store.create_session(&new, bob, 0, 10_000).await.unwrap();
        let actor = Actor {
            id: bob,
            role: Role::Member,
            organisation_id: org,
        };
        let hub = Hub::new(8, |_, _| true);
        let mut old_tab = hub.register_session(actor, Some(old.as_str()));
        let new_tab = hub.register_session(actor, Some(new.as_str()));

        assert_eq!(end_expired_sessions(&store, &hub, 999).await.unwrap(), 0);
        assert_eq!(end_expired_sessions(&store, &hub, 1_000).await.unwrap(), 1);
        assert_eq!(old_tab.cut_off(), Some(crate::hub::CutOff::SessionEnded));
        assert!(old_tab.queue.recv().await.is_none());
        assert_eq!(new_tab.cut_off(), None);
        assert!(
            store.session_user(&old, 0).await.unwrap().is_none(),
            "deleted"
        );
        assert!(store.session_user(&new, 5_000).await.unwrap().is_some());
        assert_eq!(end_expired_sessions(&store, &hub, 1_000).await.unwrap(), 0);
        store.close().await;
    }

    #[tokio::test]
    async fn password_round_trip() {
        let hash = hash_password("parley-demo".into()).await;
        assert!(hash.expose_str().starts_with("$argon2id$"));
        assert_eq!(format!("{hash:?}"), "Secret(..)", "never printed");
        assert!(verify_password("parley-demo".into(), hash.clone()).await);
        assert!(!verify_password("wrong".into(), hash).await);
    }
}
