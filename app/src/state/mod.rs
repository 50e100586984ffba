//! The browser's picture of the chat, shared by every component through context:
//! conversations with their unread counts, messages by conversation, the outbox of
//! messages not yet acked, presence, typing, "seen by", and the widget's state. Server
//! frames change it through [`ChatState::apply`] (in `apply.rs`); components read it and
//! call its commands (in `commands.rs`).
//!
//! It exists on the server too (empty, then seeded while rendering) so that the first
//! paint and the hydrated page are produced by the same code.

use std::collections::{BTreeMap, HashMap};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{
    Bootstrap, ClientId, ClientSettings, ConversationId, ConversationKind, ConversationSummary,
    EventId, Message, Presence, ReplyQuote, SeenBy, Seq, User, UserId,
};
use crate::protocol::ClientFrame;

mod apply;
mod commands;

/// The state of the live connection, for the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

/// How the live connection is carried right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Sse,
}

/// A message the user sent that the server has not acked yet. Kept in `localStorage`
/// too, so it survives a reload while offline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    pub client_id: ClientId,
    pub conversation_id: ConversationId,
    pub body: String,
    /// The message it answers.
    #[serde(default)]
    pub reply_to: Option<ReplyQuote>,
    /// Files already uploaded for it.
    #[serde(default)]
    pub attachments: Vec<crate::model::Attachment>,
    /// `None` while sending; the server's refusal once it refused.
    pub failed: Option<ApiError>,
}

/// Someone typing, until `until_ms` (browser clock).
#[derive(Clone, Debug, PartialEq)]
pub struct Typist {
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub name: String,
    pub until_ms: f64,
}

/// How far each other person has read one conversation: name and `seq`.
pub type Readers = HashMap<UserId, (String, Seq)>;

/// How long "… is typing" stays after the last typing frame.
pub const TYPING_SHOWN_MS: f64 = 5_000.0;

#[derive(Clone, Copy)]
pub struct ChatState {
    pub me: RwSignal<Option<User>>,
    /// The conversations they muted.
    pub muted: RwSignal<std::collections::HashSet<ConversationId>>,
    /// Their theme (`<html data-theme>`), as the server keeps it.
    pub theme: RwSignal<crate::model::Theme>,
    pub settings: RwSignal<Option<ClientSettings>>,
    /// Every conversation the user can see, in list order.
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    /// Known messages per conversation, by `seq`.
    pub messages: RwSignal<HashMap<ConversationId, BTreeMap<Seq, Message>>>,
    /// Per conversation: the cursor for the next older page, `None` once at the start.
    pub older_cursor: RwSignal<HashMap<ConversationId, Option<Seq>>>,
    /// Sent but not yet acked (or refused), oldest first.
    pub outbox: RwSignal<Vec<Outgoing>>,
    /// The server said to wait (`rate_limited`); the outbox goes again after the wait.
    pub outbox_waiting: RwSignal<bool>,
    pub connection: RwSignal<Connection>,
    pub transport: RwSignal<Transport>,
    /// The newest event of the server's stream this page has; the live connection
    /// resumes after it.
    pub last_event_id: RwSignal<EventId>,
    /// Presence of the users this user may see; missing means offline.
    pub presence: RwSignal<HashMap<UserId, Presence>>,
    pub typing: RwSignal<Vec<Typist>>,
    /// Per conversation, how far each other person has read it.
    pub seen_by: RwSignal<HashMap<ConversationId, Readers>>,
    /// The conversation whose thread is on screen, if any; its messages count as read.
    pub viewing: RwSignal<Option<ConversationId>>,
    pub widget_open: RwSignal<bool>,
    pub widget_conversation: RwSignal<Option<ConversationId>>,
    /// A message whose edit box should open (`↑` in an empty composer asks for it).
    pub edit_request: RwSignal<Option<(ConversationId, Seq)>>,
    /// What the widget could not do (open a thread a host asked for), until dismissed.
    pub widget_problem: RwSignal<Option<String>>,
    /// The widget is in a host dashboard's frame (`/embed`): Parley's own dashboard pages
    /// are not where its links should lead.
    pub embedded: RwSignal<bool>,
    /// False while rendering on the server and hydrating; true after. Anything that
    /// depends on the browser (local time zone, saved widget state) waits for it.
    pub hydrated: RwSignal<bool>,
    /// The browser clock in milliseconds, ticking once a second (for expiring typing).
    pub now_ms: RwSignal<f64>,
    /// Bumped when lists and threads must refetch (a conversation went stale).
    pub resync: RwSignal<u32>,
    /// Per conversation, the message the composer's next message answers.
    pub replying: RwSignal<HashMap<ConversationId, ReplyQuote>>,
    /// The message to show and mark `aria-current` (a reply's original, a search hit).
    pub focus: RwSignal<Option<(ConversationId, Seq)>>,
    /// Whether pages are kept for offline reloads (no service worker on plain HTTP).
    pub pages_offline: RwSignal<bool>,
    /// Where outgoing frames go while a connection is up.
    sender: StoredValue<Option<UnboundedSender<ClientFrame>>>,
}

impl ChatState {
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            theme: RwSignal::new(crate::model::Theme::System),
            muted: RwSignal::new(Default::default()),
            settings: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            messages: RwSignal::new(HashMap::new()),
            older_cursor: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            outbox_waiting: RwSignal::new(false),
            connection: RwSignal::new(Connection::Connecting),
            transport: RwSignal::new(Transport::WebSocket),
            last_event_id: RwSignal::new(EventId(0)),
            presence: RwSignal::new(HashMap::new()),
            typing: RwSignal::new(Vec::new()),
            seen_by: RwSignal::new(HashMap::new()),
            viewing: RwSignal::new(None),
            widget_open: RwSignal::new(false),
            widget_conversation: RwSignal::new(None),
            widget_problem: RwSignal::new(None),
            edit_request: RwSignal::new(None),
            embedded: RwSignal::new(false),
            hydrated: RwSignal::new(false),
            now_ms: RwSignal::new(0.0),
            resync: RwSignal::new(0),
            replying: RwSignal::new(HashMap::new()),
            focus: RwSignal::new(None),
            pages_offline: RwSignal::new(true),
            sender: StoredValue::new(None),
        }
    }

    /// Takes a fresh picture from the server: the user, their conversations, settings,
    /// and (never backwards) the stream position.
    pub fn seed(&self, boot: Bootstrap) {
        if self.me.get_untracked().as_ref() != Some(&boot.me) {
            self.me.set(Some(boot.me));
        }
        if self.theme.get_untracked() != boot.theme {
            self.theme.set(boot.theme);
        }
        let muted = boot.muted.into_iter().collect();
        if self.muted.with_untracked(|m| *m != muted) {
            self.muted.set(muted);
        }
        // The server lists the order threads one follows and the most recently active
        // others; one this tab already shows (opened by its link, say) stays. Order
        // threads never lose anyone, so none of them can have become invisible.
        let mut conversations = boot.conversations;
        self.conversations.with_untracked(|have| {
            for c in have {
                if c.kind == ConversationKind::Order && !conversations.iter().any(|n| n.id == c.id)
                {
                    conversations.push(c.clone());
                }
            }
        });
        if self.conversations.get_untracked() != conversations {
            self.conversations.set(conversations);
        }
        if self.settings.get_untracked().as_ref() != Some(&boot.settings) {
            self.settings.set(Some(boot.settings));
        }
        if boot.last_event_id > self.last_event_id.get_untracked() {
            self.last_event_id.set(boot.last_event_id);
        }
    }

    /// Adds a page of history and its "seen by"; messages already known stay as they are.
    pub fn merge_page(&self, conversation: ConversationId, page: &[Message], cursor: Option<Seq>) {
        self.merge_messages(conversation, page);
        let older = self
            .older_cursor
            .with_untracked(|c| c.get(&conversation).copied());
        // Keep the oldest cursor seen: a refetch of the latest page must not undo paging.
        let keep = match (older, cursor) {
            (None, _) => true,
            (Some(None), _) => false,
            (Some(Some(_)), None) => true,
            (Some(Some(have)), Some(new)) => new < have,
        };
        if keep {
            self.older_cursor.update(|c| {
                c.insert(conversation, cursor);
            });
        }
    }

    pub fn merge_seen_by(&self, conversation: ConversationId, seen_by: &[SeenBy]) {
        for s in seen_by {
            self.note_seen(conversation, s.user_id, &s.display_name, s.seq);
        }
    }

    /// Adds messages; those already known stay as they are.
    pub fn merge_messages(&self, conversation: ConversationId, page: &[Message]) {
        let known = self.messages.with_untracked(|m| {
            m.get(&conversation)
                .is_some_and(|known| page.iter().all(|msg| known.contains_key(&msg.seq)))
        });
        if !known {
            self.messages.update(|m| {
                let thread = m.entry(conversation).or_default();
                for msg in page {
                    thread.entry(msg.seq).or_insert_with(|| msg.clone());
                }
            });
        }
    }

    /// Replaces a message this page knows with a newer copy (edited, deleted, reacted
    /// to), and the quotes of it in replies. A message not loaded stays unloaded.
    pub fn replace_message(&self, message: &Message) {
        let conversation = message.conversation_id;
        let stale = self.messages.with_untracked(|m| {
            m.get(&conversation).is_some_and(|thread| {
                thread.get(&message.seq).is_some_and(|have| have != message)
                    || thread.values().any(|m| {
                        m.reply_to
                            .as_ref()
                            .is_some_and(|q| q.id == message.id && q.deleted != message.deleted)
                    })
            })
        });
        if !stale {
            return;
        }
        self.messages.update(|m| {
            let Some(thread) = m.get_mut(&conversation) else {
                return;
            };
            if let Some(have) = thread.get_mut(&message.seq) {
                *have = message.clone();
            }
            for reply in thread.values_mut() {
                if let Some(quote) = reply.reply_to.as_mut().filter(|q| q.id == message.id) {
                    quote.deleted = message.deleted;
                    quote.excerpt = if message.deleted {
                        String::new()
                    } else {
                        crate::model::excerpt(&message.body)
                    };
                }
            }
        });
    }

    pub fn conversation(&self, id: ConversationId) -> Option<ConversationSummary> {
        self.conversations
            .with(|cs| cs.iter().find(|c| c.id == id).cloned())
    }

    /// [`Self::conversation`] for code that reacts to nothing (frame handlers).
    pub fn conversation_untracked(&self, id: ConversationId) -> Option<ConversationSummary> {
        self.conversations
            .with_untracked(|cs| cs.iter().find(|c| c.id == id).cloned())
    }

    pub fn conversation_by_slug(&self, slug: &str) -> Option<ConversationSummary> {
        self.conversations
            .with(|cs| cs.iter().find(|c| c.slug == slug).cloned())
    }

    /// Adds or replaces a conversation in the list.
    pub fn upsert_conversation(&self, conversation: ConversationSummary) {
        self.conversations
            .update(|cs| match cs.iter_mut().find(|c| c.id == conversation.id) {
                Some(c) => *c = conversation,
                None => cs.push(conversation),
            });
    }

    /// A click on a notification: on `/chat` its page opens, elsewhere the widget opens
    /// at the conversation.
    pub fn open_from_notification(&self, c: &ConversationSummary) {
        let on_chat = window()
            .location()
            .pathname()
            .is_ok_and(|p| p.starts_with("/chat"));
        if on_chat {
            let _ = window().location().assign(&format!("/chat/{}", c.slug));
        } else {
            self.widget_conversation.set(Some(c.id));
            self.widget_open.set(true);
        }
    }

    /// Shows `conversation` as muted or not (no change, no update).
    pub fn show_muted(&self, conversation: ConversationId, muted: bool) {
        if self.muted.with_untracked(|m| m.contains(&conversation)) == muted {
            return;
        }
        self.muted.update(|m| {
            if muted {
                m.insert(conversation);
            } else {
                m.remove(&conversation);
            }
        });
    }

    /// The badge's and the title's count: unread messages outside muted conversations.
    pub fn total_unread(&self) -> u32 {
        self.muted.with(|muted| {
            self.conversations.with(|cs| {
                cs.iter()
                    .filter(|c| !muted.contains(&c.id))
                    .map(|c| c.unread)
                    .sum()
            })
        })
    }

    /// Messages of a conversation in `seq` order.
    pub fn thread(&self, id: ConversationId) -> Vec<Message> {
        self.messages.with(|m| {
            m.get(&id)
                .map(|t| t.values().cloned().collect())
                .unwrap_or_default()
        })
    }

    pub fn outgoing_in(&self, id: ConversationId) -> Vec<Outgoing> {
        self.outbox.with(|o| {
            o.iter()
                .filter(|m| m.conversation_id == id)
                .cloned()
                .collect()
        })
    }

    /// The people typing in a conversation now.
    pub fn typing_in(&self, id: ConversationId) -> Vec<String> {
        let now = self.now_ms.get();
        self.typing.with(|t| {
            t.iter()
                .filter(|t| t.conversation_id == id && t.until_ms > now)
                .map(|t| t.name.clone())
                .collect()
        })
    }

    /// Who has read `conversation` up to exactly `seq` (for "seen by" under that message).
    pub fn seen_at(&self, conversation: ConversationId, seq: Seq, newest: Seq) -> Vec<String> {
        self.seen_by.with(|s| {
            let Some(readers) = s.get(&conversation) else {
                return Vec::new();
            };
            let mut names: Vec<String> = readers
                .values()
                .filter(|(_, read)| (*read).min(newest) == seq)
                .map(|(name, _)| name.clone())
                .collect();
            names.sort();
            names
        })
    }

    /// Someone's presence; this user's own is this tab's connection.
    pub fn presence_of(&self, user: UserId) -> Presence {
        let me = self.me.with(|me| me.as_ref().map(|me| me.id)) == Some(user);
        if me && self.connection.get() == Connection::Online {
            return Presence::Online;
        }
        self.presence
            .with(|p| p.get(&user).copied().unwrap_or(Presence::Offline))
    }

    /// For a direct conversation, the other person.
    pub fn partner(&self, conversation: &ConversationSummary) -> Option<UserId> {
        let me = self.me.with_untracked(|me| me.as_ref().map(|me| me.id))?;
        (conversation.kind == crate::model::ConversationKind::Direct)
            .then(|| {
                conversation
                    .audience
                    .members
                    .iter()
                    .copied()
                    .find(|id| *id != me)
            })
            .flatten()
    }

    fn note_seen(&self, conversation: ConversationId, user: UserId, name: &str, seq: Seq) {
        let me = self.me.with_untracked(|me| me.as_ref().map(|me| me.id));
        if me == Some(user) {
            return;
        }
        let further = self.seen_by.with_untracked(|s| {
            s.get(&conversation)
                .and_then(|r| r.get(&user))
                .is_none_or(|(_, have)| seq > *have)
        });
        if further {
            self.seen_by.update(|s| {
                s.entry(conversation)
                    .or_default()
                    .insert(user, (name.to_string(), seq));
            });
        }
    }

    pub fn set_sender(&self, sender: Option<UnboundedSender<ClientFrame>>) {
        self.sender.set_value(sender);
    }

    /// Sends a frame if a connection is up; returns whether it went out.
    pub fn send_frame(&self, frame: ClientFrame) -> bool {
        self.sender
            .with_value(|s| s.as_ref().is_some_and(|s| s.unbounded_send(frame).is_ok()))
    }
}

impl Default for ChatState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}
