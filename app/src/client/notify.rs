//! Browser notifications (with the person's permission): one per conversation at a time
//! (the notification's `tag` is the conversation, so a newer one replaces the older
//! instead of stacking), shown only while the tab is hidden.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::model::ConversationId;

/// Whether this browser has notifications, and what the person said: `None` without
/// them, else `default` (not asked yet), `granted` or `denied`.
pub fn permission() -> Option<&'static str> {
    let window: wasm_bindgen::JsValue = web_sys::window()?.into();
    let supported = js_sys::Reflect::has(&window, &"Notification".into()).ok()?;
    if !supported {
        return None;
    }
    Some(match Notification::permission() {
        NotificationPermission::Granted => "granted",
        NotificationPermission::Denied => "denied",
        _ => "default",
    })
}

/// Asks for permission (the browser shows its prompt); `then` gets the answer.
pub fn ask(then: impl Fn(&'static str) + 'static) {
    let Ok(promise) = Notification::request_permission() else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        then(permission().unwrap_or("denied"));
    });
}

/// Shows `title` / `body` for `conversation`, replacing its previous notification;
/// clicking it brings the tab forward and runs `open`.
pub fn show(conversation: ConversationId, title: &str, body: &str, open: impl Fn() + 'static) {
    if permission() != Some("granted") {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(&format!("parley-conversation-{conversation}"));
    let Ok(notification) = Notification::new_with_options(title, &options) else {
        return;
    };
    let shown = notification.clone();
    let click = Closure::<dyn Fn()>::new(move || {
        if let Some(window) = web_sys::window() {
            let _ = window.focus();
        }
        open();
        shown.close();
    });
    notification.set_onclick(Some(click.as_ref().unchecked_ref()));
    click.forget();
}
