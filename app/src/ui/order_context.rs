//! Above a thread about an order, SKU or shipment: what it is about (the order's number,
//! status and goods; a SKU's orders; a shipment's carrier, status and orders), linking
//! back to the dashboard, so a thread never loses its subject.

use leptos::prelude::*;

use crate::api::get_thread_subject;
use crate::model::{ConversationId, ConversationKind, Order, ThreadRef, ThreadSubject};
use crate::state::use_chat;

/// Orders named in a SKU's or shipment's context before "and N more".
const ORDERS_SHOWN: usize = 8;

/// What `conversation` is about, if it is a thread about the dashboard's things.
fn thread_ref(conversation: ConversationId) -> Option<ThreadRef> {
    let state = use_chat();
    state
        .conversation(conversation)
        .filter(|c| c.kind == ConversationKind::Order)
        .and_then(|c| ThreadRef::from_slug(&c.slug))
}

#[component]
pub fn OrderContext(conversation: ConversationId) -> impl IntoView {
    thread_ref(conversation).map(|reference| {
        let subject = Resource::new(move || reference.to_string(), get_thread_subject);
        view! {
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    subject.await.ok().map(|s| view! { <p class="order-context">{describe(s)}</p> })
                })}
            </Suspense>
        }
    })
}

/// The order's page on Parley's dashboard; in a host's frame (which has its own order
/// pages) only the order's name.
fn order_link(o: &Order) -> AnyView {
    let name = format!("Order {}", o.number);
    if crate::state::use_chat().embedded.get_untracked() {
        view! { <span>{name}</span> }.into_any()
    } else {
        view! { <a href=format!("/dashboard/orders/{}", o.number)>{name}</a> }.into_any()
    }
}

fn describe(subject: ThreadSubject) -> AnyView {
    match subject.reference {
        ThreadRef::Order(_) => {
            let Some(o) = subject.orders.first() else {
                return ().into_any();
            };
            view! {
                {order_link(o)}
                " · "
                <span class="status">{o.status.clone()}</span>
                {format!(" · {} · {} × {}", o.customer, o.sku, o.quantity)}
            }
            .into_any()
        }
        ThreadRef::Sku(ref code) | ThreadRef::Shipment(ref code) => {
            let head = match &subject.shipment {
                Some(s) => format!("Shipment {code} · {} · {} · ", s.carrier, s.status),
                None => format!("SKU {code} · "),
            };
            let more = subject.orders.len().saturating_sub(ORDERS_SHOWN);
            let orders: Vec<AnyView> = subject
                .orders
                .iter()
                .take(ORDERS_SHOWN)
                .enumerate()
                .map(|(n, o)| {
                    view! {
                        {(n > 0).then_some(", ")}
                        {order_link(o)}
                        <span class="muted">{format!(" ({})", o.status)}</span>
                    }
                    .into_any()
                })
                .collect();
            view! {
                {head}
                {orders}
                {(more > 0).then(|| format!(" and {more} more"))}
            }
            .into_any()
        }
    }
}
