//! The browser's picture of the chat, shared by every component through context:
//! conversations with their unread counts, messages by conversation, the outbox of
//! messages not yet acked, and the widget's open/selected state. Server frames change it
//! through [`ChatState::apply`]; components only read it and call its commands.
//!
//! It exists on the server too (empty, then seeded while rendering) so that the first
//! paint and the hydrated page are produced by the same code.

use std::collections::{BTreeMap, HashMap};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;

use crate::error::ApiError;
use crate::model::{ClientId, ConversationId, ConversationSummary, Message, MessageId, Seq, User};
use crate::protocol::{ClientFrame, ServerFrame};

/// The state of the live connection, for the status line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Online,
    Offline,
}

/// A message the user sent that the server has not acked yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub client_id: ClientId,
    pub conversation_id: ConversationId,
    pub body: String,
    /// `None` while sending; the server's refusal once it refused.
    pub failed: Option<ApiError>,
}

#[derive(Clone, Copy)]
pub struct ChatState {
    pub me: RwSignal<Option<User>>,
    /// Every conversation the user can see, in list order.
    pub conversations: RwSignal<Vec<ConversationSummary>>,
    /// Known messages per conversation, by `seq`.
    pub messages: RwSignal<HashMap<ConversationId, BTreeMap<Seq, Message>>>,
    /// Per conversation: the cursor for the next older page, `None` once at the start.
    pub older_cursor: RwSignal<HashMap<ConversationId, Option<Seq>>>,
    /// Sent but not yet acked (or refused), oldest first.
    pub outbox: RwSignal<Vec<Outgoing>>,
    pub connection: RwSignal<Connection>,
    /// The conversation whose thread is on screen, if any; its messages count as read.
    pub viewing: RwSignal<Option<ConversationId>>,
    pub widget_open: RwSignal<bool>,
    pub widget_conversation: RwSignal<Option<ConversationId>>,
    /// False while rendering on the server and hydrating; true after. Anything that
    /// depends on the browser (local time zone, saved widget state) waits for it.
    pub hydrated: RwSignal<bool>,
    /// Bumped after a reconnect so that lists and threads refetch what they missed.
    pub resync: RwSignal<u32>,
    /// Where outgoing frames go while a connection is up.
    sender: StoredValue<Option<UnboundedSender<ClientFrame>>>,
}

impl ChatState {
    pub fn new() -> Self {
        Self {
            me: RwSignal::new(None),
            conversations: RwSignal::new(Vec::new()),
            messages: RwSignal::new(HashMap::new()),
            older_cursor: RwSignal::new(HashMap::new()),
            outbox: RwSignal::new(Vec::new()),
            connection: RwSignal::new(Connection::Connecting),
            viewing: RwSignal::new(None),
            widget_open: RwSignal::new(false),
            widget_conversation: RwSignal::new(None),
            hydrated: RwSignal::new(false),
            resync: RwSignal::new(0),
            sender: StoredValue::new(None),
        }
    }

    /// Replaces the user and conversation list with a fresh copy from the server.
    pub fn seed(&self, me: User, conversations: Vec<ConversationSummary>) {
        if self.me.get_untracked().as_ref() != Some(&me) {
            self.me.set(Some(me));
        }
        if self.conversations.get_untracked() != conversations {
            self.conversations.set(conversations);
        }
    }

    /// Adds a page of history; messages already known stay as they are.
    pub fn merge_page(&self, conversation: ConversationId, page: &[Message], cursor: Option<Seq>) {
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

    pub fn conversation(&self, id: ConversationId) -> Option<ConversationSummary> {
        self.conversations
            .with(|cs| cs.iter().find(|c| c.id == id).cloned())
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

    pub fn total_unread(&self) -> u32 {
        self.conversations
            .with(|cs| cs.iter().map(|c| c.unread).sum())
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

    pub fn set_sender(&self, sender: Option<UnboundedSender<ClientFrame>>) {
        self.sender.set_value(sender);
    }

    /// Sends a frame if a connection is up; returns whether it went out.
    pub fn send_frame(&self, frame: ClientFrame) -> bool {
        self.sender
            .with_value(|s| s.as_ref().is_some_and(|s| s.unbounded_send(frame).is_ok()))
    }

    /// Queues a message: it shows as sending at once and goes out now or on reconnect.
    pub fn send_message(&self, conversation_id: ConversationId, body: String, client_id: ClientId) {
        let outgoing = Outgoing {
            client_id,
            conversation_id,
            body,
            failed: None,
        };
        self.outbox.update(|o| o.push(outgoing.clone()));
        self.transmit(&outgoing);
    }

    fn transmit(&self, outgoing: &Outgoing) {
        self.send_frame(ClientFrame::Send {
            client_id: outgoing.client_id,
            conversation_id: outgoing.conversation_id,
            body: outgoing.body.clone(),
        });
    }

    /// Sends everything still waiting (after a reconnect). Refused messages wait for the
    /// user to retry or discard them.
    pub fn flush_outbox(&self) {
        for outgoing in self.outbox.get_untracked() {
            if outgoing.failed.is_none() {
                self.transmit(&outgoing);
            }
        }
    }

    pub fn retry(&self, client_id: ClientId) {
        self.outbox.update(|o| {
            if let Some(m) = o.iter_mut().find(|m| m.client_id == client_id) {
                m.failed = None;
            }
        });
        if let Some(m) = self
            .outbox
            .with_untracked(|o| o.iter().find(|m| m.client_id == client_id).cloned())
        {
            self.transmit(&m);
        }
    }

    pub fn discard(&self, client_id: ClientId) {
        self.outbox
            .update(|o| o.retain(|m| m.client_id != client_id));
    }

    /// Tells the server the user has seen `conversation` up to its newest message.
    pub fn mark_read(&self, conversation: ConversationId) {
        let newest = self.messages.with_untracked(|m| {
            m.get(&conversation)
                .and_then(|t| t.keys().next_back().copied())
        });
        let Some(summary) = self
            .conversations
            .with_untracked(|cs| cs.iter().find(|c| c.id == conversation).cloned())
        else {
            return;
        };
        let seq = newest.unwrap_or(0).max(summary.last_seq);
        if seq > summary.last_read_seq {
            self.send_frame(ClientFrame::Read {
                conversation_id: conversation,
                seq,
            });
        }
    }

    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Hello { me } => {
                self.me.set(Some(me));
                self.connection.set(Connection::Online);
            }
            ServerFrame::Ack {
                client_id,
                conversation_id,
                id,
                seq,
            } => self.on_ack(client_id, conversation_id, id, seq),
            ServerFrame::Message { message } => self.on_message(message),
            ServerFrame::Conversation { conversation } => self.upsert_conversation(conversation),
            ServerFrame::Read {
                conversation_id,
                last_read_seq,
                unread,
            } => self.conversations.update(|cs| {
                if let Some(c) = cs.iter_mut().find(|c| c.id == conversation_id) {
                    c.last_read_seq = c.last_read_seq.max(last_read_seq);
                    c.unread = unread;
                }
            }),
            ServerFrame::Error { client_id, error } => {
                if let Some(client_id) = client_id {
                    self.outbox.update(|o| {
                        if let Some(m) = o.iter_mut().find(|m| m.client_id == client_id) {
                            m.failed = Some(error);
                        }
                    });
                } else {
                    leptos::logging::warn!("server refused a frame: {error}");
                }
            }
            ServerFrame::Pong { .. } => {}
        }
    }

    fn on_ack(
        &self,
        client_id: ClientId,
        conversation_id: ConversationId,
        id: MessageId,
        seq: Seq,
    ) {
        let Some(sent) = self
            .outbox
            .with_untracked(|o| o.iter().find(|m| m.client_id == client_id).cloned())
        else {
            return;
        };
        self.outbox
            .update(|o| o.retain(|m| m.client_id != client_id));
        if let Some(me) = self.me.get_untracked() {
            // The fan-out brings the server's copy right after; until then show ours.
            self.on_message(Message {
                id,
                conversation_id,
                seq,
                sender_id: me.id,
                sender_name: me.display_name,
                client_id,
                body: sent.body,
                created_at_ms: js_now_ms(),
            });
        }
    }

    fn on_message(&self, message: Message) {
        let conversation = message.conversation_id;
        let seq = message.seq;
        let mine = self
            .me
            .with_untracked(|me| me.as_ref().is_some_and(|me| me.id == message.sender_id));
        let mut fresh = false;
        self.messages.update(|m| {
            let thread = m.entry(conversation).or_default();
            fresh = !thread.contains_key(&seq);
            thread.insert(seq, message);
        });
        if !fresh {
            return;
        }
        let viewing = self.viewing.get_untracked() == Some(conversation);
        let known = self
            .conversations
            .with_untracked(|cs| cs.iter().any(|c| c.id == conversation));
        if !known {
            // A conversation we have not heard of (someone just started it): refetch the list.
            self.resync.update(|n| *n += 1);
            return;
        }
        self.conversations.update(|cs| {
            if let Some(c) = cs.iter_mut().find(|c| c.id == conversation) {
                c.last_seq = c.last_seq.max(seq);
                if mine {
                    c.last_read_seq = c.last_read_seq.max(seq);
                    c.unread = 0;
                } else if seq > c.last_read_seq && !viewing {
                    c.unread += 1;
                }
            }
        });
        if viewing && !mine {
            self.mark_read(conversation);
        }
    }
}

impl Default for ChatState {
    fn default() -> Self {
        Self::new()
    }
}

/// The time now in the browser, or on the server, in Unix milliseconds.
fn js_now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }
}

pub fn use_chat() -> ChatState {
    expect_context::<ChatState>()
}
