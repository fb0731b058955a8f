//! Galley against Apache Kafka's secured listeners (`scripts/install-kafka.sh` with
//! `GALLEY_KAFKA_SECURE=1`, which `scripts/test.sh` sets for the single node): SASL_SSL with
//! SCRAM and PLAIN users, mTLS, and OAUTHBEARER validated by Kafka's own JWT validator against
//! the JWKS of a test identity provider served here, over a test CA made by
//! `scripts/kafka-tls.sh`. A stage runs end to end over each; a wrong password, an untrusted CA,
//! an expired client certificate, a missing one and a wrong OIDC client secret each stop
//! `galley run` at start with a message that names what to fix, well within
//! `kafka.connect_timeout_ms`, never with a hang or a panic, and never with the password.
#![cfg(feature = "kafka-it")]

mod common;
#[path = "common/stage_process.rs"]
mod stage_process;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use stage_process::StageProcess;

/// `$KAFKA_DIR/secure.env`, written by install-kafka.sh for the secured single node.
struct Secure {
    sasl_ssl: String,
    mtls: String,
    oauth: String,
    tls: PathBuf,
    user: String,
    password: String,
}

fn secure() -> Secure {
    let dir = std::env::var("KAFKA_DIR").expect("KAFKA_DIR must name the test broker's directory; run scripts/test.sh");
    let path = PathBuf::from(&dir).join("secure.env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} unreadable ({e}): the test broker must be started with GALLEY_KAFKA_SECURE=1 (scripts/test.sh does)",
            path.display()
        )
    });
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let tls = PathBuf::from(env["KAFKA_TLS_DIR"]);
    Secure {
        sasl_ssl: env["KAFKA_SASL_SSL_HOST"].to_owned(),
        mtls: env["KAFKA_MTLS_HOST"].to_owned(),
        oauth: env["KAFKA_OAUTH_HOST"].to_owned(),
        password: std::fs::read_to_string(tls.join("scram.password"))
            .unwrap()
            .trim()
            .to_owned(),
        user: env["KAFKA_SCRAM_USER"].to_owned(),
        tls,
    }
}

/// What a test's stage is told: where to connect and how, as an operator would, by environment.
fn file(s: &Secure, name: &str) -> String {
    s.tls.join(name).to_str().unwrap().to_owned()
}

fn sasl_env(s: &Secure, mechanism: &str, password: &str, ca: &str) -> Vec<(String, String)> {
    pairs(&[
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", &s.sasl_ssl),
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__CA_FILE", &file(s, ca)),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", mechanism),
        ("GALLEY_KAFKA__SECURITY__SASL__USERNAME", &s.user),
        ("GALLEY_KAFKA__SECURITY__SASL__PASSWORD_ENV", "TEST_KAFKA_PASSWORD"),
        ("TEST_KAFKA_PASSWORD", password),
    ])
}

fn mtls_env(s: &Secure, cert: Option<&str>) -> Vec<(String, String)> {
    let mut env = pairs(&[
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", &s.mtls),
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "ssl"),
        ("GALLEY_KAFKA__SECURITY__CA_FILE", &file(s, "ca.pem")),
    ]);
    if let Some(cert) = cert {
        env.extend(pairs(&[
            ("GALLEY_KAFKA__SECURITY__CERT_FILE", &file(s, &format!("{cert}.pem"))),
            ("GALLEY_KAFKA__SECURITY__KEY_FILE", &file(s, &format!("{cert}.key"))),
        ]));
    }
    env
}

fn oauth_env(s: &Secure, token_endpoint: &str, secret: &str) -> Vec<(String, String)> {
    pairs(&[
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", &s.oauth),
        ("GALLEY_KAFKA__SECURITY__PROTOCOL", "sasl_ssl"),
        ("GALLEY_KAFKA__SECURITY__CA_FILE", &file(s, "ca.pem")),
        ("GALLEY_KAFKA__SECURITY__SASL__MECHANISM", "OAUTHBEARER"),
        ("GALLEY_KAFKA__SECURITY__OIDC__TOKEN_ENDPOINT", token_endpoint),
        ("GALLEY_KAFKA__SECURITY__OIDC__CLIENT_ID", IDP_CLIENT),
        ("GALLEY_KAFKA__SECURITY__OIDC__CLIENT_SECRET_ENV", "TEST_OIDC_SECRET"),
        ("GALLEY_KAFKA__SECURITY__OIDC__SCOPE", "kafka"),
        ("TEST_OIDC_SECRET", secret),
    ])
}

const IDP_CLIENT: &str = "galley";
const IDP_SECRET: &str = "idp-secret-8d1f";

/// The test identity provider: an OAuth 2 token endpoint (client credentials, HTTP Basic) that
/// signs ES256 JWTs with the key whose JWKS the broker validates against (issuer
/// galley-test-idp, audience galley-test). Returns the endpoint's URL and how many tokens it
/// issued.
async fn identity_provider(s: &Secure) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pem = std::fs::read_to_string(s.tls.join("oidc.key")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let rng = ring::rand::SystemRandom::new();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &STANDARD.decode(body).unwrap(), &rng).unwrap();
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = issued.clone();
    let token = move |headers: HeaderMap| {
        let expected = format!("Basic {}", STANDARD.encode(format!("{IDP_CLIENT}:{IDP_SECRET}")));
        let authorised = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
        let json = [(CONTENT_TYPE, "application/json")];
        if !authorised {
            return (
                StatusCode::UNAUTHORIZED,
                json,
                r#"{"error":"invalid_client"}"#.to_owned(),
            );
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signed = format!(
            "{}.{}",
            part(serde_json::json!({"alg": "ES256", "typ": "JWT", "kid": "galley-test"})),
            part(
                serde_json::json!({"sub": IDP_CLIENT, "iss": "galley-test-idp", "aud": "galley-test", "scope": "kafka", "iat": now, "exp": now + 3600})
            )
        );
        let sig = key.sign(&ring::rand::SystemRandom::new(), signed.as_bytes()).unwrap();
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let jwt = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        (
            StatusCode::OK,
            json,
            serde_json::json!({"access_token": jwt, "token_type": "Bearer", "expires_in": 3600}).to_string(),
        )
    };
    // Handlers must be Clone; the signing key is not, so the issuer is shared.
    let token = std::sync::Arc::new(token);
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |h: HeaderMap| std::future::ready(token(h))),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, issued)
}

fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A pass-through stage between fresh topics (made over the plaintext listener), connecting
/// with `security`.
async fn stage(name: &str, security: &[(String, String)]) -> (StageProcess, String, String) {
    let (input, output, dlq) = (
        unique(&format!("{name}-in")),
        unique(&format!("{name}-out")),
        unique(&format!("{name}-dlq")),
    );
    create_topics(&[&input, &output, &dlq], 2).await;
    let mut env = child_env(&unique(name), &input, &output, &dlq);
    env.extend(security.iter().cloned());
    let stage = StageProcess::spawn(
        name,
        "passthrough",
        &env,
        &[("GALLEY_KAFKA__CONNECT_TIMEOUT_MS", "20000")],
    );
    (stage, input, output)
}

/// Every record produced to `input` comes out of the secured stage, which then drains on SIGTERM.
async fn runs_end_to_end(name: &str, security: Vec<(String, String)>) {
    const N: usize = 200;
    let (mut stage, input, output) = stage(name, &security).await;
    produce(&producer(), &input, &catalog(N, 50)).await;
    let out = read_at_least(&output, N, Duration::from_secs(60)).await;
    let versions: HashSet<i64> = out.iter().map(version_of).collect();
    assert_eq!(
        versions.len(),
        N,
        "every record passed the secured stage; its log:\n{}",
        stage.log_tail(30)
    );
    assert!(
        stage.count("Connected to Kafka.") > 0,
        "the stage connected over its secured listener"
    );
    assert_eq!(
        stage.terminate(Duration::from_secs(20)).await,
        0,
        "{}",
        stage.log_tail(30)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_runs_end_to_end_over_sasl_ssl_with_scram() {
    let s = secure();
    runs_end_to_end("scram", sasl_env(&s, "SCRAM-SHA-512", &s.password, "ca.pem")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_runs_end_to_end_over_mtls() {
    let s = secure();
    runs_end_to_end("mtls", mtls_env(&s, Some("client"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_runs_end_to_end_over_oauthbearer_with_tokens_from_an_oidc_endpoint() {
    let s = secure();
    let (endpoint, issued) = identity_provider(&s).await;
    runs_end_to_end("oauth", oauth_env(&s, &endpoint, IDP_SECRET)).await;
    assert!(
        issued.load(std::sync::atomic::Ordering::Relaxed) >= 1,
        "librdkafka fetched its token from the endpoint"
    );
}

/// Each refusal ends `galley run` at start with exit code 1 and a message naming the key to fix,
/// long before the 20 s connect timeout, without a panic and without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_and_certificates_stop_the_start_with_a_clear_message() {
    let s = secure();
    let cases = [
        (
            "wrong password (SCRAM-SHA-256)",
            sasl_env(&s, "SCRAM-SHA-256", "not-the-password", "ca.pem"),
            "rejected Galley's authentication (check kafka.security.sasl",
        ),
        (
            "wrong password (PLAIN)",
            sasl_env(&s, "PLAIN", "not-the-password", "ca.pem"),
            "rejected Galley's authentication",
        ),
        (
            "untrusted CA",
            sasl_env(&s, "SCRAM-SHA-256", &s.password, "untrusted-ca.pem"),
            "does not trust the broker's certificate: check kafka.security.ca_file",
        ),
        (
            "expired client certificate",
            mtls_env(&s, Some("expired-client")),
            "the broker refused Galley's client certificate",
        ),
        (
            "no client certificate",
            mtls_env(&s, None),
            "the broker refused Galley's client certificate",
        ),
    ];
    let (endpoint, _) = identity_provider(&s).await;
    let cases = cases.into_iter().chain([(
        "wrong OIDC client secret",
        oauth_env(&s, &endpoint, "not-the-secret"),
        "the identity provider refused Galley: check kafka.security.oidc",
    )]);
    for (case, security, expected) in cases {
        let started = Instant::now();
        let (mut stage, _, _) = stage("refused", &security).await;
        let code = stage.wait_exit(Duration::from_secs(30)).await;
        let waited = started.elapsed();
        // The stderr reader may trail the exit by a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let log = stage.log();
        eprintln!("{case}: exit {code} after {waited:.1?}");
        assert_eq!(code, 1, "{case}: log:\n{log}");
        assert!(log.contains(expected), "{case}: expected {expected:?} in:\n{log}");
        assert!(!log.contains("panicked"), "{case}: {log}");
        assert!(!log.contains(&s.password), "{case}: the password leaked:\n{log}");
        assert!(
            waited < Duration::from_secs(15),
            "{case}: refused after {waited:?}, not at once"
        );
    }
}

/// Sets `user`'s SCRAM-SHA-256 password on the broker, as an operator rotating it would, with
/// Kafka's own ConfigCommand over the plaintext listener.
fn set_scram_password(user: &str, password: &str) {
    let dir = PathBuf::from(std::env::var("KAFKA_DIR").unwrap());
    let out = std::process::Command::new("java")
        .args(["-Xmx256m", "-XX:TieredStopAtLevel=1"])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            dir.join("log4j2.properties").display()
        ))
        // The logging config writes under kafka.logs.dir; unset, a folder of that name here.
        .arg(format!("-Dkafka.logs.dir={}", dir.display()))
        .arg("-cp")
        .arg(format!("{}/*", dir.join("libs").display()))
        .arg("org.apache.kafka.tools.ConfigCommand")
        .args(["--bootstrap-server", &kafka_host(), "--alter", "--entity-type", "users"])
        .args(["--entity-name", user, "--add-config"])
        .arg(format!("SCRAM-SHA-256=[password={password}]"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A password rotated on the broker while the stage runs (its SCRAM-SHA-256 sessions must
/// re-authenticate every 5 s): the refusal is counted in `galley_kafka_rejections_total`, the
/// stage keeps running, nothing is dead-lettered or lost, and once the credential is valid again
/// the records produced meanwhile flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_rotated_mid_run_is_reported_and_loses_nothing() {
    let s = secure();
    let user = unique("rotated");
    let first = "first-password-8c2e";
    set_scram_password(&user, first);
    let mut security = sasl_env(&s, "SCRAM-SHA-256", first, "ca.pem");
    for (k, v) in &mut security {
        if k == "GALLEY_KAFKA__SECURITY__SASL__USERNAME" {
            v.clone_from(&user);
        }
    }
    let (mut stage, input, output) = stage("rotated", &security).await;
    let records = catalog(40, 40);
    produce(&producer(), &input, &records[..20]).await;
    assert_eq!(read_at_least(&output, 20, Duration::from_secs(60)).await.len(), 20);

    set_scram_password(&user, "rotated-password-51f0");
    let rotated = Instant::now();
    let rejected = |m: &str| stage_process::metric(m, "galley_kafka_rejections_total", &["kind=\"authentication\""]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while rejected(&stage.metrics().await) < 1.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        rejected(&stage.metrics().await) >= 1.0,
        "the refusal is counted; log:\n{}",
        stage.log_tail(30)
    );
    eprintln!("refusal counted {:.1?} after the rotation", rotated.elapsed());
    produce(&producer(), &input, &records[20..]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(stage.is_running(), "a refusal mid-run is waited out, not fatal");
    assert!(
        stage.log().contains("rejected") || stage.log().contains("Authentication failed"),
        "the log says the broker refused the credentials:\n{}",
        stage.log_tail(30)
    );
    assert!(!stage.log().contains(first), "the password leaked");

    // The operator restores the credential the stage holds; the waiting records flow.
    set_scram_password(&user, first);
    let restored = Instant::now();
    let out = read_at_least(&output, 40, Duration::from_secs(90)).await;
    eprintln!(
        "flowing again {:.1?} after the credential was restored",
        restored.elapsed()
    );
    let versions: HashSet<i64> = out.iter().map(version_of).collect();
    assert_eq!(versions.len(), 40, "nothing lost; log:\n{}", stage.log_tail(30));
    assert_eq!(
        stage.terminate(Duration::from_secs(20)).await,
        0,
        "{}",
        stage.log_tail(30)
    );
}
