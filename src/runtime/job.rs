//! One record's life in a task: guard rails, the stage with retries, dead-lettering, producing
//! the outputs, and reporting back. Nothing here touches the consumer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer};
use rdkafka::util::Timeout;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info_span, warn};

use super::dlq::{self, DeadLetter, record_bytes};
use super::health::StageHealth;
use super::kafka::send_queued;
use super::partitions::{Partitions, Tp};
use super::retry::with_retries;
use super::stage::{Output, Record, Stage, owned_headers};
use crate::config::{GalleyConfig, ms};
use crate::error::{ErrorKind, StageError};
use crate::metrics::Metrics;
use crate::telemetry::{TRACEPARENT_HEADER, TraceParent};

/// A record accepted by the loop, waiting for or holding its key's turn.
pub(crate) struct Job {
    pub(crate) record: Record,
    pub(crate) tp: Tp,
    pub(crate) epoch: u64,
    pub(crate) received: Instant,
}

/// What a task tells the loop.
pub(crate) enum Event {
    /// At-least-once: the record's outputs are all queued in the producer, and it only waits
    /// for their acknowledgements: it gives its `max_in_flight` slot back and counts against
    /// `max_unacked` until `Done`. Its key stays held, so the key's next record still waits.
    Enqueued(Judged),
    /// The record is done (finished or abandoned); its key may run the next record.
    Done {
        key: JobKey,
        /// How it went, unless `Enqueued` told already.
        judged: Option<Judged>,
    },
    /// The stage reported a dependency down; pause intake.
    DependencyDown,
}

/// How a record went, for the DLQ-storm guard and the dependency's recovery: told as soon as
/// it is known, so a storm of dead letters is judged before they are acknowledged.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Judged {
    pub(crate) dead_lettered: bool,
    pub(crate) stage_ok: bool,
}

/// How a record's task ended, for its `Done`.
#[derive(Clone, Copy, Default)]
struct Ended {
    judged: Judged,
    enqueued: bool,
}

/// Scheduling key: the record key, or a unique slot for keyless records (no order to keep).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum JobKey {
    Key(Vec<u8>),
    Keyless(Tp, i64),
}

impl JobKey {
    pub(crate) fn of(job: &Job) -> Self {
        match &job.record.key {
            Some(k) => JobKey::Key(k.clone()),
            None => JobKey::Keyless(job.tp.clone(), job.record.offset),
        }
    }
}

/// Everything a task needs, shared by all tasks of a runtime.
pub(crate) struct JobContext<S> {
    pub(crate) stage: Arc<S>,
    pub(crate) cfg: GalleyConfig,
    /// Tasks send their outputs with it; in exactly-once mode it is the transactional producer,
    /// which only the loop sends with (tasks stage their outputs instead).
    pub(crate) producer: FutureProducer,
    pub(crate) partitions: Partitions,
    pub(crate) metrics: Metrics,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    /// Cancelled at the shutdown deadline: unfinished tasks give up and stay uncommitted.
    pub(crate) abandon: CancellationToken,
    pub(crate) health: Arc<StageHealth>,
}

enum Verdict {
    Outputs { label: &'static str, outputs: Vec<Output> },
    DeadLetter { error: StageError, attempts: u32 },
    Abandoned,
}

impl<S: Stage> JobContext<S> {
    /// Runs one job to the end and reports `Done`.
    pub(crate) async fn run(self: Arc<Self>, job: Job) {
        let key = JobKey::of(&job);
        let parent = job
            .record
            .header(TRACEPARENT_HEADER)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(TraceParent::parse);
        let trace = parent.map_or_else(TraceParent::new_root, |p| p.child());
        let span = info_span!(
            "record",
            stage = self.stage.name(),
            topic = %job.tp.0,
            partition = job.tp.1,
            offset = job.record.offset,
            key = %job.record.key_str(),
            trace_id = %trace.trace_hex(),
        );
        let ended = self.clone().run_inner(&job, trace).instrument(span).await;
        let _ = self.events.send(Event::Done {
            key,
            judged: (!ended.enqueued).then_some(ended.judged),
        });
    }

    async fn run_inner(self: Arc<Self>, job: &Job, trace: TraceParent) -> Ended {
        let stage = self.stage.name();
        let verdict = self.decide(job).await;
        let limit = self.cfg.runtime.max_output_bytes;
        let (mut label, mut outputs, cause) = match verdict {
            Verdict::Outputs { label, outputs } => match outputs.iter().find(|o| record_bytes(o) > limit) {
                None => (label, outputs, None),
                Some(big) => {
                    // The producer would refuse it: the record ends in the DLQ instead.
                    let e = StageError::permanent(
                        "output_too_large",
                        format!(
                            "an output to {} is {} bytes, over runtime.max_output_bytes {limit}",
                            big.topic,
                            record_bytes(big)
                        ),
                    );
                    ("dlq", self.dead_letter(job, &e, 1, limit), Some((e, 1)))
                }
            },
            Verdict::DeadLetter { error, attempts } => (
                "dlq",
                self.dead_letter(job, &error, attempts, limit),
                Some((error, attempts)),
            ),
            Verdict::Abandoned => return self.abandon(job, false),
        };
        let dead_lettered = cause.is_some();
        if let Some((error, attempts)) = &cause {
            warn!(message = "Record dead-lettered.", code = error.code(), kind = error.kind().as_str(), attempts, %error);
            self.metrics.dlq.with_label_values(&[stage, error.code()]).inc();
        }
        if !dead_lettered {
            for out in &mut outputs {
                out.headers.retain(|(k, _)| k != TRACEPARENT_HEADER);
                out.headers
                    .push((TRACEPARENT_HEADER.to_owned(), trace.header_value().into_bytes()));
            }
        }
        let (tp, epoch, offset) = (&job.tp, job.epoch, job.record.offset);
        let judged = Judged {
            dead_lettered,
            stage_ok: !dead_lettered,
        };
        let mut enqueued = false;
        let finished = if self.cfg.runtime.exactly_once {
            // Produced by the loop, in the transaction that commits this offset.
            self.partitions.finish_staged(tp, epoch, offset, outputs)
        } else {
            // Boxed, so the sending state is allocated only once the record gets here instead of
            // enlarging the task of every record still being processed.
            let delivery;
            (delivery, enqueued) = Box::pin(self.deliver(&outputs, judged)).await;
            match delivery {
                Delivery::Acked => {}
                Delivery::Abandoned => return self.abandon(job, enqueued),
                Delivery::TooLarge(topic) => {
                    // A limit below ours refused it (the producer's message.max.bytes, a
                    // topic's max.message.bytes): a compact dead letter ends the record instead
                    // of a retry loop. Outputs acknowledged before the refusal stay written.
                    let (e, attempts) = cause.unwrap_or_else(|| {
                        let message = format!("an output to {topic} was refused as too large");
                        warn!(message = "Record dead-lettered.", code = "output_too_large", topic);
                        self.metrics.dlq.with_label_values(&[stage, "output_too_large"]).inc();
                        (StageError::permanent("output_too_large", message), 1)
                    });
                    let dlq = self.dead_letter(job, &e, attempts, COMPACT_DEAD_LETTER);
                    label = "dlq";
                    if !self.produce_all(&dlq).await {
                        return self.abandon(job, enqueued);
                    }
                }
            }
            self.partitions.finish(tp, epoch, offset)
        };
        if !finished {
            debug!(message = "Record finished after its partition was revoked; it will be redelivered.");
        }
        self.metrics.records.with_label_values(&[stage, label]).inc();
        self.metrics
            .process_seconds
            .with_label_values(&[stage])
            .observe(job.received.elapsed().as_secs_f64());
        Ended { judged, enqueued }
    }

    fn abandon(&self, job: &Job, enqueued: bool) -> Ended {
        self.partitions.stop_running(&job.tp, job.epoch);
        self.metrics.abandoned.with_label_values(&[self.stage.name()]).inc();
        Ended {
            enqueued,
            ..Ended::default()
        }
    }

    /// Guard rails, then the stage with retries; dependency-down waits and tries again.
    async fn decide(&self, job: &Job) -> Verdict {
        let rec = &job.record;
        let limit = self.cfg.runtime.max_message_bytes;
        match rec.payload.as_deref() {
            None if self.stage.takes_tombstones() => {}
            None | Some([]) => {
                return Verdict::DeadLetter {
                    error: StageError::permanent("empty_message", "record has no value"),
                    attempts: 1,
                };
            }
            Some(p) if p.len() > limit => {
                let e = StageError::permanent(
                    "oversized",
                    format!("value of {} bytes exceeds runtime.max_message_bytes {limit}", p.len()),
                );
                return Verdict::DeadLetter { error: e, attempts: 1 };
            }
            Some(_) => {}
        }
        let stage = self.stage.name();
        loop {
            let attempt = || async {
                crate::schema::remote::fetch_writer(rec.payload.as_deref()).await?;
                self.stage.process(rec).await
            };
            let on_retry = |e: &StageError, wait: Duration| {
                self.metrics.retries.with_label_values(&[stage, e.code()]).inc();
                debug!(message = "Retrying record.", error = %e, ?wait);
            };
            let run = with_retries(&self.cfg.runtime.retry, attempt, on_retry);
            let (result, attempts) = tokio::select! {
                r = run => r,
                _ = self.abandon.cancelled() => return Verdict::Abandoned,
            };
            match result {
                Ok(o) => {
                    return Verdict::Outputs {
                        label: o.label,
                        outputs: o.outputs,
                    };
                }
                Err(e) if e.kind() == ErrorKind::DependencyDown => {
                    let _ = self.events.send(Event::DependencyDown);
                    let wait = e
                        .retry_after()
                        .unwrap_or(Duration::from_secs(1))
                        .max(Duration::from_millis(10));
                    debug!(message = "Dependency down; record waits.", error = %e, ?wait);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => continue,
                        _ = self.abandon.cancelled() => return Verdict::Abandoned,
                    }
                }
                Err(error) => return Verdict::DeadLetter { error, attempts },
            }
        }
    }

    /// The record's dead letter, made to fit in `limit` bytes ([`dlq::fit`]).
    fn dead_letter(&self, job: &Job, error: &StageError, attempts: u32, limit: usize) -> Vec<Output> {
        let rec = &job.record;
        let stage = self.stage.name();
        let dl = DeadLetter {
            topic: rec.topic.clone(),
            partition: rec.partition,
            offset: rec.offset,
            stage,
            code: error.code(),
            kind: error.kind().as_str(),
            message: error.to_string(),
            attempts,
        };
        let mut headers = rec.headers.clone();
        headers.extend(dl.headers().into_iter().map(|(k, v)| (k.to_owned(), v)));
        headers.extend(
            error
                .dlq_headers()
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone().into_bytes())),
        );
        let mut out = Output {
            topic: self.cfg.topics.dlq.clone(),
            key: rec.key.clone(),
            partition: None,
            payload: Some(rec.payload.clone().unwrap_or_default()),
            headers,
        };
        if dlq::fit(&mut out, &dl, limit) {
            warn!(
                message = "Dead letter carries a reference to its value, which is over the limit.",
                limit,
                code = dl.code
            );
        }
        vec![out]
    }

    /// At-least-once: queues the outputs, tells the loop (`Enqueued`) once all are queued, and
    /// waits until every one is acknowledged, sending a failed or unqueued one again (and again)
    /// unless it was refused as too large. Returns how it ended and whether `Enqueued` was sent.
    async fn deliver(&self, outputs: &[Output], judged: Judged) -> (Delivery, bool) {
        let mut deliveries = self.enqueue(outputs).await.into_iter();
        let enqueued = deliveries.len() == outputs.len() && self.events.send(Event::Enqueued(judged)).is_ok();
        for out in outputs {
            let refused = match deliveries.next() {
                Some(d) => match self.acknowledged(out, d).await {
                    Ok(()) => continue,
                    Err(refused) => refused,
                },
                None => None,
            };
            if refused.as_ref().is_some_and(too_large) {
                return (Delivery::TooLarge(out.topic.clone()), enqueued);
            }
            // Abandoned: not sent again (the record stays uncommitted and is redelivered).
            if self.abandon.is_cancelled() {
                return (Delivery::Abandoned, enqueued);
            }
            match self.produce(out).await {
                Ok(()) => {}
                Err(Some(error)) if too_large(&error) => return (Delivery::TooLarge(out.topic.clone()), enqueued),
                Err(_) => return (Delivery::Abandoned, enqueued),
            }
        }
        (Delivery::Acked, enqueued)
    }

    /// Produces each output until acknowledged (any error retried); false when abandoned.
    async fn produce_all(&self, outputs: &[Output]) -> bool {
        for out in outputs {
            loop {
                match self.produce(out).await {
                    Ok(()) => break,
                    // Refused as too large even so: the DLQ topic's limit is absurdly low, which
                    // only its operator can fix; keep trying, as for an unreachable broker.
                    Err(Some(error)) => {
                        warn!(message = "Compact dead letter refused; retrying.", %error, topic = %out.topic);
                        tokio::select! {
                            _ = tokio::time::sleep(ms(self.cfg.runtime.retry.max_delay_ms)) => {}
                            _ = self.abandon.cancelled() => return false,
                        }
                    }
                    Err(None) => return false,
                }
            }
        }
        true
    }

    /// Queues the outputs in the producer in order, waiting while its queue is full; stops at
    /// the first one it cannot queue (or when the task is abandoned), so only a prefix of the
    /// outputs may be queued. librdkafka keeps their order within a partition.
    async fn enqueue(&self, outputs: &[Output]) -> Vec<DeliveryFuture> {
        let mut deliveries = Vec::with_capacity(outputs.len());
        for out in outputs {
            let record = out.record(owned_headers(&out.headers));
            match send_queued(&self.producer, record, self.abandon.cancelled()).await {
                Ok(d) => deliveries.push(d),
                Err(_) if self.abandon.is_cancelled() => break,
                Err(error) => {
                    warn!(message = "Produce failed; retrying.", %error, topic = %out.topic);
                    break;
                }
            }
        }
        deliveries
    }

    /// Waits for a queued output's acknowledgement; the broker's refusal (after librdkafka's
    /// own retries) when it refused it, `None` when the task was abandoned.
    async fn acknowledged(&self, out: &Output, delivery: DeliveryFuture) -> Result<(), Option<KafkaError>> {
        tokio::select! {
            d = delivery => match d {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => {
                    warn!(message = "Produce failed; retrying.", %error, topic = %out.topic);
                    Err(Some(error))
                }
                Err(_canceled) => Err(None),
            },
            _ = self.abandon.cancelled() => Err(None),
        }
    }

    /// Produces one output and waits for the broker's acknowledgement, retrying transient
    /// failures until it is acknowledged, refused as too large (that error), or the task is
    /// abandoned (`None`).
    async fn produce(&self, out: &Output) -> Result<(), Option<KafkaError>> {
        let headers = owned_headers(&out.headers);
        let retry = &self.cfg.runtime.retry;
        // Unbounded: an unacknowledged output must never let the input's offset be committed.
        let policy = ExponentialBuilder::default()
            .with_min_delay(ms(retry.initial_delay_ms).max(Duration::from_millis(10)))
            .with_max_delay(ms(retry.max_delay_ms).max(Duration::from_millis(10)))
            .with_jitter()
            .without_max_times();
        let send = || async {
            let record = out.record(headers.clone());
            let timeout = Timeout::After(ms(self.cfg.runtime.produce_timeout_ms));
            self.producer.send(record, timeout).await.map_err(|(error, _)| error)
        };
        let sending = send.retry(policy).when(|e| !too_large(e)).notify(|error, retry_in| {
            warn!(message = "Produce failed; retrying.", %error, topic = %out.topic, ?retry_in);
            self.metrics
                .retries
                .with_label_values(&[self.stage.name(), "produce"])
                .inc();
        });
        tokio::select! {
            r = sending => r.map(|_| ()).map_err(Some),
            _ = self.abandon.cancelled() => Err(None),
        }
    }
}

/// How an at-least-once record's outputs went.
enum Delivery {
    /// Every output acknowledged.
    Acked,
    /// Given up at the shutdown deadline; the record stays uncommitted.
    Abandoned,
    /// The producer or broker refused an output to this topic as too large; sending it again
    /// would fail the same way forever.
    TooLarge(String),
}

/// Bytes a compact dead letter must fit in when the broker refused a record under
/// `runtime.max_output_bytes`: a reference and the error headers, nothing of the original.
const COMPACT_DEAD_LETTER: usize = 16 * 1024;

/// A refusal that no retry can change: the record (or its batch) is over a size limit.
fn too_large(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::MessageBatchTooLarge)
    )
}
