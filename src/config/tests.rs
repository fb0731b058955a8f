//! Loading, overriding and validating configuration.
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_load_and_validate() {
    let cfg = GalleyConfig::load_with_env(None, env(&[])).unwrap();
    assert_eq!(cfg.runtime.max_in_flight, 256);
    assert_eq!(cfg.runtime.max_unacked, 1024);
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
            ("GALLEY_MODEL_URL", "http://127.0.0.1:8087/v1"),
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

#[test]
fn generate_settings_are_checked_and_the_model_key_is_never_printed() {
    let cfg = GalleyConfig::load_with_env(
        None,
        env(&[
            ("GALLEY_MODEL__API_KEY", "sk-live-abcdef"),
            (
                "GALLEY_STAGES__GENERATE__USE_CASES__SUPPORT_REPLY__DAILY_TOKEN_BUDGET",
                "5",
            ),
        ]),
    )
    .unwrap();
    assert_eq!(cfg.model.key().as_deref(), Some("sk-live-abcdef"));
    assert!(!format!("{cfg:?}").contains("sk-live-abcdef"));
    assert_eq!(cfg.stages.generate.use_cases["support_reply"].daily_token_budget, 5);
    // 1000 tokens in at 0.15 and 1000 out at 0.60 per million tokens: 750 micros.
    assert_eq!(cfg.model.cost_micros(1000, 1000), 750);

    let file = |body: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(&path, body).unwrap();
        let err = GalleyConfig::load_with_env(Some(&path), env(&[])).unwrap_err();
        err.to_string()
    };
    let err = file(
        "[model]\nbase_url = \"localhost:8080\"\n[stages.generate]\napproved = \"\"\nprofiles = \"\"\ninteractions_input = \"\"\n\
         [rollout.homepage_blurb]\nmode = \"shadow\"\n\
         [stages.generate.use_cases.product_description]\nprompt = \"support_reply@1\"\n",
    );
    for expected in [
        "model.base_url",
        "rollout.homepage_blurb.mode: homepage_blurb is written from interest profiles",
        "use_cases.product_description.prompt \"support_reply@1\" must be product_description@<version>",
        "use_cases.product_description.fallbacks has last_approved but stages.generate.approved is empty",
        "use_cases.product_description.max_interactions counts interactions, but stages.generate.interactions_input is empty",
    ] {
        assert!(err.contains(expected), "{expected} missing from: {err}");
    }
    let err = file(
        "[stages.generate.use_cases.blog_post]\nprompt = \"x@1\"\nfallbacks = []\ndaily_token_budget = 0\ndaily_cost_budget = 0.0\n",
    );
    assert!(err.contains("unknown use case \"blog_post\""), "{err}");
    assert!(
        err.contains("stages.generate.use_cases.blog_post has no [rollout.blog_post]"),
        "{err}"
    );
}

#[test]
fn exactly_once_needs_acks_all() {
    let load = |acks: &str| {
        GalleyConfig::load_with_env(
            None,
            env(&[("GALLEY_RUNTIME__EXACTLY_ONCE", "true"), ("GALLEY_KAFKA__ACKS", acks)]),
        )
    };
    let err = load("1").unwrap_err().to_string();
    assert!(err.contains("runtime.exactly_once needs kafka.acks = \"all\""), "{err}");
    assert!(load("all").unwrap().runtime.exactly_once);
}

fn with_file(body: &str, pairs: &[(&str, &str)]) -> Result<GalleyConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("galley.toml");
    std::fs::write(&path, body).unwrap();
    GalleyConfig::load_with_env(Some(&path), env(pairs))
}

fn props(cfg: &GalleyConfig) -> BTreeMap<&'static str, String> {
    cfg.kafka.security.client_properties().into_iter().collect()
}

#[test]
fn sasl_ssl_reads_its_password_from_the_named_variable_and_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let cfg = GalleyConfig::load_with_env(
        None,
        env(&[
            ("GALLEY_KAFKA__SECURITY__PROTOCOL", "SASL_SSL"),
            ("GALLEY_KAFKA__SECURITY__CA_FILE", ca.to_str().unwrap()),
            ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "scram-sha-512"),
            ("GALLEY_KAFKA__SECURITY__SASL__USERNAME", "galley"),
            ("GALLEY_KAFKA__SECURITY__SASL__PASSWORD_ENV", "KAFKA_PASSWORD"),
            ("KAFKA_PASSWORD", "rotate-me-0451"),
        ]),
    )
    .unwrap();
    let p = props(&cfg);
    assert_eq!(p["security.protocol"], "sasl_ssl");
    assert_eq!(p["sasl.mechanism"], "SCRAM-SHA-512");
    assert_eq!(p["sasl.username"], "galley");
    assert_eq!(p["sasl.password"], "rotate-me-0451");
    assert_eq!(p["ssl.ca.location"], ca.to_str().unwrap());
    assert!(
        !format!("{cfg:?}").contains("rotate-me-0451"),
        "Debug masks the password"
    );
    assert_eq!(
        secrets::scrub("SASL authentication error for rotate-me-0451"),
        "SASL authentication error for ****"
    );
}

#[test]
fn plaintext_sets_nothing_so_raw_properties_keep_working() {
    let cfg = with_file("[kafka.properties]\n\"security.protocol\" = \"sasl_plaintext\"\n", &[]).unwrap();
    assert!(props(&cfg).is_empty());
    assert_eq!(cfg.kafka.properties["security.protocol"], "sasl_plaintext");
}

#[test]
fn every_security_mistake_is_named_at_load() {
    let load = |pairs: &[(&str, &str)]| GalleyConfig::load_with_env(None, env(pairs)).unwrap_err().to_string();
    let err = load(&[
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "SCRAM-SHA-256"),
        ("GALLEY_KAFKA__SECURITY__SASL__PASSWORD_ENV", "NOT_SET_ANYWHERE"),
        ("GALLEY_KAFKA__SECURITY__CA_FILE", "/nonexistent/ca.pem"),
        ("GALLEY_KAFKA__SECURITY__CERT_FILE", "/nonexistent/client.pem"),
    ]);
    for expected in [
        "kafka.security.sasl.username is needed for SCRAM-SHA-256",
        "kafka.security.sasl.password_env names \"NOT_SET_ANYWHERE\", which is not set",
        "kafka.security.ca_file \"/nonexistent/ca.pem\" cannot be read",
        "kafka.security.cert_file and kafka.security.key_file go together",
    ] {
        assert!(err.contains(expected), "{expected} missing from: {err}");
    }
    let err = load(&[("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "PLAIN")]);
    assert!(
        err.contains("needs kafka.security.protocol sasl_ssl or sasl_plaintext"),
        "{err}"
    );
    let err = load(&[("GALLEY_KAFKA__SECURITY__PROTOCOL", "tls")]);
    assert!(err.contains("kafka.security.protocol must be plaintext, ssl"), "{err}");
    let err = load(&[
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "SCRAM-SHA-1"),
    ]);
    assert!(
        err.contains("kafka.security.sasl.mechanism must be one of PLAIN"),
        "{err}"
    );
    let err = with_file(
        "[kafka.properties]\n\"ssl.ca.location\" = \"/etc/ca.pem\"\n",
        &[("GALLEY_KAFKA__SECURITY__PROTOCOL", "ssl")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("kafka.properties.\"ssl.ca.location\" is set by [kafka.security]"),
        "{err}"
    );
    let err = load(&[
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "GSSAPI"),
    ]);
    assert_eq!(
        err.contains("needs a Galley built with `--features gssapi`"),
        !cfg!(feature = "gssapi"),
        "{err}"
    );
}

#[test]
fn oauthbearer_fetches_tokens_from_the_oidc_endpoint() {
    let base = [
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "OAUTHBEARER"),
    ];
    let err = GalleyConfig::load_with_env(None, env(&base)).unwrap_err().to_string();
    for expected in [
        "kafka.security.oidc.token_endpoint must be the OIDC token URL",
        "kafka.security.oidc.client_id is needed",
        "kafka.security.oidc.client_secret_env must name",
    ] {
        assert!(err.contains(expected), "{expected} missing from: {err}");
    }
    let mut pairs = base.to_vec();
    pairs.extend([
        (
            "GALLEY_KAFKA__SECURITY__OIDC__TOKEN_ENDPOINT",
            "https://idp.example/oauth2/token",
        ),
        ("GALLEY_KAFKA__SECURITY__OIDC__CLIENT_ID", "galley"),
        ("GALLEY_KAFKA__SECURITY__OIDC__CLIENT_SECRET_ENV", "OIDC_SECRET"),
        (
            "GALLEY_KAFKA__SECURITY__OIDC__EXTENSIONS",
            "logicalCluster=lkc-1,identityPoolId=pool-2",
        ),
        ("OIDC_SECRET", "s3cret-value"),
    ]);
    let cfg = GalleyConfig::load_with_env(None, env(&pairs)).unwrap();
    let p = props(&cfg);
    assert_eq!(p["sasl.oauthbearer.method"], "oidc");
    assert_eq!(
        p["sasl.oauthbearer.token.endpoint.url"],
        "https://idp.example/oauth2/token"
    );
    assert_eq!(p["sasl.oauthbearer.client.secret"], "s3cret-value");
    assert!(!p.contains_key("sasl.username"));
    assert!(!format!("{cfg:?}").contains("s3cret-value"));
}

#[test]
fn the_schema_registry_password_comes_from_the_environment_and_never_prints() {
    let base = [
        ("GALLEY_SCHEMA_REGISTRY__URL", "https://registry.example"),
        ("GALLEY_SCHEMA_REGISTRY__USERNAME", "key"),
        ("GALLEY_SCHEMA_REGISTRY__PASSWORD_ENV", "SR_SECRET"),
    ];
    let err = GalleyConfig::load_with_env(None, env(&base)).unwrap_err().to_string();
    assert!(
        err.contains("schema_registry.password_env") && err.contains("SR_SECRET"),
        "{err}"
    );
    let mut with_secret = base.to_vec();
    with_secret.push(("SR_SECRET", "s3cret-registry-value"));
    let cfg = GalleyConfig::load_with_env(None, env(&with_secret)).unwrap();
    assert_eq!(cfg.schema_registry.password.expose(), "s3cret-registry-value");
    assert!(!format!("{cfg:?}").contains("s3cret-registry-value"));
    let bad = GalleyConfig::load_with_env(None, env(&[("GALLEY_SCHEMA_REGISTRY__URL", "registry:8081")]))
        .unwrap_err()
        .to_string();
    assert!(bad.contains("schema_registry.url"), "{bad}");
}
