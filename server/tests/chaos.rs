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

/// How a node reaches the others: the database they share and NATS.
#[derive(Clone)]
struct Shared {
    database_url: String,
    nats_url: String,
    /// The cluster's own NATS subjects: tests running at once share one NATS server.
    nats_subject: String,
}

/// The `parley` binary as a child process.
struct Process {
    child: Child,
}

impl Process {
    async fn start(addr: SocketAddr, dir: &Path) -> Self {
        let database = common::database_for(dir).await;
        Self::start_node(addr, dir, database, None).await
    }

    /// One node: alone on `database` (or SQLite), or in a cluster.
    async fn start_node(
        addr: SocketAddr,
        dir: &Path,
        database: Option<String>,
        nats: Option<(&str, &str)>,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_parley"));
        if let Some(url) = database {
            command.env("DATABASE_URL", url);
        }
        if let Some((url, subject)) = nats {
            command
                .env("NATS_URL", url)
                .env("PARLEY_NATS_SUBJECT", subject)
                .env("PARLEY_CLUSTER_HEARTBEAT_MS", "500")
                .env("PARLEY_CLUSTER_NODE_EXPIRY_MS", "3000");
        }
        let child = command
            .args(["serve", "--demo", "--addr", &addr.to_string(), "--data-dir"])
            .arg(dir)
            .env("PARLEY_LOG", "warn")
            .env("PARLEY_METRICS_TOKEN", common::METRICS_TOKEN)
            .env("PARLEY_RESUME_MAX_PER_CONVERSATION", "1000000")
            // Tabs here send as fast as they can; limits are tested elsewhere.
            .env("PARLEY_RATE_FRAMES_PER_USER", "off")
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

    /// SIGTERM, as a service manager stops it; waits for it to exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM parley");
        self.child.wait().expect("reap parley")
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
    endpoints: Vec<Endpoint>,
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
        // Any node will do (a load balancer's choice).
        let endpoint = endpoints[rand::thread_rng().gen_range(0..endpoints.len())];
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
    chaos(Nodes::start(1, None).await, None).await;
}

/// The same on a cluster: `CHAOS_NODES` nodes (3) on one PostgreSQL and one NATS
/// (`scripts/with-postgres scripts/with-nats cargo test -p server --test chaos -- --include-ignored`).
/// Each connection goes to any node, so clients of one conversation are spread across
/// nodes; nodes are SIGKILLed and restarted, and NATS is restarted, mid-run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: scripts/with-postgres scripts/with-nats"]
async fn cluster_chaos_every_acked_message_reaches_every_member_exactly_once_in_order() {
    let Some((nodes, _alone)) = cluster_of(param("CHAOS_NODES", 3).max(2) as usize).await else {
        return;
    };
    chaos(nodes, std::env::var("PARLEY_TEST_NATS_CTL").ok()).await;
}

/// Cluster tests run one at a time: the chaos run restarts the NATS server they share,
/// which would make the others' nodes catch up (and fail their "no catch-up" checks).
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `count` nodes on a database of their own and the test NATS server, started once no
/// other cluster test runs (it runs while the guard is held); `None` without PostgreSQL
/// and NATS.
async fn cluster_of(count: usize) -> Option<(Nodes, tokio::sync::MutexGuard<'static, ()>)> {
    let shared = cluster_setup().await?;
    let alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    Some((Nodes::start(count, Some(shared)).await, alone))
}

/// The database and NATS a cluster test shares, or `None` (with a note) without them.
async fn cluster_setup() -> Option<Shared> {
    let (Ok(_), Ok(nats_url)) = (
        std::env::var("DATABASE_URL"),
        std::env::var("PARLEY_TEST_NATS_URL"),
    ) else {
        eprintln!(
            "skipped: needs DATABASE_URL and PARLEY_TEST_NATS_URL (scripts/with-postgres scripts/with-nats)"
        );
        return None;
    };
    let anchor = tempfile::tempdir().unwrap();
    let database_url = common::database_for(anchor.path()).await.unwrap();
    Some(Shared {
        database_url,
        nats_url,
        nats_subject: format!("test-{}", uuid::Uuid::new_v4().simple()),
    })
}

/// One node, or several sharing a database and NATS, each on its own port and folder.
struct Nodes {
    shared: Option<Shared>,
    dirs: Vec<tempfile::TempDir>,
    endpoints: Vec<Endpoint>,
    processes: Vec<Option<Process>>,
}

impl Nodes {
    async fn start(count: usize, shared: Option<Shared>) -> Self {
        let mut nodes = Nodes {
            shared,
            dirs: Vec::new(),
            endpoints: Vec::new(),
            processes: Vec::new(),
        };
        for n in 0..count {
            nodes.dirs.push(tempfile::tempdir().unwrap());
            nodes.endpoints.push(Endpoint {
                addr: common::free_addr(),
            });
            nodes.processes.push(None);
            // One after another: the first seeds the demo world.
            nodes.restart(n).await;
        }
        nodes
    }

    async fn restart(&mut self, n: usize) {
        let (addr, dir) = (self.endpoints[n].addr, self.dirs[n].path());
        self.processes[n] = Some(match &self.shared {
            None => Process::start(addr, dir).await,
            Some(shared) => {
                Process::start_node(
                    addr,
                    dir,
                    Some(shared.database_url.clone()),
                    Some((&shared.nats_url, &shared.nats_subject)),
                )
                .await
            }
        });
    }

    fn kill(&mut self, n: usize) {
        if let Some(mut process) = self.processes[n].take() {
            process.kill();
        }
    }
}

async fn chaos(mut nodes: Nodes, nats_ctl: Option<String>) {
    let params = Params::from_env();
    let endpoint = nodes.endpoints[0];

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
                nodes.endpoints.clone(),
                cookies[user].clone(),
                visible[user].clone(),
                write_until,
                (params.send_every_ms, params.mean_connection_ms),
                format!("{user}/tab{n}"),
            )),
        ));
    }
    let mut kills = 0;
    // With a cluster, NATS goes away once too, between the kills.
    let faults = params.kills + u64::from(nats_ctl.is_some());
    for k in 1..=faults {
        let at = started + Duration::from_secs(params.seconds) * k as u32 / (faults as u32 + 1);
        tokio::time::sleep_until(at.into()).await;
        if let Some(ctl) = nats_ctl.as_deref().filter(|_| k == 1) {
            let run = |what: &str| {
                let status = Command::new(ctl)
                    .arg(what)
                    .status()
                    .expect("run the NATS control script");
                assert!(status.success(), "NATS {what}");
            };
            run("stop");
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            run("start");
            continue;
        }
        let victim = rand::thread_rng().gen_range(0..nodes.endpoints.len());
        nodes.kill(victim);
        kills += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        nodes.restart(victim).await;
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
    let (mut resyncs, mut fills) = (0.0, 0.0);
    for node in &nodes.endpoints {
        resyncs += node.metric("parley_cluster_resyncs").await;
        fills += node.metric("parley_cluster_gap_fills").await;
    }

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
        "chaos: {} node(s), {} tabs, {:.1} s, {kills} SIGKILL restart(s){}, {written} messages written, {acked} acked, \
         {deliveries} deliveries ({:.0}/s), {connections} connections, {failed} refused while down, 0 lost, 0 duplicated",
        nodes.endpoints.len(),
        params.tabs,
        elapsed.as_secs_f64(),
        if nats_ctl.is_some() {
            format!(
                ", 1 NATS restart, missed events read from the database {fills} times in place \
                 and {resyncs} times by reconnecting"
            )
        } else {
            String::new()
        },
        deliveries as f64 / elapsed.as_secs_f64()
    );
    drop(nodes);
}

/// Live across nodes, on one socket each (no reconnect, no catch-up to hide a loss):
/// messages and typing from a user on one node reach users on the others at once and in
/// order, presence crosses nodes, and a user whose only node is SIGKILLed turns offline
/// for the others within the node expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: scripts/with-postgres scripts/with-nats"]
async fn cluster_delivers_live_across_nodes_and_forgets_a_dead_node() {
    let Some((mut nodes, _alone)) = cluster_of(3).await else {
        return;
    };
    let [a, b, c] = [nodes.endpoints[0], nodes.endpoints[1], nodes.endpoints[2]];
    let alice_cookie = a.login("alice").await;
    let bob_cookie = a.login("bob").await;
    let bob_id = a.bootstrap(&bob_cookie).await.me.id;
    let internal = a.channel(&alice_cookie, "internal").await;

    // Alice on node A and on node C, Bob on node B.
    let mut alice = a.connect(&alice_cookie).await;
    let mut alice_elsewhere = c.connect(&alice_cookie).await;
    let mut bob = b.connect(&bob_cookie).await;
    alice
        .until(|f| match f {
            ServerFrame::Presence { users } => users
                .contains(&(bob_id, app::model::Presence::Online))
                .then_some(()),
            _ => None,
        })
        .await;

    let mut sent = Vec::new();
    for n in 0..20 {
        sent.push(
            bob.send_acked(internal.id, &format!("from node B #{n}"))
                .await
                .1,
        );
    }
    for tab in [&mut alice, &mut alice_elsewhere] {
        let mut got = Vec::new();
        while got.len() < sent.len() {
            let message = tab.next_message().await;
            assert_eq!(message.conversation_id, internal.id);
            got.push(message.seq);
        }
        assert_eq!(got, sent, "every message once, in order, live");
    }
    // Alice answers from node C; Bob on node B hears it.
    let (_, seq) = alice_elsewhere.send_acked(internal.id, "from node C").await;
    // (Bob's own messages come back to his tab too, some still unread: skip them.)
    bob.until(|f| match f {
        ServerFrame::Message { message, .. } if message.seq == seq => Some(()),
        _ => None,
    })
    .await;

    bob.send_frame(&ClientFrame::Typing {
        conversation_id: internal.id,
    })
    .await;
    alice
        .until(|f| match f {
            ServerFrame::Typing { user_id, .. } if user_id == bob_id => Some(()),
            _ => None,
        })
        .await;

    // All of it live: nothing went missing between the nodes.
    for node in [a, b, c] {
        assert_eq!(node.metric("parley_cluster_resyncs").await, 0.0);
        assert_eq!(node.metric("parley_cluster_gap_fills").await, 0.0);
        assert_eq!(node.metric("parley_cluster_other_nodes").await, 2.0);
    }

    // Bob's node dies: the others stop hearing from it and show him offline.
    let killed = Instant::now();
    nodes.kill(1);
    alice
        .until(|f| match f {
            ServerFrame::Presence { users } => users
                .contains(&(bob_id, app::model::Presence::Offline))
                .then_some(()),
            _ => None,
        })
        .await;
    let after = killed.elapsed();
    assert!(
        after < Duration::from_secs(10),
        "offline within the node expiry, not {after:?}"
    );
    println!("cluster: 20 messages live across nodes; a dead node's user offline after {after:?}");
    drop(alice_elsewhere);
    drop(alice);
    drop(nodes);
}

/// A node stopped as a service manager stops it (SIGTERM) while a client is sending
/// through it: the client hears every ack for what the node read, then "going away"; the
/// node exits cleanly; the other nodes deliver those messages live without a catch-up
/// (the node announced its last commits before leaving); the client resends the rest
/// through another node and each message is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: scripts/with-postgres scripts/with-nats"]
async fn cluster_node_stopped_announces_its_last_commits_and_hands_its_clients_over() {
    let Some((mut nodes, _alone)) = cluster_of(3).await else {
        return;
    };
    let [a, b, c] = [nodes.endpoints[0], nodes.endpoints[1], nodes.endpoints[2]];
    let alice_cookie = a.login("alice").await;
    let bob_cookie = b.login("bob").await;
    let internal = a.channel(&alice_cookie, "internal").await;
    let mut alice = a.connect(&alice_cookie).await;
    let mut bob = b.connect(&bob_cookie).await;

    const SENT: usize = 200;
    let body = |n: usize| format!("before the stop #{n}");
    let mut sent = Vec::new();
    for n in 0..SENT {
        sent.push(bob.send_message(internal.id, &body(n)).await);
    }
    let mut acked = HashMap::new();
    let (first, seq) = bob
        .until(|f| match f {
            ServerFrame::Ack { client_id, seq, .. } => Some((client_id, seq)),
            _ => None,
        })
        .await;
    acked.insert(first, seq);
    let node_b = nodes.processes[1].take().unwrap();
    let stopping = tokio::task::spawn_blocking(move || node_b.terminate());
    let (rest, close) = bob.acks_until_close().await;
    assert_eq!(close, Some(app::protocol::CLOSE_GOING_AWAY));
    for (client_id, (_, seq)) in rest {
        assert!(acked.insert(client_id, seq).is_none(), "acked twice");
    }
    let status = stopping.await.unwrap();
    assert!(status.success(), "node B exits cleanly: {status:?}");

    // Alice, on node A, has every acked message live and in order, and nothing else.
    let mut want: Vec<Seq> = acked.values().copied().collect();
    want.sort();
    let mut got = Vec::new();
    while got.len() < want.len() {
        let message = alice.next_message().await;
        assert_eq!(message.conversation_id, internal.id);
        got.push(message.seq);
    }
    assert_eq!(got, want, "what node B acked reaches node A once, in order");
    for node in [a, c] {
        assert_eq!(
            node.metric("parley_cluster_resyncs").await
                + node.metric("parley_cluster_gap_fills").await,
            0.0,
            "node B told the others of its last commits before it left"
        );
    }

    // Bob's tab reconnects to node C and resends what was not acked, as its outbox does.
    let mut bob = c.connect(&bob_cookie).await;
    for (n, client_id) in sent.iter().enumerate() {
        if acked.contains_key(client_id) {
            continue;
        }
        bob.send_frame(&ClientFrame::Send {
            client_id: *client_id,
            conversation_id: internal.id,
            body: body(n),
            reply_to: None,
            attachments: Vec::new(),
        })
        .await;
        let seq = bob
            .until(|f| match f {
                ServerFrame::Ack {
                    client_id: acked,
                    seq,
                    ..
                } if acked == *client_id => Some(seq),
                _ => None,
            })
            .await;
        acked.insert(*client_id, seq);
    }
    let stored: Vec<String> = c
        .full_history(&alice_cookie, internal.id)
        .await
        .into_iter()
        .map(|m| m.body)
        .filter(|b| b.starts_with("before the stop #"))
        .collect();
    assert_eq!(
        stored,
        (0..SENT).map(body).collect::<Vec<_>>(),
        "every message stored once, in the order sent"
    );
    println!(
        "cluster: node B stopped with {} of {SENT} sends acked; the rest resent through node C",
        want.len()
    );
    drop(bob);
    drop(alice);
    drop(nodes);
}

/// NATS down when the nodes start: each starts anyway and serves its own clients; when
/// NATS comes up, they find it and each other, and deliver across nodes live. Then NATS
/// goes away and comes back: what was sent meanwhile reaches the other node's client on
/// its open connection, in order, read from the database (no reconnect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: scripts/with-postgres scripts/with-nats"]
async fn cluster_nodes_start_without_nats_and_join_when_it_comes() {
    let Some(mut shared) = cluster_setup().await else {
        return;
    };
    let _alone = ONE_CLUSTER_AT_A_TIME.lock().await;
    let nats_addr = common::free_addr();
    shared.nats_url = format!("nats://{nats_addr}");
    let mut nodes = Nodes::start(2, Some(shared)).await;
    let [a, b] = [nodes.endpoints[0], nodes.endpoints[1]];

    // Both serve their own clients with no bus at all.
    let alice_cookie = a.login("alice").await;
    let bob_cookie = b.login("bob").await;
    let internal = a.channel(&alice_cookie, "internal").await;
    let mut alice = a.connect(&alice_cookie).await;
    alice.send_acked(internal.id, "before NATS").await;
    assert_eq!(a.metric("parley_cluster_other_nodes").await, 0.0);

    // NATS comes: the nodes find each other and deliver across.
    let nats = std::env::var("PARLEY_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let mut server = Command::new(&nats)
        .args(["-a", "127.0.0.1", "-p", &nats_addr.port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {nats}: {e}"));
    a.wait_for_metric("parley_cluster_other_nodes", 1.0).await;
    b.wait_for_metric("parley_cluster_other_nodes", 1.0).await;
    let mut bob = b.connect(&bob_cookie).await;
    let (_, seq) = alice.send_acked(internal.id, "after NATS").await;
    let message = bob.next_message().await;
    assert_eq!((message.conversation_id, message.seq), (internal.id, seq));

    let _ = server.kill();
    let _ = server.wait();
    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(
            alice
                .send_acked(internal.id, &format!("while NATS was away #{n}"))
                .await
                .1,
        );
    }
    let mut server = Command::new(&nats)
        .args(["-a", "127.0.0.1", "-p", &nats_addr.port().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {nats}: {e}"));
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let message = bob.next_message().await;
        assert_eq!(message.conversation_id, internal.id);
        got.push(message.seq);
    }
    assert_eq!(got, sent, "each once, in order, on the same connection");
    // Node B read from the database when NATS came back (the messages may have come
    // over the bus first: NATS clients keep what they publish while disconnected).
    let deadline = Instant::now() + common::PATIENCE;
    while b.metric("parley_cluster_gap_fills").await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "node B did not read what it missed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        b.metric("parley_cluster_resyncs").await,
        0.0,
        "nobody reconnected"
    );
    let _ = server.kill();
    let _ = server.wait();
    drop(nodes.processes.drain(..));
}
