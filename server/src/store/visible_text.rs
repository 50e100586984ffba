//! The database's copy of "visible text": the CHECK constraints on message bodies are
//! generated from [`app::model::is_visible`] over every `char`, so the browser, the
//! server and both databases refuse exactly the same blank bodies. SQLite and PostgreSQL
//! have no Unicode property tests, so the set of invisible characters is spelled out.
//!
//! The expressions use only built-in functions (`unicode`, `trim`, `instr`, `char`;
//! `ascii`, `btrim`), so the `sqlite3` and `psql` command lines, backups and restores
//! keep working where a custom SQL function would not. The first character decides
//! almost every body by a few range comparisons; only a body that starts with an
//! invisible character pays for `trim` over the whole set (about 2 µs in SQLite).
//!
//! The tests below compare the migrations with what this module generates: change
//! `is_visible`, run them, and they print the expressions a new migration needs.

use std::ops::RangeInclusive;

use app::model::is_visible;

/// Whether code point `u` shows; a surrogate, which is no `char` and never in a text,
/// counts as visible so that the ranges around it merge.
fn shows(u: u32) -> bool {
    char::from_u32(u).is_none_or(is_visible)
}

/// The code points where [`shows`] is `visible`, as inclusive ranges in order.
fn ranges(visible: bool) -> Vec<RangeInclusive<u32>> {
    let mut out: Vec<RangeInclusive<u32>> = Vec::new();
    for u in 0..=char::MAX as u32 {
        if shows(u) != visible {
            continue;
        }
        match out.last_mut() {
            Some(last) if *last.end() + 1 == u => *last = *last.start()..=u,
            _ => out.push(u..=u),
        }
    }
    out
}

/// The invisible code points, one by one (NUL excepted: both databases end a string
/// there, see the callers).
fn invisible_but_nul() -> Vec<u32> {
    ranges(false)
        .into_iter()
        .flatten()
        .filter(|&u| u != 0)
        .collect()
}

/// `first BETWEEN a AND b OR …` over the visible ranges: whether a body's first code
/// point (`first`, an SQL expression) shows.
fn first_shows(first: &str) -> String {
    ranges(true)
        .iter()
        .map(|r| format!("{first} BETWEEN {} AND {}", r.start(), r.end()))
        .collect::<Vec<_>>()
        .join("\n      OR ")
}

/// SQLite: whether `column` has a visible character and no NUL (which SQLite's text
/// functions stop at, so a set cannot hold it and `length` would miscount).
pub fn sqlite_has_visible_text(column: &str) -> String {
    let set = invisible_but_nul()
        .chunks(12)
        .map(|chunk| {
            let numbers: Vec<String> = chunk.iter().map(u32::to_string).collect();
            format!("char({})", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n           || ");
    format!(
        "instr({column}, char(0)) = 0 AND CASE\n    WHEN {}\n    THEN 1\n    ELSE trim({column},\n              {set}) <> ''\nEND",
        first_shows(&format!("unicode({column})"))
    )
}

/// PostgreSQL: whether `column` has a visible character (a PostgreSQL text cannot hold
/// NUL at all).
pub fn postgres_has_visible_text(column: &str) -> String {
    let set = invisible_but_nul()
        .chunks(12)
        .map(|chunk| {
            let escapes: String = chunk
                .iter()
                .map(|&u| {
                    if u <= 0xFFFF {
                        format!("\\{u:04X}")
                    } else {
                        format!("\\+{u:06X}")
                    }
                })
                .collect();
            format!("U&'{escapes}'")
        })
        .collect::<Vec<_>>()
        .join("\n            || ");
    format!(
        "CASE\n    WHEN {}\n    THEN TRUE\n    ELSE btrim({column},\n               {set}) <> ''\nEND",
        first_shows(&format!("ascii({column})"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with every run of whitespace as one space: the migrations may indent.
    fn squeezed(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn assert_migration_has(migration: &str, name: &str, expression: &str) {
        assert!(
            squeezed(migration).contains(&squeezed(expression)),
            "{name} does not check visible text as app::model::is_visible defines it; \
             a new migration needs:\n{expression}"
        );
    }

    #[test]
    fn the_sets_cover_every_char_as_is_visible_does() {
        let invisible = ranges(false);
        let visible = ranges(true);
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            let u = c as u32;
            assert_eq!(
                invisible.iter().any(|r| r.contains(&u)),
                !is_visible(c),
                "{u:#X}"
            );
            assert_eq!(
                visible.iter().any(|r| r.contains(&u)),
                is_visible(c),
                "{u:#X}"
            );
        }
        // The ones the issue named, and the ordinary ones.
        for u in [
            0x0, 0x9, 0x20, 0xAD, 0x200B, 0x202E, 0x2800, 0xFEFF, 0xE0041,
        ] {
            assert!(invisible.iter().any(|r| r.contains(&u)), "{u:#X}");
        }
        for c in ['a', 'Ж', '中', '😀', '٣'] {
            assert!(visible.iter().any(|r| r.contains(&(c as u32))), "{c}");
        }
    }

    #[test]
    fn the_sqlite_migration_checks_bodies_with_this_set() {
        let migration = include_str!("../../../migrations/sqlite/0024_visible_text.up.sql");
        assert_migration_has(migration, "messages", &sqlite_has_visible_text("body"));
    }

    #[test]
    fn the_postgres_migration_checks_bodies_with_this_set() {
        let migration = include_str!("../../../migrations/postgres/0004_visible_text.up.sql");
        assert_migration_has(migration, "messages", &postgres_has_visible_text("body"));
    }

    /// SQLite itself, through the same library the server writes with: the expression
    /// agrees with `has_visible_text` on bodies of every kind.
    #[test]
    fn sqlite_agrees_with_has_visible_text() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let query = format!("SELECT {}", sqlite_has_visible_text("?1"));
        let mut statement = db.prepare(&query).unwrap();
        let mut samples: Vec<String> = vec![
            String::new(),
            " ".into(),
            "hello".into(),
            "\u{200B}\u{200B}".into(),
            "\u{202E}\u{2800}\u{00AD}\u{3164}".into(),
            "\u{200B}x\u{200B}".into(),
            "\t\n  \u{3000}".into(),
            "\u{E0041}\u{E0042}".into(),
            "\u{E0041}🙂".into(),
            "Ж".into(),
            " \u{FEFF}中".into(),
        ];
        // Every invisible character alone, and before a visible one.
        for u in invisible_but_nul() {
            let c = char::from_u32(u).unwrap();
            samples.push(c.to_string());
            samples.push(format!("{c}a"));
            samples.push(format!("a{c}"));
        }
        for body in samples {
            let stored: bool = statement.query_row([&body], |row| row.get(0)).unwrap();
            assert_eq!(stored, app::model::has_visible_text(&body), "{body:?}");
        }
        // NUL: refused in any body, as the server refuses it.
        for body in ["\0", "\0a", "a\0"] {
            let stored: bool = statement.query_row([body], |row| row.get(0)).unwrap();
            assert!(!stored, "{body:?}");
        }
    }
}
