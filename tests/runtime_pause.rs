//! Pause bookkeeping across rebalances on a real broker: a partition the runtime paused (its
//! in-flight bound was full), revoked while paused and assigned back after the bound drained, is
//! consumed again. librdkafka keeps an application pause across revoke and re-assign, so the
//! runtime must resume what it is assigned; the broker-restart fault test found it stuck.
#![cfg(feature = "kafka-it")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use galley::error::StageError;
use galley::metrics::Metrics;
use galley::runtime::{Outcome, Output, Record, Stage};
use tokio::sync::watch;

/// Forwards records once its gate is open; counts what it finished.
#[derive(Clone)]
struct Gate {
    input: String,
    output: String,
    open: watch::Receiver<bool>,
    done: Arc<AtomicUsize>,
}

impl Stage for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn input_topics(&self) -> Vec<String> {
        vec![self.input.clone()]
    }
    async fn process(&self, r: &Record) -> Result<Outcome, StageError> {
        let _ = self.open.clone().wait_for(|open| *open).await;
        self.done.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome {
            label: "passed",
            outputs: vec![Output {
                topic: self.output.clone(),
                key: r.key.clone(),
                partition: None,
                payload: r.payload.clone(),
                headers: vec![],
            }],
        })
    }
}

fn has(m: &Metrics, line: &str) -> bool {
    m.render().lines().any(|l| l == line)
}

fn revokes(m: &Metrics) -> bool {
    m.render()
        .contains(r#"galley_rebalances_total{kind="revoke",stage="gate"}"#)
}

fn assigns(m: &Metrics) -> usize {
    m.render()
        .lines()
        .find(|l| l.starts_with(r#"galley_rebalances_total{kind="assign",stage="gate"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_revoked_while_paused_is_consumed_again_once_assigned_back() {
    const N: usize = 200;
    let (input, output) = (unique("repause-in"), unique("repause-out"));
    create_topics(&[&input, &output], 4).await;
    let group = unique("repause");
    let mut cfg = config(&group);
    cfg.kafka.session_timeout_ms = 6000;
    cfg.runtime.max_in_flight = 4;
    cfg.runtime.rebalance_drain_timeout_ms = 500;
    cfg.runtime.drain_timeout_ms = 4000;
    let (open, closed) = watch::channel(false);
    let gate = |open: watch::Receiver<bool>| Gate {
        input: input.clone(),
        output: output.clone(),
        open,
        done: Arc::new(AtomicUsize::new(0)),
    };
    let a_gate = gate(closed);
    let a = start(cfg.clone(), a_gate.clone());
    produce(&producer(), &input, &catalog(N, 50)).await;
    // A holds max_in_flight records; a second later it pauses its partitions for capacity.
    let paused = r#"galley_paused{reason="capacity",stage="gate"} 1"#;
    assert!(wait_until(Duration::from_secs(60), || has(&a.metrics, paused)).await);
    // B joins: A's partitions are revoked while paused.
    let b = start(cfg.clone(), gate(watch::channel(true).1));
    assert!(wait_until(Duration::from_secs(30), || revokes(&a.metrics)).await);
    // A's held records finish while it owns nothing (it resumes an empty assignment), then the
    // join completes (it takes a rebalance) and A gets partitions back.
    assert_eq!(assigns(&a.metrics), 1, "the gate opens before A is assigned again");
    open.send_replace(true);
    assert!(wait_until(Duration::from_secs(30), || assigns(&a.metrics) >= 2).await);
    let before = a_gate.done.load(Ordering::SeqCst);
    let consumed = || committed(&format!("{group}-gate"), &input, 4).values().sum::<i64>() == N as i64;
    let all = wait_until(Duration::from_secs(30), consumed).await;
    let after = a_gate.done.load(Ordering::SeqCst);
    b.stop().await;
    a.stop().await;
    assert!(all, "the group consumed every record");
    assert!(after > before, "A consumed its partitions after they came back");
}
