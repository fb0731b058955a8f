//! Text from outside (account names, reasons, drafts) made safe to show to a person in a log
//! line, a terminal or a page: control characters (which could move a terminal's cursor or
//! recolour it), bidirectional overrides (U+202E reverses what follows) and invisible
//! characters (zero-width spaces and joiners, which hide text) become visible `\u{..}` escapes,
//! and the length is bounded.

/// Whether `c` would act on a display or hide itself instead of showing as a glyph.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width space, joiners, LRM/RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // BOM / zero-width no-break space
            | '\u{00AD}' // soft hyphen
        )
}

/// `s` with every [`is_hidden`] character written as `\u{XXXX}` (newlines and tabs included)
/// and at most `max_chars` characters of it kept (then `…`).
pub fn printable(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 2));
    for (i, c) in s.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if is_hidden(c) {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bidi_and_invisible_characters_are_shown_and_length_is_bounded() {
        assert_eq!(printable("ana", 64), "ana");
        assert_eq!(printable("\u{1b}[31mred", 64), "\\u{001B}[31mred");
        assert_eq!(printable("abc\u{202E}fed", 64), "abc\\u{202E}fed");
        assert_eq!(printable("a\u{200B}b\nc", 64), "a\\u{200B}b\\u{000A}c");
        assert_eq!(printable(&"x".repeat(1000), 5), "xxxxx…");
        assert_eq!(printable("é日本", 64), "é日本", "letters of any script stay");
    }
}
