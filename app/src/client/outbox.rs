//! The outbox in `localStorage`, one key per user, so messages written offline survive a
//! reload. Every change is a read-modify-write of single entries, so two tabs of the same
//! user do not erase each other's messages. Browser only.

use crate::model::ClientId;
use crate::state::Outgoing;

fn key(user: i64) -> String {
    format!("parley.outbox.{user}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Everything saved for `user`, oldest first.
pub fn load(user: i64) -> Vec<Outgoing> {
    storage()
        .and_then(|s| s.get_item(&key(user)).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn store(user: i64, items: &[Outgoing]) {
    let Some(storage) = storage() else { return };
    let result = if items.is_empty() {
        storage.remove_item(&key(user))
    } else {
        match serde_json::to_string(items) {
            Ok(json) => storage.set_item(&key(user), &json),
            Err(_) => return,
        }
    };
    if result.is_err() {
        leptos::logging::warn!("could not save the outbox (storage full or disabled)");
    }
}

/// Adds or updates one message.
pub fn save(user: i64, item: &Outgoing) {
    let mut items = load(user);
    match items.iter_mut().find(|m| m.client_id == item.client_id) {
        Some(existing) => *existing = item.clone(),
        None => items.push(item.clone()),
    }
    store(user, &items);
}

pub fn remove(user: i64, client_id: ClientId) {
    let mut items = load(user);
    let before = items.len();
    items.retain(|m| m.client_id != client_id);
    if items.len() != before {
        store(user, &items);
    }
}
