//! Groups of 3–9 people: started by staff, who may add people (guests included); anyone
//! may leave. Each change is a `membership` event through the ordered path; right after
//! its commit the conversation's cached audience is dropped, every member's list gets the
//! group as it now is, and someone who left gets `conversation_gone` (and, not being a
//! member any more, nothing else from it).

use std::collections::HashMap;

use app::error::{ApiError, ErrorCode};
use app::model::{Audience, ConversationId, ConversationKind, ConversationSummary, User, UserId};
use app::protocol::ServerFrame;
use app::rules::{self, Action, Actor};

use super::{Chat, internal};
use crate::clock::now_ms;
use crate::hub::{Hub, Invalidation, Recipients};
use crate::store::{AfterCommit, Opened, StoredConversation, Write, Written};

/// Longest group name, in characters.
const MAX_GROUP_NAME_CHARS: usize = 80;

impl Chat {
    /// Starts a group of `me` and `others`, named `name` or (without one) listed by its
    /// members' first names.
    pub async fn create_group(
        &self,
        me: &User,
        others: &[UserId],
        name: Option<&str>,
    ) -> Result<ConversationSummary, ApiError> {
        // A name of nothing visible is no name: the group is named for its members.
        let name = name
            .map(str::trim)
            .filter(|n| app::model::has_visible_text(n));
        if name.is_some_and(|n| n.chars().count() > MAX_GROUP_NAME_CHARS) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("A group name has at most {MAX_GROUP_NAME_CHARS} characters."),
            ));
        }
        // The size first: it needs no lookups.
        let mut distinct: Vec<UserId> = others.iter().copied().filter(|id| *id != me.id).collect();
        distinct.sort();
        distinct.dedup();
        rules::check_group_size(distinct.len() + 1)?;
        let people = self.people_by_id(&distinct, me).await?;
        let actors: Vec<Actor> = people.iter().map(Actor::from).collect();
        rules::check_new_group(&Actor::from(me), &actors)?;
        let mut members: Vec<User> = people;
        members.push(me.clone());
        members.sort_by_key(|u| u.id);
        let slug = format!("group-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let write = Write::CreateGroup {
            slug: slug.clone(),
            members: members.iter().map(|u| u.id).collect(),
            name: name.map(str::to_string),
            now_ms: now_ms(),
        };
        let hub = self.hub.clone();
        let named = name.map(str::to_string);
        let announce: AfterCommit = Box::new(move |written: &Written| {
            if let Written::Opened(Opened {
                id,
                created: Some(event_id),
            }) = written
            {
                let group = GroupShape {
                    slug: &slug,
                    name: named.as_deref(),
                    last_seq: 0,
                };
                announce_group(&hub, *id, *event_id, &group, &members);
            }
        });
        let (opened, summary) = self.open_conversation(me, write, announce).await?;
        tracing::info!(user = %me.username, group = %opened.id, "group started");
        Ok(summary)
    }

    /// Adds `others` to group `conversation`.
    pub async fn add_to_group(
        &self,
        me: &User,
        conversation: ConversationId,
        others: &[UserId],
    ) -> Result<ConversationSummary, ApiError> {
        let audience = self.checked(me, conversation, Action::See).await?;
        let people = self.people_by_id(others, me).await?;
        let actors: Vec<Actor> = people.iter().map(Actor::from).collect();
        rules::check_add_to_group(&Actor::from(me), &audience, &actors)?;
        let write = Write::AddMembers {
            conversation,
            users: people.iter().map(|u| u.id).collect(),
            now_ms: now_ms(),
        };
        self.change_membership(me, conversation, write).await?;
        self.summary_for(me, conversation).await
    }

    /// `me` leaves group `conversation`.
    pub async fn leave_group(
        &self,
        me: &User,
        conversation: ConversationId,
    ) -> Result<(), ApiError> {
        let audience = self.checked(me, conversation, Action::See).await?;
        if !rules::can_leave(&Actor::from(me), &audience) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "Only groups can be left.",
            ));
        }
        let write = Write::Leave {
            conversation,
            user: me.id,
            now_ms: now_ms(),
        };
        self.change_membership(me, conversation, write).await?;
        tracing::info!(user = %me.username, group = %conversation, "left a group");
        Ok(())
    }

    /// Runs a membership change; after its commit, evicts the cached audience and tells
    /// everyone concerned.
    async fn change_membership(
        &self,
        me: &User,
        conversation: ConversationId,
        write: Write,
    ) -> Result<(), ApiError> {
        let stored = self
            .store
            .conversation(conversation, me.id)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found("group"))?;
        let users: HashMap<UserId, User> = self
            .store
            .users()
            .await
            .map_err(internal)?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let hub = self.hub.clone();
        let publish: AfterCommit = Box::new(move |written: &Written| {
            let Written::Membership { changes, members } = written else {
                return;
            };
            let Some(&(_, event_id)) = changes.last() else {
                return;
            };
            hub.invalidate(Invalidation::Conversation(conversation));
            let now: Vec<User> = members
                .iter()
                .filter_map(|id| users.get(id).cloned())
                .collect();
            let group = GroupShape {
                slug: &stored.slug,
                name: stored.named.then_some(stored.name.as_str()),
                last_seq: stored.last_seq,
            };
            announce_group(&hub, conversation, event_id, &group, &now);
            for (user, event_id) in changes {
                if !members.contains(user) {
                    hub.publish(
                        Recipients::Users(&[*user]),
                        &ServerFrame::ConversationGone {
                            event_id: *event_id,
                            conversation_id: conversation,
                        },
                    );
                }
            }
        });
        self.store.write(write, publish).await.map_err(internal)?;
        Ok(())
    }

    /// The users with these ids whom `me` could message; unknown ones (or `me`) are not
    /// found.
    async fn people_by_id(&self, ids: &[UserId], me: &User) -> Result<Vec<User>, ApiError> {
        let mut people = Vec::with_capacity(ids.len());
        for id in ids {
            if *id == me.id || people.iter().any(|p: &User| p.id == *id) {
                continue;
            }
            let user = self
                .store
                .user(*id)
                .await
                .map_err(internal)?
                .ok_or_else(|| ApiError::not_found("person"))?;
            people.push(user);
        }
        Ok(people)
    }
}

/// What every member's copy of a group shares.
struct GroupShape<'a> {
    slug: &'a str,
    name: Option<&'a str>,
    last_seq: app::model::Seq,
}

/// Tells every member the group as they now see it (each under their own title for it).
fn announce_group(
    hub: &Hub,
    id: ConversationId,
    event_id: app::model::EventId,
    group: &GroupShape<'_>,
    members: &[User],
) {
    let audience = Audience::members(
        ConversationKind::Group,
        members.iter().map(|u| u.id).collect(),
    );
    for viewer in members {
        let seen = StoredConversation {
            id,
            kind: ConversationKind::Group,
            slug: group.slug.to_string(),
            name: group.name.unwrap_or_default().to_string(),
            named: group.name.is_some(),
            last_seq: group.last_seq,
            audience: audience.clone(),
            member_names: members
                .iter()
                .map(|u| (u.id, u.display_name.clone()))
                .collect(),
            last_read_seq: 0,
            unread: 0,
            mentions: 0,
            last_message: None,
        };
        hub.publish(
            Recipients::Users(&[viewer.id]),
            &ServerFrame::Conversation {
                event_id,
                conversation: Chat::summary(viewer, seen),
            },
        );
    }
}
