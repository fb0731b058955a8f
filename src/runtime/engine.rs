//! The runtime loop: intake with key-ordered dispatch, completions first (`biased`), periodic
//! commits of each partition's completed prefix, pause/resume, and the shutdown drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::Producer;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::context::GalleyContext;
use super::dlq::StormGuard;
use super::job::{Event, Job, JobContext, JobKey, Judged};
use super::partitions::Partitions;
use super::scheduler::KeyQueues;
use super::stage::{Record, Stage, header_pairs};
use super::transaction::{TransactionError, Transactions};
use crate::config::ms;
use crate::metrics::Metrics;

/// Copies a consumed message out of the consumer's buffer so a task can own it.
fn record_of(m: &BorrowedMessage<'_>) -> Record {
    Record {
        topic: m.topic().to_owned(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec),
        headers: header_pairs(m.headers()),
        assignment: 0,
    }
}

/// Why intake is paused; several may hold at once.
#[derive(Default)]
struct PauseReasons {
    /// Full for longer than [`LONG_FULL`]: pause so the loop can keep polling for rebalances.
    capacity: bool,
    dependency: bool,
    storm_until: Option<Instant>,
}

/// How long the runtime may sit at `max_in_flight` without polling the consumer. Short stalls
/// are handled by not taking records from librdkafka's local queue (cheap); a longer one pauses
/// the partitions (which discards the prefetch) so the loop polls again and rebalances and
/// `max.poll.interval.ms` are served.
const LONG_FULL: Duration = Duration::from_secs(1);

impl PauseReasons {
    fn any(&self) -> bool {
        self.capacity || self.dependency || self.storm_until.is_some()
    }
}

/// Mutable state of the loop; owned by the one task that runs it.
pub(crate) struct Engine<S: Stage> {
    pub(crate) jobs: Arc<JobContext<S>>,
    pub(crate) consumer: StreamConsumer<GalleyContext>,
    pub(crate) partitions: Partitions,
    pub(crate) metrics: Metrics,
    pub(crate) events: mpsc::UnboundedReceiver<Event>,
    pub(crate) assignment_changed: Arc<AtomicBool>,
    pub(crate) tracker: TaskTracker,
    pub(crate) queues: KeyQueues<JobKey, Job>,
    /// Records accepted and not yet done, but for those counted in `unacked`.
    pub(crate) in_flight: usize,
    /// Records whose outputs are queued in the producer, waiting for acknowledgements.
    pub(crate) unacked: usize,
    pub(crate) storm: StormGuard,
    reasons: PauseReasons,
    paused: bool,
    /// Since when the runtime has been [`full`](Self::full).
    full_since: Option<Instant>,
    /// Exactly-once mode: commits go through transactions instead of the consumer.
    txn: Option<Transactions>,
}

impl<S: Stage> Engine<S> {
    pub(crate) fn new(
        jobs: Arc<JobContext<S>>,
        consumer: StreamConsumer<GalleyContext>,
        partitions: Partitions,
        events: mpsc::UnboundedReceiver<Event>,
        assignment_changed: Arc<AtomicBool>,
        txn: Option<Transactions>,
    ) -> Self {
        let s = &jobs.cfg.runtime.dlq_storm;
        let storm = StormGuard::new(ms(s.window_ms), s.max_ratio, s.min_records);
        Engine {
            metrics: jobs.metrics.clone(),
            jobs,
            consumer,
            partitions,
            events,
            assignment_changed,
            tracker: TaskTracker::new(),
            queues: KeyQueues::default(),
            in_flight: 0,
            unacked: 0,
            storm,
            reasons: PauseReasons::default(),
            paused: false,
            full_since: None,
            txn,
        }
    }

    fn stage(&self) -> &'static str {
        self.jobs.stage.name()
    }

    /// Runs until `shutdown`, then drains, commits and flushes. Fails only in exactly-once mode,
    /// when a transaction could not be committed (the caller stops the stage).
    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> Result<(), TransactionError> {
        let interval = ms(self.jobs.cfg.runtime.commit_interval_ms);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_tick = Instant::now();
        loop {
            tokio::select! {
                biased;
                Some(event) = self.events.recv() => self.on_event(event),
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
                msg = self.consumer.recv(), if self.polling() => match msg.map(|m| record_of(&m)) {
                    Ok(record) => self.on_message(record),
                    Err(error) => warn!(message = "Consumer error.", %error, stage = self.stage()),
                },
            }
            // Checked after every branch, not only when the tick wins the select: under a steady
            // stream of completions the biased select could otherwise starve commits and widen
            // what a crash redelivers.
            if last_tick.elapsed() >= interval {
                last_tick = Instant::now();
                self.on_tick().await?;
            }
            self.apply_pause();
        }
        self.drain().await
    }

    /// Take records while below the bounds; while paused, poll anyway so rebalance callbacks
    /// run (paused partitions deliver nothing new).
    fn polling(&self) -> bool {
        !self.full() || self.paused
    }

    /// At either bound: records being processed, or records waiting for acknowledgements.
    fn full(&self) -> bool {
        let rt = &self.jobs.cfg.runtime;
        self.in_flight >= rt.max_in_flight || self.unacked >= rt.max_unacked
    }

    /// Records in the stage and not done: what `galley_in_flight` shows and a drain waits for.
    fn unfinished(&self) -> usize {
        self.in_flight + self.unacked
    }

    fn show_in_flight(&self) {
        self.metrics
            .in_flight
            .with_label_values(&[self.stage()])
            .set(self.unfinished() as i64);
    }

    fn on_message(&mut self, mut record: Record) {
        let tp = (record.topic.clone(), record.partition);
        let Some(epoch) = self.partitions.begin(&tp, record.offset) else {
            self.metrics.abandoned.with_label_values(&[self.stage()]).inc();
            return;
        };
        record.assignment = epoch;
        self.in_flight += 1;
        let job = Job {
            record,
            tp,
            epoch,
            received: Instant::now(),
        };
        if let Some(job) = self.queues.offer(JobKey::of(&job), job) {
            self.launch(job);
        }
        self.show_in_flight();
    }

    /// Starts `job`; a job whose partition was revoked while it queued is dropped (it is
    /// uncommitted, so the next owner consumes it) and the key's next job is tried.
    fn launch(&mut self, job: Job) {
        let mut next = Some(job);
        while let Some(job) = next.take() {
            if self.partitions.start(&job.tp, job.epoch) {
                self.tracker.spawn(self.jobs.clone().run(job));
                return;
            }
            self.in_flight -= 1;
            self.metrics.abandoned.with_label_values(&[self.stage()]).inc();
            next = self.queues.finish(&JobKey::of(&job));
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::DependencyDown => {
                if !self.reasons.dependency {
                    warn!(
                        message = "Dependency down; pausing intake until it recovers.",
                        stage = self.stage()
                    );
                }
                self.reasons.dependency = true;
            }
            Event::Enqueued(judged) => {
                self.in_flight -= 1;
                self.unacked += 1;
                self.judge(judged);
            }
            Event::Done { key, judged } => {
                match judged {
                    Some(judged) => {
                        self.in_flight -= 1;
                        self.judge(judged);
                    }
                    None => self.unacked -= 1,
                }
                if let Some(next) = self.queues.finish(&key) {
                    self.launch(next);
                }
                self.show_in_flight();
            }
        }
    }

    /// The DLQ-storm guard and the dependency's recovery, from how one record went.
    fn judge(
        &mut self,
        Judged {
            dead_lettered,
            stage_ok,
        }: Judged,
    ) {
        if stage_ok && self.reasons.dependency {
            info!(message = "Dependency recovered; resuming intake.", stage = self.stage());
            self.reasons.dependency = false;
        }
        if (stage_ok || dead_lettered)
            && self.storm.record(Instant::now(), dead_lettered)
            && self.reasons.storm_until.is_none()
        {
            let pause = ms(self.jobs.cfg.runtime.dlq_storm.pause_ms);
            error!(
                message = "DLQ storm: too many records dead-lettered; pausing intake.",
                stage = self.stage(),
                ?pause
            );
            self.reasons.storm_until = Some(Instant::now() + pause);
            self.jobs.health.set_storm(true);
        }
    }

    async fn on_tick(&mut self) -> Result<(), TransactionError> {
        if self.reasons.storm_until.is_some_and(|t| Instant::now() >= t) {
            info!(message = "DLQ-storm pause over; resuming intake.", stage = self.stage());
            self.reasons.storm_until = None;
            self.storm.reset();
            self.jobs.health.set_storm(false);
        }
        self.commit(CommitMode::Async).await
    }

    async fn commit(&mut self, mode: CommitMode) -> Result<(), TransactionError> {
        if let Some(txn) = &mut self.txn {
            let (outputs, offsets) = self.partitions.take_transaction();
            if outputs.is_empty() && offsets.count() == 0 {
                return Ok(());
            }
            let group = self.consumer.group_metadata();
            let result = txn.commit(outputs, offsets, group).await;
            let label = if result.is_ok() { "ok" } else { "error" };
            self.metrics.commits.with_label_values(&[self.stage(), label]).inc();
            return result.map(|_| ());
        }
        self.commit_offsets(mode);
        Ok(())
    }

    fn commit_offsets(&self, mode: CommitMode) {
        let tpl = self.partitions.take_commits(None);
        if tpl.count() == 0 {
            return;
        }
        if let Err(error) = self.consumer.commit(&tpl, mode) {
            self.partitions.commit_failed(&tpl);
            warn!(message = "Offset commit failed; will retry.", %error, stage = self.stage());
        }
    }

    /// Pauses every assigned partition while any reason holds; resumes when none does.
    /// A capacity pause, once taken, holds until three quarters of the bound is free, so a
    /// saturated runtime does not flap.
    fn apply_pause(&mut self) {
        let rt = &self.jobs.cfg.runtime;
        let now = Instant::now();
        if self.full() {
            let since = *self.full_since.get_or_insert(now);
            if now.duration_since(since) >= LONG_FULL {
                self.reasons.capacity = true;
            }
        } else {
            self.full_since = None;
            if self.in_flight <= rt.max_in_flight * 3 / 4 && self.unacked <= rt.max_unacked * 3 / 4 {
                self.reasons.capacity = false;
            }
        }
        let want = self.reasons.any();
        let changed = self.assignment_changed.swap(false, Ordering::AcqRel);
        // After an assignment change the wanted state is applied again either way: librdkafka
        // keeps a partition's application pause across revoke and re-assign (it only clears its
        // own), so a partition paused, lost in a rebalance while paused and assigned again
        // would otherwise stay paused for good while this loop believes it resumed (the fault
        // tests hit it: a frozen broker held every produce, in-flight filled, the session expired
        // mid-pause). A resume of a partition that is not paused is a no-op.
        if want == self.paused && !changed {
            return;
        }
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let result = if want {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        if let Err(error) = result {
            warn!(message = "Pause/resume failed.", %error, stage = self.stage());
            return;
        }
        self.paused = want;
        let stage = self.stage();
        let set = |reason: &str, on: bool| {
            self.metrics
                .paused
                .with_label_values(&[stage, reason])
                .set(i64::from(on))
        };
        set("capacity", self.reasons.capacity);
        set("dependency", self.reasons.dependency);
        set("dlq_storm", self.reasons.storm_until.is_some());
    }

    /// Stops intake, lets in-flight records finish until the deadline, abandons the rest
    /// (uncommitted, so redelivered), commits synchronously and flushes the producer.
    async fn drain(mut self) -> Result<(), TransactionError> {
        let stage = self.stage();
        let started = Instant::now();
        if let Ok(assignment) = self.consumer.assignment() {
            let _ = self.consumer.pause(&assignment);
        }
        info!(message = "Draining.", stage, in_flight = self.unfinished());
        let deadline = tokio::time::sleep(ms(self.jobs.cfg.runtime.drain_timeout_ms));
        tokio::pin!(deadline);
        while self.unfinished() > 0 {
            tokio::select! {
                biased;
                Some(event) = self.events.recv() => self.on_event(event),
                _ = &mut deadline => break,
            }
        }
        if self.unfinished() > 0 {
            warn!(
                message = "Drain deadline reached; abandoning unfinished records (they will be redelivered).",
                stage,
                in_flight = self.unfinished()
            );
            self.jobs.abandon.cancel();
        }
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tracker.wait()).await;
        self.commit(CommitMode::Sync).await?;
        let producer = self.jobs.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(5))).await;
        if !matches!(flushed, Ok(Ok(()))) {
            warn!(message = "Producer flush did not complete.", stage);
        }
        info!(message = "Drained.", stage, took = ?started.elapsed(), abandoned = self.unfinished());
        Ok(())
    }
}
