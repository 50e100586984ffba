//! Email notifications (issue 9 item 4) against a real SMTP server on loopback (aiosmtpd,
//! `scripts/smtp-sink.py`, installed by `scripts/setup`): mentions and direct messages
//! left unread are emailed once, grouped per person; never a read or deleted one, never
//! to someone who turned email off; a send that fails is retried until the SMTP server
//! takes it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use app::model::{ConversationSummary, UserId};
use app::protocol::ClientFrame;
use common::TestServer;

/// The SMTP server, killed when dropped.
struct Sink {
    child: Child,
    folder: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    let python = cache.join("parley-tools/python/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    python
}

fn start_sink(folder: &Path, port: u16) -> Sink {
    use std::io::BufRead;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/smtp-sink.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(folder)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), format!("port {port}"));
    Sink {
        child,
        folder: folder.to_path_buf(),
    }
}

impl Sink {
    fn emails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.folder)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            // Undo quoted-printable's soft line breaks (the body is plain ASCII here).
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        for _ in 0..300 {
            let emails = self.emails();
            if emails.len() >= count {
                return emails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{count} emails never came; got {:?}", self.emails());
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn direct(server: &TestServer, cookie: &str, to: &str) -> ConversationSummary {
    let people: Vec<app::model::Person> = server.call(cookie, "people", &[]).await.unwrap();
    let other: UserId = people
        .iter()
        .find(|p| p.display_name == to)
        .map(|p| p.id)
        .unwrap();
    server
        .call(cookie, "open_direct", &[("other", other.0.to_string())])
        .await
        .unwrap()
}

#[tokio::test]
async fn unread_mentions_and_direct_messages_are_emailed_once_grouped_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mail = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = TestServer::start_with(dir.path(), |c| {
        c.smtp_url = Some(parley_server::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        c.email_after_secs = 1;
        c.email_sweep_secs = 1;
        c.public_url = Some("https://chat.example.com".into());
    })
    .await;
    let alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let dave = server.login("dave").await;
    let mut tab = server.connect(&alice).await;

    // Dave turned email off.
    let _: () = server
        .call(
            &dave,
            "set_email_notifications",
            &[("enabled", "false".into())],
        )
        .await
        .unwrap();
    let to_dave = direct(&server, &alice, "Dave Diaz").await;
    tab.send_acked(to_dave.id, "Dave, no email for you").await;
    // Carol: a direct message she leaves unread.
    let to_carol = direct(&server, &alice, "Carol Chen").await;
    tab.send_acked(to_carol.id, "Carol, is pallet 42 in?").await;
    // Bob: two mentions to group, one deleted, and a direct message he reads at once.
    let internal = server.channel(&alice, "internal").await;
    tab.send_acked(internal.id, "@bob please check the dock")
        .await;
    tab.send_acked(internal.id, "@bob and the invoice too")
        .await;
    let (taken_back, _) = tab
        .send_acked(internal.id, "@bob never mind this one")
        .await;
    let gone: app::model::Message = server
        .call(
            &alice,
            "delete_message",
            &[("message_id", taken_back.0.to_string())],
        )
        .await
        .unwrap();
    assert!(gone.deleted);
    tab.send_acked(internal.id, "no mention here").await;
    let to_bob = direct(&server, &alice, "Bob Baker").await;
    let (_, read_at) = tab.send_acked(to_bob.id, "Bob, read me now").await;
    let mut bob_tab = server.connect(&bob).await;
    bob_tab
        .send_frame(&ClientFrame::Read {
            conversation_id: to_bob.id,
            seq: read_at,
        })
        .await;
    bob_tab.assert_alive().await;

    // Nothing listens yet: the worker fails and keeps the emails for later.
    for _ in 0..100 {
        if server.metric("parley_emails_failed_total").await >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.metric("parley_emails_failed_total").await >= 1.0);
    assert_eq!(server.metric("parley_emails_sent_total").await, 0.0);

    let sink = start_sink(mail.path(), port);
    let emails = sink.wait_for(2).await;
    // A few more sweeps: nothing is sent twice, and nothing else comes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let emails_after = sink.emails();
    assert_eq!(emails_after.len(), 2, "{emails_after:#?}");
    assert_eq!(emails, emails_after);

    let for_whom = |who: &str| {
        emails
            .iter()
            .find(|e| e.contains(&format!("To: {who}")))
            .unwrap_or_else(|| panic!("no email to {who}: {emails:#?}"))
    };
    let carol = for_whom("\"Carol Chen\" <carol@parley-demo.example>");
    assert!(
        carol.contains("Subject: Unread in Parley: a message from Alice Adams"),
        "{carol}"
    );
    assert!(carol.contains("Carol, is pallet 42 in?"));
    assert!(carol.contains(&format!("https://chat.example.com/chat/{}", to_carol.slug)));
    let bob = for_whom("\"Bob Baker\" <bob@parley-demo.example>");
    assert!(
        bob.contains("Subject: Unread in Parley: 2 messages"),
        "{bob}"
    );
    assert!(bob.contains("please check the dock") && bob.contains("and the invoice too"));
    assert!(!bob.contains("never mind"), "a deleted message was emailed");
    assert!(!bob.contains("read me now"), "a read message was emailed");
    assert!(!bob.contains("no mention here"));
    assert!(
        emails.iter().all(|e| !e.contains("dave@")),
        "dave turned email off"
    );
    assert_eq!(server.metric("parley_emails_sent_total").await, 2.0);
    drop(sink);
    server.stop().await;
}
