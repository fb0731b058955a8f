//! Loading, overriding and validating configuration.
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_load_and_validate() {
    let cfg = GalleyConfig::load_with_env(None, env(&[])).unwrap();
    assert_eq!(cfg.runtime.max_in_flight, 256);
    assert_eq!(cfg.topics.dlq, "galley.dlq");
}

#[test]
fn env_overrides_nested_keys_and_ignores_non_config_vars() {
    let cfg = GalleyConfig::load_with_env(
        None,
        env(&[
            ("GALLEY_RUNTIME__MAX_IN_FLIGHT", "64"),
            ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", "k1:9092,k2:9092"),
            ("GALLEY_LOG_FORMAT", "json"),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.runtime.max_in_flight, 64);
    assert_eq!(cfg.kafka.bootstrap_servers, "k1:9092,k2:9092");
}

#[test]
fn file_overrides_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("galley.toml");
    std::fs::write(
        &path,
        "[runtime]\nmax_in_flight = 9\n[kafka.properties]\n\"sasl.password\" = \"hunter2\"\n",
    )
    .unwrap();
    let cfg = GalleyConfig::load_with_env(Some(&path), env(&[])).unwrap();
    assert_eq!(cfg.runtime.max_in_flight, 9);
    assert!(
        !format!("{:?}", cfg.kafka).contains("hunter2"),
        "secrets must be masked"
    );
}

#[test]
fn unknown_key_is_an_error_naming_it() {
    let err = GalleyConfig::load_with_env(None, env(&[("GALLEY_RUNTIME__MAX_INFLIGHT", "3")])).unwrap_err();
    assert!(err.to_string().contains("max_inflight"), "{err}");
}

#[test]
fn every_invalid_key_is_listed() {
    let err = GalleyConfig::load_with_env(
        None,
        env(&[
            ("GALLEY_RUNTIME__MAX_IN_FLIGHT", "0"),
            ("GALLEY_RUNTIME__DRAIN_TIMEOUT_MS", "20000"),
            ("GALLEY_TOPICS__DLQ", "bad topic!"),
        ]),
    )
    .unwrap_err();
    let text = err.to_string();
    for key in ["runtime.max_in_flight", "runtime.drain_timeout_ms", "topics.dlq"] {
        assert!(text.contains(key), "{key} missing from: {text}");
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = GalleyConfig::load_with_env(Some(Path::new("/nonexistent/galley.toml")), env(&[])).unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}
