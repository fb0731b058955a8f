//! Confluent framing: any bytes unframe to an id and a payload inside them, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = galley::schema::unframe(data) {
        assert!(f.body.len() + 5 <= data.len());
        assert_eq!(galley::schema::frame(f.schema_id, f.body), data);
    }
});
