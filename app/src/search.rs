//! What a search box's text asks for: words and "quoted phrases" to find, and the
//! operators `from:`, `in:`, `before:`, `after:`, `has:link` and `has:file`. Parsed the
//! same way on both sides; what cannot be understood is searched as far as it can be
//! and named in [`SearchQuery::ignored`] so the user is told.

use serde::{Deserialize, Serialize};

use crate::model::{ConversationId, Message};

/// A parsed search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words and phrases that must all occur.
    pub terms: Vec<Term>,
    /// `from:` — usernames or display names (any one may match), lower-cased.
    pub from: Vec<String>,
    /// `in:` — conversations by name (`#oracare-team`, `oracare-team`, `order-1042`).
    pub within: Vec<String>,
    /// `before:YYYY-MM-DD` — sent before that day (UTC), in ms since the epoch.
    pub before_ms: Option<i64>,
    /// `after:YYYY-MM-DD` — sent after that day (UTC), in ms since the epoch.
    pub after_ms: Option<i64>,
    pub has_link: bool,
    pub has_file: bool,
    /// What was not understood and left out, in words for the user.
    pub ignored: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Term {
    Word(String),
    Phrase(String),
}

impl SearchQuery {
    /// Whether there is anything to search for.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
            && self.from.is_empty()
            && self.within.is_empty()
            && self.before_ms.is_none()
            && self.after_ms.is_none()
            && !self.has_link
            && !self.has_file
    }

    /// The terms as an SQLite FTS5 query (see [`fts5`]).
    pub fn fts5(&self) -> Option<String> {
        fts5(&self.terms)
    }
}

/// Terms as an SQLite FTS5 query: every word and phrase quoted (so nothing a user types
/// is FTS syntax), words also matching as prefixes; `None` without terms.
pub fn fts5(terms: &[Term]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    Some(
        terms
            .iter()
            .map(|t| match t {
                Term::Word(w) => format!("{}*", quote(w)),
                Term::Phrase(p) => quote(p),
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Longest search accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;

/// Parses a search box's text.
pub fn parse(input: &str) -> SearchQuery {
    let mut query = SearchQuery::default();
    let input: String = input.chars().take(MAX_QUERY_CHARS).collect();
    let mut rest = input.as_str();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after_quote) = rest.strip_prefix('"') {
            match after_quote.find('"') {
                Some(end) => {
                    push_phrase(&mut query, &after_quote[..end]);
                    rest = &after_quote[end + 1..];
                }
                None => {
                    query
                        .ignored
                        .push("a quote without its closing quote (searched as words)".into());
                    rest = after_quote;
                }
            }
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        match token.split_once(':') {
            Some((op, value)) if is_operator_like(op) => operator(&mut query, op, value, token),
            _ => push_words(&mut query, token),
        }
    }
    query
}

fn is_operator_like(op: &str) -> bool {
    !op.is_empty() && op.chars().all(|c| c.is_ascii_alphabetic())
}

fn operator(query: &mut SearchQuery, op: &str, value: &str, token: &str) {
    let value = value.trim_matches('"');
    match (op.to_ascii_lowercase().as_str(), value) {
        (_, "") => query
            .ignored
            .push(format!("{token} (nothing after the colon)")),
        ("from", who) => query.from.push(who.trim_start_matches('@').to_lowercase()),
        ("in", place) => query.within.push(place.to_lowercase()),
        ("before", day) => match day_start_ms(day) {
            Some(ms) => query.before_ms = Some(ms),
            None => query
                .ignored
                .push(format!("{token} (dates are written 2026-12-31)")),
        },
        ("after", day) => match day_start_ms(day) {
            // After a day: from the start of the next one.
            Some(ms) => query.after_ms = Some(ms + DAY_MS),
            None => query
                .ignored
                .push(format!("{token} (dates are written 2026-12-31)")),
        },
        ("has", "link") => query.has_link = true,
        ("has", "file") => query.has_file = true,
        ("has", _) => query
            .ignored
            .push(format!("{token} (has:link or has:file)")),
        // A word with a colon in it (like 10:30 or a URL) is just a word.
        _ if op.len() > 10 || !["http", "https", "mailto"].contains(&op) => {
            query.ignored.push(format!("{token} (unknown operator)"))
        }
        _ => push_words(query, token),
    }
}

/// Splits on anything that is not a letter or digit (as the index does).
fn push_words(query: &mut SearchQuery, text: &str) {
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        query.terms.push(Term::Word(word.to_lowercase()));
    }
}

fn push_phrase(query: &mut SearchQuery, text: &str) {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [] => {}
        [one] => query.terms.push(Term::Word(one.to_lowercase())),
        _ => query
            .terms
            .push(Term::Phrase(words.join(" ").to_lowercase())),
    }
}

const DAY_MS: i64 = 86_400_000;

/// Midnight UTC of `YYYY-MM-DD`, in ms since the epoch.
fn day_start_ms(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * DAY_MS)
}

/// One search hit: the message, where it is, and its text around the match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: Message,
    pub conversation_id: ConversationId,
    /// The conversation's name as this user sees it.
    pub conversation_title: String,
    /// Its `/chat/{slug}`.
    pub conversation_slug: String,
    /// The text around the match; `true` parts matched.
    pub snippet: Vec<(String, bool)>,
}

/// The answer to a search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// What the query asked that was left out (see [`SearchQuery::ignored`]).
    pub ignored: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_operators() {
        let q = parse(r#"order "damaged pallet" from:@Carol in:#oracare-team has:link"#);
        assert_eq!(
            q.terms,
            [
                Term::Word("order".into()),
                Term::Phrase("damaged pallet".into())
            ]
        );
        assert_eq!(q.from, ["carol"]);
        assert_eq!(q.within, ["#oracare-team"]);
        assert!(q.has_link && !q.has_file);
        assert!(q.ignored.is_empty());
        assert_eq!(q.fts5().unwrap(), r#""order"* "damaged pallet""#);
    }

    #[test]
    fn dates_are_whole_utc_days() {
        let q = parse("before:2026-12-03 after:1970-01-01");
        assert_eq!(q.before_ms, Some(1_796_256_000_000));
        assert_eq!(q.after_ms, Some(DAY_MS));
        let bad = parse("before:yesterday x");
        assert_eq!(bad.before_ms, None);
        assert_eq!(bad.terms, [Term::Word("x".into())]);
        assert_eq!(bad.ignored.len(), 1);
    }

    #[test]
    fn what_cannot_be_understood_is_said_and_the_rest_searched() {
        let q = parse(r#"color:red "unbalanced quote"#);
        assert_eq!(
            q.terms,
            [Term::Word("unbalanced".into()), Term::Word("quote".into())]
        );
        assert_eq!(q.ignored.len(), 2, "{:?}", q.ignored);
        assert!(q.ignored.iter().any(|i| i.contains("unknown operator")));
        assert!(q.ignored.iter().any(|i| i.contains("closing quote")));
    }

    #[test]
    fn fts_syntax_typed_by_users_is_only_text() {
        let q = parse(r#"NEAR(a b) OR * "x"" -y ^z"#);
        let fts = q.fts5().unwrap();
        for term in fts.split(' ') {
            assert!(term.starts_with('"'), "{fts}");
        }
        assert!(parse("   ").is_empty());
        assert_eq!(
            parse("10:30").terms,
            [Term::Word("10".into()), Term::Word("30".into())]
        );
    }
}
