//! The PostgreSQL storage sections against a real PostgreSQL: each test on a database
//! of its own, made on the server `DATABASE_URL` names. `scripts/test` runs them as
//! `scripts/with-postgres cargo test -p server --test postgres -- --ignored`, with a
//! throwaway cluster; a plain `cargo test` has no PostgreSQL and leaves them out.

use app::model::{ApiScope, ConversationId, Order, OrganisationId, Role, Shipment, Theme};
use parley_server::config::Secret;
use parley_server::store::postgres::{PostgresSettings, PostgresStore};
use parley_server::store::prelude::*;
use parley_server::store::{NewAttachment, NewUser, OrganisationKind, SsoIdentity, SsoSignIn};

/// A store on a new, empty database (migrated by `open`), and its URL.
async fn fresh_store() -> (PostgresStore, String) {
    let admin_url = std::env::var("DATABASE_URL").expect("DATABASE_URL names a PostgreSQL server");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let name = format!("parley_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let store = PostgresStore::open(&url, &PostgresSettings::default())
        .await
        .unwrap();
    (store, url)
}

fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn user(username: &str, role: Role, organisation: OrganisationId, once: bool) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: format!("{username} display"),
        password_hash: Secret::new(format!("$argon2id$v=19$hash-of-{username}")),
        role,
        organisation_id: organisation,
        password_change_required: once,
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn accounts_and_sessions() {
    let (store, _) = fresh_store().await;
    let axiom = store
        .create_organisation("Axiom", OrganisationKind::Internal)
        .await
        .unwrap();
    let acme = store
        .create_organisation("Acme", OrganisationKind::Client)
        .await
        .unwrap();
    let alice = store
        .create_user(user("alice", Role::Admin, axiom, false))
        .await
        .unwrap();
    let bob = store
        .create_user(user("bob", Role::Member, acme, true))
        .await
        .unwrap();
    assert_eq!(store.user_count().await.unwrap(), 2);
    let (found, secret) = store.credentials("alice").await.unwrap().unwrap();
    assert_eq!(
        (found.id, found.organisation_name.as_str()),
        (alice, "Axiom")
    );
    assert_eq!(secret.expose_str(), "$argon2id$v=19$hash-of-alice");
    assert!(store.credentials("nobody").await.unwrap().is_none());
    let names =
        |users: Vec<app::model::User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(names(store.users().await.unwrap()), ["alice", "bob"]);
    assert_eq!(
        names(store.active_users().await.unwrap()),
        ["alice"],
        "bob has a one-time password"
    );

    // Sessions: expiry, choosing a password ends the others, deleting by user.
    for (n, expires) in [(1, 1_000), (2, 5_000), (3, 5_000)] {
        store
            .create_session(&hash(n), bob, 100, expires)
            .await
            .unwrap();
    }
    let (who, must_change) = store.session_user(&hash(2), 2_000).await.unwrap().unwrap();
    assert_eq!((who.id, must_change), (bob, true));
    assert!(
        store.session_user(&hash(1), 2_000).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(
        store.delete_expired_sessions(2_000).await.unwrap(),
        [hash(1)]
    );
    let ended = store
        .set_password(bob, &Secret::new("$argon2id$new"), &hash(2))
        .await
        .unwrap();
    assert_eq!(ended, [hash(3)]);
    let (_, must_change) = store.session_user(&hash(2), 2_000).await.unwrap().unwrap();
    assert!(!must_change);
    assert_eq!(names(store.active_users().await.unwrap()), ["alice", "bob"]);
    store
        .set_one_time_password(bob, &Secret::new("$argon2id$once"))
        .await
        .unwrap();
    assert!(
        store
            .session_user(&hash(2), 2_000)
            .await
            .unwrap()
            .unwrap()
            .1
    );
    assert_eq!(store.delete_user_sessions(bob).await.unwrap(), [hash(2)]);
    store
        .create_session(&hash(4), bob, 100, 5_000)
        .await
        .unwrap();
    store.delete_session(&hash(4)).await.unwrap();
    assert!(store.session_user(&hash(4), 2_000).await.unwrap().is_none());

    // Disabling, roles, themes, mutes.
    store.set_disabled(bob, Some(7)).await.unwrap();
    assert_eq!(store.disabled_users().await.unwrap(), [bob]);
    assert!(store.credentials("bob").await.unwrap().is_none());
    store.set_disabled(bob, None).await.unwrap();
    assert!(store.disabled_users().await.unwrap().is_empty());
    store.set_role(bob, Role::Guest, axiom).await.unwrap();
    let bob_now = store.user(bob).await.unwrap().unwrap();
    assert_eq!(
        (bob_now.role, bob_now.organisation_id),
        (Role::Guest, axiom)
    );
    assert_eq!(store.theme(bob).await.unwrap(), Theme::System);
    store.set_theme(bob, Theme::Dark).await.unwrap();
    assert_eq!(store.theme(bob).await.unwrap(), Theme::Dark);
    assert!(store.muted(bob).await.unwrap().is_empty());
    // A bad value is refused by the schema, not stored.
    assert!(
        store
            .create_session("short", bob, 100, 5_000)
            .await
            .is_err(),
        "a token hash is 64 hex digits"
    );
    store.close().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn single_sign_on() {
    let (store, _) = fresh_store().await;
    let identity = SsoIdentity {
        subject: "host-42".into(),
        display_name: "Dana Host".into(),
        email: "Dana.Host+x@example.com".into(),
        role: Role::Member,
        organisation: "Oracare".into(),
        organisation_kind: OrganisationKind::Client,
    };
    let SsoSignIn::SignedIn {
        user,
        created,
        access_changed,
    } = store
        .sso_sign_in(&identity, "nonce-0001", 10_000, 1_000)
        .await
        .unwrap()
    else {
        panic!("not signed in");
    };
    assert!(created && !access_changed);
    assert_eq!(user.username, "dana.hostx");
    assert_eq!(store.sso_user("host-42").await.unwrap(), Some(user.id));
    assert_eq!(
        store.email_preferences(user.id).await.unwrap(),
        (Some("Dana.Host+x@example.com".into()), true)
    );
    assert_eq!(
        store
            .sso_sign_in(&identity, "nonce-0001", 10_000, 1_001)
            .await
            .unwrap(),
        SsoSignIn::Replayed
    );
    // Another organisation: access changed; the same username base is taken by now.
    let moved = SsoIdentity {
        organisation: "Acme".into(),
        ..identity.clone()
    };
    let SsoSignIn::SignedIn {
        created,
        access_changed,
        user: same,
        ..
    } = store
        .sso_sign_in(&moved, "nonce-0002", 10_000, 1_002)
        .await
        .unwrap()
    else {
        panic!("not signed in");
    };
    assert!(!created && access_changed);
    assert_eq!(same.id, user.id);
    assert_eq!(same.organisation_name, "Acme");
    let twin = SsoIdentity {
        subject: "host-43".into(),
        ..identity.clone()
    };
    let SsoSignIn::SignedIn { user: second, .. } = store
        .sso_sign_in(&twin, "nonce-0003", 10_000, 1_003)
        .await
        .unwrap()
    else {
        panic!("not signed in");
    };
    assert_eq!(second.username, "dana.hostx-2");
    let wrong_kind = SsoIdentity {
        organisation_kind: OrganisationKind::Manufacturer,
        ..identity.clone()
    };
    assert_eq!(
        store
            .sso_sign_in(&wrong_kind, "nonce-0004", 10_000, 1_004)
            .await
            .unwrap(),
        SsoSignIn::OrganisationKindDiffers
    );
    store.set_disabled(user.id, Some(1)).await.unwrap();
    assert_eq!(
        store
            .sso_sign_in(&identity, "nonce-0005", 10_000, 1_005)
            .await
            .unwrap(),
        SsoSignIn::Disabled
    );
    // Expired nonces are forgotten: an old one passes again once its token expired.
    store.set_disabled(user.id, None).await.unwrap();
    assert!(matches!(
        store
            .sso_sign_in(&identity, "nonce-0001", 30_000, 20_000)
            .await
            .unwrap(),
        SsoSignIn::SignedIn { .. }
    ));
    store.close().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn tokens_audit_attachments_orders_settings_email() {
    let (store, url) = fresh_store().await;
    let axiom = store
        .create_organisation("Axiom", OrganisationKind::Internal)
        .await
        .unwrap();
    let acme = store
        .create_organisation("Acme", OrganisationKind::Client)
        .await
        .unwrap();
    let alice = store
        .create_user(user("alice", Role::Admin, axiom, false))
        .await
        .unwrap();

    // API tokens: made, listed newest first, revoked once.
    let read = store
        .create_api_token(alice, "reader", &hash(1), &[ApiScope::Read], 10)
        .await
        .unwrap();
    let write = store
        .create_api_token(
            alice,
            "bot",
            &hash(2),
            &[ApiScope::Read, ApiScope::Write],
            20,
        )
        .await
        .unwrap();
    let listed = store.api_tokens(alice).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id).collect::<Vec<_>>(),
        [write, read]
    );
    let (owner, scopes) = store.api_token_user(&hash(2)).await.unwrap().unwrap();
    assert_eq!(
        (owner.id, scopes),
        (alice, vec![ApiScope::Read, ApiScope::Write])
    );
    assert!(store.revoke_api_token(alice, read, 30).await.unwrap());
    assert!(
        !store.revoke_api_token(alice, read, 31).await.unwrap(),
        "once"
    );
    assert!(store.api_token_user(&hash(1)).await.unwrap().is_none());

    // Settings.
    assert_eq!(store.meta("edit_window").await.unwrap(), None);
    store.set_meta("edit_window", "900").await.unwrap();
    store.set_meta("edit_window", "600").await.unwrap();
    assert_eq!(
        store.meta("edit_window").await.unwrap().as_deref(),
        Some("600")
    );

    // Orders and shipments.
    for (number, sku) in [(1041, "CHAIR-1"), (1042, "DESK-9"), (1043, "DESK-9")] {
        store
            .create_order(&Order {
                number,
                customer: "Acme Stores".into(),
                sku: sku.into(),
                quantity: 2,
                status: "processing".into(),
                organisations: vec![acme],
                organisation_names: vec![],
                shipment: None,
            })
            .await
            .unwrap();
    }
    let shipment = Shipment {
        reference: "SHP-1".into(),
        carrier: "DHL".into(),
        status: "in transit".into(),
    };
    store
        .create_shipment(&shipment, &[1042, 1043])
        .await
        .unwrap();
    let numbers = |orders: Vec<Order>| orders.into_iter().map(|o| o.number).collect::<Vec<_>>();
    assert_eq!(numbers(store.orders().await.unwrap()), [1043, 1042, 1041]);
    let order = store.order(1042).await.unwrap().unwrap();
    assert_eq!(order.organisation_names, ["Acme"]);
    assert_eq!(order.shipment.as_deref(), Some("SHP-1"));
    assert!(store.order(9).await.unwrap().is_none());
    assert_eq!(
        numbers(store.orders_with_sku("DESK-9").await.unwrap()),
        [1043, 1042]
    );
    let (found, carried) = store.shipment("SHP-1").await.unwrap().unwrap();
    assert_eq!((found, numbers(carried)), (shipment, vec![1043, 1042]));

    // A conversation and a message to hang attachments, audit entries and email on (the
    // conversation sections come with the writer; here they are plain rows).
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let conversation: i64 = sqlx::query_scalar(
        "INSERT INTO conversations (kind, slug, name, created_at_ms) \
         VALUES ('direct', 'dm-1', 'dm', 1) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let bob = store
        .create_user(user("bob", Role::Member, axiom, false))
        .await
        .unwrap();
    for member in [alice, bob] {
        sqlx::query("INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)")
            .bind(conversation)
            .bind(member.0)
            .execute(&pool)
            .await
            .unwrap();
    }
    let now = 1_000_000;
    for seq in 1..=2_i64 {
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
             VALUES ($1, $2, $3, gen_random_uuid(), $4, $5)",
        )
        .bind(conversation)
        .bind(seq)
        .bind(alice.0)
        .bind(format!("hello {seq}"))
        .bind(now + seq)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let conversation = ConversationId(conversation);

    let picture = store
        .insert_attachment(NewAttachment {
            conversation_id: conversation,
            uploader_id: alice,
            name: "pallet.png".into(),
            content_type: "image/png".into(),
            size: 1234,
            hash: hash(7),
            thumbnail: Some((hash(8), 320, 200)),
            created_at_ms: 5,
        })
        .await
        .unwrap();
    assert_eq!(picture.thumbnail, Some((320, 200)));
    let stored = store.attachment(picture.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.conversation_id,
            stored.uploader_id,
            stored.hash.as_str(),
            stored.thumb_hash.as_deref()
        ),
        (
            conversation,
            alice,
            hash(7).as_str(),
            Some(hash(8).as_str())
        )
    );
    assert_eq!(stored.attachment, picture);

    store
        .record_audit(alice, "export", Some(conversation), Some(bob), 40)
        .await
        .unwrap();
    store
        .record_audit(alice, "user_disabled", None, Some(bob), 41)
        .await
        .unwrap();
    let log = store.audit_log(10).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["user_disabled", "export"]
    );
    assert_eq!(log[1].conversation.as_deref(), Some("dm-1"));
    assert_eq!(log[1].subject.as_deref(), Some("bob display"));
    let orgs = store.organisations().await.unwrap();
    assert_eq!(
        orgs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["Axiom", "Acme"],
        "internal first"
    );

    // Email: bob has not read alice's two messages; after one is emailed, one is left;
    // without an address or with email off, none.
    store.set_email(bob, Some("bob@example.com")).await.unwrap();
    assert_eq!(owed(&store, now + 10).await, [(bob, 1), (bob, 2)]);
    store.mark_emailed(bob, &[(conversation, 1)]).await.unwrap();
    store.mark_emailed(bob, &[(conversation, 1)]).await.unwrap();
    assert_eq!(owed(&store, now + 10).await, [(bob, 2)]);
    store.set_email_notifications(bob, false).await.unwrap();
    assert!(owed(&store, now + 10).await.is_empty());
    assert_eq!(
        store.email_preferences(bob).await.unwrap(),
        (Some("bob@example.com".into()), false)
    );
    store.set_email(bob, None).await.unwrap();
    assert_eq!(store.email_preferences(bob).await.unwrap().0, None);
    store.close().await;
}

/// Who is owed an email about which message (by seq), up to `until_ms`.
async fn owed(store: &PostgresStore, until_ms: i64) -> Vec<(app::model::UserId, i64)> {
    store
        .email_candidates(0, until_ms)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.user, c.seq))
        .collect()
}

/// The listing reads: what each person may see is exactly what `rules::can_see` says,
/// and the list carries unread and mention counts and the newest message.
#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn conversations_follow_the_rules() {
    use app::rules::{Actor, can_see};
    let (store, url) = fresh_store().await;
    let axiom = store
        .create_organisation("Axiom", OrganisationKind::Internal)
        .await
        .unwrap();
    let acme = store
        .create_organisation("Acme", OrganisationKind::Client)
        .await
        .unwrap();
    let maker = store
        .create_organisation("Maker", OrganisationKind::Manufacturer)
        .await
        .unwrap();
    let admin = store
        .create_user(user("admin", Role::Admin, axiom, false))
        .await
        .unwrap();
    let staff = store
        .create_user(user("staff", Role::Member, axiom, false))
        .await
        .unwrap();
    let client = store
        .create_user(user("client", Role::Member, acme, false))
        .await
        .unwrap();
    let guest = store
        .create_user(user("guest", Role::Guest, acme, false))
        .await
        .unwrap();
    let making = store
        .create_user(user("making", Role::Member, maker, false))
        .await
        .unwrap();
    let general = store
        .create_channel("general", &[axiom, acme], 1)
        .await
        .unwrap();
    let internal = store.create_channel("internal", &[axiom], 2).await.unwrap();
    let members_only = store
        .create_channel("acme-members", &[acme], 3)
        .await
        .unwrap();

    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let run = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query(sql).execute(&pool).await.unwrap() }
    };
    sqlx::query("DELETE FROM conversation_roles WHERE conversation_id = $1 AND role = 'guest'")
        .bind(members_only.0)
        .execute(&pool)
        .await
        .unwrap();
    let conversation = |kind: &'static str, slug: &'static str, reference: Option<&'static str>| {
        let pool = pool.clone();
        async move {
            ConversationId(
                sqlx::query_scalar(
                    "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms, named) \
                     VALUES ($1, $2, $2, $3, 5, FALSE) RETURNING id",
                )
                .bind(kind)
                .bind(slug)
                .bind(reference)
                .fetch_one(&pool)
                .await
                .unwrap(),
            )
        }
    };
    let direct = conversation("direct", "dm-staff-client", None).await;
    let group = conversation("group", "group-1", None).await;
    let order = conversation("order", "order-1042", Some("order:1042")).await;
    let sku = conversation("order", "sku-x", Some("sku:X")).await;
    for (c, member) in [
        (direct, staff),
        (direct, client),
        (group, admin),
        (group, guest),
        (group, making),
    ] {
        sqlx::query("INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)")
            .bind(c.0)
            .bind(member.0)
            .execute(&pool)
            .await
            .unwrap();
    }
    for (c, org) in [(order, acme), (sku, maker)] {
        sqlx::query("INSERT INTO conversation_organisations (conversation_id, organisation_id) VALUES ($1, $2)")
            .bind(c.0)
            .bind(org.0)
            .execute(&pool)
            .await
            .unwrap();
    }
    let all = [general, internal, members_only, direct, group, order, sku];
    for person in [admin, staff, client, guest, making] {
        let actor = Actor::from(&store.user(person).await.unwrap().unwrap());
        let mut by_rules = Vec::new();
        for c in all {
            if can_see(
                &actor,
                &store.conversation_access(c).await.unwrap().unwrap(),
            ) {
                by_rules.push(c);
            }
        }
        let mut visible = store.visible_ids(&actor).await.unwrap();
        visible.sort();
        assert_eq!(visible, by_rules, "user {person:?}");
        let mut listed: Vec<_> = store
            .conversations_for(&actor, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .filter(|c| by_rules.contains(c))
            .collect();
        listed.sort();
        assert_eq!(
            listed, by_rules,
            "the list of {person:?} holds all it may see"
        );
    }
    // Most recent threads only: with a limit of 1, an outsider's list holds one thread.
    let actor = Actor::from(&store.user(staff).await.unwrap().unwrap());
    let threads = store
        .conversations_for(&actor, 1)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == app::model::ConversationKind::Order)
        .count();
    assert_eq!(threads, 1);

    // Three messages in #general by admin: one for everyone, one naming client; client
    // read the first.
    for (seq, everyone) in [(1_i64, false), (2, true), (3, false)] {
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms, mentions_everyone) \
             VALUES ($1, $2, $3, gen_random_uuid(), $4, $5, $6)",
        )
        .bind(general.0)
        .bind(seq)
        .bind(admin.0)
        .bind(format!("note {seq}"))
        .bind(100 + seq)
        .bind(everyone)
        .execute(&pool)
        .await
        .unwrap();
    }
    run("INSERT INTO mentions (message_id, user_id) SELECT id, (SELECT id FROM users WHERE username = 'client') FROM messages WHERE seq = 3 AND body = 'note 3'").await;
    sqlx::query(
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES ($1, $2, 1)",
    )
    .bind(client.0)
    .bind(general.0)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let seen = store.conversation(general, client).await.unwrap().unwrap();
    assert_eq!(
        (
            seen.last_seq,
            seen.last_read_seq,
            seen.unread,
            seen.mentions
        ),
        (3, 1, 2, 2)
    );
    let newest = seen.last_message.unwrap();
    assert_eq!((newest.seq, newest.excerpt.as_str()), (3, "note 3"));
    let by_slug = store
        .conversation_by_slug("general", staff)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (by_slug.id, by_slug.unread, by_slug.mentions),
        (general, 3, 1)
    );
    let plain = store.conversation_plain(general).await.unwrap().unwrap();
    assert_eq!(
        (plain.unread, plain.audience.organisations),
        (0, vec![axiom, acme])
    );
    assert_eq!(plain.audience.roles, Role::ALL.to_vec());
    assert_eq!(
        store
            .conversation_access(members_only)
            .await
            .unwrap()
            .unwrap()
            .roles,
        [Role::Admin, Role::Member]
    );
    assert!(
        store
            .conversation(ConversationId(999), staff)
            .await
            .unwrap()
            .is_none()
    );
    store.close().await;
}

/// Runs one statement with `binds` on `pool`.
async fn exec(pool: &sqlx::PgPool, sql: &str, binds: &[i64]) {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query.execute(pool).await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn messages_search_and_events() {
    use app::model::{Emoji, EventId, MessageId};
    use app::search::Term;
    use parley_server::store::{SNIPPET_END, SNIPPET_START, SearchFilter, StoredEventKind};

    let (store, url) = fresh_store().await;
    let axiom = store
        .create_organisation("Axiom", OrganisationKind::Internal)
        .await
        .unwrap();
    let ann = store
        .create_user(user("ann", Role::Member, axiom, false))
        .await
        .unwrap();
    let bob = store
        .create_user(user("bob", Role::Member, axiom, false))
        .await
        .unwrap();
    let general = store.create_channel("general", &[axiom], 1).await.unwrap();
    let random = store.create_channel("random", &[axiom], 2).await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    // general: 1 ann, 2 bob (replying to 1, with a link), 3 ann (edited twice), 4 bob
    // (deleted), 5 ann (a file); random: 1 bob.
    let texts = [
        (
            general,
            1,
            ann,
            "Pallet for order 1042 arrived damaged",
            None,
        ),
        (general, 2, bob, "Photos at https://example.com/p", Some(1)),
        (general, 3, ann, "third text now", None),
        (general, 4, bob, "", None),
        (general, 5, ann, "the invoice for shipment", None),
        (random, 1, bob, "damaged goods again", None),
    ];
    for (conversation, seq, sender, body, reply) in texts {
        sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms, \
                                   reply_to, deleted_at_ms) \
             VALUES ($1, $2, $3, gen_random_uuid(), $4, $5, \
                     (SELECT id FROM messages WHERE conversation_id = $1 AND seq = $6), \
                     CASE WHEN $4 = '' THEN $5 END)",
        )
        .bind(conversation.0)
        .bind(seq)
        .bind(sender.0)
        .bind(body)
        .bind(1000 * seq)
        .bind(reply)
        .execute(&pool)
        .await
        .unwrap();
    }
    let id_of = |conversation: ConversationId, seq: i64| {
        let pool = pool.clone();
        async move {
            MessageId(
                sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM messages WHERE conversation_id = $1 AND seq = $2",
                )
                .bind(conversation.0)
                .bind(seq)
                .fetch_one(&pool)
                .await
                .unwrap(),
            )
        }
    };
    let (first, second, third, fifth) = (
        id_of(general, 1).await,
        id_of(general, 2).await,
        id_of(general, 3).await,
        id_of(general, 5).await,
    );
    exec(
        &pool,
        "INSERT INTO message_versions (message_id, version, body, created_at_ms) \
         VALUES ($1, 1, 'first text zebra', 3000), ($1, 2, 'second text', 3100)",
        &[third.0],
    )
    .await;
    exec(
        &pool,
        "UPDATE messages SET version = 3, edited_at_ms = 3200 WHERE id = $1",
        &[third.0],
    )
    .await;
    exec(
        &pool,
        "INSERT INTO reactions (message_id, user_id, emoji, created_at_ms) \
         VALUES ($1, $2, 'heart', 1), ($1, $3, 'heart', 2), ($1, $3, 'eyes', 3)",
        &[first.0, ann.0, bob.0],
    )
    .await;
    let file = store
        .insert_attachment(NewAttachment {
            conversation_id: general,
            uploader_id: ann,
            name: "invoice.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
            hash: hash(1),
            thumbnail: None,
            created_at_ms: 5000,
        })
        .await
        .unwrap();
    exec(
        &pool,
        "UPDATE attachments SET message_id = $1 WHERE id = $2",
        &[fifth.0, file.id.0],
    )
    .await;
    exec(
        &pool,
        "INSERT INTO read_state (user_id, conversation_id, last_read_seq) VALUES ($1, $3, 5), ($2, $3, 2)",
        &[ann.0, bob.0, general.0],
    )
    .await;

    // History, one message, the pages after a seq.
    let page = store.history(general, None, 3).await.unwrap();
    assert_eq!(page.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 4, 3]);
    assert_eq!(page[0].attachments[0].name, "invoice.pdf");
    assert!(page[1].deleted && page[1].body.is_empty());
    assert_eq!(
        (page[2].version, page[2].body.as_str()),
        (3, "third text now")
    );
    let older = store.history(general, Some(3), 10).await.unwrap();
    assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 1]);
    let reply = older[0].reply_to.clone().unwrap();
    assert_eq!(
        (reply.id, reply.seq, reply.sender_name.as_str()),
        (first, 1, "ann display")
    );
    let reacted = store.message(first).await.unwrap().unwrap();
    let reactions: Vec<_> = reacted
        .reactions
        .iter()
        .map(|r| (r.emoji, r.users.clone()))
        .collect();
    assert_eq!(
        reactions,
        [(Emoji::Heart, vec![ann, bob]), (Emoji::Eyes, vec![bob])]
    );
    assert_eq!(reacted.client_id.to_string().len(), 36);
    assert!(store.message(MessageId(999)).await.unwrap().is_none());
    let after = store.messages_after(general, 2, 2).await.unwrap();
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), [3, 4]);

    // Edit history and readers.
    let versions = store.versions(third).await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.body.as_str(), v.created_at_ms))
            .collect::<Vec<_>>(),
        [
            (1, "first text zebra", 3000),
            (2, "second text", 3100),
            (3, "third text now", 3200)
        ]
    );
    let readers = store.readers(general).await.unwrap();
    assert_eq!(
        readers
            .iter()
            .map(|r| (r.user_id, r.last_read_seq))
            .collect::<Vec<_>>(),
        [(ann, 5), (bob, 2)]
    );

    // Search: prefixes, phrases, operators, never a deleted or superseded text.
    let base = |terms: Vec<Term>| SearchFilter {
        conversations: vec![general, random],
        terms,
        limit: 10,
        ..Default::default()
    };
    let word = |w: &str| Term::Word(w.into());
    let phrase = |p: &str| Term::Phrase(p.into());
    let hits = found(&store, base(vec![word("DAMAG")])).await;
    assert_eq!(
        seqs(&hits),
        [(random, 1), (general, 1)],
        "prefix, case-insensitive, newest first"
    );
    assert!(
        hits[1]
            .2
            .contains(&format!("{SNIPPET_START}damaged{SNIPPET_END}")),
        "{:?}",
        hits[1].2
    );
    let count = |filter: SearchFilter| {
        let store = &store;
        async move { found(store, filter).await.len() }
    };
    assert_eq!(count(base(vec![word("damaged"), word("1042")])).await, 1);
    assert_eq!(count(base(vec![phrase("order 1042 arrived")])).await, 1);
    assert_eq!(count(base(vec![phrase("order arrived")])).await, 0);
    assert_eq!(count(base(vec![word("zebra")])).await, 0, "superseded");
    assert_eq!(count(base(vec![word("second")])).await, 0, "superseded");
    assert_eq!(count(base(vec![word("third")])).await, 1);
    assert_eq!(
        count(base(vec![word("it's'); DROP TABLE messages; --")])).await,
        0
    );
    assert_eq!(count(base(vec![word(":*|&!")])).await, 0);
    let in_random = SearchFilter {
        conversations: vec![random],
        ..base(vec![word("damaged")])
    };
    assert_eq!(count(in_random).await, 1);
    let has_link = SearchFilter {
        has_link: true,
        ..base(vec![])
    };
    assert_eq!(seqs(&found(&store, has_link).await), [(general, 2)]);
    let has_file = SearchFilter {
        has_file: true,
        ..base(vec![])
    };
    assert_eq!(seqs(&found(&store, has_file).await), [(general, 5)]);
    let from_bob = SearchFilter {
        senders: Some(vec![bob]),
        ..base(vec![])
    };
    assert_eq!(
        seqs(&found(&store, from_bob).await),
        [(random, 1), (general, 2)],
        "deleted not found"
    );
    let between = SearchFilter {
        after_ms: Some(2000),
        before_ms: Some(5000),
        ..base(vec![])
    };
    assert_eq!(
        seqs(&found(&store, between).await),
        [(general, 3), (general, 2)]
    );
    let everywhere = SearchFilter {
        conversations: vec![],
        visible_to: Some(app::rules::Actor {
            id: ann,
            role: Role::Member,
            organisation_id: axiom,
        }),
        ..base(vec![word("damaged")])
    };
    assert_eq!(count(everywhere).await, 2);

    // The event stream, and skipping the message events of some conversations.
    assert_eq!(store.last_event_id().await.unwrap(), EventId(0));
    let events = [
        (1, "message", general, Some(first.0), None, None),
        (2, "message", general, Some(second.0), None, None),
        (3, "read", general, None, Some(bob.0), Some(2)),
        (4, "message_changed", general, Some(first.0), None, None),
        (5, "conversation", random, None, None, None),
        (6, "membership", random, None, None, None),
        (7, "mute", general, None, Some(ann.0), None),
        (8, "message", general, Some(third.0), None, None),
    ];
    for (id, kind, conversation, message, user, seq) in events {
        sqlx::query(
            "INSERT INTO events (id, kind, conversation_id, message_id, user_id, seq, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, 0)",
        )
        .bind(id)
        .bind(kind)
        .bind(conversation.0)
        .bind(message)
        .bind(user)
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    }
    assert_eq!(store.last_event_id().await.unwrap(), EventId(8));
    assert_eq!(
        store
            .message_events_between(EventId(1), EventId(8))
            .await
            .unwrap(),
        [(general, 3)]
    );
    let all = store
        .events_between(EventId(0), EventId(7), &[])
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert!(matches!(&all[0].kind, StoredEventKind::Message(m) if m.id == first));
    assert!(matches!(&all[2].kind,
        StoredEventKind::Read { user_id, name, seq: 2 } if *user_id == bob && name == "bob display"));
    assert!(matches!(&all[3].kind, StoredEventKind::MessageChanged(m) if m.reactions.len() == 2));
    assert_eq!(all[4].kind, StoredEventKind::Conversation);
    assert_eq!(all[5].kind, StoredEventKind::Membership { user_id: None });
    assert_eq!(all[6].kind, StoredEventKind::Mute { user_id: ann });
    let skipping = store
        .events_between(EventId(0), EventId(8), &[general])
        .await
        .unwrap();
    assert_eq!(
        skipping.iter().map(|e| e.id.0).collect::<Vec<_>>(),
        [3, 5, 6, 7]
    );
    pool.close().await;
    store.close().await;
}

/// What a search finds: (conversation, seq, snippet), newest first.
async fn found(
    store: &PostgresStore,
    filter: parley_server::store::SearchFilter,
) -> Vec<(ConversationId, i64, String)> {
    store
        .search(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|(m, snippet)| (m.conversation_id, m.seq, snippet))
        .collect()
}

fn seqs(hits: &[(ConversationId, i64, String)]) -> Vec<(ConversationId, i64)> {
    hits.iter().map(|h| (h.0, h.1)).collect()
}

/// An append as the chat layer submits it.
fn append(
    conversation: ConversationId,
    sender: app::model::UserId,
    client_id: uuid::Uuid,
    body: &str,
) -> parley_server::store::Write {
    parley_server::store::Write::Append(parley_server::store::NewMessage {
        conversation_id: conversation,
        sender_id: sender,
        sender_name: "sender".into(),
        client_id,
        body: body.into(),
        created_at_ms: 1,
        reply_to: None,
        attachments: vec![],
    })
}

fn appended(written: parley_server::store::Written) -> parley_server::store::Appended {
    match written {
        parley_server::store::Written::Appended(appended) => appended,
        other => panic!("not an append: {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn two_nodes_append_into_one_conversation_gap_free_and_once() {
    use app::model::EventId;
    use parley_server::store::StoredEventKind;

    let (node_a, url) = fresh_store().await;
    let node_b = PostgresStore::open(&url, &PostgresSettings::default())
        .await
        .unwrap();
    let axiom = node_a
        .create_organisation("Axiom", OrganisationKind::Internal)
        .await
        .unwrap();
    let ann = node_a
        .create_user(user("ann", Role::Member, axiom, false))
        .await
        .unwrap();
    let bob = node_a
        .create_user(user("bob", Role::Member, axiom, false))
        .await
        .unwrap();
    let general = node_a.create_channel("general", &[axiom], 1).await.unwrap();
    let random = node_a.create_channel("random", &[axiom], 2).await.unwrap();

    // A resend queued behind its first copy (one batch) and one of a stored message are
    // answered with the stored message and no event.
    let id = uuid::Uuid::new_v4();
    let first = node_a
        .submit(append(general, ann, id, "hello"), Box::new(|_| {}))
        .await
        .unwrap();
    let again = node_a
        .submit(append(general, ann, id, "hello"), Box::new(|_| {}))
        .await
        .unwrap();
    let (first, again) = (
        appended(first.await.unwrap()),
        appended(again.await.unwrap()),
    );
    assert_eq!((first.message.seq, again.message.id), (1, first.message.id));
    assert!(first.event_id.is_some() && again.event_id.is_none());
    let later = appended(
        node_b
            .write(append(general, ann, id, "hello"), Box::new(|_| {}))
            .await
            .unwrap(),
    );
    assert_eq!((later.message.id, later.event_id), (first.message.id, None));

    // Two nodes, two senders each, into two conversations at once.
    let per_sender = 150;
    let mut pending = Vec::new();
    for n in 0..per_sender {
        for (node, sender, conversation) in [
            (&node_a, ann, general),
            (&node_b, bob, general),
            (&node_a, bob, random),
            (&node_b, ann, random),
        ] {
            let body = format!("{n} from {sender:?}");
            pending.push(
                node.submit(
                    append(conversation, sender, uuid::Uuid::new_v4(), &body),
                    Box::new(|_| {}),
                )
                .await
                .unwrap(),
            );
        }
    }
    let mut events = Vec::new();
    for write in pending {
        let done = appended(write.await.unwrap());
        events.push((
            done.event_id.unwrap(),
            done.message.conversation_id,
            done.message.seq,
        ));
    }
    // Seqs are gap-free per conversation, and event ids follow them.
    for conversation in [general, random] {
        let mut mine: Vec<_> = events.iter().filter(|e| e.1 == conversation).collect();
        mine.sort_by_key(|e| e.0);
        let seqs: Vec<i64> = mine.iter().map(|e| e.2).collect();
        let start = seqs[0];
        assert_eq!(
            seqs,
            (start..start + seqs.len() as i64).collect::<Vec<_>>(),
            "seq gap-free, in event order"
        );
    }
    // The stream has every event once, with consecutive ids; the messages are the ones
    // the writers answered with.
    let last = node_b.last_event_id().await.unwrap();
    let stream = node_b.events_between(EventId(0), last, &[]).await.unwrap();
    assert_eq!(stream.len() as i64, last.0);
    assert!(stream.iter().zip(1..).all(|(e, id)| e.id.0 == id));
    let replayed: Vec<_> = stream
        .iter()
        .filter_map(|e| match &e.kind {
            StoredEventKind::Message(m) if m.seq > 1 || m.conversation_id == random => {
                Some((e.id, m.conversation_id, m.seq))
            }
            _ => None,
        })
        .collect();
    events.sort();
    assert_eq!(replayed, events);
    // And the senders read their own messages.
    let readers = node_a.readers(general).await.unwrap();
    assert_eq!(readers.len(), 2);
    assert!(readers.iter().all(|r| r.last_read_seq >= per_sender as i64));
    node_a.close().await;
    node_b.close().await;
}
