//! What a column's values look like, from the first rows of a file: image URLs, prices that
//! name a currency, currency codes, category paths, long text, short unique names, codes.
//! Used for the columns whose header says nothing the importer knows, so an export in a
//! layout it was never shown still maps.

use std::collections::{BTreeSet, HashSet};

use super::{currency, fields, price};

/// Counts over one column's sampled non-empty values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Profile {
    /// Rows sampled (empty values included).
    pub(crate) rows: usize,
    /// Non-empty values.
    pub(crate) filled: usize,
    /// Values that are one or more image URLs.
    pub(crate) image_urls: usize,
    /// Values that parse as a price and name its currency (`₹399`, `12.00 USD`).
    pub(crate) priced: usize,
    /// Values that are an ISO-4217 code.
    pub(crate) codes: usize,
    /// Values with a category-path separator between words (`A > B`, `A|B`, `A >> B`).
    pub(crate) paths: usize,
    /// Long prose or HTML (80+ characters with spaces, or tags).
    pub(crate) long_text: usize,
    /// Name-like text: letters and a space, 8 to 200 characters.
    pub(crate) names: usize,
    /// Code-like values: no spaces, at most 64 characters.
    pub(crate) codes_like: usize,
    /// Distinct non-empty values.
    pub(crate) distinct: usize,
    /// Characters over all non-empty values.
    pub(crate) chars: usize,
    /// Values that are a price of zero (`0.0000`).
    pub(crate) zeros: usize,
    /// Values of at most two characters (`P`, `D`: codes, not names).
    pub(crate) tiny: usize,
    /// Currencies the price texts name.
    pub(crate) currencies: BTreeSet<&'static str>,
}

impl Profile {
    /// Share of non-empty values for which `count` holds (0 for an empty column).
    pub(crate) fn share(&self, count: usize) -> f64 {
        if self.filled == 0 {
            0.0
        } else {
            count as f64 / self.filled as f64
        }
    }

    /// Share of sampled rows with a value.
    pub(crate) fn fill_rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.filled as f64 / self.rows as f64
        }
    }

    /// Mean length of the non-empty values.
    pub(crate) fn mean_len(&self) -> f64 {
        self.share(self.chars)
    }
}

/// Profiles one column's sampled values.
pub(crate) fn profile<'a>(values: impl IntoIterator<Item = &'a str>) -> Profile {
    let mut p = Profile::default();
    let mut seen = HashSet::new();
    for raw in values {
        p.rows += 1;
        let v = raw.trim();
        if v.is_empty() {
            continue;
        }
        p.filled += 1;
        p.chars += v.chars().count();
        if seen.insert(v) {
            p.distinct += 1;
        }
        let urls = fields::images(v);
        p.image_urls += usize::from(!urls.is_empty() && urls.iter().all(|u| is_image_url(u)));
        if let Ok(Some(price::Price {
            currency: Some(named), ..
        })) = price::parse(v)
        {
            p.priced += 1;
            p.currencies.insert(named.code);
        }
        p.zeros += usize::from(matches!(price::parse(v), Ok(Some(price::Price { minor: 0, .. }))));
        p.tiny += usize::from(v.chars().count() <= 2);
        p.codes += usize::from(currency::is_code(v));
        p.paths += usize::from(is_path(v));
        let spaces = v.chars().filter(|c| c.is_whitespace()).count();
        p.long_text += usize::from((v.len() >= 80 && spaces >= 8) || (v.contains('<') && v.contains("</")));
        let letters = v.chars().any(char::is_alphabetic);
        p.names += usize::from(letters && spaces >= 1 && (8..=200).contains(&v.chars().count()));
        p.codes_like += usize::from(spaces == 0 && v.len() <= 64);
    }
    p
}

/// An absolute or site-relative URL whose path ends in an image file extension, or that sits
/// under an `/images/` folder (CDNs often drop the extension).
pub(crate) fn is_image_url(u: &str) -> bool {
    let lower = u.to_ascii_lowercase();
    let web = lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//");
    if !(web || lower.starts_with('/')) || lower.contains(char::is_whitespace) {
        return false;
    }
    let path = lower.split(['?', '#']).next().unwrap_or_default();
    const EXT: &[&str] = &[
        ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".bmp", ".tif", ".tiff", ".svg",
    ];
    EXT.iter().any(|e| path.ends_with(e)) || (web && path.contains("/images/"))
}

/// Text with a path separator between two words: `A > B`, `A >> B`, `A|B`.
fn is_path(v: &str) -> bool {
    let parts = v.split(['>', '|']).map(str::trim).filter(|s| !s.is_empty()).count();
    parts >= 2 && !v.contains("://") && !v.contains('<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls() {
        for ok in [
            "https://cdn.shopify.com/s/files/1/0/products/tee.jpg?v=1700000000",
            "https://m.media-amazon.com/images/I/51UsScvHQNL._SX300_SY300_QL70_FMwebp_.jpg",
            "http://img5a.flixcart.com/image/short/u/4/a/altht-3p-21-alisha-38-original-imaeh2d5vm5zbtgg.jpeg",
            "/m/b/mb01-blue-0.jpg",
            "https://example.com/images/12345",
        ] {
            assert!(is_image_url(ok), "{ok}");
        }
        for bad in [
            "https://example.com/product/12",
            "tee.jpg",
            "a photo.jpg",
            "",
            "https://x.test/a.jpg b",
        ] {
            assert!(!is_image_url(bad), "{bad}");
        }
    }

    #[test]
    fn profiles_say_what_a_column_holds() {
        let p = profile(["₹399", "₹1,099", "", "₹89"]);
        assert_eq!((p.rows, p.filled, p.priced), (4, 3, 3));
        assert_eq!(p.currencies.iter().copied().collect::<Vec<_>>(), ["INR"]);
        let p = profile(["Home > Kitchen", "Toys|Games", "Garden"]);
        assert_eq!(p.paths, 2);
        let p = profile(["USD", "EUR", "usd"]);
        assert_eq!(p.codes, 3);
        let p = profile(["0.0000", "0", "12", "P"]);
        assert_eq!((p.zeros, p.tiny), (2, 3));
        let p = profile(["A-1", "A-2", "A-2"]);
        assert_eq!((p.codes_like, p.distinct), (3, 2));
        assert!((profile(["ab", "abcd"]).mean_len() - 3.0).abs() < 1e-9);
        assert_eq!(profile(Vec::<&str>::new()).share(0), 0.0);
    }
}
