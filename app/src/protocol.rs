//! Every frame on the live connection (`/ws`), as serde enums both sides compile.
//! JSON text frames, internally tagged by `"type"`. `docs/protocol.md` is the prose
//! version of this file; keep them in step.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{
    Activity, AttachmentId, ClientId, ConversationId, ConversationSummary, EventId, Mentions,
    Message, MessageId, Presence, Seq, User, UserId,
};

/// Frames a browser sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a message. `client_id` makes it idempotent: the same id from the same user
    /// is acked with the first message's id and `seq`, and stored once.
    Send {
        client_id: ClientId,
        conversation_id: ConversationId,
        body: String,
        /// The message this one answers (same conversation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<MessageId>,
        /// Files this user uploaded to the conversation for this message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<AttachmentId>,
    },
    /// The user has seen every message of the conversation up to `seq`.
    Read {
        conversation_id: ConversationId,
        seq: Seq,
    },
    /// The user is typing in the conversation. Sent at most every few seconds while
    /// keys are pressed; others see it until a few seconds after the last one.
    Typing { conversation_id: ConversationId },
    /// This tab became active or idle (hidden, or no input for a while).
    Activity { activity: Activity },
    /// Keep-alive; answered with `pong` carrying the same nonce.
    Ping { nonce: u64 },
}

/// Frames the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection: who the server thinks you are, and this
    /// connection's id (SSE clients name it when they post frames).
    Hello { me: User, connection_id: u64 },
    /// A `send` is durable: committed with this id and `seq`.
    Ack {
        client_id: ClientId,
        conversation_id: ConversationId,
        id: MessageId,
        seq: Seq,
    },
    /// A new message in a conversation the user can see (their own included).
    Message { event_id: EventId, message: Message },
    /// A message was edited, deleted or reacted to: here it is as it now is. Replaces
    /// the copy the client has. `mentions_before` is who it mentioned before the change,
    /// so a client can keep its mention count right.
    MessageChanged {
        event_id: EventId,
        message: Message,
        mentions_before: Mentions,
    },
    /// A conversation appeared in the user's list (a direct message someone started, an
    /// order thread opened) or changed.
    Conversation {
        event_id: EventId,
        conversation: ConversationSummary,
    },
    /// The user is no longer in a conversation (they left a group): drop it.
    ConversationGone {
        event_id: EventId,
        conversation_id: ConversationId,
    },
    /// The user's own read position in a conversation moved (from any of their tabs).
    Read {
        event_id: EventId,
        conversation_id: ConversationId,
        last_read_seq: Seq,
        unread: u32,
        mentions: u32,
    },
    /// Somebody has read a conversation up to `seq` ("seen by").
    SeenBy {
        event_id: EventId,
        conversation_id: ConversationId,
        user_id: UserId,
        name: String,
        seq: Seq,
    },
    /// The user muted or unmuted a conversation (from any of their tabs): whether it is
    /// muted now. Sent to that user only.
    Muted {
        event_id: EventId,
        conversation_id: ConversationId,
        muted: bool,
    },
    /// Too much happened in this conversation while the client was away to replay it:
    /// drop what is cached and reload its history.
    Stale { conversation_id: ConversationId },
    /// Everything missed has been sent; live events follow.
    CaughtUp { last_event_id: EventId },
    /// Presence of users this user can see: all of them right after `hello`, then one
    /// at a time as they change.
    Presence { users: Vec<(UserId, Presence)> },
    /// `user_id` is typing in `conversation_id`. Not stored; expires on the client.
    Typing {
        conversation_id: ConversationId,
        user_id: UserId,
        name: String,
    },
    /// A frame was refused. `client_id` names the `send` it answers, when it answers one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<ClientId>,
        error: ApiError,
    },
    /// Answer to `ping`.
    Pong { nonce: u64 },
}

impl ServerFrame {
    /// The durable event this frame carries, if it carries one.
    pub fn event_id(&self) -> Option<EventId> {
        match self {
            ServerFrame::Message { event_id, .. }
            | ServerFrame::MessageChanged { event_id, .. }
            | ServerFrame::Conversation { event_id, .. }
            | ServerFrame::ConversationGone { event_id, .. }
            | ServerFrame::Read { event_id, .. }
            | ServerFrame::SeenBy { event_id, .. }
            | ServerFrame::Muted { event_id, .. } => Some(*event_id),
            _ => None,
        }
    }
}

/// `GET` answers 204 with a live session and 401 without. A browser whose live connection
/// did not open asks it, since a refused WebSocket does not say why.
pub const SESSION_PROBE: &str = "/auth/session";

/// The page the embedded widget's frame shows (`embed.js` opens it through single
/// sign-on). Query: `host` (the embedding page's origin), `open=1`, `accent=#rrggbb`.
pub const EMBED_PAGE: &str = "/embed";

/// What the embedded widget and `embed.js` on the host page say to each other with
/// `postMessage` (`type` names the message).
pub mod embed_messages {
    /// Frame → host: `{type, open: bool, unread: number}`, whenever either changes.
    pub const STATE: &str = "parley:state";
    /// Frame → host: `{type, error: {code, message}}`: the frame could not open, or an
    /// `openThread` failed.
    pub const ERROR: &str = "parley:error";
    /// Host → frame: `{type}`.
    pub const OPEN: &str = "parley:open";
    pub const CLOSE: &str = "parley:close";
    /// Host → frame: `{type, reference: "order:1042"}`.
    pub const OPEN_THREAD: &str = "parley:open-thread";
}

/// WebSocket close code for a client whose outgoing queue overflowed: reconnect and
/// catch up.
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;
/// WebSocket close code for a client that sent nothing, not even a pong, for too long.
pub const CLOSE_TIMED_OUT: u16 = 4000;
/// WebSocket close code sent when the session ended (signed out or expired).
pub const CLOSE_UNAUTHENTICATED: u16 = 4001;
/// WebSocket close code sent on server shutdown: reconnect (possibly elsewhere).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for a frame that breaks the WebSocket protocol itself.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// WebSocket close code for a text frame that is not UTF-8.
pub const CLOSE_NOT_UTF8: u16 = 1007;
/// WebSocket close code for a frame over the hard cap (it is not read at all).
pub const CLOSE_TOO_BIG: u16 = 1009;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::model::{Audience, ConversationKind, OrganisationId, Role, UserId};

    fn round_trip_client(frame: ClientFrame) {
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            serde_json::from_str::<ClientFrame>(&json).unwrap(),
            frame,
            "{json}"
        );
    }

    fn round_trip_server(frame: ServerFrame) {
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            serde_json::from_str::<ServerFrame>(&json).unwrap(),
            frame,
            "{json}"
        );
    }

    fn client_id() -> ClientId {
        "6f9619ff-8b86-4d11-b42d-00c04fc964ff".parse().unwrap()
    }

    fn message() -> Message {
        Message::new(
            MessageId(9),
            ConversationId(2),
            5,
            (UserId(1), "Alice".into()),
            client_id(),
            "<img src=x onerror=alert(1)>".into(),
            1_700_000_000_000,
        )
    }

    #[test]
    fn every_client_frame_round_trips() {
        round_trip_client(ClientFrame::Send {
            client_id: client_id(),
            conversation_id: ConversationId(3),
            body: "hello".into(),
            reply_to: None,
            attachments: Vec::new(),
        });
        round_trip_client(ClientFrame::Send {
            client_id: client_id(),
            conversation_id: ConversationId(3),
            body: "yes".into(),
            reply_to: Some(MessageId(8)),
            attachments: Vec::new(),
        });
        round_trip_client(ClientFrame::Read {
            conversation_id: ConversationId(3),
            seq: 12,
        });
        round_trip_client(ClientFrame::Typing {
            conversation_id: ConversationId(3),
        });
        round_trip_client(ClientFrame::Activity {
            activity: Activity::Idle,
        });
        round_trip_client(ClientFrame::Ping { nonce: 42 });
    }

    #[test]
    fn every_server_frame_round_trips() {
        round_trip_server(ServerFrame::Hello {
            me: User {
                id: UserId(1),
                username: "alice".into(),
                display_name: "Alice".into(),
                role: Role::Admin,
                organisation_id: OrganisationId(1),
                organisation_name: "Axiom Fulfillment".into(),
            },
            connection_id: 12,
        });
        round_trip_server(ServerFrame::Ack {
            client_id: client_id(),
            conversation_id: ConversationId(2),
            id: MessageId(9),
            seq: 5,
        });
        round_trip_server(ServerFrame::Message {
            event_id: EventId(70),
            message: message(),
        });
        let mut changed = message();
        changed.version = 2;
        changed.reply_to = Some(crate::model::ReplyQuote {
            id: MessageId(3),
            seq: 2,
            sender_name: "Bob".into(),
            excerpt: "earlier".into(),
            deleted: false,
        });
        changed.reactions = vec![crate::model::Reaction {
            emoji: crate::model::Emoji::Tada,
            users: vec![UserId(1), UserId(3)],
        }];
        round_trip_server(ServerFrame::MessageChanged {
            event_id: EventId(70),
            message: changed,
            mentions_before: Mentions::of("@bob"),
        });
        round_trip_server(ServerFrame::Conversation {
            event_id: EventId(71),
            conversation: ConversationSummary {
                id: ConversationId(4),
                kind: ConversationKind::Direct,
                slug: "dm-1-3".into(),
                title: "Carol".into(),
                last_seq: 0,
                last_read_seq: 0,
                unread: 0,
                mentions: 0,
                audience: Audience::members(ConversationKind::Direct, vec![UserId(1), UserId(3)]),
                last_message: None,
            },
        });
        round_trip_server(ServerFrame::ConversationGone {
            event_id: EventId(71),
            conversation_id: ConversationId(4),
        });
        round_trip_server(ServerFrame::Read {
            event_id: EventId(72),
            conversation_id: ConversationId(2),
            last_read_seq: 5,
            unread: 0,
            mentions: 0,
        });
        round_trip_server(ServerFrame::SeenBy {
            event_id: EventId(73),
            conversation_id: ConversationId(2),
            user_id: UserId(3),
            name: "Carol".into(),
            seq: 5,
        });
        round_trip_server(ServerFrame::Stale {
            conversation_id: ConversationId(2),
        });
        round_trip_server(ServerFrame::CaughtUp {
            last_event_id: EventId(73),
        });
        round_trip_server(ServerFrame::Presence {
            users: vec![(UserId(1), Presence::Online), (UserId(2), Presence::Away)],
        });
        round_trip_server(ServerFrame::Typing {
            conversation_id: ConversationId(2),
            user_id: UserId(3),
            name: "Carol".into(),
        });
        round_trip_server(ServerFrame::Error {
            client_id: Some(client_id()),
            error: ApiError::new(ErrorCode::Forbidden, "no"),
        });
        round_trip_server(ServerFrame::Error {
            client_id: None,
            error: ApiError::new(ErrorCode::MalformedFrame, "bad"),
        });
        round_trip_server(ServerFrame::Pong { nonce: 1 });
    }

    #[test]
    fn send_frame_has_the_documented_shape() {
        let json = r#"{"type":"send","client_id":"6f9619ff-8b86-4d11-b42d-00c04fc964ff","conversation_id":3,"body":"hi"}"#;
        assert_eq!(
            serde_json::from_str::<ClientFrame>(json).unwrap(),
            ClientFrame::Send {
                client_id: client_id(),
                conversation_id: ConversationId(3),
                body: "hi".into(),
                reply_to: None,
                attachments: Vec::new(),
            }
        );
    }

    #[test]
    fn unknown_type_and_missing_fields_are_rejected() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nuke"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"send","body":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<ClientFrame>(
                r#"{"type":"send","client_id":"not-a-uuid","conversation_id":1,"body":"x"}"#
            )
            .is_err()
        );
    }
}
