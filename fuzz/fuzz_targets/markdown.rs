//! The Markdown renderer: any message renders without a panic, and no raw HTML and no
//! link other than http(s) or mailto gets through (SPEC §9).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let html = app::markdown::to_html(body);
    let lower = html.to_ascii_lowercase();
    for tag in ["<script", "<iframe", "<img", "<style", "<object", "<embed", "<svg", "<form"] {
        assert!(!lower.contains(tag), "{tag} in {html}");
    }
    // `<` in text is always escaped, so `<a href="` is a link the renderer made.
    for href in html.split("<a href=\"").skip(1) {
        assert!(
            href.starts_with("http://") || href.starts_with("https://") || href.starts_with("mailto:"),
            "a link to {href}"
        );
    }
    let _ = app::markdown::plain_excerpt(body, 80);
});
