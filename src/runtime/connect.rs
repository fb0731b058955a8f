//! The broker-connection wait every command starts with, and what it tells an operator when the
//! brokers refuse Galley: a wrong password or an untrusted certificate is a rejection, reported
//! at once with librdkafka's reason, not a retry loop that looks like an outage.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use thiserror::Error;
use tracing::{error, info, warn};

use super::kafka::client_config;
use crate::config::{KafkaConfig, ms};

/// Could not talk to Kafka.
#[derive(Debug, Error)]
pub enum KafkaSetupError {
    /// A client could not be created (bad librdkafka property).
    #[error("cannot create Kafka client: {0}")]
    Client(#[from] KafkaError),
    /// Brokers did not answer within `kafka.connect_timeout_ms`.
    #[error("brokers {servers} unreachable for {waited:?} (kafka.connect_timeout_ms); last error: {last}")]
    Unreachable {
        /// Configured bootstrap servers.
        servers: String,
        /// Time spent trying.
        waited: Duration,
        /// Last error seen.
        last: String,
    },
    /// The brokers answered but refused the connection's credentials or certificates.
    #[error("brokers {servers} rejected Galley's {kind} ({}): {reason}", hint(*.kind, .reason))]
    Rejected {
        /// Configured bootstrap servers.
        servers: String,
        /// `authentication` (SASL) or `TLS` (certificates).
        kind: Rejection,
        /// librdkafka's words.
        reason: String,
    },
}

/// Why brokers refused a connection: a configuration fault, not an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// SASL: wrong user, password, mechanism or token.
    Authentication,
    /// TLS: an untrusted, expired or missing certificate, or TLS against a plaintext listener.
    Tls,
}

impl Rejection {
    /// The `kind` label of `galley_kafka_rejections_total`.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Authentication => "authentication",
            Rejection::Tls => "tls",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rejection::Authentication => "authentication",
            Rejection::Tls => "TLS handshake",
        })
    }
}

/// Which keys to look at, by what librdkafka said.
fn hint(kind: Rejection, reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    match kind {
        Rejection::Authentication if r.contains("oidc") => {
            "the identity provider refused Galley: check kafka.security.oidc: token_endpoint, client_id and the secret its client_secret_env names"
        }
        Rejection::Authentication => {
            "check kafka.security.sasl: the mechanism, the user and the password its password_env names"
        }
        Rejection::Tls if r.contains("verify failed") => {
            "Galley does not trust the broker's certificate: check kafka.security.ca_file"
        }
        Rejection::Tls if r.contains("alert") => {
            "the broker refused Galley's client certificate: check kafka.security.cert_file is given, unexpired and signed by a CA the broker trusts"
        }
        Rejection::Tls => "check kafka.security: the protocol matches the listener, and the certificate files",
    }
}

/// Classifies one librdkafka error or log line; `None` for everything that may pass by itself
/// (a broker down, a timeout, a token endpoint that is unreachable for now).
pub(crate) fn rejection(message: &str) -> Option<Rejection> {
    let m = message.to_ascii_lowercase();
    const AUTH: &[&str] = &[
        "sasl authentication error",
        "authentication failed",
        "invalid username or password",
        "unsupported sasl mechanism",
        "sasl handshake failed",
    ];
    // The first kind is Galley distrusting the broker, the rest the broker refusing Galley (a
    // TLS alert; Java sends "certificate unknown" for an expired client certificate).
    const TLS: &[&str] = &[
        "ssl handshake failed",
        "certificate verify failed",
        "certificate expired",
        "certificate required",
        "certificate unknown",
        "certificate revoked",
        "unsupported certificate",
        "unknown ca",
        "bad certificate",
        "alert handshake failure",
    ];
    // The identity provider refusing the client (400 invalid_client/grant, 401, 403) is a
    // refusal; one that is unreachable or failing (5xx) is an outage of a dependency.
    let idp_refused = m.contains("oidc token") && ["(400)", "(401)", "(403)"].iter().any(|c| m.contains(c));
    if idp_refused || AUTH.iter().any(|p| m.contains(p)) {
        Some(Rejection::Authentication)
    } else if TLS.iter().any(|p| m.contains(p)) {
        Some(Rejection::Tls)
    } else {
        None
    }
}

/// The probe's context: librdkafka tells why a connection failed only in its log lines, so the
/// last rejection among them is kept for the attempt that failed.
#[derive(Default)]
struct ProbeContext {
    rejected: Mutex<Option<(Rejection, String)>>,
}

impl ProbeContext {
    /// The refusal seen since the last call, as the attempt's result.
    fn take(&self) -> Option<Attempt> {
        let seen = self.rejected.lock().unwrap_or_else(|p| p.into_inner()).take();
        seen.map(|(kind, reason)| Attempt::Rejected(kind, reason))
    }

    fn note(&self, message: &str) {
        if let Some(kind) = rejection(message) {
            *self.rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some((kind, message.to_owned()));
        }
    }
}

/// librdkafka's log line through tracing, as rust-rdkafka's default does; `true` when it is a
/// warning or worse (the lines that say why a connection failed).
pub(crate) fn forward_log(level: RDKafkaLogLevel, fac: &str, line: &str) -> bool {
    use RDKafkaLogLevel::*;
    match level {
        Emerg | Alert | Critical | Error => error!(target: "librdkafka", "librdkafka: {fac} {line}"),
        Warning => warn!(target: "librdkafka", "librdkafka: {fac} {line}"),
        Notice | Info => info!(target: "librdkafka", "librdkafka: {fac} {line}"),
        Debug => tracing::debug!(target: "librdkafka", "librdkafka: {fac} {line}"),
    }
    (level as i32) <= Warning as i32
}

impl ClientContext for ProbeContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if forward_log(level, fac, log_message) {
            self.note(log_message);
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.note(reason);
        error!(target: "librdkafka", message = "Kafka client error.", %error, reason);
    }
}

impl ConsumerContext for ProbeContext {}

enum Attempt {
    Retry(String),
    Rejected(Rejection, String),
}

/// Waits until the brokers answer a metadata request and every topic in `topics` exists,
/// retrying with capped exponential backoff and a clear log line per attempt. A rejection
/// (authentication or TLS) ends the wait at once, whatever `connect_timeout_ms` is.
pub async fn wait_for_brokers(kafka: &KafkaConfig, topics: &[String]) -> Result<(), KafkaSetupError> {
    let probe: BaseConsumer<ProbeContext> =
        client_config(kafka, "probe").create_with_context(ProbeContext::default())?;
    let probe = Arc::new(probe);
    let started = std::time::Instant::now();
    let limit = (kafka.connect_timeout_ms > 0).then(|| ms(kafka.connect_timeout_ms));
    let policy = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .with_total_delay(limit)
        .without_max_times();
    let check = || {
        let probe = probe.clone();
        let topics = topics.to_vec();
        async move {
            tokio::task::spawn_blocking(move || {
                // librdkafka's log lines and error events wait in the client's queue until it is
                // polled, so one attempt asks in short steps and reads the queue in between: a
                // refusal is seen within half a second, not after the whole request timeout.
                let until = std::time::Instant::now() + Duration::from_secs(5);
                let md = loop {
                    match probe.fetch_metadata(None, Duration::from_millis(500)) {
                        Ok(md) => break md,
                        Err(e) => {
                            while probe.poll(Duration::from_millis(10)).is_some() {}
                            if let Some(refused) = probe.context().take() {
                                return Err(refused);
                            }
                            if std::time::Instant::now() >= until {
                                return Err(Attempt::Retry(e.to_string()));
                            }
                        }
                    }
                };
                let missing: Vec<_> = topics
                    .iter()
                    .filter(|t| {
                        !md.topics()
                            .iter()
                            .any(|mt| mt.name() == t.as_str() && mt.error().is_none())
                    })
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(Attempt::Retry(format!("topics not found: {}", missing.join(", "))))
                }
            })
            .await
            .map_err(|e| Attempt::Retry(e.to_string()))?
        }
    };
    let last = Mutex::new(String::from("no attempt finished"));
    let attempts = check
        .retry(policy)
        .when(|a| matches!(a, Attempt::Retry(_)))
        .notify(|a: &Attempt, next: Duration| {
            if let Attempt::Retry(err) = a {
                warn!(message = "Kafka not ready, retrying.", servers = %kafka.bootstrap_servers, error = %err, retry_in = ?next);
                *last.lock().unwrap_or_else(|p| p.into_inner()) = err.clone();
            }
        });
    // The policy bounds the sleeps; the timeout also bounds attempts that hang on a dead address.
    let result = match limit {
        // An attempt cut short may already have seen the refusal that explains it.
        Some(limit) => tokio::time::timeout(limit, attempts)
            .await
            .unwrap_or_else(|_| Err(probe.context().take().unwrap_or(Attempt::Retry(String::new())))),
        None => attempts.await,
    };
    let servers = kafka.bootstrap_servers.clone();
    match result {
        Ok(()) => {
            info!(message = "Connected to Kafka.", servers = %kafka.bootstrap_servers, waited = ?started.elapsed());
            Ok(())
        }
        Err(Attempt::Rejected(kind, reason)) => Err(KafkaSetupError::Rejected { servers, kind, reason }),
        Err(Attempt::Retry(e)) => Err(KafkaSetupError::Unreachable {
            servers,
            waited: started.elapsed(),
            last: if e.is_empty() {
                last.into_inner().unwrap_or_else(|p| p.into_inner())
            } else {
                e
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_apart_from_outages() {
        // librdkafka 2.12's own lines, as seen against Apache Kafka 4.4.
        let auth = "sasl_ssl://127.0.0.1:9093/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256 (after 9ms in state AUTH_REQ)";
        let ca = "ssl://127.0.0.1:9094/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 4ms in state SSL_HANDSHAKE)";
        assert_eq!(rejection(auth), Some(Rejection::Authentication));
        assert_eq!(rejection(ca), Some(Rejection::Tls));
        let expired = "ssl://127.0.0.1:9094/bootstrap: Receive failed: error:0A000416:SSL routines::sslv3 alert certificate unknown: SSL alert number 46 (after 1ms in state APIVERSION_QUERY)";
        assert_eq!(rejection(expired), Some(Rejection::Tls));
        assert!(hint(Rejection::Tls, expired).contains("kafka.security.cert_file"));
        assert!(hint(Rejection::Tls, ca).contains("kafka.security.ca_file"));
        let idp = "OIDC [thrd:background]: Failed to retrieve OIDC token from \"http://127.0.0.1:33275/token\": {\"error\":\"invalid_client\"} (401)";
        assert_eq!(rejection(idp), Some(Rejection::Authentication));
        assert!(hint(Rejection::Authentication, idp).contains("kafka.security.oidc"));
        for outage in [
            "Failed to retrieve OIDC token from \"https://idp.example/token\": upstream connect error (503)",
            "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in state CONNECT)",
            "1/1 brokers are down",
            "Failed to acquire SASL OAUTHBEARER token: Failed to retrieve OIDC token from \"http://127.0.0.1:1/token\": Couldn't connect to server",
        ] {
            assert_eq!(rejection(outage), None, "{outage}");
        }
    }
}
