//! Channels: created by an admin, then renamed, archived or opened to other
//! organisations and roles. Each is one event and one audit entry in the same
//! transaction.

use sqlx::Row;

use app::model::{
    Audience, ChannelSettings, ConversationId, ConversationKind, OrganisationId, Role, UserId,
};

use super::conversations::{announce, insert_conversation};
use super::{Batch, audit};
use crate::store::{ChannelChanged, StoreResult, Written};

/// A channel admitting `roles` of `organisations`, unless one with that name exists.
pub(super) async fn create_channel(
    batch: &mut Batch<'_>,
    name: &str,
    organisations: &[OrganisationId],
    roles: &[Role],
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    if name_taken(batch, name, None).await? {
        return Ok(Written::NameTaken);
    }
    // A renamed channel keeps its slug, so the new one may need another.
    let mut slug = name.to_string();
    let mut n = 2;
    while sqlx::query("SELECT 1 FROM conversations WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *batch.conn)
        .await?
        .is_some()
    {
        slug = format!("{name}-{n}");
        n += 1;
    }
    let (id, _) =
        insert_conversation(batch, ConversationKind::Channel, &slug, name, None, now_ms).await?;
    admit(batch, id, organisations, roles).await?;
    audit(batch, actor, "channel_created", id, None, None, now_ms).await?;
    Ok(Written::Opened(announce(batch, id, true, now_ms)))
}

/// Applies `change` to channel `conversation`.
pub(super) async fn change_channel(
    batch: &mut Batch<'_>,
    conversation: ConversationId,
    change: &ChannelSettings,
    actor: UserId,
    now_ms: i64,
) -> StoreResult<Written> {
    let Some(before) = load(batch, conversation, true).await? else {
        return Ok(Written::Missing);
    };
    if before.name != change.name && name_taken(batch, &change.name, Some(conversation)).await? {
        return Ok(Written::NameTaken);
    }
    let id = conversation.0;
    let mut actions = Vec::new();
    if before.name != change.name {
        sqlx::query("UPDATE conversations SET name = $1 WHERE id = $2")
            .bind(&change.name)
            .bind(id)
            .execute(&mut *batch.conn)
            .await?;
        actions.push("channel_renamed");
    }
    if before.state.archived != change.archived {
        sqlx::query("UPDATE conversations SET archived_at_ms = $1 WHERE id = $2")
            .bind(change.archived.then_some(now_ms))
            .bind(id)
            .execute(&mut *batch.conn)
            .await?;
        actions.push(if change.archived {
            "channel_archived"
        } else {
            "channel_unarchived"
        });
    }
    let admits_others = sorted(&before.state.organisations) != sorted(&change.organisations)
        || Role::in_order(&before.state.roles) != Role::in_order(&change.roles);
    if admits_others {
        for sql in [
            "DELETE FROM conversation_organisations WHERE conversation_id = $1",
            "DELETE FROM conversation_roles WHERE conversation_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *batch.conn).await?;
        }
        admit(batch, id, &change.organisations, &change.roles).await?;
        actions.push("channel_access_changed");
    }
    for action in &actions {
        audit(batch, actor, action, id, None, None, now_ms).await?;
    }
    let event_id = match (actions.is_empty(), admits_others) {
        (true, _) => None,
        (false, true) => Some(batch.event("membership", id, None, None, now_ms)),
        (false, false) => Some(batch.event("conversation", id, None, None, now_ms)),
    };
    let after = load(batch, conversation, false)
        .await?
        .ok_or_else(|| crate::store::StoreError::Corrupt("a changed channel vanished".into()))?;
    Ok(Written::ChannelChanged(ChannelChanged {
        before: audience(&before.state),
        after: audience(&after.state),
        slug: after.slug,
        name: after.name,
        last_seq: after.last_seq,
        event_id,
    }))
}

struct Loaded {
    name: String,
    slug: String,
    last_seq: i64,
    state: ChannelSettings,
}

/// A channel as it is in the batch; `lock`ed, another node's change of it waits.
async fn load(
    batch: &mut Batch<'_>,
    conversation: ConversationId,
    lock: bool,
) -> StoreResult<Option<Loaded>> {
    let sql = format!(
        "SELECT name, slug, last_seq, archived_at_ms IS NOT NULL AS archived FROM conversations \
         WHERE id = $1 AND kind = 'channel'{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let Some(row) = sqlx::query(&sql)
        .bind(conversation.0)
        .fetch_optional(&mut *batch.conn)
        .await?
    else {
        return Ok(None);
    };
    let organisations = sqlx::query_scalar(
        "SELECT organisation_id FROM conversation_organisations WHERE conversation_id = $1 \
         ORDER BY organisation_id",
    )
    .bind(conversation.0)
    .fetch_all(&mut *batch.conn)
    .await?
    .into_iter()
    .map(OrganisationId)
    .collect();
    let roles: Vec<Role> = sqlx::query_scalar::<_, String>(
        "SELECT role FROM conversation_roles WHERE conversation_id = $1",
    )
    .bind(conversation.0)
    .fetch_all(&mut *batch.conn)
    .await?
    .iter()
    .filter_map(|r| Role::parse(r))
    .collect();
    let name: String = row.try_get("name")?;
    Ok(Some(Loaded {
        state: ChannelSettings {
            name: name.clone(),
            organisations,
            roles: Role::in_order(&roles),
            archived: row.try_get("archived")?,
        },
        name,
        slug: row.try_get("slug")?,
        last_seq: row.try_get("last_seq")?,
    }))
}

fn audience(state: &ChannelSettings) -> Audience {
    let mut audience = Audience::channel(state.organisations.clone(), state.roles.clone());
    audience.archived = state.archived;
    audience
}

fn sorted(organisations: &[OrganisationId]) -> Vec<OrganisationId> {
    let mut v = organisations.to_vec();
    v.sort();
    v.dedup();
    v
}

async fn name_taken(
    batch: &mut Batch<'_>,
    name: &str,
    except: Option<ConversationId>,
) -> StoreResult<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE kind = 'channel' AND name = $1")
            .bind(name)
            .fetch_optional(&mut *batch.conn)
            .await?;
    Ok(found.is_some_and(|id| Some(ConversationId(id)) != except))
}

async fn admit(
    batch: &mut Batch<'_>,
    id: i64,
    organisations: &[OrganisationId],
    roles: &[Role],
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO conversation_organisations (conversation_id, organisation_id) \
         SELECT $1, UNNEST($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(organisations.iter().map(|o| o.0).collect::<Vec<_>>())
    .execute(&mut *batch.conn)
    .await?;
    sqlx::query(
        "INSERT INTO conversation_roles (conversation_id, role) \
         SELECT $1, UNNEST($2::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
    .execute(&mut *batch.conn)
    .await?;
    Ok(())
}
