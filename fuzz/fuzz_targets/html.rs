//! The quality stage's HTML stripping: whatever goes in, no tag comes out (escaped markup is
//! decoded to a fixed point first).
#![no_main]

use galley::quality::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let out = normalize::strip_html(s);
    let bytes = out.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'<' {
            let next = bytes.get(i + 1).copied().unwrap_or(b' ');
            assert!(
                !(next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')),
                "a tag survived: {out:?} from {s:?}"
            );
        }
    }
    let _ = normalize::text(s);
});
