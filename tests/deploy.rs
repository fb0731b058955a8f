//! The deployment files agree with the binary: every metric an alert queries is one Galley
//! exports, every alert has a runbook section, and promtool accepts the Prometheus config, the
//! rules and the rules' unit tests (skipped without promtool unless GALLEY_REQUIRE_PROMTOOL=1;
//! CI installs Debian's prometheus package and sets it).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `galley_*` name in `text`, histogram suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("galley_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        names.insert(base.to_owned());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_metric_the_alerts_query_is_exported() {
    let exported: BTreeSet<String> = galley::metrics::Metrics::new().families().iter().cloned().collect();
    let queried = metric_names(&read("deploy/prometheus/alerts.yml"));
    assert!(queried.len() >= 8, "{queried:?}");
    let unknown: Vec<_> = queried.difference(&exported).collect();
    assert!(
        unknown.is_empty(),
        "alerts query metrics Galley does not export: {unknown:?}"
    );
}

#[test]
fn every_alert_links_its_runbook_section() {
    let rules = read("deploy/prometheus/alerts.yml");
    let runbook = read("docs/runbook.md");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 8, "{alerts:?}");
    for alert in alerts {
        assert!(
            runbook.contains(&format!("\n## {alert}\n")),
            "docs/runbook.md has no section {alert}"
        );
        let link = format!("runbook_url: docs/runbook.md#{}", alert.to_lowercase());
        assert!(rules.contains(&link), "{alert} does not link {link}");
    }
}

#[test]
fn promtool_accepts_the_config_the_rules_and_their_tests() {
    if Command::new("promtool").arg("--version").output().is_err() {
        assert!(
            std::env::var("GALLEY_REQUIRE_PROMTOOL").is_err(),
            "GALLEY_REQUIRE_PROMTOOL is set but promtool is not installed (apt-get install prometheus)"
        );
        eprintln!("SKIPPED: promtool not found (Debian: apt-get install prometheus)");
        return;
    }
    let dir = Path::new(ROOT).join("deploy/prometheus");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "alerts.yml"],
        &["test", "rules", "alerts.test.yml"],
    ] {
        let out = Command::new("promtool").args(args).current_dir(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
