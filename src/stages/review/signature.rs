//! Signed decisions. With `stages.review.decision_key_env` naming a variable that holds a key,
//! the console signs every decision it produces (HMAC-SHA256 over its fields, in the
//! `galley.decision.signature` header) and the review stage applies only decisions whose
//! signature checks, so a record written to content.decisions by anything but the console is
//! refused. The key is read from the environment and never logged.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::schema::ReviewDecision;

/// Header holding the hex signature.
pub const HEADER: &str = "galley.decision.signature";

/// A decision-signing key.
#[derive(Clone)]
pub struct DecisionKey(Vec<u8>);

impl std::fmt::Debug for DecisionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecisionKey(***)")
    }
}

impl DecisionKey {
    /// The key in the variable `env` names; `None` when `env` is empty or the variable unset.
    pub fn from_env(env: &str) -> Option<Self> {
        (!env.is_empty())
            .then(|| std::env::var(env).ok())
            .flatten()
            .filter(|k| !k.is_empty())
            .map(|k| DecisionKey(k.into_bytes()))
    }

    /// A key from bytes (tests).
    pub fn new(key: &[u8]) -> Self {
        DecisionKey(key.to_vec())
    }

    fn mac(&self, key: &str, d: &ReviewDecision) -> Hmac<Sha256> {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        // Length-prefixed fields, so no two decisions share a message.
        let fields: [&[u8]; 7] = [
            key.as_bytes(),
            d.draft_id.as_bytes(),
            d.reviewer.as_bytes(),
            d.action.as_str().as_bytes(),
            d.edited_text.as_deref().unwrap_or("\u{0}").as_bytes(),
            d.reason.as_deref().unwrap_or("\u{0}").as_bytes(),
            &d.decided_ms.to_be_bytes(),
        ];
        for f in fields {
            m.update(&(f.len() as u64).to_be_bytes());
            m.update(f);
        }
        m
    }

    /// The signature of `d` under the record key `key`, as hex.
    pub fn sign(&self, key: &str, d: &ReviewDecision) -> String {
        self.mac(key, d)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` (hex) is `d`'s, checked in constant time.
    pub fn verify(&self, key: &str, d: &ReviewDecision, signature: &[u8]) -> bool {
        let Some(bytes) = std::str::from_utf8(signature)
            .ok()
            .filter(|s| s.len() == 64)
            .and_then(|s| {
                (0..32)
                    .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
        else {
            return false;
        };
        self.mac(key, d).verify_slice(&bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DecisionAction;

    #[test]
    fn a_signature_holds_only_for_its_own_decision_and_key() {
        let d = ReviewDecision {
            draft_id: "d-1".into(),
            reviewer: "ana".into(),
            action: DecisionAction::Approve,
            edited_text: None,
            reason: None,
            decided_ms: 7,
        };
        let k = DecisionKey::new(b"secret");
        let sig = k.sign("sku-1", &d);
        assert!(k.verify("sku-1", &d, sig.as_bytes()));
        assert!(!k.verify("sku-2", &d, sig.as_bytes()), "another subject");
        let rejected = ReviewDecision {
            action: DecisionAction::Reject,
            ..d.clone()
        };
        assert!(!k.verify("sku-1", &rejected, sig.as_bytes()), "another action");
        assert!(
            !DecisionKey::new(b"other").verify("sku-1", &d, sig.as_bytes()),
            "another key"
        );
        assert!(!k.verify("sku-1", &d, b"zz"), "garbage");
        assert_eq!(format!("{k:?}"), "DecisionKey(***)");
    }
}
