//! `loadgen`: load for Parley from real WebSocket clients speaking the real protocol.
//!
//! - `fanout`: every session of a `parley bench-seed` file connects; in each room `S`
//!   members send `R` messages a second each; reports deliveries/s, send→deliver latency
//!   percentiles, lost and duplicated deliveries.
//! - `sends`: one sender per room, each keeping `W` sends in flight, as fast as acks come;
//!   reports durable sends/s and send→ack latency.
//! - `idle`: `N` connections of one signed-in user held open; reports the server's RSS per
//!   connection (give it the server's pid).
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.scenario {
            Scenario::Fanout(args) => fanout(args).await,
            Scenario::Sends(args) => sends(args).await,
            Scenario::Idle(args) => idle(args).await,
        }
    })
}
