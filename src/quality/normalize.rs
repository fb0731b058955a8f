//! Text and unit normalisers. Each is total: any input gives an output, never a panic, and
//! applying one twice gives the same result as applying it once (property-tested), so a value
//! normalised upstream is left alone here.
//!
//! Order matters for [`text`]: HTML first (entities may hide characters and tags hide word
//! boundaries), then whitespace (dropping a control character can bring a combining mark next to
//! its base), then NFC.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Tags that separate words; dropping them without a space would glue words together.
const BLOCK_TAGS: &[&str] = &[
    "br",
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "section",
    "article",
    "hr",
    "dd",
    "dt",
    "blockquote",
];

/// Removes tags, comments and the contents of `script`/`style`, the way a browser shows text:
/// `<` followed by a letter, `/`, `!` or `?` opens a tag; any other `<` is text. An unclosed tag
/// runs to the end (browsers drop it too).
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let opens = after
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?'));
        if !opens {
            out.push('<');
            rest = after;
            continue;
        }
        if let Some(comment) = after.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |e| &comment[e + 3..]);
            continue;
        }
        let Some(end) = after.find('>') else {
            rest = "";
            break;
        };
        let name: String = after[..end]
            .trim_start_matches('/')
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
        rest = &after[end + 1..];
        if !after.starts_with('/') && (name == "script" || name == "style") {
            // Skip to the matching close tag (ASCII case-insensitive); none: drop the rest.
            let lower = rest.to_ascii_lowercase();
            let close = format!("</{name}");
            rest = match lower.find(&close) {
                Some(c) => rest[c..].find('>').map_or("", |e| &rest[c + e + 1..]),
                None => "",
            };
        } else if BLOCK_TAGS.contains(&name.as_str()) {
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

/// Strips HTML to its text: tags and comments go, `script`/`style` contents go, entities are
/// decoded, block tags become spaces. Text without `<` or `&` is returned as is (the common
/// case, and free).
///
/// Hand-written rather than a sanitiser crate: a full HTML parser (ammonia/html5ever) took
/// ~20 µs per field, most of a record's budget, to extract text that needs none of its tree.
pub fn strip_html(s: &str) -> Cow<'_, str> {
    if !s.contains('<') && !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut current = Cow::Borrowed(s);
    // Decoding can expose markup that was escaped in the source ("&lt;b&gt;", or escaped three
    // times over: "&amp;amp;lt;img"), so strip and decode until nothing changes. Every round
    // that changes the text shortens it; past MAX_ROUNDS (only a deliberately nested input gets
    // there) the angle brackets left are dropped, so no tag can survive in any case.
    for _ in 0..MAX_ROUNDS {
        let decoded = html_escape::decode_html_entities(&strip_tags(&current)).into_owned();
        if decoded == *current {
            return current;
        }
        current = Cow::Owned(decoded);
    }
    Cow::Owned(strip_tags(&current).replace(['<', '>'], ""))
}

/// Rounds of strip-and-decode before [`strip_html`] gives up on a fixed point.
const MAX_ROUNDS: usize = 16;

/// Unicode NFC, so "é" typed two ways compares and fingerprints equal.
pub fn nfc(s: &str) -> Cow<'_, str> {
    match is_nfc_quick(s.chars()) {
        IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    }
}

/// Trims and collapses every run of whitespace (including NBSP and line breaks) to one space;
/// drops control characters.
pub fn whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The full text normaliser for titles, brands, descriptions and attribute values.
pub fn text(s: &str) -> String {
    let w = whitespace(&strip_html(s));
    match nfc(&w) {
        Cow::Borrowed(_) => w,
        Cow::Owned(n) => n,
    }
}

/// A quantity with a unit, anchored at word boundaries: "5000mAh", "5,000 mAh", "1.5 kg".
static QUANTITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b([0-9]{1,3}(?:[,\u{202F} ][0-9]{3})+|[0-9]+)(?:\.([0-9]+))?\s?(?:(mah|wh|kwh|mm|cm|km|m|kg|g|mg|lbs?|oz|ml|l|gb|tb|mb|kb|w|kw|v|hz|khz|mhz|ghz|inch|inches|in|mp|rpm|db)\b|("))"#,
    )
    .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Canonical spelling of a unit as matched (lower-cased) by [`QUANTITY`].
fn canonical_unit(u: &str) -> &'static str {
    match u {
        "mah" => "mAh",
        "wh" => "Wh",
        "kwh" => "kWh",
        "mm" => "mm",
        "cm" => "cm",
        "km" => "km",
        "m" => "m",
        "kg" => "kg",
        "g" => "g",
        "mg" => "mg",
        "lb" | "lbs" => "lb",
        "oz" => "oz",
        "ml" => "ml",
        "l" => "L",
        "gb" => "GB",
        "tb" => "TB",
        "mb" => "MB",
        "kb" => "KB",
        "w" => "W",
        "kw" => "kW",
        "v" => "V",
        "hz" => "Hz",
        "khz" => "kHz",
        "mhz" => "MHz",
        "ghz" => "GHz",
        "inch" | "inches" | "in" | "\"" => "in",
        "mp" => "MP",
        "rpm" => "rpm",
        "db" => "dB",
        _ => "",
    }
}

/// Rewrites every quantity in a spec value to one form: digits without grouping, one space,
/// canonical unit ("5,000mAh" → "5000 mAh", "2.50 KG" → "2.5 kg"). Review compares claims in
/// generated text with attributes in this form.
pub fn units(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return Cow::Borrowed(s);
    }
    QUANTITY.replace_all(s, |c: &regex::Captures<'_>| {
        let whole: String = c[1].chars().filter(char::is_ascii_digit).collect();
        let frac = c.get(2).map(|m| m.as_str().trim_end_matches('0')).unwrap_or("");
        let unit = canonical_unit(
            &c.get(3)
                .or_else(|| c.get(4))
                .map_or("", |m| m.as_str())
                .to_ascii_lowercase(),
        );
        if frac.is_empty() {
            format!("{whole} {unit}")
        } else {
            format!("{whole}.{frac} {unit}")
        }
    })
}

/// Every quantity with a unit in `s`: byte span and canonical form ("5,000mAh" → "5000 mAh"),
/// so a claim in generated text compares with attribute values written any way.
pub fn quantities(s: &str) -> Vec<(usize, usize, String)> {
    QUANTITY
        .find_iter(s)
        .map(|m| (m.start(), m.end(), units(m.as_str()).into_owned()))
        .collect()
}

/// Attribute keys compare case- and space-insensitively: "Battery  Capacity" → "battery capacity".
///
/// A fixpoint, so a normalised key normalises to itself: lower-casing can turn text that was no
/// HTML entity into one (`&iT;` → `&it;`, U+2062), so while a key still holds a `&` it is
/// normalised again until nothing changes (each change decodes an entity and shortens it).
pub fn key(s: &str) -> String {
    let mut k = key_once(s);
    for _ in 0..MAX_ROUNDS {
        if !k.contains('&') {
            break;
        }
        let next = key_once(&k);
        if next == k {
            break;
        }
        k = next;
    }
    k
}

fn key_once(s: &str) -> String {
    let t = text(s);
    // Most keys are ASCII: lower-casing them cannot un-normalise anything.
    if t.is_ascii() {
        return t.to_ascii_lowercase();
    }
    let lower = t.to_lowercase();
    match nfc(&lower) {
        Cow::Borrowed(_) => lower,
        Cow::Owned(n) => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn html_is_stripped_to_spaced_text() {
        assert_eq!(
            text("<p>Soft <b>cotton</b></p><p>Machine&nbsp;wash</p>"),
            "Soft cotton Machine wash"
        );
        assert_eq!(text("a<br>b<li>c"), "a b c");
        assert_eq!(text("<script>alert(1)</script>Safe"), "Safe");
        assert_eq!(text("Tom &amp; Jerry &lt;3"), "Tom & Jerry <3");
        assert_eq!(text("Fish &amp;lt;b&amp;gt;"), text(&text("Fish &amp;lt;b&amp;gt;")));
        assert_eq!(strip_html("plain text"), Cow::Borrowed("plain text"));
    }

    /// Hardening probe: markup escaped any number of times never comes out as a live tag
    /// (three rounds of decoding let `&amp;amp;lt;img …` through as `<img …`).
    #[test]
    fn escaped_markup_is_stripped_at_any_depth() {
        let tag = "<img src=x onerror=alert(1)>";
        let mut escaped = tag.to_owned();
        for depth in 0..40 {
            let out = text(&format!("Nice {escaped} lamp"));
            assert!(!out.contains('<') && !out.contains('>'), "depth {depth}: {out}");
            assert!(out.starts_with("Nice") && out.ends_with("lamp"), "{out}");
            escaped = escaped.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        }
    }

    #[test]
    fn nfc_and_whitespace() {
        let decomposed = "Cafe\u{301} Cre\u{300}me";
        assert_eq!(text(decomposed), "Café Crème");
        assert_eq!(whitespace("  a\u{a0}\u{a0}b\n\tc  "), "a b c");
        assert_eq!(whitespace("a\u{0}b"), "ab");
    }

    #[test]
    fn units_take_one_form() {
        for (raw, want) in [
            ("5000mAh", "5000 mAh"),
            ("5,000 mAh", "5000 mAh"),
            ("5000 MAH battery", "5000 mAh battery"),
            ("2.50 KG", "2.5 kg"),
            ("1.0 L", "1 L"),
            ("15.6\" screen", "15.6 in screen"),
            ("128GB / 8 gb RAM", "128 GB / 8 GB RAM"),
            ("3.2GHz", "3.2 GHz"),
        ] {
            assert_eq!(units(raw), want, "{raw}");
        }
        // Numbers without units and unit-like letters inside words stay.
        assert_eq!(units("Pack of 3"), "Pack of 3");
        assert_eq!(units("model X200mgt"), "model X200mgt");
    }

    #[test]
    fn keys_fold_case_and_space() {
        assert_eq!(key(" Battery  Capacity "), "battery capacity");
        // Lower-cased, "&iT;" is the entity of U+2062: the key is that character, not "&it;".
        assert_eq!(key("&iT;"), key(&key("&iT;")));
    }

    proptest! {
        #[test]
        fn normalisers_are_total_and_idempotent(s in any::<String>()) {
            let once = text(&s);
            prop_assert_eq!(text(&once), once.clone());
            let u = units(&once).into_owned();
            prop_assert_eq!(units(&u).into_owned(), u);
        }

        #[test]
        fn markup_like_input_is_idempotent(s in r#"[<>/&;a-z0-9 "=!-]{0,80}"#) {
            let once = text(&s);
            prop_assert_eq!(text(&once), once.clone());
            prop_assert!(!once.contains("<b>"));
        }
    }
}
