//! The Markdown subset of SPEC.md §3 — bold, italic, strikethrough, inline and block
//! code, links, lists, quotes — rendered to HTML by one function that the server (first
//! paint) and the browser (live messages) both run, so the two produce the same markup
//! and hydration never sees a difference. Parsing is pulldown-cmark's; this module only
//! decides what may pass:
//!
//! - raw HTML never does: it is shown as the text it is;
//! - links only to `http:`, `https:` and `mailto:`, opening in a new tab with
//!   `rel="noopener noreferrer nofollow"`; anything else is shown as its text;
//! - images become links (no remote image loads behind the reader's back);
//! - headings, tables and other block kinds outside the subset read as paragraphs;
//! - bare `http(s)://` addresses in text become links, and line breaks are kept, as
//!   people expect in chat.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};
use pulldown_cmark_escape::{FmtWriter, escape_href};

/// What every link carries.
const LINK_REL: &str = "noopener noreferrer nofollow";

/// Renders a message body to safe HTML.
pub fn to_html(body: &str) -> String {
    let parser = Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH);
    let mut events: Vec<Event<'_>> = Vec::new();
    // For each open link or image: whether its opening tag was emitted.
    let mut links: Vec<bool> = Vec::new();
    let mut in_code_block = false;
    for event in parser {
        match event {
            Event::Html(text) | Event::InlineHtml(text) => events.push(Event::Text(text)),
            Event::Start(Tag::HtmlBlock) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Heading { .. }) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::Heading(_)) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                let safe = is_safe_url(&dest_url);
                if safe {
                    events.push(Event::InlineHtml(open_link(&dest_url).into()));
                }
                links.push(safe);
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                if links.pop() == Some(true) {
                    events.push(Event::InlineHtml("</a>".into()));
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Text(text) if !in_code_block && links.is_empty() => linkify(text, &mut events),
            Event::SoftBreak => events.push(Event::HardBreak),
            other => events.push(other),
        }
    }
    let mut out = String::with_capacity(body.len() + body.len() / 2 + 16);
    html::push_html(&mut out, events.into_iter());
    out
}

/// A message as a line of plain words, at most `max_chars` long (cut with "…"): what a
/// list shows of it. The Markdown is parsed, not stripped by hand; what would be HTML is
/// kept as the text it is, as [`to_html`] shows it.
pub fn plain_excerpt(body: &str, max_chars: usize) -> String {
    let mut text = String::new();
    for event in Parser::new_ext(body, Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                text.push_str(&t)
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock) => text.push(' '),
            _ => {}
        }
        if text.len() > max_chars * 8 {
            break;
        }
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= max_chars {
        return words;
    }
    let cut: String = words.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// Only web and mail addresses are followed.
fn is_safe_url(url: &str) -> bool {
    let url = url.trim().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| url.starts_with(scheme) && url.len() > scheme.len())
}

fn open_link(url: &str) -> String {
    let mut href = String::new();
    let _ = escape_href(FmtWriter(&mut href), url.trim());
    format!("<a href=\"{href}\" rel=\"{LINK_REL}\" target=\"_blank\">")
}

/// Splits text around bare `http://` and `https://` addresses, which become links.
fn linkify<'a>(text: CowStr<'a>, events: &mut Vec<Event<'a>>) {
    let mut rest: &str = &text;
    let mut found = false;
    while let Some(start) = find_url(rest) {
        found = true;
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |n| start + n);
        // Trailing punctuation belongs to the sentence, not the address.
        let url = rest[start..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']);
        let end = start + url.len();
        if start > 0 {
            events.push(Event::Text(rest[..start].to_string().into()));
        }
        events.push(Event::InlineHtml(open_link(url).into()));
        events.push(Event::Text(url.to_string().into()));
        events.push(Event::InlineHtml("</a>".into()));
        rest = &rest[end..];
    }
    if !found {
        events.push(Event::Text(text));
    } else if !rest.is_empty() {
        events.push(Event::Text(rest.to_string().into()));
    }
}

/// Where the next bare address starts: `http://` or `https://` at the start of a word.
fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("http").map(|n| from + n) {
        let tail = &lower[at..];
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '<' | '"' | '\''));
        let scheme = if tail.starts_with("https://") {
            8
        } else if tail.starts_with("http://") {
            7
        } else {
            0
        };
        if starts_word
            && scheme > 0
            && tail[scheme..]
                .chars()
                .next()
                .is_some_and(|c| !c.is_whitespace())
        {
            return Some(at);
        }
        from = at + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "**bold** and *italic*",
        "<p><strong>bold</strong> and <em>italic</em></p>\n"
    )]
    #[case("`code` here", "<p><code>code</code> here</p>\n")]
    #[case("```\nlet x = 1;\n```", "<pre><code>let x = 1;\n</code></pre>\n")]
    #[case("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n")]
    #[case("1. first", "<ol>\n<li>first</li>\n</ol>\n")]
    #[case("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>\n")]
    #[case("~~gone~~", "<p><del>gone</del></p>\n")]
    #[case("line one\nline two", "<p>line one<br />\nline two</p>\n")]
    fn the_subset_renders(#[case] body: &str, #[case] html: &str) {
        assert_eq!(to_html(body), html);
    }

    #[rstest]
    #[case("**Where** is `1042`?", "Where is 1042?")]
    #[case("- one\n- two\n\n> quoted", "one two quoted")]
    #[case("see [the order](https://x.example/1042)", "see the order")]
    #[case("<b>not bold</b>", "<b>not bold</b>")]
    #[case("   ", "")]
    fn a_preview_is_plain_words(#[case] body: &str, #[case] excerpt: &str) {
        assert_eq!(plain_excerpt(body, 80), excerpt);
    }

    #[test]
    fn a_long_preview_is_cut_with_an_ellipsis() {
        let excerpt = plain_excerpt(&"pallet ".repeat(40), 20);
        assert_eq!(excerpt.chars().count(), 20);
        assert_eq!(excerpt, "pallet pallet palle…");
        assert_eq!(
            plain_excerpt("ünïcödé ".repeat(5).as_str(), 10),
            "ünïcödé ü…"
        );
    }

    #[rstest]
    #[case("<img src=x onerror=alert(1)>")]
    #[case("<script>alert(1)</script>")]
    #[case("hello <b onmouseover=alert(1)>there</b>")]
    #[case("<div>\nblock\n</div>")]
    fn raw_html_is_text(#[case] body: &str) {
        let html = to_html(body);
        assert!(
            !html.contains('<')
                || !html.contains("<img")
                    && !html.contains("<script")
                    && !html.contains("<b ")
                    && !html.contains("<div"),
            "{html}"
        );
        assert!(html.contains("&lt;"), "{html}");
    }

    #[rstest]
    #[case("[x](javascript:alert(1))")]
    #[case("[x](JAVASCRIPT:alert(1))")]
    #[case("[x](data:text/html,hi)")]
    #[case("[x](/relative)")]
    #[case("[x](vbscript:msgbox)")]
    #[case("![x](javascript:alert(1))")]
    fn only_web_and_mail_links_pass(#[case] body: &str) {
        let html = to_html(body);
        assert!(!html.contains("<a"), "{html}");
        assert!(html.contains('x'), "{html}");
    }

    #[test]
    fn links_are_marked_and_escaped() {
        assert_eq!(
            to_html("[docs](https://example.com/a?b=1&c=\"2\")"),
            "<p><a href=\"https://example.com/a?b=1&amp;c=%222%22\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">docs</a></p>\n"
        );
        assert!(
            to_html("[mail](mailto:ops@example.com)").contains("href=\"mailto:ops@example.com\"")
        );
    }

    #[test]
    fn bare_addresses_become_links_but_not_in_code() {
        assert_eq!(
            to_html("see https://example.com/track/1042. thanks"),
            "<p>see <a href=\"https://example.com/track/1042\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">https://example.com/track/1042</a>. thanks</p>\n"
        );
        assert!(!to_html("`https://example.com`").contains("<a"));
        assert!(!to_html("nohttps://x").contains("<a"));
        assert!(to_html("at http://example.com").contains("<a href="));
        assert!(!to_html("no link here").contains("<a href="));
    }

    #[test]
    fn headings_read_as_paragraphs() {
        assert_eq!(to_html("# Big"), "<p>Big</p>\n");
    }
}
