//! What components ask of the state: send, retry, discard, mark read, say typing. The
//! outbox is mirrored to `localStorage` (see [`crate::client::outbox`]) so messages
//! written offline survive a reload.

use leptos::prelude::*;

use super::{ChatState, Outgoing};
use crate::client::outbox;
use crate::model::{ClientId, ConversationId, Message, ReplyQuote, Seq, excerpt};
use crate::protocol::ClientFrame;

impl ChatState {
    fn user_key(&self) -> Option<i64> {
        self.me.with_untracked(|me| me.as_ref().map(|me| me.id.0))
    }

    /// Queues a message: it shows as sending at once, is saved for reloads, and goes
    /// out now or when the connection returns.
    pub fn send_message(
        &self,
        conversation_id: ConversationId,
        body: String,
        client_id: ClientId,
        reply_to: Option<ReplyQuote>,
        attachments: Vec<crate::model::Attachment>,
    ) {
        let outgoing = Outgoing {
            client_id,
            conversation_id,
            body,
            reply_to,
            attachments,
            failed: None,
        };
        self.outbox.update(|o| o.push(outgoing.clone()));
        if let Some(user) = self.user_key() {
            outbox::save(user, &outgoing);
        }
        self.transmit(&outgoing);
    }

    fn transmit(&self, outgoing: &Outgoing) {
        self.send_frame(ClientFrame::Send {
            client_id: outgoing.client_id,
            conversation_id: outgoing.conversation_id,
            body: outgoing.body.clone(),
            reply_to: outgoing.reply_to.as_ref().map(|q| q.id),
            attachments: outgoing.attachments.iter().map(|a| a.id).collect(),
        });
    }

    /// Adds what an earlier page (or another tab) left in the saved outbox.
    pub fn restore_outbox(&self) {
        let Some(user) = self.user_key() else { return };
        let saved = outbox::load(user);
        let missing: Vec<Outgoing> = self.outbox.with_untracked(|o| {
            saved
                .into_iter()
                .filter(|s| !o.iter().any(|m| m.client_id == s.client_id))
                .collect()
        });
        if !missing.is_empty() {
            self.outbox.update(|o| o.extend(missing));
        }
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
            if let Some(user) = self.user_key() {
                outbox::save(user, &m);
            }
            self.transmit(&m);
        }
    }

    /// Forgets a message (discarded by the user, or acked).
    pub fn discard(&self, client_id: ClientId) {
        self.outbox
            .update(|o| o.retain(|m| m.client_id != client_id));
        if let Some(user) = self.user_key() {
            outbox::remove(user, client_id);
        }
    }

    /// The server refused a send for now (`rate_limited`): the message stays "sending"
    /// and, once the wait is over, the outbox goes again in order (once, however many
    /// sends were refused; the server answers an already-stored one with its ack).
    pub(super) fn resend_after(&self, wait_ms: u64) {
        if self.outbox_waiting.get_untracked() {
            return;
        }
        self.outbox_waiting.set(true);
        let state = *self;
        set_timeout(
            move || {
                state.outbox_waiting.set(false);
                state.flush_outbox();
            },
            std::time::Duration::from_millis(wait_ms.clamp(10, 60_000)),
        );
    }

    pub(super) fn mark_failed(&self, client_id: ClientId, error: crate::error::ApiError) {
        let mut failed = None;
        self.outbox.update(|o| {
            if let Some(m) = o.iter_mut().find(|m| m.client_id == client_id) {
                m.failed = Some(error);
                failed = Some(m.clone());
            }
        });
        if let (Some(m), Some(user)) = (failed, self.user_key()) {
            outbox::save(user, &m);
        }
    }

    /// Tells the server the user has seen `conversation` up to its newest message, when
    /// the page is actually visible.
    pub fn mark_read(&self, conversation: ConversationId) {
        if !crate::client::page_visible() {
            return;
        }
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

    /// Makes the composer's next message in that conversation a reply to `message`.
    pub fn reply_to(&self, message: &Message) {
        let quote = ReplyQuote {
            id: message.id,
            seq: message.seq,
            sender_name: message.sender_name.clone(),
            excerpt: excerpt(&message.body),
            deleted: message.deleted,
        };
        self.replying.update(|r| {
            r.insert(message.conversation_id, quote);
        });
    }

    pub fn cancel_reply(&self, conversation: ConversationId) {
        self.replying.update(|r| {
            r.remove(&conversation);
        });
    }

    /// Shows message `seq` of `conversation` (marked `aria-current`), loading older
    /// history until it is on the page.
    pub fn show_message(&self, conversation: ConversationId, seq: Seq) {
        let state = *self;
        leptos::task::spawn_local(async move {
            loop {
                let loaded = state
                    .messages
                    .with_untracked(|m| m.get(&conversation).is_some_and(|t| t.contains_key(&seq)));
                if loaded {
                    break;
                }
                // Nothing loaded yet: the latest page first; then ever older ones.
                let before = match state
                    .older_cursor
                    .with_untracked(|c| c.get(&conversation).copied())
                {
                    None => None,
                    Some(Some(before)) => Some(before),
                    Some(None) => break,
                };
                match crate::api::list_history(conversation, before).await {
                    Ok(page) => state.merge_page(conversation, &page.messages, page.next_before),
                    Err(e) => {
                        leptos::logging::warn!("could not load older messages: {e}");
                        break;
                    }
                }
            }
            state.focus.set(Some((conversation, seq)));
        });
    }

    pub fn say_typing(&self, conversation: ConversationId) {
        self.send_frame(ClientFrame::Typing {
            conversation_id: conversation,
        });
    }
}
