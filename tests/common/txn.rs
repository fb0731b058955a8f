//! Exactly-once outputs traced to the transaction that wrote them (the `galley.txn` header,
//! `<transactional.id>/<session>/<seq>`), so a kill test can tell a record repeated by a
//! committed transaction (a bug) from one leaked by the transaction the kill left open. A broker
//! implementing read_committed (Kafka) hides the latter, and the tests check that it does.

#![allow(dead_code, unreachable_pub)]

use galley::runtime::transaction::TXN_HEADER;
use rdkafka::message::OwnedMessage;

use crate::common::header;

/// One transaction of one process life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Txn {
    /// The producer's start time in ms: tells two lives of one instance apart.
    pub session: i64,
    /// The transaction's number within its life, from 1.
    pub seq: u64,
}

impl Txn {
    /// The transaction that wrote `m`.
    ///
    /// # Panics
    /// If `m` has no well-formed `galley.txn` header: every exactly-once output must name one.
    pub fn of(m: &OwnedMessage) -> Txn {
        let tag = header(m, TXN_HEADER).expect("every exactly-once output names its transaction");
        let mut parts = tag.rsplitn(3, '/');
        let seq = parts.next().and_then(|s| s.parse().ok());
        let session = parts.next().and_then(|s| s.parse().ok());
        match (session, seq) {
            (Some(session), Some(seq)) => Txn { session, seq },
            _ => panic!("malformed {TXN_HEADER} header {tag:?}"),
        }
    }
}

/// The outputs of an instance killed once and restarted, split by the transaction that wrote
/// them.
pub struct AtKill<T> {
    /// Outputs of every transaction but the killed life's last.
    pub committed: Vec<T>,
    /// Outputs of the killed life's last transaction: the one open at the kill (aborted when the
    /// restart fenced it; visible only on a broker that shows aborted records), or one
    /// committed just before the kill. Empty when the kill fell between transactions.
    pub last: Vec<T>,
    /// How many transactions the killed life wrote records in, its last included.
    pub killed_transactions: u64,
}

impl<T> AtKill<T> {
    /// Splits `outputs`; `message` gives each one's record.
    pub fn split(outputs: Vec<T>, message: impl Fn(&T) -> &OwnedMessage) -> Self {
        let txns: Vec<Txn> = outputs.iter().map(|o| Txn::of(message(o))).collect();
        // The restart's session is later than the killed life's.
        let killed = txns.iter().map(|t| t.session).min();
        let last = txns.iter().filter(|t| Some(t.session) == killed).map(|t| t.seq).max();
        let mut split = AtKill {
            committed: Vec::new(),
            last: Vec::new(),
            killed_transactions: last.unwrap_or(0),
        };
        for (o, t) in outputs.into_iter().zip(txns) {
            if Some(t.session) == killed && Some(t.seq) == last {
                split.last.push(o);
            } else {
                split.committed.push(o);
            }
        }
        split
    }
}
