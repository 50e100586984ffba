//! Search: the messages a user may see that match what they typed. The conversations
//! searched are those the rules let them see (narrowed by `in:`), so a hit from anywhere
//! else cannot happen; deleted messages and earlier versions of edited ones are not in
//! the index.

use std::collections::HashMap;

use app::error::ApiError;
use app::model::{ConversationId, ConversationSummary, User};
use app::rules::Actor;
use app::search::{self, SearchHit, SearchResults};

use super::{Chat, internal};
use crate::store::{SNIPPET_END, SNIPPET_START, SearchFilter, Write};

/// Hits returned at most.
const MOST_HITS: u32 = 50;

impl Chat {
    pub async fn search(&self, me: &User, text: &str) -> Result<SearchResults, ApiError> {
        let query = search::parse(text);
        if query.is_empty() {
            return Ok(SearchResults {
                hits: Vec::new(),
                ignored: query.ignored,
            });
        }
        // Every conversation `me` may see, not only those listed; `in:` narrows by the
        // names `me` knows them by, or their page names. Staff see every order thread
        // (perhaps hundreds of thousands): rather than naming them all, each match is
        // tested against the rules in SQL as the newest are walked.
        let actor = Actor::from(me);
        let everything_visible = query.within.is_empty() && me.role.is_internal();
        let conversations: Vec<ConversationId> = if everything_visible {
            Vec::new()
        } else if query.within.is_empty() {
            self.store.visible_ids(&actor).await.map_err(internal)?
        } else {
            let mut within = Vec::new();
            let listed: Vec<ConversationSummary> = self
                .visible_conversations(me)
                .await?
                .into_iter()
                .map(|c| Self::summary(me, c))
                .collect();
            for name in &query.within {
                let name = name.trim_start_matches('#');
                let known = listed.iter().find(|c| {
                    c.slug.eq_ignore_ascii_case(name)
                        || c.title.trim_start_matches('#').eq_ignore_ascii_case(name)
                });
                match known {
                    Some(c) => within.push(c.id),
                    None => {
                        if let Ok(c) = self.conversation_by_slug(me, name).await {
                            within.push(c.id);
                        }
                    }
                }
            }
            within
        };
        let senders = if query.from.is_empty() {
            None
        } else {
            let users = self.store.users().await.map_err(internal)?;
            Some(
                users
                    .into_iter()
                    .filter(|u| {
                        query.from.iter().any(|who| {
                            u.username.eq_ignore_ascii_case(who)
                                || u.display_name.to_lowercase().starts_with(who.as_str())
                        })
                    })
                    .map(|u| u.id)
                    .collect(),
            )
        };
        let filter = SearchFilter {
            visible_to: everything_visible.then_some(actor),
            conversations,
            senders,
            terms: query.terms.clone(),
            before_ms: query.before_ms,
            after_ms: query.after_ms,
            has_link: query.has_link,
            has_file: query.has_file,
            limit: MOST_HITS,
        };
        // Messages committed since the writer last filled the index go in first, so a
        // search finds everything committed before it (the ordered path: behind every
        // write queued before it).
        self.store
            .write(Write::IndexPending, Box::new(|_| {}))
            .await
            .map_err(internal)?;
        let found = self.store.search(&filter).await.map_err(internal)?;
        // The hits' conversations, each checked against the rules once more.
        let mut seen: HashMap<ConversationId, Option<ConversationSummary>> = HashMap::new();
        let mut hits = Vec::with_capacity(found.len());
        for (message, snippet) in found {
            let id = message.conversation_id;
            let summary = match seen.get(&id) {
                Some(known) => known.clone(),
                None => {
                    let loaded = self.titled(me, id).await?;
                    seen.insert(id, loaded.clone());
                    loaded
                }
            };
            let Some(conversation) = summary else {
                continue;
            };
            hits.push(SearchHit {
                conversation_id: conversation.id,
                conversation_title: conversation.title.clone(),
                conversation_slug: conversation.slug.clone(),
                snippet: split_snippet(&snippet),
                message,
            });
        }
        Ok(SearchResults {
            hits,
            ignored: query.ignored,
        })
    }
}

impl Chat {
    /// A hit's conversation as `me` names it, if `me` may see it (checked once more);
    /// without read counts, which a search does not show.
    async fn titled(
        &self,
        me: &User,
        id: ConversationId,
    ) -> Result<Option<ConversationSummary>, ApiError> {
        if self.checked(me, id, app::rules::Action::See).await.is_err() {
            return Ok(None);
        }
        Ok(self
            .store
            .conversation_plain(id)
            .await
            .map_err(internal)?
            .map(|c| Self::summary(me, c)))
    }
}

/// Splits a marked snippet into plain and matched parts.
fn split_snippet(snippet: &str) -> Vec<(String, bool)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    for c in snippet.chars() {
        if c == SNIPPET_START || c == SNIPPET_END {
            if !current.is_empty() {
                parts.push((std::mem::take(&mut current), matched));
            }
            matched = c == SNIPPET_START;
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        parts.push((current, matched));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_into_matched_and_plain_parts() {
        assert_eq!(
            split_snippet("…the \u{2}damaged\u{3} pallet"),
            [
                ("…the ".to_string(), false),
                ("damaged".to_string(), true),
                (" pallet".to_string(), false)
            ]
        );
        assert_eq!(split_snippet("plain"), [("plain".to_string(), false)]);
    }
}
