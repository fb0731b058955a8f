//! Starting without a broker: a clear error after `kafka.connect_timeout_ms`, not ready meanwhile.
//! Needs no broker, so it always runs.

use std::time::{Duration, Instant};

use galley::config::GalleyConfig;
use galley::metrics::Metrics;
use galley::runtime::{RuntimeError, StageRuntime};
use galley::stages::Passthrough;
use tokio_util::sync::CancellationToken;

fn unreachable_config() -> GalleyConfig {
    let env = [
        ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1"),
        ("GALLEY_KAFKA__CONNECT_TIMEOUT_MS", "2000"),
        ("GALLEY_HTTP__LISTEN", "127.0.0.1:0"),
    ];
    GalleyConfig::load_with_env(None, env.map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_is_not_ready_then_a_clear_error() {
    let cfg = unreachable_config();
    let rt = StageRuntime::new(
        cfg.clone(),
        Passthrough::new(cfg.stages.passthrough.clone()),
        Metrics::new(),
    );
    let health = rt.health();
    let started = Instant::now();
    let task = tokio::spawn(rt.run(CancellationToken::new()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        health
            .not_ready_reasons()
            .iter()
            .any(|r| r.contains("broker not connected"))
    );
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, RuntimeError::Setup(_)), "{err}");
    let text = err.to_string();
    assert!(text.contains("127.0.0.1:1") && text.contains("unreachable"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn binary_reports_bad_config_keys_and_exits_1() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["run", "--stage", "passthrough"])
        .env("GALLEY_RUNTIME__MAX_IN_FLIGHT", "0")
        .env("GALLEY_TOPICS__DLQ", "no spaces allowed")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runtime.max_in_flight") && err.contains("topics.dlq"),
        "{err}"
    );
}

#[test]
fn demo_runs_on_the_embedded_broker_and_balances_the_books() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_galley"))
        .args(["demo", "--exit-when-done", "--listen", "127.0.0.1:0"])
        .env("GALLEY_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Books: 64 in = 64 terminal outcomes = 61 records out + 3 skipped: balanced"),
        "{stdout}"
    );
    // The quality stage ran: thin products held back, PII redacted before it left the stage.
    assert!(stdout.contains("Records on catalog.needs-enrichment: 2"), "{stdout}");
    assert!(stdout.contains("Email me at [EMAIL] or call [PHONE]"), "{stdout}");
    assert!(!stdout.contains("sam.lee@example.com"), "{stdout}");
    assert!(
        stdout.contains("bad_framing 1, empty_message 1, oversized 1, unknown_schema_id 1"),
        "{stdout}"
    );
    // The generate stage drafted what quality validated: 50 products, 2 questions, and folded
    // the view and the search into a profile, whose segment got a homepage blurb and an email;
    // the fake model's outage was covered by template copy.
    assert!(
        stdout.contains(
            "Books: 54 in = 54 terminal outcomes = 53 drafted (54 drafts) + 1 aggregated + 0 skipped + 0 dlq: balanced"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Interest profiles on interactions.profiles: 1 customers"),
        "{stdout}"
    );
    assert!(stdout.contains("product_description by template for"), "{stdout}");
    assert!(stdout.contains("  support_reply        "), "{stdout}");
    // The review stage routed every draft and the scripted reviewer decided the whole queue;
    // support replies, in shadow by default, were routed to a human but written to
    // content.shadow only.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("Books: 54 drafts + ") && l.ends_with(" dlq: balanced") && l.contains(" + 0 dlq")),
        "{stdout}"
    );
    assert!(
        stdout.contains("support_reply        policy    review (shadow, unpublished)          2"),
        "{stdout}"
    );
    assert!(stdout.contains("| product_description | "), "{stdout}");
    // The experiment act: a simulated storefront through the experiment stage, whose totals
    // equal the simulation's, judged and decided (the storefront's seed is fixed: the AI copy
    // truly sells 50% better, and the stage proposes its promotion without applying it).
    assert!(stdout.contains("its totals equal the simulation's"), "{stdout}");
    assert!(stdout.contains("## product_description: propose_promotion"), "{stdout}");
    assert!(
        stdout.contains("Proposed on galley.control by stage:experiment"),
        "{stdout}"
    );
}
