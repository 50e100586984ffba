//! Single sign-on from a host dashboard (SPEC.md §6). The host signs who is signed in:
//!
//! ```text
//! token = base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload)))
//! payload = {"sub", "name", "email", "role", "org", "org_kind", "exp", "nonce"}
//! ```
//!
//! (unpadded base64url; `exp` in seconds since the epoch). `embed.js` posts the token
//! from the host page into the widget's frame at `POST /auth/sso`; Parley checks the
//! host's origin against `PARLEY_EMBED_ORIGINS`, the signature, the expiry (at most
//! `PARLEY_SSO_MAX_AGE_SECS` ahead) and that the nonce is new, makes or updates the user
//! (by `sub`) and their organisation (by name), opens a session and sends the frame on
//! to `/embed`. Whatever is refused is shown in the frame as a notice, and posted to the
//! host page as the error envelope.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use app::error::{ApiError, ErrorCode};
use app::model::Role;

use crate::clock::now_ms;
use crate::store::{OrganisationKind, SsoIdentity};
use crate::web::{AppState, origin_allowed};

/// Longest token read at all, in bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Clock difference tolerated between the host and Parley, in seconds.
pub const CLOCK_LEEWAY_SECS: i64 = 30;

/// The token's payload as the host writes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payload {
    pub sub: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub org: String,
    pub org_kind: String,
    pub exp: i64,
    pub nonce: String,
}

/// A token whose signature holds, read into what Parley needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    pub identity: SsoIdentity,
    /// `exp`, in seconds since the epoch.
    pub expires_at: i64,
    pub nonce: String,
}

/// Signs `payload` with `secret`, as a host does (the demo host and tests use it).
pub fn sign(secret: &[u8], payload: &Payload) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("payload serialises"));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    format!(
        "{body}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn refused(code: ErrorCode, message: &str) -> ApiError {
    ApiError::new(code, message)
}

fn malformed() -> ApiError {
    refused(
        ErrorCode::Unauthenticated,
        "The sign-in token from this site is not a Parley single sign-on token.",
    )
}

/// Checks the signature (in constant time) and reads the claims; says nothing yet about
/// expiry or the nonce.
pub fn verify_signature(secret: &[u8], token: &str) -> Result<Claims, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(refused(
            ErrorCode::Unauthenticated,
            "This site sent no sign-in token (the data-sso attribute of embed.js).",
        ));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed());
    }
    let (body, signature) = token.split_once('.').ok_or_else(malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body.as_bytes());
    mac.verify_slice(&signature).map_err(|_| {
        refused(
            ErrorCode::Unauthenticated,
            "The sign-in token's signature does not match (is PARLEY_SSO_SECRET the host's secret?).",
        )
    })?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| {
        refused(
            ErrorCode::BadRequest,
            "The sign-in token's payload lacks a field of SPEC §6 (sub, name, email, role, org, org_kind, exp, nonce).",
        )
    })?;
    claims(payload)
}

fn claims(p: Payload) -> Result<Claims, ApiError> {
    let invalid = |what: &str| {
        refused(
            ErrorCode::BadRequest,
            &format!("The sign-in token's {what}."),
        )
    };
    let subject = p.sub.trim().to_string();
    if !(1..=200).contains(&subject.chars().count()) {
        return Err(invalid("sub has 1 to 200 characters"));
    }
    let display_name = p.name.trim().to_string();
    if !app::model::is_display_name(&display_name) {
        return Err(invalid("name has 1 to 100 characters"));
    }
    let email = p.email.trim().to_string();
    if !(3..=254).contains(&email.len()) || !email.contains('@') {
        return Err(invalid("email is not an email address"));
    }
    let role = Role::parse(&p.role).ok_or_else(|| invalid("role is admin, member or guest"))?;
    let organisation = p.org.trim().to_string();
    if !(1..=200).contains(&organisation.chars().count())
        || !app::model::has_visible_text(&organisation)
    {
        return Err(invalid("org has 1 to 200 characters"));
    }
    let organisation_kind = match p.org_kind.as_str() {
        "internal" => OrganisationKind::Internal,
        "client" => OrganisationKind::Client,
        "manufacturer" => OrganisationKind::Manufacturer,
        _ => return Err(invalid("org_kind is internal, client or manufacturer")),
    };
    if !app::rules::placement_fits(role, organisation_kind == OrganisationKind::Internal) {
        return Err(invalid(
            "role does not fit its org_kind: admins and members belong to an internal organisation, guests to a client or manufacturer",
        ));
    }
    if !(8..=200).contains(&p.nonce.len()) {
        return Err(invalid("nonce has 8 to 200 characters"));
    }
    Ok(Claims {
        identity: SsoIdentity {
            subject,
            display_name,
            email,
            role,
            organisation,
            organisation_kind,
        },
        expires_at: p.exp,
        nonce: p.nonce,
    })
}

/// Whether a signed token may open a session at `now` (seconds): not expired, and not
/// valid for longer than `max_age` (so its nonce need not be kept longer).
pub fn check_fresh(claims: &Claims, now: i64, max_age: i64) -> Result<(), ApiError> {
    if claims.expires_at + CLOCK_LEEWAY_SECS < now {
        return Err(refused(
            ErrorCode::Unauthenticated,
            "The sign-in token has expired. Reload the page to get a new one.",
        ));
    }
    if claims.expires_at > now + max_age + CLOCK_LEEWAY_SECS {
        return Err(refused(
            ErrorCode::Unauthenticated,
            "The sign-in token is valid for too long (its exp is more than PARLEY_SSO_MAX_AGE_SECS ahead).",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct SsoForm {
    #[serde(default)]
    token: String,
    /// "1" when the host page last saw the widget open.
    #[serde(default)]
    open: String,
    /// The host's accent colour, `#rgb` or `#rrggbb`.
    #[serde(default)]
    accent: String,
}

/// `POST /auth/sso`: the token from `embed.js`, posted into the widget's frame.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SsoForm>,
) -> Response {
    match open_embedded(&state, &headers, &form).await {
        Ok((cookie, target)) => {
            let mut response =
                (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
            if let Some(cookie) = cookie {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => {
            tracing::info!(code = ?error.code, message = %error.message, "single sign-on refused");
            embed_notice(&error)
        }
    }
}

/// Checks everything and opens (or keeps) the session; returns the cookie to set, if a
/// new session was opened, and where the frame goes next.
async fn open_embedded(
    state: &AppState,
    headers: &HeaderMap,
    form: &SsoForm,
) -> Result<(Option<HeaderValue>, String), ApiError> {
    let Some(secret) = state.config.sso_secret() else {
        return Err(refused(
            ErrorCode::Forbidden,
            "Single sign-on is not set up on this Parley server (PARLEY_SSO_SECRET).",
        ));
    };
    if !origin_allowed(headers, &state.config.embed_origins, false) {
        return Err(refused(
            ErrorCode::Forbidden,
            "This site may not embed Parley chat (it is not in PARLEY_EMBED_ORIGINS).",
        ));
    }
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    let claims = verify_signature(secret.expose(), &form.token)?;
    let mut target = format!("/embed?host={}", super::urlencode(origin));
    if form.open == "1" {
        target.push_str("&open=1");
    }
    if app::model::is_hex_colour(&form.accent) {
        target.push_str(&format!("&accent={}", super::urlencode(&form.accent)));
    }
    // The same person coming back (the host's next page, or its cached copy of this
    // one): the session this frame holds goes on; the token needs no fresh nonce.
    if let Some((user, _)) = super::session_user(state.store.as_ref(), headers).await? {
        let same = state
            .store
            .sso_user(&claims.identity.subject)
            .await
            .map_err(|e| e.to_api("could not read a single sign-on identity"))?;
        if same == Some(user.id) {
            return Ok((None, target));
        }
    }
    check_fresh(
        &claims,
        now_ms() / 1000,
        state.config.sso_max_age_secs.max(1),
    )?;
    let user = state
        .chat
        .sso_sign_in(&claims.identity, &claims.nonce, claims.expires_at * 1000)
        .await?;
    let cookie = super::open_session(state.store.as_ref(), &user, state, true).await?;
    tracing::info!(user = %user.username, "signed in by single sign-on");
    Ok((Some(cookie), target))
}

/// What the widget's frame shows when it cannot open: the message, and the error
/// envelope posted to the host page (`window.Parley.on("error", …)`). It may be framed
/// by anyone, to say so even to a site that may not embed Parley; it holds nothing else.
pub fn embed_notice(error: &ApiError) -> Response {
    let envelope = serde_json::json!({ "type": "parley:error", "error": error })
        .to_string()
        .replace('<', "\\u003c");
    let message = crate::web::html_escape(&error.message);
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Parley chat</title>
<meta name="color-scheme" content="light dark">
<style>
html,body{{margin:0;background:transparent;font:14px system-ui,sans-serif}}
.notice{{position:fixed;inset:8px;padding:12px 14px;border-radius:10px;background:#fff;color:#1b1f2a;border:1px solid #d9dde7;box-shadow:0 6px 20px rgba(20,24,40,.18);overflow:auto}}
.notice strong{{display:block;margin-bottom:4px}}
@media (prefers-color-scheme: dark){{.notice{{background:#1b1e27;color:#e8eaf0;border-color:#333a4a}}}}
</style></head>
<body><div class="notice" role="alert"><strong>Chat is unavailable</strong>{message}</div>
<script>parent.postMessage({envelope},"*")</script></body></html>"#
    );
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "frame-ancestors *"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a-test-secret-of-some-length";

    fn payload() -> Payload {
        Payload {
            sub: "host-17".into(),
            name: "Hana Hill".into(),
            email: "hana@oracare.example".into(),
            role: "guest".into(),
            org: "Oracare".into(),
            org_kind: "client".into(),
            exp: 1_000_300,
            nonce: "n-0123456789".into(),
        }
    }

    #[test]
    fn a_signed_token_reads_back() {
        let claims = verify_signature(SECRET, &sign(SECRET, &payload())).unwrap();
        assert_eq!(claims.identity.subject, "host-17");
        assert_eq!(claims.identity.role, Role::Guest);
        assert_eq!(claims.identity.organisation_kind, OrganisationKind::Client);
        assert_eq!(claims.expires_at, 1_000_300);
        check_fresh(&claims, 1_000_000, 300).unwrap();
    }

    #[test]
    fn the_format_is_the_specs() {
        // Made by hand the way the README's Python example does.
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","name":"N","email":"n@x.example","role":"member","org":"Axiom","org_kind":"internal","exp":5,"nonce":"abcdefgh"}"#);
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(body.as_bytes());
        let token = format!(
            "{body}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let claims = verify_signature(SECRET, &token).unwrap();
        assert_eq!(claims.identity.role, Role::Member);
        assert!(!token.contains('='), "unpadded");
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let token = sign(SECRET, &payload());
        let (body, sig) = token.split_once('.').unwrap();
        // Another payload under the old signature: a guest making themselves admin.
        let mut admin = payload();
        admin.role = "admin".into();
        admin.org_kind = "internal".into();
        let forged_body = sign(SECRET, &admin).split_once('.').unwrap().0.to_string();
        let mut flipped = sig.to_string();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        for bad in [
            format!("{forged_body}.{sig}"),
            format!("{body}.{flipped}"),
            format!("{body}."),
            body.to_string(),
            format!("{body}.{sig}.x"),
            sign(b"another-secret-entirely", &payload()),
            "".to_string(),
            "x".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            let refused = verify_signature(SECRET, &bad).unwrap_err();
            assert_eq!(refused.code, ErrorCode::Unauthenticated, "{bad:.40}");
        }
    }

    #[test]
    fn expired_or_too_long_tokens_are_refused() {
        let claims = verify_signature(SECRET, &sign(SECRET, &payload())).unwrap();
        assert!(check_fresh(&claims, 1_000_300 + CLOCK_LEEWAY_SECS + 1, 300).is_err());
        assert!(check_fresh(&claims, 1_000_300 + CLOCK_LEEWAY_SECS, 300).is_ok());
        // exp a day ahead: refused, its nonce would have to be kept a day.
        assert!(check_fresh(&claims, 1_000_300 - 86_400, 300).is_err());
    }

    #[test]
    fn invalid_claims_are_bad_requests() {
        let cases: [fn(&mut Payload); 7] = [
            |p| p.role = "owner".into(),
            |p| p.org_kind = "partner".into(),
            |p| p.email = "nobody".into(),
            |p| p.name = "\u{200b}".into(),
            |p| p.nonce = "short".into(),
            |p| p.sub = String::new(),
            // A guest of the internal organisation: not a placement Parley has.
            |p| p.org_kind = "internal".into(),
        ];
        for change in cases {
            let mut p = payload();
            change(&mut p);
            let refused = verify_signature(SECRET, &sign(SECRET, &p)).unwrap_err();
            assert_eq!(refused.code, ErrorCode::BadRequest, "{p:?}");
        }
    }

    #[test]
    fn the_notice_escapes_and_may_be_framed() {
        let response = embed_notice(&ApiError::new(ErrorCode::Forbidden, "<b>no</b>"));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            "frame-ancestors *"
        );
    }
}
