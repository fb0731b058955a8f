//! Confluent wire framing: magic byte `0`, a big-endian `u32` schema id, then the Avro datum.
//!
//! Length is checked before any slice so a truncated or foreign message is an error, never a panic.

use thiserror::Error;

/// The only magic byte the Confluent format defines.
const MAGIC: u8 = 0;
/// Magic byte plus the 4-byte schema id.
const HEADER_LEN: usize = 5;

/// Why bytes could not be unframed. Every variant is permanent: retrying cannot fix the bytes.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The message had no bytes at all.
    #[error("empty message")]
    Empty,
    /// Fewer than the 5 header bytes.
    #[error("message of {0} bytes is shorter than the 5-byte Confluent header")]
    TooShort(usize),
    /// First byte was not the Confluent magic byte.
    #[error("magic byte {0:#04x} is not the Confluent magic byte 0x00")]
    BadMagic(u8),
}

/// A message split into its schema id and Avro body.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Schema id from the header.
    pub schema_id: u32,
    /// The Avro datum, without header.
    pub body: &'a [u8],
}

/// Prefixes an Avro datum with the Confluent header for `schema_id`.
pub fn frame(schema_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a framed message; rejects empty, short and wrong-magic input.
pub fn unframe(bytes: &[u8]) -> Result<Frame<'_>, WireError> {
    match bytes {
        [] => Err(WireError::Empty),
        [magic, ..] if *magic != MAGIC => Err(WireError::BadMagic(*magic)),
        [_, a, b, c, d, body @ ..] => Ok(Frame {
            schema_id: u32::from_be_bytes([*a, *b, *c, *d]),
            body,
        }),
        short => Err(WireError::TooShort(short.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_id_and_body() {
        let framed = frame(0x0102_0304, b"avro");
        assert_eq!(&framed[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(
            unframe(&framed),
            Ok(Frame {
                schema_id: 0x0102_0304,
                body: b"avro"
            })
        );
    }

    #[test]
    fn rejects_empty_short_and_foreign_bytes() {
        assert_eq!(unframe(b""), Err(WireError::Empty));
        assert_eq!(unframe(&[0, 0, 1]), Err(WireError::TooShort(3)));
        assert_eq!(unframe(b"{\"json\":1}"), Err(WireError::BadMagic(b'{')));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = unframe(&bytes);
        }

        #[test]
        fn frame_then_unframe_is_identity(id in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let framed = frame(id, &body);
            let f = unframe(&framed).unwrap();
            prop_assert_eq!(f.schema_id, id);
            prop_assert_eq!(f.body, &body[..]);
        }
    }
}
