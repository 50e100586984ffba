//! The search query parser: any query parses without a panic, and what it hands to FTS5
//! is always a well-formed query of quoted terms (user text never becomes FTS syntax).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let query = app::search::parse(input);
    if let Some(fts) = query.fts5() {
        // Outside quotes only spaces and the operators the parser itself writes.
        let mut quoted = false;
        let mut outside = String::new();
        let mut chars = fts.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    continue;
                }
                quoted = !quoted;
            } else if !quoted {
                outside.push(c);
            }
        }
        assert!(!quoted, "unbalanced quotes in {fts:?}");
        for word in outside.split_whitespace() {
            assert!(matches!(word, "AND" | "OR" | "NOT" | "*"), "{word:?} outside quotes in {fts:?}");
        }
    }
});
