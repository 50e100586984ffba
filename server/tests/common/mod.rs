//! Test harness: a real Parley server on a free loopback port with a fresh SQLite file
//! (or, with `DATABASE_URL` set, a fresh PostgreSQL database: [`database_for`]), real
//! HTTP sign-in, real WebSockets (tokio-tungstenite), and the real server-function
//! endpoints.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use app::model::{
    Bootstrap, ClientId, ConversationId, ConversationSummary, EventId, HistoryPage, Seq,
};
use app::protocol::{ClientFrame, ServerFrame};
use parley_server::config::Config;

/// How long a test waits for a frame that should come.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The `PARLEY_METRICS_TOKEN` of the servers tests start.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// A running Parley server at `addr`, in this process or another: everything a test
/// does over HTTP, WebSocket and SSE.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
}

/// A Parley server started in this process (`parley_server::start`).
pub struct TestServer {
    endpoint: Endpoint,
    pub data_dir: PathBuf,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl std::ops::Deref for TestServer {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl TestServer {
    /// Starts a demo server on a free port with its database in `data_dir`.
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, |_| {}).await
    }

    pub async fn start_with(data_dir: &Path, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(data_dir.to_path_buf());
        config.database_url = database_for(data_dir)
            .await
            .map(parley_server::config::Secret::new);
        config.demo = true;
        config.metrics_token = Some(parley_server::config::Secret::new(METRICS_TOKEN));
        // The demo host dashboard on a port of its own choosing, out of every test's way.
        config.demo_host_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(parley_server::start(config, listener, shutdown.clone()));
        let server = Self {
            endpoint: Endpoint { addr },
            data_dir: data_dir.to_path_buf(),
            shutdown,
            task,
        };
        server.wait_ready().await;
        server
    }

    /// Graceful shutdown; waits until the server has stopped and closed the database.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// Whether the servers tests start run on PostgreSQL ([`database_for`]).
pub fn on_postgres() -> bool {
    std::env::var_os("DATABASE_URL").is_some()
}

/// A loopback address no one listens on now, for a server started in another process.
pub fn free_addr() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap()
}

/// With `DATABASE_URL` set (`scripts/with-postgres cargo test -p server`), the servers
/// tests start run on PostgreSQL: on a database of each data folder's own, made on that
/// server when missing, so a server restarted on the same folder finds its data.
pub async fn database_for(data_dir: &Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let server = std::env::var("DATABASE_URL").ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    let name = format!("parley_t_{:016x}", hasher.finish());
    let admin = sqlx::PgPool::connect(&server).await.unwrap();
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&admin)
        .await
        .unwrap();
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;
    let (base, _) = server.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

/// The database of the server on `data_dir`, for a test that looks inside it or changes it
/// behind the server's back: SQL in the subset both engines read alike, with `$n`
/// parameters.
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Database {
    pub async fn of(data_dir: &Path) -> Self {
        match database_for(data_dir).await {
            Some(url) => Self::Postgres(sqlx::PgPool::connect(&url).await.unwrap()),
            None => Self::Sqlite(
                sqlx::SqlitePool::connect(&format!(
                    "sqlite://{}",
                    data_dir.join("parley.db").display()
                ))
                .await
                .unwrap(),
            ),
        }
    }

    pub async fn execute(&self, sql: &str, binds: &[i64]) {
        match self {
            Self::Sqlite(pool) => {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.execute(pool).await.unwrap();
            }
            Self::Postgres(pool) => {
                let mut query = sqlx::query(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.execute(pool).await.unwrap();
            }
        }
    }

    pub async fn fetch_all<T>(&self, sql: &str, binds: &[i64]) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        match self {
            Self::Sqlite(pool) => {
                let mut query = sqlx::query_as(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.fetch_all(pool).await.unwrap()
            }
            Self::Postgres(pool) => {
                let mut query = sqlx::query_as(sql);
                for bind in binds {
                    query = query.bind(*bind);
                }
                query.fetch_all(pool).await.unwrap()
            }
        }
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

impl Endpoint {
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Signs in and returns the session cookie (`parley_session=...`).
    pub async fn login(&self, username: &str) -> String {
        self.try_login(username, parley_server::demo::DEMO_PASSWORD)
            .await
            .unwrap_or_else(|| panic!("{username} could not sign in"))
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Option<String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(self.url("/auth/login"))
            .header("Origin", self.origin())
            .form(&[
                ("username", username),
                ("password", password),
                ("next", "/dashboard"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// Calls a server function (`/api/{endpoint}`) with form-encoded arguments.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        cookie: &str,
        endpoint: &str,
        args: &[(&str, String)],
    ) -> Result<T, app::error::ApiError> {
        let response = reqwest::Client::new()
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", self.origin())
            .header("Cookie", cookie)
            .form(args)
            .send()
            .await
            .unwrap();
        answer(endpoint, response).await
    }

    /// `GET path` with a session: the status, headers and body.
    pub async fn get(
        &self,
        cookie: &str,
        path: &str,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    /// Uploads a file to `conversation` as `POST /files` does.
    pub async fn upload(
        &self,
        cookie: &str,
        conversation: ConversationId,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<app::model::Attachment, app::error::ApiError> {
        let response = reqwest::Client::new()
            .post(self.url("/files"))
            .query(&[
                ("conversation_id", conversation.0.to_string()),
                ("name", name.to_string()),
            ])
            .header("Origin", self.origin())
            .header("Cookie", cookie)
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        answer("files", response).await
    }

    pub async fn bootstrap(&self, cookie: &str) -> Bootstrap {
        self.call(cookie, "bootstrap", &[]).await.unwrap()
    }

    pub async fn channel(&self, cookie: &str, slug: &str) -> ConversationSummary {
        self.bootstrap(cookie)
            .await
            .conversations
            .into_iter()
            .find(|c| c.slug == slug)
            .unwrap_or_else(|| panic!("no conversation {slug}"))
    }

    pub async fn history(
        &self,
        cookie: &str,
        conversation: ConversationId,
        before: Option<Seq>,
    ) -> Result<HistoryPage, app::error::ApiError> {
        let mut args = vec![("conversation_id", conversation.0.to_string())];
        if let Some(before) = before {
            args.push(("before", before.to_string()));
        }
        self.call(cookie, "history", &args).await
    }

    /// Every message of a conversation, oldest first, by walking all history pages.
    pub async fn full_history(
        &self,
        cookie: &str,
        conversation: ConversationId,
    ) -> Vec<app::model::Message> {
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = self.history(cookie, conversation, before).await.unwrap();
            let mut messages = page.messages;
            messages.extend(all);
            all = messages;
            match page.next_before {
                Some(b) => before = Some(b),
                None => return all,
            }
        }
    }

    /// Opens a live connection as the owner of `cookie` from the current stream position.
    /// Anything committed while it opened is replayed; those frames are read first.
    pub async fn connect(&self, cookie: &str) -> Client {
        let (mut client, replayed) = self.connect_after(cookie, None).await;
        client.backlog.extend(replayed);
        client
    }

    /// The upgrade request of a live connection with `cookie`, from the site's own origin;
    /// `query` is empty or starts with `?`.
    pub fn ws_request(
        &self,
        cookie: &str,
        query: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut request = format!("ws://{}/ws{query}", self.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Cookie", HeaderValue::from_str(cookie).unwrap());
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(&self.origin()).unwrap());
        request
    }

    /// Opens a live connection resuming after `after`; returns it with the frames
    /// replayed before `caught_up`.
    pub async fn connect_after(
        &self,
        cookie: &str,
        after: Option<EventId>,
    ) -> (Client, Vec<ServerFrame>) {
        let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
        let request = self.ws_request(cookie, &query);
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client {
            socket,
            backlog: Default::default(),
        };
        match client.next_frame().await {
            ServerFrame::Hello { .. } => {}
            other => panic!("expected hello, got {other:?}"),
        }
        match client.next_frame().await {
            ServerFrame::Presence { .. } => {}
            other => panic!("expected the presence snapshot, got {other:?}"),
        }
        let mut replayed = Vec::new();
        loop {
            match client.next_frame().await {
                ServerFrame::CaughtUp { .. } => return (client, replayed),
                frame => replayed.push(frame),
            }
        }
    }
}

pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames received before the caller asked (replayed while connecting).
    backlog: std::collections::VecDeque<ServerFrame>,
}

impl Client {
    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        self.send_text(serde_json::to_string(frame).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.socket
            .send(WsMessage::Text(text.into()))
            .await
            .unwrap();
    }

    pub async fn send_message(&mut self, conversation: ConversationId, body: &str) -> ClientId {
        self.send_reply(conversation, body, None).await
    }

    /// Sends a message and waits for its ack: the message's id and seq.
    pub async fn send_acked(
        &mut self,
        conversation: ConversationId,
        body: &str,
    ) -> (app::model::MessageId, Seq) {
        let sent = self.send_message(conversation, body).await;
        self.until(|f| match f {
            ServerFrame::Ack {
                client_id, id, seq, ..
            } if client_id == sent => Some((id, seq)),
            _ => None,
        })
        .await
    }

    pub async fn send_reply(
        &mut self,
        conversation: ConversationId,
        body: &str,
        reply_to: Option<app::model::MessageId>,
    ) -> ClientId {
        let client_id = uuid::Uuid::new_v4();
        self.send_frame(&ClientFrame::Send {
            client_id,
            conversation_id: conversation,
            body: body.to_string(),
            reply_to,
            attachments: Vec::new(),
        })
        .await;
        client_id
    }

    /// The next protocol frame (skipping WebSocket pings), or a panic after [`PATIENCE`].
    pub async fn next_frame(&mut self) -> ServerFrame {
        if let Some(frame) = self.backlog.pop_front() {
            return frame;
        }
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended")
                .expect("connection failed");
            match message {
                WsMessage::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("bad frame {text}: {e}"));
                }
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Skips frames until one matches.
    pub async fn until<T>(&mut self, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next_frame().await) {
                return found;
            }
        }
    }

    /// Like [`Self::until`], but the frames passed over stay to be read next: a send's
    /// ack and its own fan-out reach the sender in either order.
    pub async fn until_keeping<T>(&mut self, mut pick: impl FnMut(&ServerFrame) -> Option<T>) -> T {
        let mut passed = Vec::new();
        loop {
            let frame = self.next_frame().await;
            if let Some(found) = pick(&frame) {
                for frame in passed.into_iter().rev() {
                    self.backlog.push_front(frame);
                }
                return found;
            }
            passed.push(frame);
        }
    }

    /// Reads until the server closes the connection: the acks that came meanwhile, by
    /// client id (each may come only once), and the close code.
    pub async fn acks_until_close(
        &mut self,
    ) -> (
        std::collections::HashMap<app::model::ClientId, (app::model::MessageId, Seq)>,
        Option<u16>,
    ) {
        let mut acked = std::collections::HashMap::new();
        let mut note = |frame: ServerFrame| {
            if let ServerFrame::Ack {
                client_id, id, seq, ..
            } = frame
            {
                assert!(acked.insert(client_id, (id, seq)).is_none(), "acked twice");
            }
        };
        while let Some(frame) = self.backlog.pop_front() {
            note(frame);
        }
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("timed out waiting for the close")
            {
                Some(Ok(WsMessage::Text(text))) => note(
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad frame {text}: {e}")),
                ),
                Some(Ok(WsMessage::Close(frame))) => {
                    return (acked, frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    /// Reads frames until none arrives for `quiet`; returns them.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<ServerFrame> {
        let mut frames = Vec::new();
        while let Ok(Some(Ok(message))) = tokio::time::timeout(quiet, self.socket.next()).await {
            if let WsMessage::Text(text) = message {
                frames.push(serde_json::from_str(&text).unwrap());
            }
        }
        frames
    }

    /// The next chat message, skipping read-state and other frames.
    pub async fn next_message(&mut self) -> app::model::Message {
        self.until(|f| match f {
            ServerFrame::Message { message, .. } => Some(message),
            _ => None,
        })
        .await
    }

    /// Proves the connection still works: a ping is answered.
    pub async fn assert_alive(&mut self) {
        self.send_frame(&ClientFrame::Ping { nonce: 77 }).await;
        self.until(|f| matches!(f, ServerFrame::Pong { nonce: 77 }).then_some(()))
            .await;
    }
}

impl Endpoint {
    /// `/metrics` as the scraper reads it.
    pub async fn metrics_text(&self) -> String {
        reqwest::Client::new()
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A value from `/metrics` (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        self.metrics_text()
            .await
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let (key, value) = l.split_once(' ')?;
                (key == name).then(|| value.trim().parse().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    /// Waits until a metric reaches `want` (the hub frees connections asynchronously).
    pub async fn wait_for_metric(&self, name: &str, want: f64) {
        let mut last = f64::NAN;
        for _ in 0..200 {
            last = self.metric(name).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} stayed at {last}, expected {want}");
    }

    /// The stream position now, as a fresh page would get it.
    pub async fn last_event(&self, cookie: &str) -> EventId {
        self.bootstrap(cookie).await.last_event_id
    }
}

/// A JSON answer, or the error envelope of a refusal.
async fn answer<T: serde::de::DeserializeOwned>(
    what: &str,
    response: reqwest::Response,
) -> Result<T, app::error::ApiError> {
    let ok = response.status().is_success();
    let text = response.text().await.unwrap();
    if ok {
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}")))
    } else {
        Err(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}")))
    }
}

/// A Server-Sent Events stream of frames.
pub struct SseClient {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    pub connection_id: u64,
}

impl SseClient {
    pub async fn open(server: &Endpoint, cookie: &str, after: Option<EventId>) -> Self {
        let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
        let response = reqwest::Client::new()
            .get(server.url(&format!("/events{query}")))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut client = Self {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            connection_id: 0,
        };
        match client.next_frame().await {
            ServerFrame::Hello { connection_id, .. } => client.connection_id = connection_id,
            other => panic!("expected hello, got {other:?}"),
        }
        client
    }

    pub async fn next_frame(&mut self) -> ServerFrame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("bad frame {data}: {e}"));
            }
            let chunk = tokio::time::timeout(PATIENCE, self.stream.next())
                .await
                .expect("timed out waiting for an event")
                .expect("stream ended")
                .expect("stream failed");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    pub async fn until<T>(&mut self, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next_frame().await) {
                return found;
            }
        }
    }

    /// Posts one client frame; returns the direct answer.
    pub async fn post(
        &self,
        server: &Endpoint,
        cookie: &str,
        frame: &ClientFrame,
    ) -> Option<ServerFrame> {
        reqwest::Client::new()
            .post(server.url(&format!("/events/send?connection={}", self.connection_id)))
            .header("Origin", server.origin())
            .header("Cookie", cookie)
            .header("Content-Type", "application/json")
            .body(serde_json::to_string(frame).unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
