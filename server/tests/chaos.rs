//! Chaos: many simulated browser tabs chat across conversations through the real
//! `parley` binary while their connections drop at random and the server process is
//! killed with SIGKILL and restarted. Every tab keeps an outbox and resends until acked,
//! and resumes after the last event it saw, as the browser does. At the end every acked
//! message must have reached every tab that can see it exactly once, in `seq` order, and
//! every message ever written must have been acked and stored once.
//!
//! CI runs it small. For a large run:
//! `CHAOS_TABS=200 CHAOS_SECONDS=120 CHAOS_KILLS=5 cargo test -p server --test chaos -- --nocapture`

mod common;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use rand::Rng;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use app::model::{ClientId, ConversationId, EventId, MessageId, Seq};
use app::protocol::{ClientFrame, ServerFrame};
use common::Endpoint;

fn param(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Params {
    tabs: usize,
    seconds: u64,
    kills: u64,
    send_every_ms: u64,
    mean_connection_ms: u64,
}

impl Params {
    fn from_env() -> Self {
        Self {
            tabs: param("CHAOS_TABS", 12) as usize,
            seconds: param("CHAOS_SECONDS", 8),
            kills: param("CHAOS_KILLS", 1),
            send_every_ms: param("CHAOS_SEND_EVERY_MS", 120),
            mean_connection_ms: param("CHAOS_MEAN_CONNECTION_MS", 1_500),
        }
    }
}

/// The `parley` binary as a child process.
struct Process {
    child: Child,
}

impl Process {
    async fn start(addr: SocketAddr, dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
        if let Some(url) = common::database_for(dir).await {
            command.env("DATABASE_URL", url);
        }
        let child = command
            .args(["serve", "--demo", "--addr", &addr.to_string(), "--data-dir"])
            .arg(dir)
            .env("PARLEY_LOG", "warn")
            .env("PARLEY_RESUME_MAX_PER_CONVERSATION", "1000000")
            .stdout(Stdio::null())
            .spawn()
            .expect("start parley");
        Endpoint { addr }.wait_ready().await;
        Self { child }
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL parley");
        self.child.wait().expect("reap parley");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one tab saw and did.
#[derive(Default)]
struct Tab {
    /// Per conversation, the `seq`s received, in arrival order.
    received: HashMap<ConversationId, Vec<Seq>>,
    duplicates: usize,
    out_of_order: usize,
    /// Every message this tab wrote.
    written: HashSet<ClientId>,
    acked: HashMap<ClientId, (MessageId, Seq)>,
    /// Written, not yet acked.
    outbox: VecDeque<(ClientId, ConversationId, String)>,
    last_event: EventId,
    connections: usize,
    failed_connects: usize,
}

impl Tab {
    fn on_frame(&mut self, frame: ServerFrame) {
        if let Some(event) = frame.event_id() {
            self.last_event = self.last_event.max(event);
        }
        match frame {
            ServerFrame::Message { message, .. } => {
                let seen = self.received.entry(message.conversation_id).or_default();
                if seen.contains(&message.seq) {
                    self.duplicates += 1;
                } else {
                    if seen.last().is_some_and(|last| *last > message.seq) {
                        self.out_of_order += 1;
                    }
                    seen.push(message.seq);
                }
            }
            ServerFrame::Ack {
                client_id, id, seq, ..
            } => {
                self.outbox.retain(|(c, _, _)| *c != client_id);
                self.acked.insert(client_id, (id, seq));
            }
            ServerFrame::CaughtUp { last_event_id } => {
                self.last_event = self.last_event.max(last_event_id);
            }
            ServerFrame::Error { error, .. } => panic!("the server refused a chaos frame: {error}"),
            _ => {}
        }
    }
}

/// Runs one tab: connect, catch up, flush the outbox, write and read until the
/// connection drops (at random, or because the server died), and again, until
/// `write_until`; then keep reconnecting until everything written is acked.
async fn run_tab(
    endpoint: Endpoint,
    cookie: String,
    conversations: Vec<ConversationId>,
    write_until: Instant,
    params: (u64, u64),
    name: String,
) -> Tab {
    let (send_every_ms, mean_connection_ms) = params;
    let mut tab = Tab::default();
    let mut written = 0usize;
    loop {
        let writing = Instant::now() < write_until;
        if !writing && tab.outbox.is_empty() && tab.connections > 0 {
            return tab;
        }
        let Some(mut socket) = connect(endpoint, &cookie, tab.last_event).await else {
            tab.failed_connects += 1;
            let backoff = rand::thread_rng().gen_range(50..300);
            tokio::time::sleep(Duration::from_millis(backoff)).await;
            continue;
        };
        tab.connections += 1;
        if !catch_up(&mut socket, &mut tab).await {
            continue;
        }
        let mut alive = true;
        for (client_id, conversation_id, body) in tab.outbox.clone() {
            alive &= send(&mut socket, client_id, conversation_id, body).await;
        }
        let lifetime = {
            let u: f64 = rand::thread_rng().gen_range(0.01..1.0);
            Duration::from_millis((-u.ln() * mean_connection_ms as f64) as u64)
        };
        let hang_up = tokio::time::sleep(lifetime);
        tokio::pin!(hang_up);
        let mut tick = tokio::time::interval(Duration::from_millis(send_every_ms));
        while alive {
            tokio::select! {
                incoming = socket.next() => match incoming {
                    Some(Ok(WsMessage::Text(text))) => tab.on_frame(serde_json::from_str(&text).unwrap()),
                    Some(Ok(_)) => {}
                    _ => alive = false,
                },
                _ = tick.tick(), if Instant::now() < write_until => {
                    let client_id = uuid::Uuid::new_v4();
                    let conversation_id = conversations[rand::thread_rng().gen_range(0..conversations.len())];
                    let body = format!("{name} #{written}");
                    written += 1;
                    tab.written.insert(client_id);
                    tab.outbox.push_back((client_id, conversation_id, body.clone()));
                    alive = send(&mut socket, client_id, conversation_id, body).await;
                }
                _ = &mut hang_up => alive = false,
                _ = tokio::time::sleep_until((write_until + Duration::from_millis(200)).into()), if Instant::now() >= write_until && tab.outbox.is_empty() => alive = false,
            }
        }
    }
}

/// After every tab has stopped writing: one more connection to catch up on everything.
async fn final_catch_up(endpoint: Endpoint, cookie: &str, tab: &mut Tab) {
    loop {
        if let Some(mut socket) = connect(endpoint, cookie, tab.last_event).await
            && catch_up(&mut socket, tab).await
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(endpoint: Endpoint, cookie: &str, after: EventId) -> Option<Socket> {
    let mut request = format!("ws://{}/ws?after={after}", endpoint.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("Origin", endpoint.origin().parse().unwrap());
    let connecting = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Ok(Ok((socket, _))) => Some(socket),
        _ => None,
    }
}

/// Reads up to `caught_up`; false if the connection died first.
async fn catch_up(socket: &mut Socket, tab: &mut Tab) -> bool {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(WsMessage::Text(text)))) => {
                let frame: ServerFrame = serde_json::from_str(&text).unwrap();
                let done = matches!(frame, ServerFrame::CaughtUp { .. });
                tab.on_frame(frame);
                if done {
                    return true;
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return false,
        }
    }
}

async fn send(
    socket: &mut Socket,
    client_id: ClientId,
    conversation_id: ConversationId,
    body: String,
) -> bool {
    let frame = ClientFrame::Send {
        client_id,
        conversation_id,
        body,
        reply_to: None,
        attachments: Vec::new(),
    };
    socket
        .send(WsMessage::Text(
            serde_json::to_string(&frame).unwrap().into(),
        ))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_acked_message_reaches_every_member_exactly_once_in_order() {
    let params = Params::from_env();
    let dir = tempfile::tempdir().unwrap();
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let endpoint = Endpoint { addr };
    let mut process = Process::start(addr, dir.path()).await;

    let users = ["alice", "bob", "carol", "dave"];
    let mut cookies = HashMap::new();
    let mut visible: HashMap<&str, Vec<ConversationId>> = HashMap::new();
    for user in users {
        let cookie = endpoint.login(user).await;
        visible.insert(
            user,
            endpoint
                .bootstrap(&cookie)
                .await
                .conversations
                .iter()
                .map(|c| c.id)
                .collect(),
        );
        cookies.insert(user, cookie);
    }
    // A direct conversation too.
    let carol_id = endpoint.bootstrap(&cookies["carol"]).await.me.id;
    let dm: app::model::ConversationSummary = endpoint
        .call(
            &cookies["alice"],
            "open_direct",
            &[("other", carol_id.0.to_string())],
        )
        .await
        .unwrap();
    visible.get_mut("alice").unwrap().push(dm.id);
    visible.get_mut("carol").unwrap().push(dm.id);

    let started = Instant::now();
    let write_until = started + Duration::from_secs(params.seconds);
    let mut tasks = Vec::new();
    for n in 0..params.tabs {
        let user = users[n % users.len()];
        tasks.push((
            user,
            tokio::spawn(run_tab(
                endpoint,
                cookies[user].clone(),
                visible[user].clone(),
                write_until,
                (params.send_every_ms, params.mean_connection_ms),
                format!("{user}/tab{n}"),
            )),
        ));
    }
    let mut kills = 0;
    for k in 1..=params.kills {
        let at =
            started + Duration::from_secs(params.seconds) * k as u32 / (params.kills as u32 + 1);
        tokio::time::sleep_until(at.into()).await;
        process.kill();
        kills += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        process = Process::start(addr, dir.path()).await;
    }
    let mut tabs = Vec::new();
    for (user, task) in tasks {
        let tab = tokio::time::timeout(Duration::from_secs(params.seconds + 120), task)
            .await
            .expect("a tab never finished")
            .unwrap();
        tabs.push((user, tab));
    }
    for (user, tab) in &mut tabs {
        final_catch_up(endpoint, &cookies[*user], tab).await;
    }
    let elapsed = started.elapsed();

    // What the database holds, conversation by conversation.
    let mut stored: BTreeMap<ConversationId, Vec<app::model::Message>> = BTreeMap::new();
    for id in visible["alice"].iter() {
        stored.insert(*id, endpoint.full_history(&cookies["alice"], *id).await);
    }
    let mut stored_ids: HashMap<ClientId, usize> = HashMap::new();
    for messages in stored.values() {
        assert!(
            messages
                .iter()
                .enumerate()
                .all(|(i, m)| m.seq == i as i64 + 1),
            "seq has no gaps"
        );
        for m in messages {
            *stored_ids.entry(m.client_id).or_default() += 1;
        }
    }

    let (mut written, mut acked, mut deliveries, mut connections, mut failed) = (0, 0, 0, 0, 0);
    for (user, tab) in &tabs {
        assert_eq!(tab.duplicates, 0, "{user}: a message arrived twice");
        assert_eq!(
            tab.out_of_order, 0,
            "{user}: a message arrived out of order"
        );
        assert!(
            tab.outbox.is_empty(),
            "{user}: unacked messages left in the outbox"
        );
        assert_eq!(
            tab.written.len(),
            tab.acked.len(),
            "{user}: every written message was acked"
        );
        for client_id in &tab.written {
            assert_eq!(
                stored_ids.get(client_id),
                Some(&1),
                "{user}: stored exactly once"
            );
        }
        for conversation in &visible[user] {
            let want: Vec<Seq> = stored[conversation].iter().map(|m| m.seq).collect();
            let got = tab.received.get(conversation).cloned().unwrap_or_default();
            assert_eq!(
                got, want,
                "{user}: every message of {conversation} exactly once, in order"
            );
        }
        for conversation in tab.received.keys() {
            assert!(
                visible[user].contains(conversation),
                "{user} received {conversation} it may not see"
            );
        }
        written += tab.written.len();
        acked += tab.acked.len();
        deliveries += tab.received.values().map(Vec::len).sum::<usize>();
        connections += tab.connections;
        failed += tab.failed_connects;
    }
    println!(
        "chaos: {} tabs, {:.1} s, {kills} SIGKILL restarts, {written} messages written, {acked} acked, \
         {deliveries} deliveries ({:.0}/s), {connections} connections, {failed} refused while down, 0 lost, 0 duplicated",
        params.tabs,
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64()
    );
    drop(process);
}
