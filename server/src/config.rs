//! Every setting Parley runs with, from the command line or `PARLEY_*` environment
//! variables, with defaults that run out of the box. Every limit is named here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use app::model::ConnectionMode;
use clap::{Args, Parser, Subcommand};

use crate::rate::{Rate, RateSettings};

#[derive(Debug, Parser)]
#[command(
    name = "parley",
    version,
    about = "Real-time team chat for operations dashboards"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written: `text` for people, `json` (one object per line, with
    /// the request's or connection's span fields) for a log collector. Which lines, by
    /// `PARLEY_LOG` (tracing's `EnvFilter` syntax; default `info,sqlx=warn`).
    #[arg(long, global = true, env = "PARLEY_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
// Parsed once at start; the size of the big variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Serve the chat: pages, server functions and the live connection.
    Serve(Config),
    /// Create bench users, rooms and sessions for `loadgen` (SQLite, or PostgreSQL with
    /// `DATABASE_URL`).
    BenchSeed(BenchSeed),
    /// Copy the database and attachments into a new folder, safely while the server runs.
    Backup(BackupArgs),
    /// Put a backup in place (the server must be stopped; the old database is kept aside).
    Restore(RestoreArgs),
}

#[derive(Clone, Debug, Args)]
pub struct BackupArgs {
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// The folder to write the backup into (made if missing; must not hold one yet).
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Clone, Debug, Args)]
pub struct RestoreArgs {
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// A folder `parley backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
}

#[derive(Clone, Debug, Args)]
pub struct BenchSeed {
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Seed this PostgreSQL database instead (users, rooms and sessions only).
    #[arg(long, env = "DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<Secret>,
    /// How many users (one session each).
    #[arg(long, default_value_t = 1_000)]
    pub users: usize,
    /// Members per room (group conversation).
    #[arg(long, default_value_t = 10)]
    pub room_size: usize,
    /// Where to write `token<TAB>user<TAB>room` lines.
    #[arg(long, default_value = "bench-sessions.tsv")]
    pub out: PathBuf,
    /// Also this many order threads (orders linked to the bench organisations in turn,
    /// last active over the past two years), and one internal staff member, who sees
    /// them all; their session goes to `{out}.staff`.
    #[arg(long, default_value_t = 0)]
    pub order_threads: usize,
    /// Also this many messages, "durable message N", spread over the first 64 rooms and
    /// sent by their first member (the read benchmarks' history), already in the search
    /// index.
    #[arg(long, default_value_t = 0)]
    pub messages: usize,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARLEY_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Folder for the SQLite database (`parley.db`) and the attachments.
    #[arg(long, env = "PARLEY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite, for several nodes on one database:
    /// `postgres://user:password@host:port/database`. Unset: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<Secret>,
    /// With PostgreSQL: the most connections this node keeps open to it.
    #[arg(long, env = "PARLEY_DATABASE_POOL", default_value_t = 16)]
    pub database_pool: u32,
    /// The most writes committed together in one transaction (group commit): one fsync
    /// for all of them. Larger batches cost fewer pages and calls per message under load
    /// and nothing when it is quiet (a batch is whatever is waiting).
    #[arg(long, env = "PARLEY_WRITE_BATCH", default_value_t = crate::store::sqlite::DEFAULT_WRITE_BATCH)]
    pub write_batch: usize,
    /// With SQLite: the WAL's size in MiB at which a checkpoint copies it into the
    /// database, on a thread of its own (the writer finishes the last part and the WAL
    /// starts over). Larger: pages written again and again between checkpoints are
    /// copied once, for a larger WAL file (up to eight times this).
    #[arg(long, env = "PARLEY_WAL_CHECKPOINT_MIB", default_value_t = crate::store::sqlite::checkpointer::DEFAULT_CHECKPOINT_MIB)]
    pub wal_checkpoint_mib: u64,
    /// With PostgreSQL: how long a request waits for a connection before it is answered
    /// `unavailable` (the database is down or every connection is busy).
    #[arg(long, env = "PARLEY_DATABASE_TIMEOUT_MS", default_value_t = 5_000)]
    pub database_timeout_ms: u64,
    /// NATS, for several nodes on one PostgreSQL to deliver each other's events:
    /// `nats://host:port` (needs `DATABASE_URL`). Unset: a single node.
    #[arg(long, env = "NATS_URL", value_parser = parse_any_secret)]
    pub nats_url: Option<Secret>,
    /// With NATS: the subject prefix the nodes of one cluster share (`{prefix}.bus`).
    #[arg(long, env = "PARLEY_NATS_SUBJECT", default_value = "parley")]
    pub nats_subject: String,
    /// With NATS: how often a node tells the others who is connected to it (milliseconds).
    #[arg(long, env = "PARLEY_CLUSTER_HEARTBEAT_MS", default_value_t = 1_000)]
    pub cluster_heartbeat_ms: u64,
    /// With NATS: a node not heard from for this long counts as gone, and its users as
    /// offline (milliseconds).
    #[arg(long, env = "PARLEY_CLUSTER_NODE_EXPIRY_MS", default_value_t = 6_000)]
    pub cluster_node_expiry_ms: u64,
    /// With NATS: how long a node waits for a missing event from another node before its
    /// connections reconnect and catch up from the database (milliseconds).
    #[arg(long, env = "PARLEY_CLUSTER_GAP_WAIT_MS", default_value_t = 1_000)]
    pub cluster_gap_wait_ms: u64,
    /// With NATS: messages waiting to go to the other nodes before new ones are dropped
    /// (the others then notice the gap and catch up from the database).
    #[arg(long, env = "PARLEY_CLUSTER_QUEUE", default_value_t = 16_384)]
    pub cluster_queue: usize,
    /// Where attachments are stored, when not in the data folder's `attachments/`: nodes
    /// of a cluster share one (a shared mount), as they share the database.
    #[arg(long, env = "PARLEY_ATTACHMENTS_DIR")]
    pub attachments_dir: Option<PathBuf>,
    /// On shutdown, how long each step may take: open connections answering what they
    /// read and closing, queued writes committing, the last commits reaching the other
    /// nodes (milliseconds).
    #[arg(long, env = "PARLEY_SHUTDOWN_GRACE_MS", default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Seed the demo world of SPEC.md §8 (once per database).
    #[arg(long)]
    pub demo: bool,
    /// Folder with the built site (`pkg/`, assets), as cargo-leptos writes it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Further origins (scheme://host:port) allowed to open the live connection and to
    /// post, beside the origin matching the request's Host header.
    #[arg(long, env = "PARLEY_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The secret a host dashboard signs single sign-on tokens with (SPEC.md §6). Without
    /// it single sign-on is off, except with `--demo`, which uses [`DEMO_SSO_SECRET`].
    #[arg(long, env = "PARLEY_SSO_SECRET", value_parser = parse_secret)]
    pub sso_secret: Option<Secret>,
    /// The token a Prometheus scraper sends (`Authorization: Bearer …`, at least 16
    /// characters) to read `/metrics`. Without it `/metrics` is off (404): it tells
    /// strangers how many people are connected.
    #[arg(long, env = "PARLEY_METRICS_TOKEN", value_parser = parse_secret)]
    pub metrics_token: Option<Secret>,
    /// Longest a single sign-on token may be valid for (its `exp` at most this far ahead),
    /// in seconds. Its nonce is kept that long, so a token opens one session.
    #[arg(long, env = "PARLEY_SSO_MAX_AGE_SECS", default_value_t = 300)]
    pub sso_max_age_secs: i64,
    /// Origins (scheme://host:port) whose pages may embed the widget with `embed.js`.
    /// Everyone else is refused (and may not frame Parley).
    #[arg(long, env = "PARLEY_EMBED_ORIGINS", value_delimiter = ',')]
    pub embed_origins: Vec<String>,
    /// With `--demo`: where the demo host dashboard (a page on another origin embedding
    /// the widget through single sign-on) listens. Default: the next port.
    #[arg(long, env = "PARLEY_DEMO_HOST_ADDR")]
    pub demo_host_addr: Option<SocketAddr>,
    /// Longest message, in characters.
    #[arg(long, env = "PARLEY_MAX_MESSAGE_CHARS", default_value_t = app::model::DEFAULT_MAX_MESSAGE_CHARS)]
    pub max_message_chars: usize,
    /// Largest attachment, in bytes.
    #[arg(long, env = "PARLEY_MAX_ATTACHMENT_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_attachment_bytes: u64,
    /// The file types attachments may have (MIME types, comma-separated). Images among
    /// them are shown inline as thumbnails made on the server.
    #[arg(
        long,
        env = "PARLEY_ATTACHMENT_TYPES",
        value_delimiter = ',',
        default_value = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv"
    )]
    pub attachment_types: Vec<String>,
    /// Largest WebSocket frame accepted and answered with a typed error, in bytes.
    #[arg(long, env = "PARLEY_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Frames a connection may have queued before it is cut off as a slow consumer.
    #[arg(long, env = "PARLEY_OUTGOING_QUEUE", default_value_t = 256)]
    pub outgoing_queue: usize,
    /// Messages per history page.
    #[arg(long, env = "PARLEY_HISTORY_PAGE", default_value_t = 50)]
    pub history_page: u32,
    /// How long a session lasts, in hours.
    #[arg(long, env = "PARLEY_SESSION_HOURS", default_value_t = 24 * 14)]
    pub session_hours: u64,
    /// Mark session cookies `Secure` (set when served over TLS, directly or behind a proxy).
    #[arg(long, env = "PARLEY_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// A reconnecting client that missed more messages than this in one conversation is
    /// told to reload it instead.
    #[arg(
        long,
        env = "PARLEY_RESUME_MAX_PER_CONVERSATION",
        default_value_t = 500
    )]
    pub resume_max_per_conversation: u64,
    /// How long after sending, in seconds, its author may edit a message, until an admin
    /// chooses at /admin.
    #[arg(long, env = "PARLEY_EDIT_WINDOW_SECS", default_value_t = 900)]
    pub edit_window_secs: i64,
    /// Order threads a conversation list shows besides those the user follows (has read
    /// or written in): the most recently active ones. Any other opens from its order's
    /// page, a search or its link.
    #[arg(long, env = "PARLEY_RECENT_THREADS", default_value_t = 50)]
    pub recent_threads: u32,
    /// How often the retention sweep looks for messages older than the admin keeps
    /// (seconds). It does nothing until an admin chooses a retention.
    #[arg(long, env = "PARLEY_RETENTION_SWEEP_SECS", default_value_t = 3600)]
    pub retention_sweep_secs: u64,
    /// A tab without input for this many seconds counts as idle (presence "away").
    #[arg(long, env = "PARLEY_IDLE_AFTER_SECS", default_value_t = 300)]
    pub idle_after_secs: u32,
    /// Presence changes are collected and sent this often (milliseconds).
    #[arg(long, env = "PARLEY_PRESENCE_FLUSH_MS", default_value_t = 250)]
    pub presence_flush_ms: u64,
    /// How browsers carry the live connection until an admin chooses: auto, websocket, sse.
    #[arg(long, env = "PARLEY_CONNECTION_MODE", default_value = "auto", value_parser = parse_mode)]
    pub connection_mode: ConnectionMode,
    /// Seconds between server pings on an idle live connection.
    #[arg(long, env = "PARLEY_PING_SECS", default_value_t = 20)]
    pub ping_secs: u64,
    /// A live connection silent (not even a pong) for this many seconds is closed.
    #[arg(long, env = "PARLEY_SILENT_SECS", default_value_t = 60)]
    pub silent_secs: u64,
    /// A write to a client that takes longer than this many seconds drops the connection.
    #[arg(long, env = "PARLEY_WRITE_TIMEOUT_SECS", default_value_t = 10)]
    pub write_timeout_secs: u64,
    /// Bytes of read buffer per WebSocket connection, held while it is open: client frames
    /// are small (a larger one is read in several turns), and every idle connection pays
    /// for it (BENCHMARKS.md, idle connections).
    #[arg(long, env = "PARLEY_WS_READ_BUFFER", default_value_t = 1024)]
    pub ws_read_buffer: usize,
    /// Bytes of write buffer per WebSocket connection.
    #[arg(long, env = "PARLEY_WS_WRITE_BUFFER", default_value_t = 4 * 1024)]
    pub ws_write_buffer: usize,
    /// Failed sign-ins one address may make (rates are `N/s`, `N/min`, `N/h` — up to N at
    /// once, then one more every period ÷ N — or `off`). Past it, the address is refused
    /// before its password is checked until there is room again.
    #[arg(long, env = "PARLEY_RATE_LOGIN_PER_ADDRESS", default_value = "10/min", value_parser = Rate::parse)]
    pub rate_login_per_address: Rate,
    /// Failed sign-ins for one account name, from anywhere.
    #[arg(long, env = "PARLEY_RATE_LOGIN_PER_ACCOUNT", default_value = "20/min", value_parser = Rate::parse)]
    pub rate_login_per_account: Rate,
    /// HTTP requests of one signed-in user (pages, server functions, files, API).
    #[arg(long, env = "PARLEY_RATE_HTTP_PER_USER", default_value = "1200/min", value_parser = Rate::parse)]
    pub rate_http_per_user: Rate,
    /// HTTP requests without a session, per address.
    #[arg(long, env = "PARLEY_RATE_HTTP_PER_ADDRESS", default_value = "600/min", value_parser = Rate::parse)]
    pub rate_http_per_address: Rate,
    /// Live frames (sends, reads, typing) of one user, over WebSocket or SSE.
    #[arg(long, env = "PARLEY_RATE_FRAMES_PER_USER", default_value = "30/s", value_parser = Rate::parse)]
    pub rate_frames_per_user: Rate,
    /// New live connections of one user.
    #[arg(long, env = "PARLEY_RATE_CONNECTIONS_PER_USER", default_value = "60/min", value_parser = Rate::parse)]
    pub rate_connections_per_user: Rate,
    /// Password hashes checked at once (each takes a core for tens of milliseconds).
    /// Default: half the cores, at least one.
    #[arg(long, env = "PARLEY_PASSWORD_CHECKS")]
    pub password_checks: Option<usize>,
    /// The SMTP server email notifications go through: `smtp://host:port` (plain, for a
    /// local relay), `smtp://host:587?tls=required` (STARTTLS) or `smtps://host:465`, with
    /// `user:password@` if it wants them. Without it no email is sent.
    #[arg(long, env = "PARLEY_SMTP_URL", value_parser = parse_any_secret)]
    pub smtp_url: Option<Secret>,
    /// Who notification emails come from.
    #[arg(
        long,
        env = "PARLEY_EMAIL_FROM",
        default_value = "Parley <parley@localhost>"
    )]
    pub email_from: String,
    /// A mention or direct message still unread this many seconds after it was sent is
    /// emailed about (once, grouped with the others of that person's). Default 10 minutes.
    #[arg(long, env = "PARLEY_EMAIL_AFTER_SECS", default_value_t = 600)]
    pub email_after_secs: u64,
    /// How often the email worker looks for what to send (seconds); also the first wait
    /// before a failed email is tried again (doubling, up to an hour).
    #[arg(long, env = "PARLEY_EMAIL_SWEEP_SECS", default_value_t = 60)]
    pub email_sweep_secs: u64,
    /// Where people reach Parley (`https://chat.example.com`), for the links in emails.
    /// Default: the listen address.
    #[arg(long, env = "PARLEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Reverse proxies (IP addresses) whose `X-Forwarded-For` names the client's address
    /// for rate limits. Without it the peer's address counts.
    #[arg(long, env = "PARLEY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// The secret single sign-on tokens are signed with in `--demo` (when no
/// `PARLEY_SSO_SECRET` is set). Public: never use it outside the demo.
pub const DEMO_SSO_SECRET: &str = "parley-demo-sso-secret";

/// A secret (a setting, a password's hash): its `Debug` does not print it, so it never
/// reaches a log through a struct that holds it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    if s.len() < 16 {
        return Err("a secret has at least 16 characters".into());
    }
    Ok(Secret(s.to_string()))
}

/// A secret of any length (an SMTP address may carry a password, or none).
fn parse_database_url(s: &str) -> Result<Secret, String> {
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(Secret(s.to_string()))
    } else {
        Err("expected postgres://… (without it, Parley uses SQLite in the data folder)".into())
    }
}

fn parse_any_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret(s.to_string()))
}

fn parse_mode(s: &str) -> Result<ConnectionMode, String> {
    ConnectionMode::parse(s).ok_or_else(|| format!("{s}: expected auto, websocket or sse"))
}

impl Config {
    /// The single sign-on secret in force: the configured one, or with `--demo` the demo's.
    pub fn sso_secret(&self) -> Option<Secret> {
        self.sso_secret
            .clone()
            .or_else(|| self.demo.then(|| Secret::new(DEMO_SSO_SECRET)))
    }

    /// Where the demo host listens, with `--demo`: the configured address, or the port
    /// after the one Parley listens on (`bound`).
    pub fn demo_host_addr(&self, bound: SocketAddr) -> Option<SocketAddr> {
        if !self.demo {
            return None;
        }
        self.demo_host_addr.or_else(|| {
            let mut next = bound;
            next.set_port(bound.port().checked_add(1)?);
            Some(next)
        })
    }

    pub fn rate_settings(&self) -> RateSettings {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        RateSettings {
            login_per_address: self.rate_login_per_address,
            login_per_account: self.rate_login_per_account,
            http_per_user: self.rate_http_per_user,
            http_per_address: self.rate_http_per_address,
            frames_per_user: self.rate_frames_per_user,
            connections_per_user: self.rate_connections_per_user,
            password_checks: self.password_checks.unwrap_or(cores / 2).max(1),
        }
    }

    /// No rate limits at all: for load tests and benchmarks that measure something else.
    pub fn without_rate_limits(&mut self) {
        for rate in [
            &mut self.rate_login_per_address,
            &mut self.rate_login_per_account,
            &mut self.rate_http_per_user,
            &mut self.rate_http_per_address,
            &mut self.rate_frames_per_user,
            &mut self.rate_connections_per_user,
        ] {
            *rate = Rate::OFF;
        }
    }

    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_hours * 3600)
    }

    pub fn ws_timing(&self) -> crate::live::ws::Timing {
        crate::live::ws::Timing {
            max_frame_bytes: self.max_frame_bytes,
            ping_every: Duration::from_secs(self.ping_secs.max(1)),
            silent_for: Duration::from_secs(self.silent_secs.max(1)),
            write_within: Duration::from_secs(self.write_timeout_secs.max(1)),
        }
    }

    /// A configuration for tests: a free port is bound separately, data in `data_dir`.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        let Cli {
            command: Command::Serve(mut config),
            ..
        } = Cli::parse_from(["parley", "serve"])
        else {
            unreachable!("`parley serve` parses as serve");
        };
        config.data_dir = data_dir;
        config
    }
}
