//! The Python baseline of `galley bench quality`: scripts/bench/quality.py, the quality stage's
//! checks written as an idiomatic confluent-kafka consume → process → produce loop, run as a
//! child process on the same pre-filled topic. Its venv comes from scripts/bench/setup.sh.
//!
//! Besides its rate, the bench compares what it wrote with what Galley wrote: the outcome counts
//! must be equal (that is what makes the ratio a comparison of the same work), and every
//! validated and needs-enrichment record is compared whole, decoded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use galley::config::GalleyConfig;
use galley::runtime::read_to_end;
use galley::schema::{Registry, ValidatedProduct, decode, names};
use rdkafka::Message;
use serde::{Deserialize, Serialize};

/// The source tree this binary was built from: where the script and its venv live.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The interpreter and script to run.
pub(super) struct Baseline {
    python: PathBuf,
    script: PathBuf,
}

/// Finds the baseline: `explicit` (`--python`) must exist; without it, the venv of
/// scripts/bench/setup.sh is used when present, and its absence is a reason to skip (returned
/// as the message to show), not an error.
pub(super) fn locate(explicit: Option<&Path>) -> anyhow::Result<Result<Baseline, String>> {
    let script = Path::new(REPO).join("scripts/bench/quality.py");
    let python = match explicit {
        Some(p) if p.exists() => p.to_owned(),
        Some(p) => bail!("--python {} does not exist", p.display()),
        None => {
            let venv = Path::new(REPO).join(".cache/bench-venv/bin/python");
            if !venv.exists() {
                return Ok(Err(format!(
                    "no Python baseline venv at {}; create it with {REPO}/scripts/bench/setup.sh \
                     (or pass --python PATH to an interpreter with confluent-kafka and fastavro)",
                    venv.display()
                )));
            }
            venv
        }
    };
    if !script.exists() {
        return Ok(Err(format!("{} is missing (not a source checkout?)", script.display())));
    }
    Ok(Ok(Baseline { python, script }))
}

/// The topics of one Python run.
pub(super) struct PyTopics<'a> {
    pub(super) input: &'a str,
    pub(super) validated: &'a str,
    pub(super) needs_enrichment: &'a str,
    pub(super) dlq: &'a str,
}

/// What the script printed.
#[derive(Debug, Deserialize, Serialize, Clone)]
pub(super) struct PyRun {
    /// Records processed and committed.
    pub(super) processed: usize,
    /// Count per outcome: validated, needs_enrichment, skipped, dlq.
    pub(super) outcomes: BTreeMap<String, u64>,
    /// Skipped records by reason: unchanged, stale, deleted.
    pub(super) skipped: BTreeMap<String, u64>,
    /// First delivered output to last completed record.
    pub(super) seconds: f64,
    /// (processed - 1) / seconds, as Galley's rate is computed.
    pub(super) msgs_per_s: f64,
}

impl Baseline {
    /// Runs the script over the first `n` records of `topics.input` with a fresh group.
    pub(super) async fn run(
        &self,
        cfg: &GalleyConfig,
        topics: &PyTopics<'_>,
        group: &str,
        n: usize,
    ) -> anyhow::Result<PyRun> {
        let q = &cfg.stages.quality;
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(&self.script)
            .args(["--bootstrap-servers", &cfg.kafka.bootstrap_servers])
            .args(["--input", topics.input, "--validated", topics.validated])
            .args(["--needs-enrichment", topics.needs_enrichment, "--dlq", topics.dlq])
            .args(["--group", group, "--messages", &n.to_string()])
            .args(["--session-timeout-ms", &cfg.kafka.session_timeout_ms.to_string()])
            // Through the environment, not argv: the properties may hold SASL secrets.
            .env("BENCH_KAFKA_PROPERTIES", serde_json::to_string(&cfg.kafka.properties)?)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        // The same rules and taxonomy as the stage: the configured files, else the built-in
        // ones, which are the script's defaults.
        for (flag, file) in [("--rules", &q.rules_file), ("--taxonomy", &q.taxonomy_file)] {
            if let Some(f) = file.as_ref().filter(|f| !f.as_os_str().is_empty()) {
                cmd.arg(flag).arg(f);
            }
        }
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running {} {}", self.python.display(), self.script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        if !out.status.success() {
            bail!("the Python baseline failed ({}): {last}", out.status);
        }
        let mut run: PyRun =
            serde_json::from_str(last).with_context(|| format!("reading the Python baseline's report: {last:?}"))?;
        // Galley's metrics have no zero counts; neither may these, to compare equal.
        run.outcomes.retain(|_, n| *n > 0);
        run.skipped.retain(|_, n| *n > 0);
        Ok(run)
    }
}

/// Galley's and Python's records compared, decoded, as multisets.
#[derive(Debug, Serialize, Default)]
pub(super) struct Comparison {
    /// Records on Galley's validated and needs-enrichment topics (tombstones included).
    pub(super) galley_records: usize,
    /// The same on Python's.
    pub(super) python_records: usize,
    /// Records equal in route, key and every decoded field, pairing each at most once.
    pub(super) identical: usize,
    /// A Galley record without an equal Python record, and Python's record of the same route,
    /// sku and version if there is one.
    pub(super) first_difference: Option<String>,
}

/// Reads both sides' validated and needs-enrichment topics and compares them record by record.
pub(super) async fn compare(cfg: &GalleyConfig, galley: [&str; 2], python: [&str; 2]) -> anyhow::Result<Comparison> {
    let (mut g, mut p) = (records(cfg, galley).await?, records(cfg, python).await?);
    g.sort();
    p.sort();
    let mut c = Comparison {
        galley_records: g.len(),
        python_records: p.len(),
        ..Comparison::default()
    };
    let (mut i, mut j) = (0, 0);
    while i < g.len() && j < p.len() {
        match g[i].cmp(&p[j]) {
            std::cmp::Ordering::Equal => {
                c.identical += 1;
                (i, j) = (i + 1, j + 1);
            }
            std::cmp::Ordering::Less => {
                c.first_difference.get_or_insert_with(|| difference(&g[i], &p));
                i += 1;
            }
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    if let Some(rest) = g.get(i) {
        c.first_difference.get_or_insert_with(|| difference(rest, &p));
    }
    Ok(c)
}

/// One record in comparable form: (route, key, sku and version, the whole decoded record).
type Canonical = (usize, String, String, String);

fn difference(galley: &Canonical, python: &[Canonical]) -> String {
    let twin = python
        .iter()
        .find(|p| (p.0, &p.1, &p.2) == (galley.0, &galley.1, &galley.2))
        .map_or("none", |p| p.3.as_str());
    format!("galley {} / python {twin}", galley.3)
}

async fn records(cfg: &GalleyConfig, topics: [&str; 2]) -> anyhow::Result<Vec<Canonical>> {
    let mut out = Vec::new();
    for (route, topic) in topics.into_iter().enumerate() {
        for m in read_to_end(&cfg.kafka, topic, Duration::from_secs(60)).await? {
            let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
            let (id, whole) = match m.payload() {
                None => (String::new(), "tombstone".to_owned()),
                Some(bytes) => {
                    let v: ValidatedProduct = decode(Registry::builtin(), names::VALIDATED_PRODUCT, bytes)
                        .with_context(|| format!("decoding a record of {topic}"))?;
                    (format!("{}@{}", v.sku, v.version), serde_json::to_string(&v)?)
                }
            };
            out.push((route, key, id, whole));
        }
    }
    Ok(out)
}
