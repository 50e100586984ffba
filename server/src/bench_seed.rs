//! `parley bench-seed`: a fixture for the load generator. Creates `users` bench users,
//! one outside organisation per room (so, as in real use, a guest is shown the presence of
//! a handful of people, not of everyone), puts them in group conversations of
//! `room_size` members, opens a session for each, and writes `token<TAB>user id<TAB>conversation id` lines for
//! `loadgen`. It writes in one transaction because a hundred thousand separate commits
//! would take longer than the benchmark. On PostgreSQL ([`seed_postgres`]) it makes the
//! users, rooms and sessions only (no seeded history or order threads).

use std::io::Write;
use std::path::Path;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::clock::now_ms;
use crate::store::sqlite::{SqliteSettings, SqliteStore};

pub async fn seed(
    data_dir: &Path,
    users: usize,
    room_size: usize,
    order_threads: usize,
    messages: usize,
    out: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("parley.db");
    SqliteStore::open(&path, &SqliteSettings::default())
        .await?
        .close()
        .await;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .foreign_keys(true),
        )
        .await?;
    let hash = crate::auth::hash_password("bench-password".into()).await;
    let hash = hash.expose_str();
    let now = now_ms();
    let mut tx = pool.begin().await?;
    let mut lines = Vec::with_capacity(users);
    let mut room = 0i64;
    let mut org = 0i64;
    let mut orgs = Vec::new();
    // The first member of each room and the room: who sends the seeded messages.
    let mut senders: Vec<(i64, i64)> = Vec::new();
    for n in 0..users {
        if n % room_size.max(1) == 0 {
            org = sqlx::query(
                "INSERT INTO organisations (name, kind) VALUES (?, 'client') RETURNING id",
            )
            .bind(format!("Bench {now} {n}"))
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            orgs.push(org);
        }
        let user: i64 = sqlx::query(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, created_at_ms) \
             VALUES (?, ?, ?, 'guest', ?, ?) RETURNING id",
        )
        .bind(format!("bench-{now}-{n}"))
        .bind(format!("Bench user {n}"))
        .bind(hash)
        .bind(org)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        if n % room_size.max(1) == 0 {
            room = sqlx::query(
                "INSERT INTO conversations (kind, slug, name, created_at_ms) VALUES ('group', ?, ?, ?) RETURNING id",
            )
            .bind(format!("bench-{now}-room-{n}"))
            .bind(format!("Bench room {n}"))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
        }
        if n % room_size.max(1) == 0 {
            senders.push((user, room));
        }
        sqlx::query("INSERT INTO conversation_members (conversation_id, user_id) VALUES (?, ?)")
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let token = open_session(&mut tx, user, now).await?;
        lines.push(format!("{token}\t{user}\t{room}"));
    }
    if messages > 0 {
        senders.truncate(64);
        seed_messages(&mut tx, messages, &senders, now).await?;
    }
    if order_threads > 0 {
        let staff = seed_order_threads(&mut tx, order_threads, &orgs, hash, now).await?;
        let mut path = out.as_os_str().to_owned();
        path.push(".staff");
        std::fs::write(&path, format!("{staff}\n"))?;
    }
    tx.commit().await?;
    pool.close().await;
    let mut file = std::fs::File::create(out)?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    println!(
        "seeded {users} bench users in rooms of {room_size}; sessions in {}",
        out.display()
    );
    Ok(())
}

/// `count` orders, each linked to one of `orgs` in turn and with its thread, last active
/// at a moment of the past two years, and one internal staff member (who sees them all).
/// Returns the staff member's `token<TAB>user<TAB>0` line.
async fn seed_order_threads(
    tx: &mut sqlx::SqliteConnection,
    count: usize,
    orgs: &[i64],
    hash: &str,
    now: i64,
) -> anyhow::Result<String> {
    const TWO_YEARS_MS: i64 = 2 * 365 * 24 * 3600 * 1000;
    let base: i64 = sqlx::query("SELECT COALESCE(MAX(number), 0) AS n FROM orders")
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    for n in 0..count {
        let number = base + 1 + n as i64;
        let org = orgs[n % orgs.len().max(1)];
        let at = now - (n as i64 * 7_919_993) % TWO_YEARS_MS;
        sqlx::query(
            "INSERT INTO orders (number, customer, sku, quantity, status) VALUES (?, ?, ?, 1, 'delivered')",
        )
        .bind(number)
        .bind(format!("Customer {n}"))
        .bind(format!("BENCH-{}", n % 500))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO order_organisations (order_number, organisation_id) VALUES (?, ?)",
        )
        .bind(number)
        .bind(org)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query(
            "INSERT INTO conversations (kind, slug, name, external_ref, created_at_ms, last_activity_ms) \
             VALUES ('order', ?, ?, ?, ?4, ?4) RETURNING id",
        )
        .bind(format!("order-{number}"))
        .bind(number.to_string())
        .bind(format!("order:{number}"))
        .bind(at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query(
            "INSERT INTO conversation_organisations (conversation_id, organisation_id) VALUES (?, ?)",
        )
        .bind(id)
        .bind(org)
        .execute(&mut *tx)
        .await?;
    }
    let internal: i64 =
        sqlx::query("INSERT INTO organisations (name, kind) VALUES (?, 'internal') RETURNING id")
            .bind(format!("Bench staff {now}"))
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
    let user: i64 = sqlx::query(
        "INSERT INTO users (username, display_name, password_hash, role, organisation_id, created_at_ms) \
         VALUES (?, 'Bench staff', ?, 'member', ?, ?) RETURNING id",
    )
    .bind(format!("bench-staff-{now}"))
    .bind(hash)
    .bind(internal)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let token = open_session(tx, user, now).await?;
    Ok(format!("{token}\t{user}\t0"))
}

/// How long a bench session lasts: a week.
const SESSION_MS: i64 = 7 * 24 * 3600 * 1000;

/// A new session token and the hash the database keeps of it.
fn new_session_token() -> (String, String) {
    let token = crate::auth::SessionToken::generate();
    let hash = token.hash();
    (token.into_inner(), hash)
}

/// A week-long session for `user`; returns its token.
async fn open_session(
    tx: &mut sqlx::SqliteConnection,
    user: i64,
    now: i64,
) -> anyhow::Result<String> {
    let (token, token_hash) = new_session_token();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(now)
    .bind(now + SESSION_MS)
    .execute(&mut *tx)
    .await?;
    Ok(token)
}

/// `count` messages over the rooms of `senders` in turn, a millisecond apart up to `now`,
/// with their events, then all of them into the search index at once.
async fn seed_messages(
    tx: &mut sqlx::SqliteConnection,
    count: usize,
    senders: &[(i64, i64)],
    now: i64,
) -> anyhow::Result<()> {
    for n in 0..count {
        let (sender, room) = senders[n % senders.len().max(1)];
        let at = now - (count - n) as i64;
        let id: i64 = sqlx::query(
            "INSERT INTO messages (conversation_id, seq, sender_id, client_id, body, created_at_ms) \
             SELECT ?1, last_seq + 1, ?2, ?3, ?4, ?5 FROM conversations WHERE id = ?1 RETURNING id",
        )
        .bind(room)
        .bind(sender)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(format!("durable message {n}"))
        .bind(at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query(
            "INSERT INTO events (kind, conversation_id, message_id, created_at_ms) \
             VALUES ('message', ?, ?, ?)",
        )
        .bind(room)
        .bind(id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    // As a real send does, each sender has read up to their own newest message.
    for (sender, room) in senders {
        sqlx::query(
            "INSERT INTO read_state (user_id, conversation_id, last_read_seq) \
             SELECT ?, id, last_seq FROM conversations WHERE id = ?",
        )
        .bind(sender)
        .bind(room)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages \
         WHERE id > (SELECT upto FROM search_indexed) ORDER BY id",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE search_indexed SET upto = (SELECT COALESCE(max(id), 0) FROM messages)")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The users, rooms and sessions of [`seed`] in the PostgreSQL database at `url`
/// (migrated first, as a node would).
pub async fn seed_postgres(
    url: &str,
    users: usize,
    room_size: usize,
    out: &Path,
) -> anyhow::Result<()> {
    use crate::store::postgres::{PostgresSettings, PostgresStore};
    PostgresStore::open(url, &PostgresSettings::default())
        .await?
        .close()
        .await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let hash = crate::auth::hash_password("bench-password".into()).await;
    let hash = hash.expose_str();
    let now = now_ms();
    let room_size = room_size.max(1);
    let mut tx = pool.begin().await?;
    let mut lines = Vec::with_capacity(users);
    let (mut org, mut room) = (0i64, 0i64);
    for n in 0..users {
        if n % room_size == 0 {
            org = sqlx::query_scalar(
                "INSERT INTO organisations (name, kind) VALUES ($1, 'client') RETURNING id",
            )
            .bind(format!("Bench {now} {n}"))
            .fetch_one(&mut *tx)
            .await?;
            room = sqlx::query_scalar(
                "INSERT INTO conversations (kind, slug, name, created_at_ms) \
                 VALUES ('group', $1, $2, $3) RETURNING id",
            )
            .bind(format!("bench-{now}-room-{n}"))
            .bind(format!("Bench room {n}"))
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        }
        let user: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, organisation_id, created_at_ms) \
             VALUES ($1, $2, $3, 'guest', $4, $5) RETURNING id",
        )
        .bind(format!("bench-{now}-{n}"))
        .bind(format!("Bench user {n}"))
        .bind(hash)
        .bind(org)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2)")
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let (token, token_hash) = new_session_token();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user)
        .bind(now)
        .bind(now + SESSION_MS)
        .execute(&mut *tx)
        .await?;
        lines.push(format!("{token}\t{user}\t{room}"));
    }
    tx.commit().await?;
    pool.close().await;
    std::fs::write(out, lines.join("\n") + "\n")?;
    println!(
        "seeded {users} bench users in rooms of {room_size} on PostgreSQL; sessions in {}",
        out.display()
    );
    Ok(())
}
