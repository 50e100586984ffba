//! The host dashboard's pages (demo data, real pages): a summary, the order list, and
//! one order with its "Discuss this order" button. The chat widget floats over all of
//! them and stays mounted while the user moves between them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_params_map;

use super::bootstrap::WithBootstrap;
use super::widget::Widget;
use super::{ErrorNotice, SignOut};
use crate::api::{get_order, list_orders, open_thread};
use crate::model::{Order, ThreadRef};
use crate::state::use_chat;

#[component]
pub fn DashboardLayout() -> impl IntoView {
    view! {
        <WithBootstrap>
            <div class="dashboard">
                <TopBar/>
                <main class="dashboard-main">
                    <Outlet/>
                </main>
                <Widget/>
            </div>
        </WithBootstrap>
    }
}

/// The dashboard's top bar, on its pages and `/admin` alike.
#[component]
pub fn TopBar() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/dashboard">"Axiom Ops"</a>
            <nav aria-label="Dashboard">
                <A href="/dashboard" exact=true>"Overview"</A>
                <A href="/dashboard/orders">"Orders"</A>
                <a href="/chat">"Chat"</a>
                <a href="/account">"Account"</a>
                <AdminLink/>
            </nav>
            <super::theme::ThemeButton/>
            <Me/>
            <SignOut/>
        </header>
    }
}

/// "Admin", for administrators only.
#[component]
fn AdminLink() -> impl IntoView {
    let state = use_chat();
    let admin = move || {
        state.me.with(|me| {
            me.as_ref()
                .is_some_and(|me| crate::rules::can_administer(&crate::rules::Actor::from(me)))
        })
    };
    view! { <Show when=admin><A href="/admin">"Admin"</A></Show> }
}

/// The signed-in user's name and organisation.
#[component]
pub fn Me() -> impl IntoView {
    let state = use_chat();
    view! {
        <span class="me">
            {move || state.me.with(|me| me.as_ref().map(|me| format!("{} · {}", me.display_name, me.organisation_name)))}
        </span>
    }
}

#[component]
pub fn DashboardHome() -> impl IntoView {
    let orders = Resource::new(|| (), |_| list_orders());
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) => {
                        let count = |status: &str| orders.iter().filter(|o| o.status == status).count();
                        view! {
                            <div class="cards">
                                <Card label="Orders" value=orders.len()/>
                                <Card label="Processing" value=count("processing")/>
                                <Card label="Shipped" value=count("shipped")/>
                                <Card label="On hold" value=count("on hold")/>
                            </div>
                            <p><a href="/dashboard/orders">"See all orders"</a></p>
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Card(label: &'static str, value: usize) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{label}</h2>
            <p class="figure">{value}</p>
        </section>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| list_orders());
    view! {
        <h1>"Orders"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) => view! { <OrderTable orders/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderTable(orders: Vec<Order>) -> impl IntoView {
    view! {
        <div class="table-wrap">
        <table class="orders">
            <thead>
                <tr><th>"Order"</th><th>"Customer"</th><th>"SKU"</th><th>"Qty"</th><th>"Status"</th></tr>
            </thead>
            <tbody>
                {orders.into_iter().map(|o| view! {
                    <tr>
                        <td><a href=format!("/dashboard/orders/{}", o.number)>{format!("#{}", o.number)}</a></td>
                        <td>{o.customer}</td>
                        <td>{o.sku}</td>
                        <td>{o.quantity}</td>
                        <td><span class="status">{o.status}</span></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let number = move || params.with(|p| p.get("number").and_then(|n| n.parse::<i64>().ok()));
    let order = Resource::new(number, |n| async move {
        match n {
            Some(n) => get_order(n).await,
            None => Err(crate::error::ApiError::not_found("order")),
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetails order/> }.into_any(),
                    Err(error) if error.code == crate::error::ErrorCode::NotFound => view! {
                        <h1>"Order not found"</h1>
                        <p class="muted">"There is no such order, or it is not one of yours."</p>
                        <p><a href="/dashboard/orders">"Back to orders"</a></p>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderDetails(order: Order) -> impl IntoView {
    let state = use_chat();
    let problem = RwSignal::new(None::<String>);
    let discuss = move |reference: ThreadRef| {
        spawn_local(async move {
            match open_thread(reference.to_string()).await {
                Ok(conversation) => {
                    let id = conversation.id;
                    state.upsert_conversation(conversation);
                    state.widget_conversation.set(Some(id));
                    state.widget_open.set(true);
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    view! {
        <h1>{format!("Order #{}", order.number)}</h1>
        <dl class="order-facts">
            <dt>"Customer"</dt><dd>{order.customer}</dd>
            <dt>"SKU"</dt><dd>{order.sku.clone()}</dd>
            <dt>"Quantity"</dt><dd>{order.quantity}</dd>
            <dt>"Status"</dt><dd>{order.status.clone()}</dd>
            <dt>"Shipment"</dt><dd>{order.shipment.clone().unwrap_or_else(|| "not yet".into())}</dd>
            <dt>"Parties"</dt><dd>{order.organisation_names.join(", ")}</dd>
        </dl>
        <div class="discuss">
            <button type="button" class="primary" on:click={
                let number = order.number;
                move |_| discuss(ThreadRef::Order(number))
            }>"Discuss this order"</button>
            <button type="button" class="secondary" on:click={
                let sku = order.sku.clone();
                move |_| discuss(ThreadRef::Sku(sku.clone()))
            }>{format!("Discuss SKU {}", order.sku)}</button>
            {order.shipment.clone().map(|shipment| view! {
                <button type="button" class="secondary" on:click={
                    let shipment = shipment.clone();
                    move |_| discuss(ThreadRef::Shipment(shipment.clone()))
                }>{format!("Discuss shipment {shipment}")}</button>
            })}
        </div>
        {move || problem.get().map(|p| view! { <p class="error-notice" role="alert">{p}</p> })}
        <p><a href="/dashboard/orders">"Back to orders"</a></p>
    }
}
