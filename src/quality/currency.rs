//! ISO-4217 currency codes in use (2026), so a typo like "USS" or a symbol like "$" is caught
//! before a price reaches a model or a storefront.

use std::sync::LazyLock;

/// The codes file: one code per line, sorted; `#` starts a comment line. A data file rather than
/// a Rust array so the Python baseline of `galley bench quality` checks against the same list.
const CODES_FILE: &str = include_str!("currency-codes.txt");

/// Active ISO-4217 alphabetic codes, sorted for binary search.
static CODES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    CODES_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// True for an active ISO-4217 code (exact, upper case).
pub(crate) fn is_iso4217(code: &str) -> bool {
    known(code).is_some()
}

/// The list's own entry for an active ISO-4217 code (exact, upper case), which lives as long
/// as the program.
pub(crate) fn known(code: &str) -> Option<&'static &'static str> {
    let codes: &'static [&'static str] = &CODES;
    codes.binary_search(&code).ok().map(|i| &codes[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_and_checked() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        for ok in ["USD", "EUR", "INR", "JPY"] {
            assert!(is_iso4217(ok), "{ok}");
        }
        for bad in ["usd", "USS", "$", "", "EURO"] {
            assert!(!is_iso4217(bad), "{bad}");
        }
    }
}
