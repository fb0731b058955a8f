//! The pass-through stage: each input record goes to the output topic unchanged (key, value,
//! headers), after checking that it decodes as the configured schema. Undecodable records are
//! dead-lettered by the runtime with the decode error as the reason.

use crate::config::PassthroughConfig;
use crate::error::StageError;
use crate::runtime::{Outcome, Output, Record, Stage};
use crate::schema::{Registry, check_decodes};

/// Forwards records from `input` to `output`.
#[derive(Debug, Clone)]
pub struct Passthrough {
    cfg: PassthroughConfig,
    registry: &'static Registry,
}

impl Passthrough {
    /// A pass-through stage for `cfg`.
    pub fn new(cfg: PassthroughConfig) -> Self {
        Passthrough {
            cfg,
            registry: Registry::builtin(),
        }
    }
}

impl Stage for Passthrough {
    fn name(&self) -> &'static str {
        "passthrough"
    }

    fn input_topics(&self) -> Vec<String> {
        vec![self.cfg.input.clone()]
    }

    async fn process(&self, record: &Record) -> Result<Outcome, StageError> {
        let payload = record.payload.clone().unwrap_or_default();
        if !self.cfg.schema.is_empty() {
            check_decodes(self.registry, &self.cfg.schema, &payload)?;
        }
        Ok(Outcome {
            label: "passed",
            outputs: vec![Output {
                topic: self.cfg.output.clone(),
                key: record.key.clone(),
                partition: None,
                payload: Some(payload),
                headers: record.headers.clone(),
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CatalogChange, encode, names};

    fn stage() -> Passthrough {
        Passthrough::new(PassthroughConfig {
            input: "in".into(),
            output: "out".into(),
            schema: names::CATALOG_CHANGE.into(),
        })
    }

    fn record(payload: Vec<u8>) -> Record {
        Record {
            topic: "in".into(),
            partition: 0,
            offset: 7,
            key: Some(b"sku-1".to_vec()),
            payload: Some(payload),
            headers: vec![("h".into(), b"v".to_vec())],
            assignment: 1,
        }
    }

    #[tokio::test]
    async fn forwards_valid_records_unchanged() {
        let bytes = encode(
            Registry::builtin(),
            names::CATALOG_CHANGE,
            &CatalogChange::sample("sku-1", 1),
        )
        .unwrap();
        let out = stage().process(&record(bytes.clone())).await.unwrap();
        assert_eq!(out.label, "passed");
        assert_eq!(out.outputs.len(), 1);
        assert_eq!(out.outputs[0].topic, "out");
        assert_eq!(out.outputs[0].payload.as_deref(), Some(&bytes[..]));
        assert_eq!(out.outputs[0].key.as_deref(), Some(&b"sku-1"[..]));
        assert_eq!(out.outputs[0].headers, vec![("h".to_string(), b"v".to_vec())]);
    }

    #[tokio::test]
    async fn undecodable_records_are_permanent_errors_with_a_code() {
        let err = stage().process(&record(b"garbage".to_vec())).await.unwrap_err();
        assert_eq!(err.code(), "bad_framing");
        assert_eq!(err.kind(), crate::error::ErrorKind::Permanent);
    }
}
