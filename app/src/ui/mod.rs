//! Parley's pages and components. Every page but `/login` is wrapped in
//! [`bootstrap::WithBootstrap`], which loads the user and their conversations before the
//! first paint so the server's HTML already shows them.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

pub mod account;
pub mod admin;
pub mod attachments;
pub mod bootstrap;
pub mod chat;
pub mod composer;
pub mod conversation_list;
pub mod dashboard;
pub mod embed;
pub mod groups;
pub mod login;
pub mod members;
pub mod mention_list;
pub mod message;
pub mod message_extras;
pub mod notifications;
pub mod order_context;
pub mod password;
pub mod people_picker;
pub mod presence;
pub mod search_box;
pub mod switcher;
pub mod theme;
pub mod thread;
pub mod widget;

use crate::state::{self, ChatState};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The bundle's folder is named by its content (the server sets it): cached for good.
    let css = format!("/{}/parley.css", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="stylesheet" id="leptos" href=css/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page's scripts are only its own (see `api::backend::script_policy`).
    crate::api::respond_with_script_policy();
    let state = ChatState::new();
    provide_context(state);
    // Runs in the browser only, after hydration.
    Effect::new(move |_| state.hydrated.set(true));
    Effect::new(move |_| {
        if state.me.with(Option::is_some) {
            crate::client::connect(state);
        }
    });
    // `<html data-connection="online|connecting|offline" data-transport="websocket|sse">`,
    // for styles and tests.
    Effect::new(move |_| {
        let connection = match state.connection.get() {
            state::Connection::Online => "online",
            state::Connection::Connecting => "connecting",
            state::Connection::Offline => "offline",
        };
        let transport = match state.transport.get() {
            state::Transport::WebSocket => "websocket",
            state::Transport::Sse => "sse",
        };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-connection", connection);
            let _ = root.set_attribute("data-transport", transport);
        }
    });
    // The server writes `<title>` after this render is done (leptos_meta reads it while
    // streaming the first chunk), outside the request's reactive arena, where no signal
    // may be read: a signal read there panicked, or read another request's arena, under
    // concurrent page loads. So the server's title is plain; the browser's follows the
    // unread count once hydrated.
    #[cfg(feature = "ssr")]
    let title = "Parley";
    #[cfg(not(feature = "ssr"))]
    let title = move || match state.total_unread() {
        0 => "Parley".to_string(),
        n => format!("({n}) Parley"),
    };

    view! {
        <Title text=title/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=login::LoginPage/>
                <Route path=path!("/account/password") view=password::NewPasswordPage/>
                <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async/>
                <Route path=path!("/admin") view=admin::AdminPage ssr=SsrMode::Async/>
                <Route path=path!("/embed") view=embed::EmbedPage ssr=SsrMode::Async/>
                <Route path=path!("/") view=|| view! { <Redirect path="/dashboard"/> }/>
                <ParentRoute path=path!("/dashboard") view=dashboard::DashboardLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=dashboard::DashboardHome/>
                    <Route path=path!("orders") view=dashboard::OrdersPage/>
                    <Route path=path!("orders/:number") view=dashboard::OrderPage/>
                </ParentRoute>
                <ParentRoute path=path!("/chat") view=chat::ChatLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=chat::ChatIndex/>
                    <Route path=path!(":conversation") view=chat::ChatConversation/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    crate::api::respond_not_found();
    view! {
        <main class="page not-found">
            <h1>"Page not found"</h1>
            <p><a href="/dashboard">"Back to the dashboard"</a></p>
        </main>
    }
}

/// The keyboard of a modal dialog (`role="dialog" aria-modal="true"`, the handler on the
/// dialog's element): Escape closes it (`close`) and is not seen by the widget behind;
/// Tab and Shift+Tab go round its own controls instead of leaving it.
pub fn dialog_keys(ev: &leptos::ev::KeyboardEvent, close: impl FnOnce()) {
    match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "Tab" => keep_focus_inside(ev),
        _ => {}
    }
}

/// What Tab can reach inside a dialog.
#[cfg(feature = "hydrate")]
const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), \
    textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex='-1'])";

#[cfg(feature = "hydrate")]
fn keep_focus_inside(ev: &leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    let Some(dialog) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
        return;
    };
    let element = |i: u32| {
        list.item(i)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
    };
    let (Some(first), Some(last)) = (element(0), element(list.length().saturating_sub(1))) else {
        return;
    };
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let is = |e: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == e.unchecked_ref::<web_sys::Element>())
    };
    let wrap_to = if ev.shift_key()
        && (is(&first) || !active.as_ref().is_some_and(|a| dialog.contains(Some(a))))
    {
        Some(last)
    } else if !ev.shift_key() && is(&last) {
        Some(first)
    } else {
        None
    };
    if let Some(target) = wrap_to {
        ev.prevent_default();
        let _ = target.focus();
    }
}

/// Rendering on the server there is no focus to keep.
#[cfg(not(feature = "hydrate"))]
fn keep_focus_inside(_ev: &leptos::ev::KeyboardEvent) {}

/// Shows an [`ApiError`](crate::error::ApiError) to the user.
#[component]
pub fn ErrorNotice(error: crate::error::ApiError) -> impl IntoView {
    let unauthenticated = error.code == crate::error::ErrorCode::Unauthenticated;
    view! {
        <div class="error-notice" role="alert">
            <p>{error.message}</p>
            {unauthenticated.then(|| view! { <a href="/login">"Sign in"</a> })}
        </div>
    }
}

/// Whether this part of the page is hydrated: false on the server and until its effects
/// run, which is only once its handlers are attached. A part inside `<Suspense>` hydrates
/// when its data arrives, which may be well after the rest of the page; a form's submit
/// button is disabled until then, so that a click (or Enter) meanwhile is not a plain
/// HTML submit that reloads the page and drops what was typed. (`ChatState::hydrated`
/// says the page's root is hydrated, which is earlier.)
pub fn hydrated_here() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    ready
}

/// The sign-out button: a plain form, so it works before hydration too.
#[component]
pub fn SignOut() -> impl IntoView {
    view! {
        <form method="post" action="/auth/logout" class="sign-out">
            <button type="submit">"Sign out"</button>
        </form>
    }
}

/// Hours and minutes of a Unix-millisecond time: UTC while rendering on the server and
/// hydrating (so both produce the same HTML), the browser's local time after.
pub fn clock(ms: i64, local: bool) -> String {
    if local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
    } else {
        let minutes = ms.div_euclid(60_000);
        format!(
            "{:02}:{:02}",
            minutes.div_euclid(60).rem_euclid(24),
            minutes.rem_euclid(60)
        )
    }
}

/// The calendar day of a Unix-millisecond time, as [`clock`] reads it: UTC on the server
/// and while hydrating, the browser's local day after.
pub fn day_of(ms: i64, local: bool) -> (i64, u32, u32) {
    if local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        (
            i64::from(date.get_full_year()),
            date.get_month() + 1,
            date.get_date(),
        )
    } else {
        civil_from_days(ms.div_euclid(86_400_000))
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Tuesday 1 December 2026".
pub fn long_date((y, m, d): (i64, u32, u32)) -> String {
    let weekday = WEEKDAYS[(days_from_civil(y, m, d) + 3).rem_euclid(7) as usize];
    format!(
        "{weekday} {d} {} {y}",
        MONTHS[(m as usize).clamp(1, 12) - 1]
    )
}

/// A date separator's words: "Today", "Yesterday" (in the browser, once hydrated), or
/// the long date.
pub fn day_label(ms: i64, now_ms: i64, local: bool) -> String {
    let day = day_of(ms, local);
    if local && day == day_of(now_ms, true) {
        "Today".into()
    } else if local && day == day_of(now_ms - 86_400_000, true) {
        "Yesterday".into()
    } else {
        long_date(day)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The ISO-8601 form of a Unix-millisecond time, for `<time datetime>`.
pub fn iso_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, UTC).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_clock_and_iso() {
        // 2023-11-14T22:13:20Z
        assert_eq!(clock(1_700_000_000_000, false), "22:13");
        assert_eq!(iso_time(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
        // 2023-11-14 was a Tuesday; 2000-02-29 a Tuesday too.
        assert_eq!(
            long_date(day_of(1_700_000_000_000, false)),
            "Tuesday 14 November 2023"
        );
        assert_eq!(
            long_date(day_of(951_782_400_000, false)),
            "Tuesday 29 February 2000"
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            day_label(1_700_000_000_000, 1_700_000_000_000, false),
            "Tuesday 14 November 2023"
        );
    }
}
