//! The demo host (`parley serve --demo`): a plain HTML "dashboard" of another company
//! on another origin (the next port), the way a Flask, Express or FastAPI dashboard would
//! embed Parley. It has its own sign-in (a cookie of its own), and every page carries the
//! one tag of SPEC.md §6 with a token it signs with the demo secret. Nothing in it is
//! Parley's: it only knows Parley's URL and the shared secret.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::sso::{Payload, sign};
use crate::config::Secret;

/// Who can sign in to the demo host: its own user ids, not Parley's.
pub struct HostUser {
    pub id: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub role: &'static str,
    pub org: &'static str,
    pub org_kind: &'static str,
}

pub const HOST_USERS: [HostUser; 2] = [
    HostUser {
        id: "nw-17",
        name: "Hana Hill",
        email: "hana@oracare.example",
        role: "guest",
        org: "Oracare",
        org_kind: "client",
    },
    HostUser {
        id: "nw-4",
        name: "Ivan Ito",
        email: "ivan@axiom.example",
        role: "member",
        org: "Axiom Fulfillment",
        org_kind: "internal",
    },
];

const HOST_COOKIE: &str = "northwind_user";

#[derive(Clone)]
struct Host {
    parley: String,
    secret: Secret,
}

/// Serves the demo host on `addr` until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    parley: String,
    secret: Secret,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("demo host dashboard on http://{addr} (embeds Parley at {parley})");
    let app = Router::new()
        .route("/", get(|s, h| page(s, h, Page::Home)))
        .route("/orders", get(|s, h| page(s, h, Page::Orders)))
        .route("/login", get(login))
        .route("/try", get(try_token))
        .route("/logout", get(logout))
        .with_state(Host { parley, secret });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct As {
    #[serde(rename = "as")]
    user: Option<String>,
}

async fn login(Query(who): Query<As>) -> Response {
    match who
        .user
        .and_then(|id| HOST_USERS.iter().find(|u| u.id == id))
    {
        Some(user) => (
            [(
                header::SET_COOKIE,
                format!("{HOST_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", user.id),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        None => Html(layout(
            "Sign in",
            None,
            &format!(
                "<h1>Northwind Ops</h1><p>Sign in to the dashboard as:</p><ul class=\"people\">{}</ul>",
                HOST_USERS
                    .iter()
                    .map(|u| format!(
                        "<li><a href=\"/login?as={}\">{} ({}, {})</a></li>",
                        u.id, u.name, u.org, u.role
                    ))
                    .collect::<String>()
            ),
            "",
        ))
        .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Try {
    #[serde(default)]
    token: String,
}

/// `/try?token=…`: a page embedding Parley with any token pasted into it, for a host's
/// developer to see what Parley says of the tokens their code signs.
async fn try_token(State(host): State<Host>, Query(query): Query<Try>) -> Response {
    let token = crate::web::html_escape(query.token.trim());
    let form = format!(
        "<h1>Try a sign-in token</h1>\
         <form method=\"get\"><label>Token<br><textarea name=\"token\" rows=\"4\" cols=\"60\">{token}</textarea></label>\
         <p><button type=\"submit\">Try this token</button></p></form>"
    );
    let tag = if token.is_empty() {
        String::new()
    } else {
        format!(
            "<script src=\"{}/embed.js\" data-sso=\"{token}\" async></script>",
            host.parley
        )
    };
    Html(layout("Try a token", None, &form, &tag)).into_response()
}

async fn logout() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{HOST_COOKIE}=; Path=/; Max-Age=0"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

enum Page {
    Home,
    Orders,
}

async fn page(State(host): State<Host>, headers: HeaderMap, which: Page) -> Response {
    let Some(user) = signed_in(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let body = match which {
        Page::Home => format!(
            "<h1>Good morning, {}</h1>\
             <p>This is a plain HTML dashboard on its own origin. The chat in the corner is \
             Parley, added with one script tag.</p>\
             <div class=\"cards\"><div class=\"card\"><h2>Open orders</h2><p class=\"big\">3</p></div>\
             <div class=\"card\"><h2>Late shipments</h2><p class=\"big\">1</p></div></div>",
            user.name
        ),
        Page::Orders => "<h1>Orders</h1><table><thead><tr><th>Order</th><th>Customer</th><th></th></tr></thead><tbody>\
             <tr><td>1042</td><td>Oracare</td><td><button type=\"button\" onclick=\"Parley.openThread('order:1042')\">Chat about order 1042</button></td></tr>\
             <tr><td>1043</td><td>Oracare</td><td><button type=\"button\" onclick=\"Parley.openThread('order:1043')\">Chat about order 1043</button></td></tr>\
             <tr><td>9999</td><td>(not in Parley)</td><td><button type=\"button\" onclick=\"Parley.openThread('order:9999')\">Chat about order 9999</button></td></tr>\
             </tbody></table>".to_string(),
    };
    let token = sign(
        host.secret.expose(),
        &Payload {
            sub: user.id.into(),
            name: user.name.into(),
            email: user.email.into(),
            role: user.role.into(),
            org: user.org.into(),
            org_kind: user.org_kind.into(),
            exp: crate::clock::now_ms() / 1000 + 300,
            nonce: nonce(),
        },
    );
    let tag = format!(
        "<script src=\"{}/embed.js\" data-sso=\"{token}\" data-accent=\"#0a7d62\" async></script>",
        host.parley
    );
    Html(layout("Northwind Ops", Some(user), &body, &tag)).into_response()
}

fn signed_in(headers: &HeaderMap) -> Option<&'static HostUser> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == HOST_COOKIE)?
        .1;
    HOST_USERS.iter().find(|u| u.id == id)
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The host's page. Its stylesheet is deliberately heavy-handed (every button, every
/// `iframe`, every font): none of it may reach the widget.
fn layout(title: &str, user: Option<&HostUser>, body: &str, tag: &str) -> String {
    let nav = match user {
        Some(u) => format!(
            "<nav><a href=\"/\">Overview</a><a href=\"/orders\">Orders</a>\
             <span class=\"who\">{} · {}</span><a href=\"/logout\">Sign out of Northwind</a></nav>",
            u.name, u.org
        ),
        None => String::new(),
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
* {{ font-family: Georgia, serif !important; box-sizing: content-box; }}
body {{ margin: 0; background: #fdf6e3; color: #3b2f1e; }}
header {{ background: #7a3e00; color: #fff; padding: 12px 20px; display: flex; flex-wrap: wrap; gap: 16px; align-items: center; }}
header strong {{ font-size: 20px; }}
nav {{ display: flex; flex-wrap: wrap; gap: 14px; align-items: center; }}
nav a {{ color: #ffe7c2; }}
main {{ padding: 20px; max-width: 900px; }}
button {{ background: hotpink !important; color: black !important; border: 3px dashed black !important; font-size: 18px !important; }}
iframe {{ border: 5px solid red; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 16px; }}
.card {{ background: #fff; padding: 12px 20px; border: 1px solid #e0d3b8; }}
.big {{ font-size: 32px; margin: 0; }}
table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #e0d3b8; padding: 8px 12px; text-align: left; }}
</style></head>
<body><header><strong>Northwind Ops</strong>{nav}</header><main>{body}</main>
{tag}
</body></html>"#
    )
}
