//! The review checks over any text: findings with spans inside the text on character
//! boundaries, or none, never a panic.
#![no_main]

use std::sync::LazyLock;

use galley::review::{Checker, Draft, PolicyConfig};
use galley::schema::{GeneratorKind, ValidatedProduct};
use libfuzzer_sys::fuzz_target;

static CHECKER: LazyLock<Checker> = LazyLock::new(|| Checker::new(PolicyConfig::builtin()));
static PRODUCT: LazyLock<ValidatedProduct> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../product.json")).expect("fuzz/product.json is a ValidatedProduct")
});

fuzz_target!(|text: &str| {
    for (use_case, product) in [("product_description", Some(&*PRODUCT)), ("support_reply", None)] {
        let d = Draft {
            use_case,
            text,
            title: None,
            product,
            locale: "en-IN",
            generator: GeneratorKind::Model,
            id: "fuzz",
            known_answers: &[],
        };
        for f in CHECKER.check(&d) {
            if let (Some(s), Some(e)) = (f.span_start, f.span_end) {
                let (s, e) = (s as usize, e as usize);
                assert!(s <= e && e <= text.len(), "{f:?}");
                assert!(text.is_char_boundary(s) && text.is_char_boundary(e), "{f:?}");
            }
        }
    }
});
