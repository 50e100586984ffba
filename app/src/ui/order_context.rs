//! Above an order thread: the order's number, status and goods, linking back to its page
//! on the dashboard, so a thread never loses what it is about.

use leptos::prelude::*;

use crate::api::get_order;
use crate::model::{ConversationId, ConversationKind};
use crate::state::use_chat;

/// The order number of an order thread (`order-1042`), if `conversation` is one.
fn order_number(conversation: ConversationId) -> Option<i64> {
    let state = use_chat();
    state
        .conversation(conversation)
        .filter(|c| c.kind == ConversationKind::Order)
        .and_then(|c| c.slug.strip_prefix("order-")?.parse().ok())
}

#[component]
pub fn OrderContext(conversation: ConversationId) -> impl IntoView {
    let number = order_number(conversation);
    number.map(|number| {
        let order = Resource::new(move || number, get_order);
        view! {
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    order.await.ok().map(|o| view! {
                        <p class="order-context">
                            <a href=format!("/dashboard/orders/{}", o.number)>{format!("Order {}", o.number)}</a>
                            " · "
                            <span class="status">{o.status.clone()}</span>
                            {format!(" · {} · {} × {}", o.customer, o.sku, o.quantity)}
                        </p>
                    })
                })}
            </Suspense>
        }
    })
}
