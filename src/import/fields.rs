//! Parsers for the values catalog exports hold: prices, category trees, image lists and
//! specification blobs. Each takes any string and never panics; what cannot be parsed is
//! reported, not guessed.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

/// Parses a price in major units ("1,299.00", "$12.99", "₹999", "1.099,50 €", "12.5") into
/// minor units (hundredths; see [`super::price`]). `Ok(None)` for an empty value; `Err` for
/// text that is not a price.
pub fn price_minor(raw: &str) -> Result<Option<i64>, String> {
    super::price::parse(raw).map(|p| p.map(|p| p.minor))
}

/// Splits a category tree into segments; with several categories (see [`category_paths`])
/// the deepest, the first of equals.
pub fn category_path(raw: &str) -> Vec<String> {
    pick_category(category_paths(raw, false)).0
}

/// The deepest of several category paths (the first of equals) and the others.
pub fn pick_category(mut paths: Vec<Vec<String>>) -> (Vec<String>, Vec<Vec<String>>) {
    let best = (0..paths.len()).rev().max_by_key(|i| paths[*i].len());
    match best {
        Some(i) => {
            let chosen = paths.remove(i);
            (chosen, paths)
        }
        None => (Vec::new(), Vec::new()),
    }
}

/// Every category path in a value. A JSON array of strings holds one path per item when its
/// items have separators (`["A >> B >> C"]`, Flipkart's form), else one path's segments; `;` always separates paths, and with `multi` (a column named
/// in the plural, WooCommerce's `Categories`) so does an unescaped `,` (`\,` is a comma in a
/// name). A path's segments are split on `>` (also `>>`) when it has one, else on `|`, else on
/// `/`: so "Men > T-Shirts/Tops" keeps the slash in its name, and "Home/Kitchen/Mugs" is three
/// levels. (The quality stage splits a single-segment path on `/` too.)
pub fn category_paths(raw: &str, multi: bool) -> Vec<Vec<String>> {
    let t = raw.trim();
    let items: Vec<String> = match serde_json::from_str::<Vec<String>>(t) {
        // Items with separators are paths (Flipkart's one-item form); else one path's segments.
        Ok(items) if items.iter().any(|i| i.contains(['>', '|'])) => items,
        Ok(items) => vec![items.join(" > ")],
        Err(_) => {
            let bare = t.trim_start_matches('[').trim_end_matches(']').trim_matches('"');
            split_unescaped(bare, if multi { &[';', ','] } else { &[';'] })
        }
    };
    items.iter().map(|p| segments(p)).filter(|p| !p.is_empty()).collect()
}

/// Splits at any of `seps` not preceded by a backslash, and drops the escapes.
fn split_unescaped(s: &str, seps: &[char]) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| seps.contains(n)) => {
                out.last_mut().into_iter().for_each(|l| l.extend(chars.next()));
            }
            c if seps.contains(&c) => out.push(String::new()),
            c => out.last_mut().into_iter().for_each(|l| l.push(c)),
        }
    }
    out
}

fn segments(path: &str) -> Vec<String> {
    let sep: &[char] = if path.contains('>') {
        &['>']
    } else if path.contains('|') {
        &['|']
    } else {
        &['/']
    };
    path.split(sep)
        .map(|s| s.trim().trim_matches('"').trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Image URLs: a JSON array, or URLs separated by commas, pipes or whitespace.
pub fn images(raw: &str) -> Vec<String> {
    let t = raw.trim();
    if let Ok(items) = serde_json::from_str::<Vec<String>>(t) {
        return items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    t.trim_start_matches('[')
        .trim_end_matches(']')
        .split([',', '|', ' ', '\n', '\t'])
        .map(|s| s.trim().trim_matches('"').trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

static RUBY_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{\s*(?:"key"\s*=>\s*"((?:[^"\\]|\\.)*)"\s*,\s*)?"value"\s*=>\s*"((?:[^"\\]|\\.)*)"\s*\}"#)
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// Parses specifications into attributes. Accepted: Flipkart's Ruby-hash form
/// (`{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}, {"value"=>"Machine wash"}]}`),
/// a JSON object, or `key: value; key: value` text. Values without a key become `note`,
/// `note 2`, …. `Err` when the text is none of these (or is cut off).
pub fn specs(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let t = raw.trim();
    let mut out = BTreeMap::new();
    if t.is_empty() {
        return Ok(out);
    }
    if t.contains("=>") {
        let balanced =
            t.matches('{').count() == t.matches('}').count() && t.matches('[').count() == t.matches(']').count();
        let mut notes = 0;
        for c in RUBY_PAIR.captures_iter(t) {
            let value = c[2].replace("\\\"", "\"");
            let key = match c.get(1) {
                Some(k) if !k.as_str().trim().is_empty() => k.as_str().trim().to_owned(),
                _ => {
                    notes += 1;
                    if notes == 1 {
                        "note".to_owned()
                    } else {
                        format!("note {notes}")
                    }
                }
            };
            out.entry(key).or_insert(value);
        }
        if !balanced || out.is_empty() {
            return Err("specifications are cut off or not in the expected form".into());
        }
        return Ok(out);
    }
    if t.starts_with('{') {
        let v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(t).map_err(|e| format!("specifications are not valid JSON: {e}"))?;
        for (k, v) in v {
            out.insert(k, scalar(&v));
        }
        return Ok(out);
    }
    for part in t.split([';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| format!("'{part}' is not 'key: value'"))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

/// A JSON value as attribute text.
pub(crate) fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prices() {
        for (raw, want) in [
            ("1299", Some(129_900)),
            ("1,299.00", Some(129_900)),
            ("$12.99", Some(1299)),
            ("₹999", Some(99_900)),
            ("12.5", Some(1250)),
            ("0", Some(0)),
            ("-3", Some(-300)),
            ("", None),
            ("INR 450", Some(45_000)),
        ] {
            assert_eq!(price_minor(raw), Ok(want), "{raw}");
        }
        for bad in ["abc", "1.2.3", "12-3", "1e400", "--", "N/A"] {
            assert!(price_minor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn categories_and_images() {
        assert_eq!(
            category_path(r#"["Clothing >> Women's Clothing >> Lingerie, Sleep & Swimwear >> Shorts"]"#),
            ["Clothing", "Women's Clothing", "Lingerie, Sleep & Swimwear", "Shorts"]
        );
        assert_eq!(category_path("Home > Kitchen | Mugs"), ["Home", "Kitchen | Mugs"]);
        assert_eq!(category_path("Home|Kitchen|Mugs"), ["Home", "Kitchen", "Mugs"]);
        assert_eq!(category_path("Home/Kitchen/Mugs"), ["Home", "Kitchen", "Mugs"]);
        assert_eq!(category_path("Men > T-Shirts/Tops"), ["Men", "T-Shirts/Tops"]);
        assert_eq!(
            category_path("Apparel & Accessories > Handbags, Wallets & Cases"),
            ["Apparel & Accessories", "Handbags, Wallets & Cases"]
        );
        assert_eq!(
            category_paths("Clothing > Hoodies, Clothing, Decor\\, Art", true),
            [vec!["Clothing", "Hoodies"], vec!["Clothing"], vec!["Decor, Art"]]
        );
        assert_eq!(category_path("Clothing; Clothing > Tshirts"), ["Clothing", "Tshirts"]);
        assert_eq!(
            category_path("Electronics|Headphones,Earbuds&Accessories|In-Ear"),
            ["Electronics", "Headphones,Earbuds&Accessories", "In-Ear"]
        );
        assert!(category_path("  ").is_empty());
        assert_eq!(
            images(r#"["http://example.com/a.jpeg", "http://example.com/b.jpeg"]"#),
            ["http://example.com/a.jpeg", "http://example.com/b.jpeg"]
        );
        assert_eq!(images("a.jpg, b.jpg|c.jpg"), ["a.jpg", "b.jpg", "c.jpg"]);
    }

    #[test]
    fn flipkart_specs() {
        let raw = r#"{"product_specification"=>[{"key"=>"Number of Contents in Sales Package", "value"=>"Pack of 3"}, {"key"=>"Fabric", "value"=>"Cotton Lycra"}, {"value"=>"Machine wash"}, {"value"=>"Dry flat"}]}"#;
        let s = specs(raw).unwrap();
        assert_eq!(s["Fabric"], "Cotton Lycra");
        assert_eq!(s["note"], "Machine wash");
        assert_eq!(s["note 2"], "Dry flat");
        assert!(specs(r#"{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cot"#).is_err());
        assert!(specs(r#"{"product_specification"=>nil}"#).is_err());
        assert_eq!(specs(r#"{"Color": "red", "Size": 3}"#).unwrap()["Size"], "3");
        assert_eq!(specs("Color: red; Size: M").unwrap()["Size"], "M");
        assert!(specs("just words").is_err());
        assert!(specs("").unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = price_minor(&s);
            let _ = category_path(&s);
            let _ = images(&s);
            let _ = specs(&s);
        }

        #[test]
        fn spec_like_strings_never_panic(s in r#"[{}\[\]"=>a-z ,:;]{0,120}"#) {
            let _ = specs(&s);
        }
    }
}
