//! A stage as operators run it: the `galley` binary as a child process, with its log collected
//! (to wait for assignments) and its admin server scraped (to read its metrics).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::common::{collect_stderr, wait_until};

/// A running `galley run --stage …` child; killed (SIGKILL) if dropped while running.
pub struct StageProcess {
    /// For messages: which member this is.
    pub name: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl StageProcess {
    /// Starts `galley run --stage <stage>` with `env` and then `extra` (which wins), logging
    /// JSON at info so assignments and the admin address can be read from the log.
    pub fn spawn(name: &str, stage: &str, env: &[(String, String)], extra: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_galley"))
            .args(["run", "--stage", stage])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("GALLEY_LOG", "info")
            .env("GALLEY_LOG_FORMAT", "json")
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("galley binary starts");
        let log = collect_stderr(&mut child);
        StageProcess {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Its last `n` log lines, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until it logged `needle`; false after `limit`.
    pub async fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        wait_until(limit, || self.count(needle) > 0).await
    }

    /// How many times it logged `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log.lock().unwrap().matches(needle).count()
    }

    /// How many assignments it received so far.
    pub fn assignments(&self) -> usize {
        self.count("Partitions assigned.")
    }

    /// Waits until it logged its `n`th assignment.
    pub async fn wait_assigned(&self, n: usize, limit: Duration) {
        let got = wait_until(limit, || self.assignments() >= n).await;
        assert!(
            got,
            "{} got no assignment #{n} within {limit:?}:\n{}",
            self.name,
            self.log_tail(30)
        );
    }

    /// The admin server's address, from its "Admin server listening." line.
    pub async fn admin(&self) -> SocketAddr {
        let found = || {
            let log = self.log();
            let line = log.lines().find(|l| l.contains("Admin server listening."))?;
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            v["fields"]["addr"].as_str()?.parse().ok()
        };
        assert!(
            wait_until(Duration::from_secs(30), || found().is_some()).await,
            "{} logged no admin address:\n{}",
            self.name,
            self.log_tail(30)
        );
        found().unwrap()
    }

    /// Its `/metrics` text (empty if it does not answer).
    pub async fn metrics(&self) -> String {
        let addr = self.admin().await;
        let fetch = async {
            let mut s = TcpStream::connect(addr).await.ok()?;
            s.write_all(b"GET /metrics HTTP/1.0\r\nHost: galley\r\n\r\n")
                .await
                .ok()?;
            let mut text = String::new();
            s.read_to_string(&mut text).await.ok()?;
            Some(text.split_once("\r\n\r\n")?.1.to_string())
        };
        tokio::time::timeout(Duration::from_secs(5), fetch)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Whether it has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `sig` to it.
    pub fn signal(&self, sig: i32) {
        let pid = self.child.id().expect("child is running") as i32;
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "signal {sig} to {pid}");
    }

    /// `kill -9`, and waits for it to be gone.
    pub async fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        self.child.wait().await.unwrap();
    }

    /// Its exit code once it exits by itself (within `limit`).
    pub async fn wait_exit(&mut self, limit: Duration) -> i32 {
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {limit:?}:\n{}", self.name, self.log_tail(30)))
            .unwrap();
        status.code().unwrap_or(-1)
    }

    /// SIGTERM; the exit code once it exited (within `limit`).
    pub async fn terminate(&mut self, limit: Duration) -> i32 {
        self.signal(libc::SIGTERM);
        let status = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit within {limit:?}:\n{}", self.name, self.log_tail(30)))
            .unwrap();
        status.code().unwrap_or(-1)
    }
}

/// Sum of the samples of `family` whose labels contain every one of `labels`.
pub fn metric(text: &str, family: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>()
        + 0.0 // an empty sum is -0.0
}
