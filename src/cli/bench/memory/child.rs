//! The generate stage as a child process (`galley run --stage generate`, this same binary),
//! configured for the memory bench through the environment on top of the parent's config file,
//! and watched through its `/proc` status and its /metrics.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use galley::config::GalleyConfig;

use super::{MemoryBenchArgs, Rss, rss};

/// A running child stage; stopped with SIGTERM by [`StageChild::stop`], killed if dropped.
pub(super) struct StageChild {
    child: tokio::process::Child,
    pid: u32,
    /// `http://127.0.0.1:PORT`, the child's admin server.
    admin: String,
    http: reqwest::Client,
}

/// What the child's /metrics said.
pub(super) struct Scrape {
    /// `galley_in_flight{stage="generate"}`.
    pub(super) in_flight: u64,
    /// `galley_records_total{stage="generate",outcome="drafted"}`.
    pub(super) drafted: u64,
}

impl StageChild {
    /// Starts the stage on the bench's topics (named from `prefix`) and model, and waits until
    /// its /readyz says it joined its group.
    pub(super) async fn start(
        cfg: &GalleyConfig,
        config_file: Option<&Path>,
        prefix: &str,
        args: &MemoryBenchArgs,
        model_url: &str,
    ) -> anyhow::Result<Self> {
        // A free port for the admin server: bound, read and released (the child binds it next).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let uc = "GALLEY_STAGES__GENERATE__USE_CASES__PRODUCT_DESCRIPTION";
        let env = [
            (
                "GALLEY_KAFKA__BOOTSTRAP_SERVERS".to_owned(),
                cfg.kafka.bootstrap_servers.clone(),
            ),
            ("GALLEY_KAFKA__GROUP_PREFIX".into(), prefix.to_owned()),
            ("GALLEY_TOPICS__CONTROL".into(), format!("{prefix}-control")),
            ("GALLEY_TOPICS__DLQ".into(), format!("{prefix}-dlq")),
            ("GALLEY_RUNTIME__MAX_IN_FLIGHT".into(), args.in_flight.to_string()),
            ("GALLEY_HTTP__LISTEN".into(), format!("127.0.0.1:{port}")),
            ("GALLEY_MODEL__BASE_URL".into(), model_url.to_owned()),
            // Every request waits the whole latency; none may time out and be retried.
            (
                "GALLEY_MODEL__TIMEOUT_MS".into(),
                (args.model_latency_ms + 60_000).to_string(),
            ),
            (
                "GALLEY_STAGES__GENERATE__CATALOG_INPUT".into(),
                format!("{prefix}-validated"),
            ),
            ("GALLEY_STAGES__GENERATE__DRAFTS".into(), format!("{prefix}-drafts")),
            // Every input and table as deployed, on the bench's own (empty) topics.
            (
                "GALLEY_STAGES__GENERATE__INTERACTIONS_INPUT".into(),
                format!("{prefix}-interactions"),
            ),
            ("GALLEY_STAGES__GENERATE__APPROVED".into(), format!("{prefix}-approved")),
            ("GALLEY_STAGES__GENERATE__PROFILES".into(), format!("{prefix}-profiles")),
            // A day's budget would run out within the run and turn drafts into template copy.
            (format!("{uc}__DAILY_TOKEN_BUDGET"), "0".into()),
            (format!("{uc}__DAILY_COST_BUDGET"), "0".into()),
            ("GALLEY_LOG".into(), "warn".into()),
        ];
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut cmd = tokio::process::Command::new(&exe);
        if let Some(f) = config_file {
            cmd.arg("--config").arg(f);
        }
        let child = cmd
            .args(["run", "--stage", "generate"])
            .envs(env)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} run --stage generate", exe.display()))?;
        let pid = child.id().context("the child stage exited at once")?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut me = StageChild {
            child,
            pid,
            admin: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = me.child.try_wait()? {
                bail!("the child stage exited before it was ready: {status}");
            }
            let ready = me.http.get(format!("{}/readyz", me.admin)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(me);
            }
            if started.elapsed() > Duration::from_secs(90) {
                bail!("the child stage was not ready within 90 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The child's process id.
    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// The child's resident memory now and at its peak.
    pub(super) fn status(&self) -> anyhow::Result<Rss> {
        rss(Some(self.pid))
    }

    /// The child's open file descriptors (sockets included); 0 when unreadable.
    pub(super) fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map_or(0, |d| d.count())
    }

    /// Scrapes the child's /metrics.
    pub(super) async fn metrics(&self) -> anyhow::Result<Scrape> {
        let text = self
            .http
            .get(format!("{}/metrics", self.admin))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let value = |family: &str, labels: &[&str]| {
            text.lines()
                .filter(|l| l.starts_with(family) && labels.iter().all(|x| l.contains(x)))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .map(|v| v as u64)
                .sum::<u64>()
        };
        Ok(Scrape {
            in_flight: value("galley_in_flight{", &["stage=\"generate\""]),
            drafted: value("galley_records_total{", &["stage=\"generate\"", "outcome=\"drafted\""]),
        })
    }

    /// SIGTERM (the stage drains, commits and leaves its group), then waits; killed after 30 s.
    pub(super) async fn stop(mut self) -> anyhow::Result<()> {
        if let Ok(pid) = i32::try_from(self.pid) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("the child stage exited with {status}");
                }
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the child stage did not stop within 30 s of SIGTERM; killed");
            }
        }
        Ok(())
    }
}
