//! First start: the one admin account of an empty database, and with `--demo` the demo
//! world of SPEC.md §8 (seeded once per database; a `meta` row remembers it).

use app::model::{ConversationId, Order, OrganisationId, Role, Shipment, UserId};

use crate::auth::hash_password;
use crate::clock::now_ms;
use crate::store::prelude::*;
use crate::store::{NewMessage, NewUser, OrganisationKind, StoreResult, Write};

const DEMO_SEEDED: &str = "demo_seeded";
pub const DEMO_PASSWORD: &str = "parley-demo";

/// Seeds what an empty (or demo-less, with `demo`) database needs. Returns the admin's
/// one-time password when it created the admin account.
pub async fn first_run(store: &dyn Store, demo: bool) -> StoreResult<Option<String>> {
    let empty = store.user_count().await? == 0;
    let mut internal = None;
    if demo && store.meta(DEMO_SEEDED).await?.is_none() {
        internal = Some(seed_demo(store).await?);
        store.set_meta(DEMO_SEEDED, "1").await?;
        tracing::info!("seeded the demo world: alice, bob, carol, dave (password {DEMO_PASSWORD})");
    }
    if empty {
        let org = match internal {
            Some(org) => org,
            None => {
                store
                    .create_organisation("Internal", OrganisationKind::Internal)
                    .await?
            }
        };
        let password = crate::auth::one_time_password();
        store
            .create_user(NewUser {
                username: "admin".into(),
                display_name: "Administrator".into(),
                password_hash: hash_password(password.clone()).await,
                role: Role::Admin,
                organisation_id: org,
                password_change_required: true,
            })
            .await?;
        println!(
            "Created the admin account. Username: admin  One-time password: {password} \
             (the first sign-in chooses a new one)"
        );
        return Ok(Some(password));
    }
    Ok(None)
}

async fn user(
    store: &dyn Store,
    username: &str,
    name: &str,
    role: Role,
    org: OrganisationId,
) -> StoreResult<UserId> {
    let id = store
        .create_user(NewUser {
            username: username.into(),
            display_name: name.into(),
            password_hash: hash_password(DEMO_PASSWORD.into()).await,
            role,
            organisation_id: org,
            password_change_required: false,
        })
        .await?;
    // Where email notifications would go (an `.example` domain: nobody real).
    store
        .set_email(id, Some(&format!("{username}@parley-demo.example")))
        .await?;
    Ok(id)
}

/// Returns the internal organisation's id.
async fn seed_demo(store: &dyn Store) -> StoreResult<OrganisationId> {
    let axiom = store
        .create_organisation("Axiom Fulfillment", OrganisationKind::Internal)
        .await?;
    let oracare = store
        .create_organisation("Oracare", OrganisationKind::Client)
        .await?;
    let acme = store
        .create_organisation("Acme Manufacturing", OrganisationKind::Manufacturer)
        .await?;
    let alice = user(store, "alice", "Alice Adams", Role::Admin, axiom).await?;
    let bob = user(store, "bob", "Bob Baker", Role::Member, axiom).await?;
    let carol = user(store, "carol", "Carol Chen", Role::Guest, oracare).await?;
    let dave = user(store, "dave", "Dave Diaz", Role::Guest, acme).await?;

    let now = now_ms();
    let oracare_team = store
        .create_channel("oracare-team", &[axiom, oracare], now)
        .await?;
    let manufacturer = store
        .create_channel("manufacturer", &[axiom, acme], now)
        .await?;
    let internal = store.create_channel("internal", &[axiom], now).await?;

    const CUSTOMERS: [&str; 8] = [
        "Harper Lane",
        "Miguel Ortiz",
        "Sofia Rossi",
        "Kenji Watanabe",
        "Amara Okafor",
        "Liam Byrne",
        "Noor Haddad",
        "Eva Lindqvist",
    ];
    const SKUS: [&str; 5] = [
        "ORA-TB-SOFT",
        "ORA-TB-MED",
        "ORA-FLOSS-50",
        "ORA-PASTE-100",
        "ORA-KIT-TRAVEL",
    ];
    const STATUSES: [&str; 4] = ["processing", "shipped", "on hold", "delivered"];
    for (i, number) in (1020..1060).enumerate() {
        let mut organisations = vec![oracare];
        let mut organisation_names = vec!["Oracare".to_string()];
        if i % 3 == 1 {
            organisations.push(acme);
            organisation_names.push("Acme Manufacturing".to_string());
        }
        store
            .create_order(&Order {
                number,
                customer: CUSTOMERS[i % CUSTOMERS.len()].into(),
                sku: SKUS[i % SKUS.len()].into(),
                quantity: 1 + (i as i64 * 7) % 24,
                status: STATUSES[i % STATUSES.len()].into(),
                organisations,
                organisation_names,
                shipment: None,
            })
            .await?;
    }
    // Shipped and delivered orders travel in pairs, one shipment each pair.
    let mut travelling: Vec<(i64, &str)> = (1020..1060)
        .enumerate()
        .filter_map(|(i, number)| match STATUSES[i % STATUSES.len()] {
            "shipped" => Some((number, "in transit")),
            "delivered" => Some((number, "delivered")),
            _ => None,
        })
        .collect();
    travelling.sort_by_key(|(_, status)| *status);
    for (n, pair) in travelling.chunks(2).enumerate() {
        let shipment = Shipment {
            reference: format!("1Z4F{:04}", 7100 + n * 37),
            carrier: if n % 2 == 0 { "UPS" } else { "DHL" }.into(),
            status: pair[0].1.into(),
        };
        let numbers: Vec<i64> = pair.iter().map(|(number, _)| *number).collect();
        store.create_shipment(&shipment, &numbers).await?;
    }

    let names: std::collections::HashMap<UserId, &str> = [
        (alice, "Alice Adams"),
        (bob, "Bob Baker"),
        (carol, "Carol Chen"),
        (dave, "Dave Diaz"),
    ]
    .into_iter()
    .collect();
    let history: [(ConversationId, UserId, &str); 12] = [
        (
            oracare_team,
            alice,
            "Welcome to the shared channel, Oracare team! Ask us anything about your orders here.",
        ),
        (
            oracare_team,
            carol,
            "Thanks Alice. Could you check why 1031 is on hold?",
        ),
        (
            oracare_team,
            bob,
            "1031 is waiting on an address confirmation, I'll ping the customer today.",
        ),
        (oracare_team, carol, "Perfect, thank you!"),
        (
            manufacturer,
            alice,
            "Dave, the next batch of ORA-KIT-TRAVEL is due on Friday, right?",
        ),
        (
            manufacturer,
            dave,
            "Yes, 2,400 units leave our dock Thursday evening.",
        ),
        (
            manufacturer,
            bob,
            "Great, we'll have a receiving slot ready Friday morning.",
        ),
        (
            internal,
            alice,
            "Reminder: stock count on aisle 4 tomorrow at 8.",
        ),
        (internal, bob, "Got it. I'll bring the scanners."),
        (
            internal,
            alice,
            "Also, Oracare asked about a weekly report. Let's discuss Monday.",
        ),
        (
            oracare_team,
            carol,
            "One more: can we get tracking links in the order emails?",
        ),
        (
            oracare_team,
            alice,
            "Good idea, we'll look into it this week.",
        ),
    ];
    let start = now - 1000 * 60 * 60 * 3;
    for (i, (conversation, sender, body)) in history.into_iter().enumerate() {
        store
            .write(
                Write::Append(NewMessage {
                    conversation_id: conversation,
                    sender_id: sender,
                    sender_name: names[&sender].to_string(),
                    client_id: uuid::Uuid::now_v7(),
                    body: body.into(),
                    created_at_ms: start + i as i64 * 1000 * 60 * 12,
                    reply_to: None,
                    attachments: Vec::new(),
                }),
                Box::new(|_| {}),
            )
            .await?;
    }
    Ok(axiom)
}
