//! The deployment files agree with the binary: every metric an alert or a dashboard panel queries
//! is one Galley exports; every alert has a runbook section; every `GALLEY_*` variable in the
//! compose file and the Kubernetes manifests, and the ConfigMap's config file, load with the
//! binary's own config loader; each stage's metrics port is what Prometheus scrapes; each KEDA
//! ScaledObject watches its stage's consumer group. promtool and docker-compose check their
//! files (skipped without them unless GALLEY_REQUIRE_DEPLOY_TOOLS=1; CI installs Debian's
//! prometheus and docker-compose packages and sets it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

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
fn every_metric_the_alerts_and_the_dashboard_query_is_exported() {
    let exported: BTreeSet<String> = galley::metrics::Metrics::new().families().iter().cloned().collect();
    let alerts = metric_names(&read("deploy/prometheus/alerts.yml"));
    let dashboard: serde_json::Value = serde_json::from_str(&read("deploy/grafana/galley.json")).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    let panels = metric_names(&exprs.join("\n"));
    for (what, queried) in [("alerts", &alerts), ("the dashboard", &panels)] {
        let unknown: Vec<_> = queried.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{what} query metrics Galley does not export: {unknown:?}"
        );
    }
    assert!(alerts.len() >= 8, "{alerts:?}");
    // What SREs asked the dashboard for (issue 8).
    for needed in [
        "galley_records_total",
        "galley_consumer_lag",
        "galley_dlq_total",
        "galley_breaker_state",
        "galley_model_tokens_total",
        "galley_model_cost_total",
        "galley_success_metric",
        "galley_review_queue_depth",
        "galley_review_age_seconds",
        "galley_rollout_mode",
    ] {
        assert!(panels.contains(needed), "no dashboard panel shows {needed}");
    }
}

fn yaml(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Loads a config from `GALLEY_*` pairs (and a file) as the binary would; panics with the errors.
fn loads(what: &str, file: Option<&Path>, env: &BTreeMap<String, String>) -> galley::config::GalleyConfig {
    let pairs = env
        .iter()
        .filter(|(k, _)| k.starts_with("GALLEY_"))
        .map(|(k, v)| (k.clone(), v.clone()));
    galley::config::GalleyConfig::load_with_env(file, pairs).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn port(listen: &str) -> &str {
    listen.rsplit(':').next().unwrap()
}

#[test]
fn the_compose_stack_sets_only_real_config_keys_and_prometheus_scrapes_every_galley_service() {
    let compose = &yaml("docker-compose.yml")[0];
    let services = compose["services"].as_hash().unwrap();
    let prometheus = read("deploy/prometheus/prometheus.yml");
    let mut galley = 0;
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        if svc["image"].as_str() != Some("galley:local") {
            continue;
        }
        galley += 1;
        assert_eq!(svc["build"]["dockerfile"].as_str(), Some("deploy/Dockerfile"), "{name}");
        let env: BTreeMap<String, String> = svc["environment"]
            .as_hash()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap().to_owned()))
            .collect();
        let cfg = loads(name, None, &env);
        let listen = if name == "console" {
            &cfg.console.listen
        } else {
            &cfg.http.listen
        };
        let target = format!("\"{name}:{}\"", port(listen));
        assert!(prometheus.contains(&target), "prometheus.yml does not scrape {target}");
    }
    assert_eq!(galley, 5, "quality, generate, review, experiment and the console");
}

#[test]
fn kubernetes_manifests_parse_and_agree_with_the_config() {
    let mut kinds: Vec<(String, String)> = Vec::new();
    let mut scaled: Vec<(String, String)> = Vec::new();
    let mut config_file = None;
    for entry in std::fs::read_dir(Path::new(ROOT).join("deploy/k8s")).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        for doc in yaml(&format!("deploy/k8s/{file}")) {
            let (kind, name) = (doc["kind"].as_str().unwrap(), doc["metadata"]["name"].as_str().unwrap());
            assert!(doc["apiVersion"].as_str().is_some(), "{kind} {name} has no apiVersion");
            kinds.push((kind.to_owned(), name.to_owned()));
            match kind {
                "ConfigMap" => config_file = doc["data"]["galley.toml"].as_str().map(str::to_owned),
                "ScaledObject" => {
                    let group = doc["spec"]["triggers"][0]["metadata"]["consumerGroup"]
                        .as_str()
                        .unwrap();
                    let target = doc["spec"]["scaleTargetRef"]["name"].as_str().unwrap();
                    scaled.push((target.to_owned(), group.to_owned()));
                }
                "Deployment" => {
                    let c = &doc["spec"]["template"]["spec"]["containers"][0];
                    let entries = c["env"].as_vec().unwrap();
                    // Secrets come from Secrets, optional ones (a plaintext cluster has none), and
                    // are never config keys themselves.
                    for e in entries.iter().filter(|e| e["value"].is_badvalue()) {
                        let secret = &e["valueFrom"]["secretKeyRef"];
                        let var = e["name"].as_str().unwrap();
                        assert!(!var.starts_with("GALLEY_"), "{name}: {var} from a Secret");
                        assert_eq!(secret["optional"].as_bool(), Some(true), "{name}: {var}");
                    }
                    let env: BTreeMap<String, String> = entries
                        .iter()
                        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_str()?.to_owned())))
                        .collect();
                    assert_eq!(
                        env.get("GALLEY_CONFIG").map(String::as_str),
                        Some("/etc/galley/galley.toml"),
                        "{name}"
                    );
                    let rest: BTreeMap<_, _> = env.into_iter().filter(|(k, _)| k != "GALLEY_CONFIG").collect();
                    loads(name, None, &rest);
                }
                _ => {}
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("galley.toml");
    std::fs::write(&file, config_file.expect("a ConfigMap with galley.toml")).unwrap();
    let cfg = loads("the ConfigMap's galley.toml", Some(&file), &BTreeMap::new());
    for stage in ["quality", "generate", "review", "experiment"] {
        let name = format!("galley-{stage}");
        for kind in ["Deployment", "Service", "PodDisruptionBudget", "ScaledObject"] {
            assert!(kinds.contains(&(kind.to_owned(), name.clone())), "no {kind} {name}");
        }
        let group = format!("{}-{stage}", cfg.kafka.group_prefix);
        assert!(
            scaled.contains(&(name, group.clone())),
            "the {stage} ScaledObject does not watch consumer group {group}: {scaled:?}"
        );
    }
    assert!(kinds.contains(&("Deployment".to_owned(), "galley-console".to_owned())));
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

/// False (and a message) when `tool` is missing, unless the tools are required.
fn have(tool: &str, package: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("GALLEY_REQUIRE_DEPLOY_TOOLS").is_err(),
        "GALLEY_REQUIRE_DEPLOY_TOOLS is set but {tool} is not installed (apt-get install {package})"
    );
    eprintln!("SKIPPED: {tool} not found (Debian: apt-get install {package})");
    false
}

#[test]
fn docker_compose_accepts_the_stack() {
    if !have("docker-compose", "docker-compose") {
        return;
    }
    let out = Command::new("docker-compose")
        .args(["config", "-q"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn promtool_accepts_the_config_the_rules_and_their_tests() {
    if !have("promtool", "prometheus") {
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
