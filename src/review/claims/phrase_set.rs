//! Phrase lists compiled into one matcher of whole words, fast on any text.

use regex::Regex;

/// A list of phrases as one case-insensitive matcher of whole words, longest first.
#[derive(Debug, Clone)]
pub struct PhraseSet(Option<Regex>);

/// Whether `c` is a word character as Unicode `\b` sees it (`\w`: letters, marks, digits,
/// connectors).
fn is_word(c: char) -> bool {
    static WORD: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^\w$").unwrap_or_else(|e| unreachable!("static regex: {e}")));
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        WORD.is_match(c.encode_utf8(&mut [0; 4]))
    }
}

impl PhraseSet {
    /// Compiles `phrases`; an edge that is a word character gets a word boundary.
    ///
    /// An ASCII edge gets an ASCII boundary in the pattern: a Unicode `\b` makes the lazy DFA
    /// give up on any text with one non-ASCII character (a ₹ will do), and the fallback engines
    /// are a hundred times slower. Each match is then held to Unicode's rule on both edges
    /// ([`PhraseSet::find`]), so "café" or a Devanagari neighbour is still a word.
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Self {
        let mut list: Vec<&str> = phrases
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty())
            .collect();
        list.sort_by_key(|p| std::cmp::Reverse(p.len()));
        list.dedup();
        let alts: Vec<String> = list
            .iter()
            .map(|t| {
                let edge = |c: Option<char>| {
                    if c.is_some_and(|c| c.is_ascii_alphanumeric()) {
                        r"(?-u:\b)"
                    } else {
                        ""
                    }
                };
                let body = regex::escape(t).replace(r"\-", r"[\s-]*").replace(' ', r"[\s-]+");
                format!("{}{body}{}", edge(t.chars().next()), edge(t.chars().last()))
            })
            .collect();
        let re = (!alts.is_empty()).then(|| Regex::new(&format!("(?i)(?:{})", alts.join("|"))));
        PhraseSet(re.and_then(Result::ok))
    }

    /// Every match: (start, end) in bytes.
    pub fn find(&self, text: &str) -> Vec<(usize, usize)> {
        self.matches(text).collect()
    }

    /// Whether any phrase occurs.
    pub fn any(&self, text: &str) -> bool {
        self.matches(text).next().is_some()
    }

    fn matches<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        self.0
            .iter()
            .flat_map(move |re| re.find_iter(text))
            .filter(move |m| on_word_edges(text, m.start(), m.end()))
            .map(|m| (m.start(), m.end()))
    }
}

/// `pattern` with each `\b` an ASCII word boundary: a Unicode one makes the lazy DFA give up on
/// any text with a non-ASCII character, and the pack's contact patterns run over every draft.
/// (A `\b` beside a letter outside ASCII then counts as a boundary; these patterns are
/// anchored on digits and ASCII street words, where that does not matter.)
pub(super) fn ascii_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') if !chars.as_str().starts_with('{') => out.push_str(r"(?-u:\b)"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Whether `text[s..e]` neither starts inside a word nor ends inside one (Unicode's `\b` on
/// each edge that is a word character).
fn on_word_edges(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    let first = m.chars().next().is_some_and(is_word);
    let last = m.chars().next_back().is_some_and(is_word);
    let before = text[..s].chars().next_back().is_some_and(is_word);
    let after = text[e..].chars().next().is_some_and(is_word);
    !((first && before) || (last && after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_words_beside_any_script() {
        let p = PhraseSet::new(&["cotton", "café", "non-stick"]);
        assert_eq!(p.find("₹499 for pure cotton."), vec![(16, 22)]);
        assert!(!p.any("cottoné"), "a letter outside ASCII continues the word");
        assert!(!p.any("écotton"), "on either side");
        assert!(p.any("Le café, ₹90") && !p.any("cafés"));
        assert!(p.any("a non stick pan") && p.any("nonstick"));
    }

    #[test]
    fn pack_patterns_get_ascii_word_boundaries_and_keep_their_escapes() {
        assert_eq!(ascii_boundaries(r"\b\d+\\b\s"), r"(?-u:\b)\d+\\b\s");
        assert_eq!(ascii_boundaries(r"a\bc\"), r"a(?-u:\b)c\");
    }

    #[test]
    fn phrases_match_whole_words_with_any_spacing_or_hyphen() {
        let p = PhraseSet::new(&["risk-free", "act now", "#1"]);
        assert_eq!(
            p.find("Order risk free, act  now: the #1 pick"),
            vec![(6, 15), (17, 25), (31, 33)]
        );
        assert!(!p.any("fact nowhere"));
    }
}
