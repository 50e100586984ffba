//! How each server frame changes the state.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ChatState, Connection, TYPING_SHOWN_MS, Typist};
use crate::api::list_after;
use crate::model::{
    ClientId, ConversationId, ConversationSummary, EventId, LastMessage, Mentions, Message,
    MessageId, Seq,
};
use crate::protocol::ServerFrame;

impl ChatState {
    /// Applies one frame from the server.
    pub fn apply(&self, frame: ServerFrame) {
        if let Some(event) = frame.event_id() {
            self.note_event(event);
        }
        match frame {
            ServerFrame::Hello { me, .. } => {
                if self.me.get_untracked().as_ref() != Some(&me) {
                    self.me.set(Some(me));
                }
                self.connection.set(Connection::Online);
            }
            ServerFrame::Ack {
                client_id,
                conversation_id,
                id,
                seq,
            } => self.on_ack(client_id, conversation_id, id, seq),
            ServerFrame::Message { message, .. } => self.on_message(message),
            ServerFrame::MessageChanged {
                message,
                mentions_before,
                ..
            } => self.on_message_changed(message, &mentions_before),
            ServerFrame::Conversation { conversation, .. } => self.on_conversation(conversation),
            ServerFrame::ConversationGone {
                conversation_id, ..
            } => self.forget_conversation(conversation_id),
            ServerFrame::Read {
                conversation_id,
                last_read_seq,
                unread,
                mentions,
                ..
            } => self.conversations.update(|cs| {
                if let Some(c) = cs.iter_mut().find(|c| c.id == conversation_id) {
                    c.last_read_seq = c.last_read_seq.max(last_read_seq);
                    c.unread = unread;
                    c.mentions = mentions;
                }
            }),
            ServerFrame::SeenBy {
                conversation_id,
                user_id,
                name,
                seq,
                ..
            } => self.note_seen(conversation_id, user_id, &name, seq),
            ServerFrame::Muted {
                conversation_id,
                muted,
                ..
            } => self.show_muted(conversation_id, muted),
            ServerFrame::Stale { conversation_id } => {
                self.messages.update(|m| {
                    m.remove(&conversation_id);
                });
                self.older_cursor.update(|c| {
                    c.remove(&conversation_id);
                });
                self.resync.update(|n| *n += 1);
            }
            ServerFrame::CaughtUp { last_event_id } => self.note_event(last_event_id),
            ServerFrame::Presence { users } => self.presence.update(|p| {
                for (user, presence) in users {
                    p.insert(user, presence);
                }
            }),
            ServerFrame::Typing {
                conversation_id,
                user_id,
                name,
            } => {
                let until_ms = js_sys::Date::now() + TYPING_SHOWN_MS;
                self.now_ms.set(js_sys::Date::now());
                self.typing.update(|t| {
                    t.retain(|t| !(t.conversation_id == conversation_id && t.user_id == user_id));
                    t.push(Typist {
                        conversation_id,
                        user_id,
                        name,
                        until_ms,
                    });
                });
            }
            ServerFrame::Error { client_id, error } => match client_id {
                // Refused for now, not for good: the outbox keeps it and resends.
                Some(_)
                    if matches!(
                        error.code,
                        crate::error::ErrorCode::RateLimited | crate::error::ErrorCode::Unavailable
                    ) =>
                {
                    self.resend_after(error.retry_after_ms.unwrap_or(1_000));
                }
                Some(client_id) => self.mark_failed(client_id, error),
                None => leptos::logging::warn!("server refused a frame: {error}"),
            },
            ServerFrame::Pong { .. } => {}
        }
    }

    /// A conversation appeared, or who is in it changed: a new one is added as it is; a
    /// known one takes its new name and members and keeps this page's read state.
    fn on_conversation(&self, conversation: ConversationSummary) {
        match self.conversation_untracked(conversation.id) {
            None => self.upsert_conversation(conversation),
            Some(have) => {
                let newest = |l: &Option<LastMessage>| l.as_ref().map_or(0, |l| l.seq);
                let last_message =
                    if newest(&have.last_message) > newest(&conversation.last_message) {
                        have.last_message.clone()
                    } else {
                        conversation.last_message.clone()
                    };
                let merged = ConversationSummary {
                    last_seq: have.last_seq.max(conversation.last_seq),
                    last_read_seq: have.last_read_seq,
                    unread: have.unread,
                    mentions: have.mentions,
                    last_message,
                    ..conversation
                };
                if merged != have {
                    self.upsert_conversation(merged);
                }
            }
        }
    }

    /// The user left a conversation: it goes from the list and the page.
    fn forget_conversation(&self, id: ConversationId) {
        self.conversations.update(|cs| cs.retain(|c| c.id != id));
        self.messages.update(|m| {
            m.remove(&id);
        });
        self.older_cursor.update(|c| {
            c.remove(&id);
        });
        if self.widget_conversation.get_untracked() == Some(id) {
            self.widget_conversation.set(None);
        }
    }

    fn note_event(&self, event: EventId) {
        if event > self.last_event_id.get_untracked() {
            self.last_event_id.set(event);
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
        self.discard(client_id);
        if let Some(me) = self.me.get_untracked() {
            // The fan-out brings the server's copy right after; until then show ours.
            let mut message = Message::new(
                id,
                conversation_id,
                seq,
                (me.id, me.display_name),
                client_id,
                sent.body,
                js_sys::Date::now() as i64,
            );
            message.reply_to = sent.reply_to;
            message.attachments = sent.attachments;
            self.on_message(message);
        }
    }

    /// A browser notification for a mention, or any message in a direct or group
    /// conversation, unless that conversation is muted (the tab is hidden).
    fn notify(&self, conversation: ConversationId, sender: &str, excerpt: &str, mentioned: bool) {
        if self.muted.with_untracked(|m| m.contains(&conversation)) {
            return;
        }
        let Some(summary) = self
            .conversations
            .with_untracked(|cs| cs.iter().find(|c| c.id == conversation).cloned())
        else {
            return;
        };
        let personal = matches!(
            summary.kind,
            crate::model::ConversationKind::Direct | crate::model::ConversationKind::Group
        );
        if !(mentioned || personal) {
            return;
        }
        let title = if personal && summary.title == sender {
            sender.to_string()
        } else {
            format!("{sender} in {}", summary.title)
        };
        let state = *self;
        crate::client::notify::show(conversation, &title, excerpt, move || {
            state.open_from_notification(&summary);
        });
    }

    fn on_message(&self, message: Message) {
        let conversation = message.conversation_id;
        let seq = message.seq;
        let sender = message.sender_id;
        let (mine, mentioned) = self.me.with_untracked(|me| match me {
            Some(me) => (me.id == sender, message.mentions().include(&me.username)),
            None => (false, false),
        });
        let counts = !message.deleted;
        let notice = (!mine && counts).then(|| {
            (
                message.sender_name.clone(),
                crate::model::excerpt(&message.body),
            )
        });
        // Whoever sent a message has stopped typing it.
        if self.typing.with_untracked(|t| {
            t.iter()
                .any(|t| t.conversation_id == conversation && t.user_id == sender)
        }) {
            self.typing.update(|t| {
                t.retain(|t| !(t.conversation_id == conversation && t.user_id == sender))
            });
        }
        let mut fresh = false;
        self.messages.update(|m| {
            let thread = m.entry(conversation).or_default();
            fresh = !thread.contains_key(&seq);
            thread.insert(seq, message);
        });
        if !fresh {
            return;
        }
        let Some(known_last) = self
            .conversations
            .with_untracked(|cs| cs.iter().find(|c| c.id == conversation).map(|c| c.last_seq))
        else {
            // A conversation we have not heard of yet: refetch the list.
            self.resync.update(|n| *n += 1);
            return;
        };
        if seq > known_last + 1 {
            self.fill_gap(conversation, known_last, seq);
        }
        let visible = crate::client::page_visible();
        if let Some((sender, excerpt)) = notice
            && !visible
        {
            self.notify(conversation, &sender, &excerpt, mentioned);
        }
        let viewing = self.viewing.get_untracked() == Some(conversation) && visible;
        let preview = self.messages.with_untracked(|m| {
            m.get(&conversation)
                .and_then(|t| t.get(&seq))
                .map(LastMessage::of)
        });
        self.conversations.update(|cs| {
            if let Some(c) = cs.iter_mut().find(|c| c.id == conversation) {
                c.last_seq = c.last_seq.max(seq);
                if c.last_message.as_ref().is_none_or(|l| l.seq <= seq) {
                    c.last_message = preview;
                }
                if mine {
                    c.last_read_seq = c.last_read_seq.max(seq);
                    c.unread = 0;
                    c.mentions = 0;
                } else if seq > c.last_read_seq && !viewing && counts {
                    c.unread += 1;
                    if mentioned {
                        c.mentions += 1;
                    }
                }
            }
        });
        if viewing && !mine {
            self.mark_read(conversation);
        }
    }

    /// A message was edited, deleted or reacted to: show the new copy, and keep the
    /// unread and mention counts right (a deleted message no longer counts; an edit may
    /// add or remove a mention of me).
    fn on_message_changed(&self, message: Message, mentions_before: &Mentions) {
        self.replace_message(&message);
        let previewed = self.conversations.with_untracked(|cs| {
            cs.iter().any(|c| {
                c.id == message.conversation_id
                    && c.last_message
                        .as_ref()
                        .is_some_and(|l| l.seq == message.seq)
            })
        });
        if previewed {
            let preview = LastMessage::of(&message);
            self.conversations.update(|cs| {
                if let Some(c) = cs.iter_mut().find(|c| c.id == message.conversation_id) {
                    c.last_message = Some(preview);
                }
            });
        }
        let Some(me) = self.me.get_untracked() else {
            return;
        };
        if message.sender_id == me.id {
            return;
        }
        let counted = |deleted: bool, mentions: &Mentions| {
            let unread = u32::from(!deleted);
            (unread, unread * u32::from(mentions.include(&me.username)))
        };
        let before = counted(false, mentions_before);
        let after = counted(message.deleted, &message.mentions());
        if before == after {
            return;
        }
        self.conversations.update(|cs| {
            if let Some(c) = cs.iter_mut().find(|c| c.id == message.conversation_id)
                && message.seq > c.last_read_seq
            {
                c.unread = (c.unread + after.0).saturating_sub(before.0);
                c.mentions = (c.mentions + after.1).saturating_sub(before.1);
            }
        });
    }

    /// Fetches the messages between the last one known and one that arrived after a
    /// gap, so nothing in between stays missing.
    fn fill_gap(&self, conversation: ConversationId, after: Seq, upto: Seq) {
        let state = *self;
        spawn_local(async move {
            let mut from = after;
            while from + 1 < upto {
                match list_after(conversation, from).await {
                    Ok(page) if !page.is_empty() => {
                        from = page.last().map_or(upto, |m| m.seq);
                        let others = state.me.with_untracked(|me| {
                            let me = me.as_ref().map(|me| me.id);
                            page.iter()
                                .filter(|m| Some(m.sender_id) != me && m.seq < upto)
                                .count() as u32
                        });
                        state.merge_messages(conversation, &page);
                        state.conversations.update(|cs| {
                            if let Some(c) = cs.iter_mut().find(|c| c.id == conversation)
                                && state.viewing.get_untracked() != Some(conversation)
                            {
                                c.unread += others;
                            }
                        });
                    }
                    _ => break,
                }
            }
        });
    }
}
