//! `loadgen`: load for Parley from real WebSocket clients speaking the real protocol.
//!
//! - `fanout`: every session of a `parley bench-seed` file connects; in each room `S`
//!   members send `R` messages a second each; reports deliveries/s, send→deliver latency
//!   percentiles, lost and duplicated deliveries.
//! - `sends`: one sender per room, each keeping `W` sends in flight, as fast as acks come;
//!   reports durable sends/s and send→ack latency.
//! - `idle`: `N` connections of one signed-in user held open; reports the server's RSS per
//!   connection (give it the server's pid).
//! - `floor`: no Parley at all: what the kernel alone costs to deliver a frame over
//!   loopback TCP, the floor under any server's CPU per delivery on this machine. One
//!   thread pinned to a core writes ready-made WebSocket frames round-robin over `N`
//!   sockets; a tokio thread pinned to the other reads them. Reports each side's CPU per
//!   frame (loopback runs the receiving side's TCP work in the sender's system call).
//!
//! With several `--server`s (the nodes of a cluster) connections are spread over them.
//! Clients spread over 127.0.0.1 … 127.0.0.K source addresses, since one address runs
//! out of ephemeral ports near 28,000 connections.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{Mutex, Semaphore};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use app::model::{ConversationId, Seq};
use app::protocol::{ClientFrame, ServerFrame};

#[derive(Parser)]
#[command(about = "Load generator for Parley")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    Fanout(Fanout),
    Sends(Sends),
    Idle(Idle),
    Floor(Floor),
}

#[derive(Args, Clone)]
struct Common {
    /// The server; several (comma-separated) for the nodes of a cluster: connection `n`
    /// goes to the `n mod k`-th, so the members of a room are spread over the nodes.
    #[arg(long, default_value = "127.0.0.1:3000", value_delimiter = ',')]
    server: Vec<SocketAddr>,
    /// Spread client sockets over this many source addresses, 127.0.0.1 upwards.
    #[arg(long, default_value_t = 4)]
    source_ips: u8,
    /// Connections opened at once while connecting.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
}

#[derive(Args)]
struct Fanout {
    #[command(flatten)]
    common: Common,
    /// Sessions from `parley bench-seed`.
    #[arg(long)]
    sessions: std::path::PathBuf,
    /// Use only the first this many sessions (all when 0).
    #[arg(long, default_value_t = 0)]
    clients: usize,
    /// Senders per room.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Messages per second per sender.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds to wait after connecting before sending, so the server has finished with
    /// the connections (presence, catch-up) and the figures are the steady state's.
    #[arg(long, default_value_t = 0)]
    settle: u64,
    /// Leave out of the latency figures the messages sent in the first this many seconds
    /// of sending (the server's caches filling: each conversation's audience is read on its
    /// first message). They still count for lost, duplicated and out of order.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
}

#[derive(Args)]
struct Sends {
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    sessions: std::path::PathBuf,
    /// Senders (one per room).
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Sends in flight per sender.
    #[arg(long, default_value_t = 8)]
    window: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[derive(Args)]
struct Idle {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value = "alice")]
    username: String,
    #[arg(long, default_value = "parley-demo")]
    password: String,
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// The server's process id, to read its memory from /proc.
    #[arg(long)]
    server_pid: u32,
    /// Seconds to hold the connections open before measuring.
    #[arg(long, default_value_t = 5)]
    hold: u64,
}

#[derive(Args)]
struct Floor {
    /// Loopback TCP connections the frames are spread over.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Frames a second, in all.
    #[arg(long, default_value_t = 50_000)]
    rate: u64,
    /// Bytes of each frame (a delivered message in `fanout` is about this size).
    #[arg(long, default_value_t = 330)]
    bytes: usize,
    /// Frames put in each write to one connection (1: one write per delivery).
    #[arg(long, default_value_t = 1)]
    per_write: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The core of the writing thread (the server's side).
    #[arg(long, default_value_t = 0)]
    writer_cpu: usize,
    /// The core of the reading thread (the clients' side).
    #[arg(long, default_value_t = 1)]
    reader_cpu: usize,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens one live connection from `127.0.0.{source}` and reads up to `caught_up`.
async fn connect(server: SocketAddr, cookie: &str, source: u8) -> anyhow::Result<Socket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(127, 0, 0, source),
        0,
    )))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{server}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("Cookie", format!("parley_session={cookie}").parse()?);
    request
        .headers_mut()
        .insert("Origin", format!("http://{server}").parse()?);
    // Small buffers: a hundred thousand clients with tungstenite's default 128 KiB each
    // would not fit in memory beside the server.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(text))) => {
                if matches!(serde_json::from_str(&text)?, ServerFrame::CaughtUp { .. }) {
                    return Ok(ws);
                }
            }
            Some(Ok(_)) => {}
            _ => anyhow::bail!("connection closed during the handshake"),
        }
    }
}

/// Connects every `(cookie, source)` with bounded concurrency.
async fn connect_all(common: &Common, cookies: Vec<String>) -> Vec<Socket> {
    let limit = Arc::new(Semaphore::new(common.connect_concurrency));
    let mut tasks = Vec::with_capacity(cookies.len());
    for (n, cookie) in cookies.into_iter().enumerate() {
        let limit = limit.clone();
        let server = common.server[n % common.server.len()];
        let source = 1 + (n % common.source_ips.max(1) as usize) as u8;
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            for attempt in 0..5 {
                match connect(server, &cookie, source).await {
                    Ok(ws) => return Some(ws),
                    Err(e) if attempt == 4 => eprintln!("connect failed: {e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
            None
        }));
    }
    let mut sockets = Vec::new();
    for t in tasks {
        if let Some(ws) = t.await.unwrap() {
            sockets.push(ws);
        }
    }
    sockets
}

fn read_sessions(path: &std::path::Path) -> anyhow::Result<Vec<(String, i64, ConversationId)>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|l| {
            let mut parts = l.split('\t');
            let token = parts.next().unwrap_or_default().to_string();
            let user = parts.next().unwrap_or_default().parse()?;
            let room = ConversationId(parts.next().unwrap_or_default().parse()?);
            Ok((token, user, room))
        })
        .collect()
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Totals shared by the client tasks.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    acked: AtomicU64,
    delivered: AtomicU64,
    duplicated: AtomicU64,
    out_of_order: AtomicU64,
}

async fn fanout(args: Fanout) -> anyhow::Result<()> {
    let mut sessions = read_sessions(&args.sessions)?;
    if args.clients > 0 {
        sessions.truncate(args.clients);
    }
    let mut rooms: HashMap<ConversationId, usize> = HashMap::new();
    let mut is_sender = Vec::with_capacity(sessions.len());
    for (_, _, room) in &sessions {
        let members = rooms.entry(*room).or_default();
        is_sender.push(*members < args.senders);
        *members += 1;
    }
    let room_sizes: HashMap<ConversationId, u64> =
        rooms.iter().map(|(k, v)| (*k, *v as u64)).collect();
    let started = Instant::now();
    let sockets = connect_all(&args.common, sessions.iter().map(|s| s.0.clone()).collect()).await;
    anyhow::ensure!(
        sockets.len() == sessions.len(),
        "only {} of {} connected",
        sockets.len(),
        sessions.len()
    );
    println!(
        "connected {} clients in {:.1} s",
        sockets.len(),
        started.elapsed().as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let epoch = Instant::now();
    let warmup_us = args.warmup * 1_000_000;
    let totals = Arc::new(Totals::default());
    // Shared, not one per client: 10,000 clients' own histograms were 2.8 GB of fresh
    // pages to zero, which held the load generator's core for seconds as sending began.
    let latency = Arc::new(std::sync::Mutex::new(histogram()));
    let ack_latency = Arc::new(std::sync::Mutex::new(histogram()));
    let sending = Arc::new(AtomicBool::new(true));
    let expected = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for ((socket, sender), (_, _, room)) in sockets.into_iter().zip(is_sender).zip(&sessions) {
        let totals = totals.clone();
        let latency = latency.clone();
        let ack_latency = ack_latency.clone();
        let sending = sending.clone();
        let expected = expected.clone();
        let room = *room;
        let members = room_sizes[&room];
        let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
        tasks.push(tokio::spawn(async move {
            let (mut write, mut read) = socket.split();
            let mut last_seq: HashMap<ConversationId, Seq> = HashMap::new();
            let mut in_flight: HashMap<uuid::Uuid, Instant> = HashMap::new();
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + interval.mul_f64(rand::random::<f64>()),
                interval,
            );
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let quiet = Duration::from_secs(10);
            loop {
                tokio::select! {
                    incoming = tokio::time::timeout(quiet, read.next()) => {
                        // Pings (answered by tungstenite as it reads) are not the end.
                        let text = match incoming {
                            Ok(Some(Ok(WsMessage::Text(text)))) => text,
                            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
                            _ => break,
                        };
                        match serde_json::from_str::<ServerFrame>(&text) {
                            Ok(ServerFrame::Message { message, .. }) => {
                                let last = last_seq.entry(message.conversation_id).or_default();
                                if message.seq <= *last {
                                    totals.duplicated.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                                if *last != 0 && message.seq != *last + 1 {
                                    totals.out_of_order.fetch_add(1, Ordering::Relaxed);
                                }
                                *last = message.seq;
                                totals.delivered.fetch_add(1, Ordering::Relaxed);
                                if let Some(sent) = message.body.strip_prefix("t=").and_then(|b| b.split(' ').next()).and_then(|t| t.parse::<u64>().ok())
                                    && sent >= warmup_us
                                {
                                    let now = epoch.elapsed().as_micros() as u64;
                                    let _ = latency.lock().unwrap().record(now.saturating_sub(sent).max(1));
                                }
                            }
                            Ok(ServerFrame::Ack { client_id, .. }) => {
                                if let Some(at) = in_flight.remove(&client_id) {
                                    if at.duration_since(epoch).as_micros() as u64 >= warmup_us {
                                        let _ = ack_latency.lock().unwrap().record(at.elapsed().as_micros().max(1) as u64);
                                    }
                                    totals.acked.fetch_add(1, Ordering::Relaxed);
                                    expected.fetch_add(members, Ordering::Relaxed);
                                }
                            }
                            Ok(ServerFrame::Error { error, .. }) => eprintln!("refused: {error}"),
                            _ => {}
                        }
                    }
                    _ = tick.tick(), if sender && sending.load(Ordering::Relaxed) => {
                        let client_id = uuid::Uuid::now_v7();
                        let body = format!("t={} fan-out load", epoch.elapsed().as_micros());
                        let frame = ClientFrame::Send { client_id, conversation_id: room, body, reply_to: None, attachments: Vec::new() };
                        in_flight.insert(client_id, Instant::now());
                        totals.sent.fetch_add(1, Ordering::Relaxed);
                        if write.send(WsMessage::Text(serde_json::to_string(&frame).unwrap().into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    sending.store(false, Ordering::Relaxed);
    let window = epoch.elapsed().as_secs_f64();
    let delivered_in_window = totals.delivered.load(Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    let latency = latency.lock().unwrap();
    let acks = ack_latency.lock().unwrap();
    let delivered = totals.delivered.load(Ordering::Relaxed);
    let expected = expected.load(Ordering::Relaxed);
    println!(
        "fanout: {} clients, {} rooms, {} senders/room at {}/s, {:.1} s\n  \
         sent {} acked {} | delivered {} ({:.0} deliveries/s during sending)\n  \
         send→deliver ms{}: p50 {:.2} p99 {:.2} max {:.2} | send→ack ms: p50 {:.2} p99 {:.2}\n  \
         lost {} duplicated {} out of order {}",
        sessions.len(),
        room_sizes.len(),
        args.senders,
        args.rate,
        window,
        totals.sent.load(Ordering::Relaxed),
        totals.acked.load(Ordering::Relaxed),
        delivered,
        delivered_in_window as f64 / window,
        if args.warmup > 0 {
            format!(" (sent after the first {} s)", args.warmup)
        } else {
            String::new()
        },
        ms(latency.value_at_quantile(0.5)),
        ms(latency.value_at_quantile(0.99)),
        ms(latency.max()),
        ms(acks.value_at_quantile(0.5)),
        ms(acks.value_at_quantile(0.99)),
        expected.saturating_sub(delivered),
        totals.duplicated.load(Ordering::Relaxed),
        totals.out_of_order.load(Ordering::Relaxed),
    );
    Ok(())
}

async fn sends(args: Sends) -> anyhow::Result<()> {
    let sessions = read_sessions(&args.sessions)?;
    let mut seen = std::collections::HashSet::new();
    let senders: Vec<_> = sessions
        .into_iter()
        .filter(|s| seen.insert(s.2))
        .take(args.senders)
        .collect();
    let sockets = connect_all(&args.common, senders.iter().map(|s| s.0.clone()).collect()).await;
    println!("connected {} senders", sockets.len());
    let acks = Arc::new(Mutex::new(histogram()));
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (socket, (_, _, room)) in sockets.into_iter().zip(senders) {
        let acks = acks.clone();
        let acked = acked.clone();
        let window = args.window;
        tasks.push(tokio::spawn(async move {
            let (mut write, mut read) = socket.split();
            let mut local = histogram();
            let mut in_flight: HashMap<uuid::Uuid, Instant> = HashMap::new();
            loop {
                while in_flight.len() < window && Instant::now() < deadline {
                    let client_id = uuid::Uuid::now_v7();
                    let frame = ClientFrame::Send {
                        client_id,
                        conversation_id: room,
                        body: "durable".into(),
                        reply_to: None,
                        attachments: Vec::new(),
                    };
                    in_flight.insert(client_id, Instant::now());
                    if write
                        .send(WsMessage::Text(
                            serde_json::to_string(&frame).unwrap().into(),
                        ))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                if in_flight.is_empty() {
                    break;
                }
                let text = match read.next().await {
                    Some(Ok(WsMessage::Text(text))) => text,
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    _ => break,
                };
                if let Ok(ServerFrame::Ack { client_id, .. }) = serde_json::from_str(&text)
                    && let Some(at) = in_flight.remove(&client_id)
                {
                    let _ = local.record(at.elapsed().as_micros().max(1) as u64);
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            }
            acks.lock().await.add(&local).unwrap();
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acks = acks.lock().await;
    let n = acked.load(Ordering::Relaxed);
    println!(
        "sends: {} senders × window {}, {:.1} s: {} acked = {:.0} durable sends/s; send→ack ms p50 {:.2} p99 {:.2} max {:.2}",
        args.senders,
        args.window,
        elapsed,
        n,
        n as f64 / elapsed,
        ms(acks.value_at_quantile(0.5)),
        ms(acks.value_at_quantile(0.99)),
        ms(acks.max())
    );
    Ok(())
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))
}

async fn idle(args: Idle) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let response = client
        .post(format!("http://{}/auth/login", args.common.server[0]))
        .header("Origin", format!("http://{}", args.common.server[0]))
        .form(&[
            ("username", args.username.as_str()),
            ("password", args.password.as_str()),
        ])
        .send()
        .await?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.strip_prefix("parley_session="))
        .ok_or_else(|| anyhow::anyhow!("sign-in failed"))?
        .to_string();
    let before = rss_kib(args.server_pid)?;
    let started = Instant::now();
    let sockets = connect_all(&args.common, vec![cookie; args.connections]).await;
    let connected = sockets.len();
    println!(
        "connected {connected} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    let after = rss_kib(args.server_pid)?;
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / connected.max(1) as f64;
    println!(
        "idle: {connected} connections; server RSS {} MiB → {} MiB: {:.1} KiB per connection",
        before / 1024,
        after / 1024,
        per / 1024.0
    );
    drop(sockets);
    Ok(())
}

/// Pins the calling thread to `cpu`.
fn pin_this_thread(cpu: usize) -> anyhow::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it, and
    // sched_setaffinity reads `size_of` bytes of it.
    let done = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    anyhow::ensure!(
        done == 0,
        "could not pin to cpu {cpu}: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Pins the calling thread to `cpu`, or says why the figures mean less.
fn pin_or_warn(cpu: usize) {
    if let Err(e) = pin_this_thread(cpu) {
        eprintln!("{e}: the two sides may share a core");
    }
}

/// CPU time of the calling thread (user + system, softirq work done in its system calls
/// included).
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime fills the timespec it is given.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn floor(args: Floor) -> anyhow::Result<()> {
    use std::io::Write;
    anyhow::ensure!(
        args.bytes >= 4 && args.bytes < 65_536,
        "--bytes must be 4..65535"
    );
    anyhow::ensure!(args.per_write >= 1, "--per-write must be at least 1");
    anyhow::ensure!(args.connections >= 1, "--connections must be at least 1");
    // One unmasked text frame, as a server sends it: FIN + text, a 16-bit length.
    let mut frame = vec![0x81, 126];
    frame.extend_from_slice(&((args.bytes - 4) as u16).to_be_bytes());
    frame.resize(args.bytes, b'x');
    let write = frame.repeat(args.per_write);

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut clients = Vec::with_capacity(args.connections);
    let mut servers = Vec::with_capacity(args.connections);
    // One source address is enough: the open-files limit stops well short of its ports.
    for _ in 0..args.connections {
        let socket = std::net::TcpStream::connect(addr)?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        clients.push(socket);
        servers.push(server);
    }
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (received, stop, cpu) = (received.clone(), stop.clone(), args.reader_cpu);
        std::thread::spawn(move || -> anyhow::Result<Duration> {
            pin_or_warn(cpu);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let started = thread_cpu();
                for client in clients {
                    client.set_nonblocking(true)?;
                    let mut client = tokio::net::TcpStream::from_std(client)?;
                    let received = received.clone();
                    tokio::spawn(async move {
                        use tokio::io::AsyncReadExt;
                        let mut buf = vec![0u8; 4096];
                        while let Ok(n) = client.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            received.fetch_add(n as u64, Ordering::Relaxed);
                        }
                    });
                }
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(thread_cpu() - started)
            })
        })
    };
    pin_or_warn(args.writer_cpu);
    std::thread::sleep(Duration::from_millis(500));
    let writes_per_ms = args.rate as f64 / args.per_write as f64 / 1000.0;
    let (cpu_before, started) = (thread_cpu(), Instant::now());
    let (mut written, mut next) = (0u64, 0usize);
    while started.elapsed() < Duration::from_secs(args.seconds) {
        let due = (started.elapsed().as_secs_f64() * 1000.0 * writes_per_ms) as u64;
        while written < due {
            servers[next].write_all(&write)?;
            next = (next + 1) % servers.len();
            written += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let (cpu, elapsed) = (thread_cpu() - cpu_before, started.elapsed());
    let frames = written * args.per_write as u64;
    let expected = frames * args.bytes as u64;
    let deadline = Instant::now() + Duration::from_secs(5);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let reader_cpu = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    println!(
        "floor: {} connections, {} frames of {} B, {} per write, {:.1} s: {:.0} frames/s; bytes received {} expected {}",
        args.connections,
        frames,
        args.bytes,
        args.per_write,
        elapsed.as_secs_f64(),
        frames as f64 / elapsed.as_secs_f64(),
        received.load(Ordering::Relaxed),
        expected
    );
    println!(
        "  writer (server side, core {}): {:.2} µs per frame, {:.2} µs per write, {:.0}% of its core",
        args.writer_cpu,
        cpu.as_secs_f64() * 1e6 / frames.max(1) as f64,
        cpu.as_secs_f64() * 1e6 / written.max(1) as f64,
        100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64()
    );
    println!(
        "  reader (client side, core {}): {:.2} µs per frame, in all (connecting and draining too)",
        args.reader_cpu,
        reader_cpu.as_secs_f64() * 1e6 / frames.max(1) as f64
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::Floor(args) = cli.scenario {
        return floor(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::Fanout(args) => fanout(args).await,
            Scenario::Sends(args) => sends(args).await,
            Scenario::Idle(args) => idle(args).await,
            Scenario::Floor(_) => unreachable!("run before the runtime is built"),
        }
    })
}
