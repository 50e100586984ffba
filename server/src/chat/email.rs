//! Email notifications (SPEC.md §5): a mention of someone, or a message in their direct
//! or group conversation, still unread `PARLEY_EMAIL_AFTER_MINUTES` after it was sent is
//! emailed to them — all of theirs in one email per sweep, never a deleted or read
//! message, never one twice, never from a conversation they can no longer see, and never
//! to someone who turned email off. A background worker sends over SMTP (`lettre`); a
//! failed send is retried on later sweeps with a growing wait, and nothing is marked sent
//! until the server took it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio_util::sync::CancellationToken;

use app::error::{ApiError, ErrorCode};
use app::model::{ConversationKind, EmailPreferences, Seq, User, UserId};
use app::rules::Action;

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::store::EmailCandidate;

/// Messages older than this past the wait are not emailed about (a server that was down
/// for days does not flood everyone when it comes back).
const LOOKBACK_MS: i64 = 24 * 3600 * 1000;
/// The longest wait between attempts for someone whose emails keep failing.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where and how notification emails are sent.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Links in emails start with this.
    public_url: String,
    /// How long a message stays unread before it is emailed about.
    after: Duration,
    /// The first wait after a failed send (it doubles with each failure in a row).
    retry_after: Duration,
}

impl Mailer {
    /// From `PARLEY_SMTP_URL` and friends.
    pub fn new(
        smtp_url: &str,
        from: &str,
        public_url: String,
        after: Duration,
        retry_after: Duration,
    ) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport,
            from: from.parse()?,
            public_url: public_url.trim_end_matches('/').to_string(),
            after,
            retry_after,
        })
    }
}

/// Per person whose last email failed: failures in a row and when to try again.
type Backoff = HashMap<UserId, (u32, tokio::time::Instant)>;

/// Sweeps every `every` until shutdown.
pub async fn run(chat: Arc<Chat>, mailer: Mailer, every: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    let mut backoff = Backoff::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Err(error) = chat.send_emails(&mailer, &mut backoff).await {
                    tracing::warn!(?error, "email sweep failed");
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}

impl Chat {
    /// One sweep: finds what is owed and sends one email per person. Returns how many
    /// were sent.
    async fn send_emails(&self, mailer: &Mailer, backoff: &mut Backoff) -> Result<usize, ApiError> {
        let until = now_ms() - mailer.after.as_millis() as i64;
        let candidates = self
            .store
            .email_candidates(until - LOOKBACK_MS, until)
            .await
            .map_err(internal)?;
        let mut by_user: Vec<(UserId, Vec<EmailCandidate>)> = Vec::new();
        for candidate in candidates {
            match by_user.last_mut() {
                Some((user, list)) if *user == candidate.user => list.push(candidate),
                _ => by_user.push((candidate.user, vec![candidate])),
            }
        }
        let mut sent = 0;
        for (user_id, owed) in by_user {
            if backoff
                .get(&user_id)
                .is_some_and(|(_, next)| *next > tokio::time::Instant::now())
            {
                continue;
            }
            let Some(user) = self.store.user(user_id).await.map_err(internal)? else {
                continue;
            };
            // Only what they may still see (a group left, a channel closed to them).
            let mut visible = Vec::new();
            for candidate in owed {
                if self
                    .checked(&user, candidate.conversation, Action::See)
                    .await
                    .is_ok()
                {
                    visible.push(candidate);
                }
            }
            if visible.is_empty() {
                continue;
            }
            let email = compose(mailer, &user, &visible);
            match email {
                Ok(email) => match mailer.transport.send(email).await {
                    Ok(_) => {
                        let mut through: HashMap<_, Seq> = HashMap::new();
                        for c in &visible {
                            let seq = through.entry(c.conversation).or_default();
                            *seq = (*seq).max(c.seq);
                        }
                        let through: Vec<_> = through.into_iter().collect();
                        self.store
                            .mark_emailed(user.id, &through)
                            .await
                            .map_err(internal)?;
                        backoff.remove(&user.id);
                        self.metrics.emails_sent.inc();
                        tracing::info!(user = %user.username, messages = visible.len(), "emailed");
                        sent += 1;
                    }
                    Err(error) => {
                        self.metrics.emails_failed.inc();
                        let failures = backoff.get(&user.id).map_or(0, |(n, _)| *n);
                        let wait = mailer
                            .retry_after
                            .saturating_mul(2u32.saturating_pow(failures.min(16)))
                            .min(MAX_BACKOFF);
                        backoff.insert(user.id, (failures + 1, tokio::time::Instant::now() + wait));
                        tracing::warn!(user = %user.username, %error, ?wait, "email not sent; will retry");
                    }
                },
                Err(error) => {
                    tracing::warn!(user = %user.username, %error, "email could not be made");
                }
            }
        }
        Ok(sent)
    }

    pub async fn email_preferences(&self, me: &User) -> Result<EmailPreferences, ApiError> {
        let (email, enabled) = self
            .store
            .email_preferences(me.id)
            .await
            .map_err(internal)?;
        Ok(EmailPreferences { email, enabled })
    }

    pub async fn set_email_notifications(&self, me: &User, enabled: bool) -> Result<(), ApiError> {
        self.store
            .set_email_notifications(me.id, enabled)
            .await
            .map_err(internal)
    }
}

/// The email: who it is for, a subject that says how much, each conversation with a link
/// and its messages as plain excerpts.
fn compose(
    mailer: &Mailer,
    user: &User,
    owed: &[EmailCandidate],
) -> Result<lettre::Message, ApiError> {
    let to: Mailbox = format!(
        "{} <{}>",
        user.display_name.replace(['<', '>', '"'], ""),
        owed[0].email
    )
    .parse()
    .map_err(|_| ApiError::new(ErrorCode::BadRequest, "not an email address"))?;
    let subject = match owed.len() {
        1 => format!("Unread in Parley: a message from {}", owed[0].sender_name),
        n => format!("Unread in Parley: {n} messages"),
    };
    let mut body = format!(
        "Hello {},\n\nThese are waiting for you in Parley:\n",
        user.display_name
    );
    let mut current = None;
    for c in owed {
        if current != Some(c.conversation) {
            current = Some(c.conversation);
            let place = match c.kind {
                ConversationKind::Direct => format!("Direct message from {}", c.sender_name),
                ConversationKind::Channel => format!("#{}", c.conversation_name),
                _ => c.conversation_name.clone(),
            };
            body.push_str(&format!(
                "\n{place}: {}/chat/{}\n",
                mailer.public_url, c.slug
            ));
        }
        body.push_str(&format!(
            "  {}: {}\n",
            c.sender_name,
            app::model::excerpt(&c.body)
        ));
    }
    let minutes = mailer.after.as_secs().div_ceil(60);
    body.push_str(&format!(
        "\nYou get this email when you are mentioned or sent a message and have not read it \
         for {minutes} minute{}. Turn these emails off at {}/account.\n",
        if minutes == 1 { "" } else { "s" },
        mailer.public_url
    ));
    lettre::Message::builder()
        .from(mailer.from.clone())
        .to(to)
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|_| ApiError::internal())
}
