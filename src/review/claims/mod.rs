//! Claims: what a draft asserts, read clause by clause and grounded against the product's facts
//! (or, for a support reply, the shop's known answers). One extractor a file, each named after
//! the `check` of its findings, so "why was this flagged?" is one hop away:
//!
//! | check | file | a finding when the text claims… |
//! |---|---|---|
//! | `price_mismatch` | [`price`] | a price, MRP, discount or bound the record's prices contradict |
//! | `unsupported_claim.quantity` / `.number` | [`quantity`] | a measure or a number the record does not give |
//! | `unsupported_claim.count` | [`count`] | a count of things ("a set of six") the record does not give |
//! | `unsupported_claim.material` | [`material`] | a material the record lacks, or "pure"/"genuine" where it qualifies it |
//! | `unsupported_claim.property` | [`property`] | a property or certification the record lacks or denies |
//! | `unsupported_claim.warranty` | [`warranty`] | a warranty, guarantee or returns promise the record lacks, or longer |
//! | `unsupported_claim.compatibility` | [`compatibility`] | compatibility with something the record does not name |
//! | `unsupported_claim.feature` | [`feature`] | a part, feature or inclusion the record lacks or denies |
//! | `medical_claim` | [`health`] | a health or safety effect |
//! | `competitor` | [`competitor`] | a marketplace, a rival brand, a comparison with one |
//! | `banned_term`, `superlative` | [`phrases`] | banned marketing; a superlative or absolute promise |
//! | `promise` | [`promise`] | (support replies) a delivery, refund, discount or compensation the known answers do not give |
//! | `pii` | [`contact`] | a phone number (any national format), email, address or payment handle |
//!
//! The words each reads with come from the draft locale's pack ([`lexicon`]).

pub mod lexicon;

mod compatibility;
mod competitor;
mod contact;
mod count;
mod facts;
mod feature;
mod health;
mod material;
mod pack;
mod phrase_set;
mod phrases;
mod price;
mod promise;
mod property;
mod quantity;
pub mod text;
mod warranty;

use std::cell::RefCell;

pub use facts::Facts;
use lexicon::Lexicon;

use super::{Draft, finding};
use crate::schema::{CheckResult, CheckSeverity};

/// What an extractor sees.
pub(crate) struct Ctx<'a> {
    /// The draft's text.
    pub(crate) text: &'a str,
    /// The draft locale's words.
    pub(crate) lex: &'a Lexicon,
    /// The product's facts (product copy).
    pub(crate) facts: Option<&'a Facts>,
    /// The draft.
    pub(crate) draft: &'a Draft<'a>,
    /// Spans already read as a claim by an earlier extractor (a price's digits are not a
    /// quantity too).
    taken: RefCell<Vec<(usize, usize)>>,
    /// Findings so far.
    out: RefCell<Vec<CheckResult>>,
}

impl Ctx<'_> {
    /// Marks a span as read.
    pub(crate) fn take(&self, span: (usize, usize)) {
        self.taken.borrow_mut().push(span);
    }

    /// Whether a span overlaps one already read.
    pub(crate) fn is_taken(&self, (s, e): (usize, usize)) -> bool {
        self.taken.borrow().iter().any(|(ts, te)| s < *te && *ts < e)
    }

    /// Records a finding over `span` (and marks it read).
    pub(crate) fn flag(&self, check: &str, severity: CheckSeverity, message: String, span: (usize, usize)) {
        self.take(span);
        self.out
            .borrow_mut()
            .push(finding(check, severity, message, Some(span)));
    }

    /// The text of a span, for messages.
    pub(crate) fn at(&self, (s, e): (usize, usize)) -> &str {
        self.text.get(s..e).unwrap_or("").trim()
    }
}

/// Every claim finding of `d`, read with `lex`.
pub(crate) fn check(d: &Draft<'_>, lex: &Lexicon, out: &mut Vec<CheckResult>) {
    let facts = d.product.map(|p| Facts::of(p, lex));
    let c = Ctx {
        text: d.text,
        lex,
        facts: facts.as_ref(),
        draft: d,
        taken: RefCell::new(Vec::new()),
        out: RefCell::new(Vec::new()),
    };
    contact::check(&c);
    phrases::check(&c);
    health::check(&c);
    competitor::check(&c);
    if d.use_case == "support_reply" {
        promise::check(&c);
    }
    if c.facts.is_some() {
        price::check(&c);
        warranty::check(&c);
        count::check(&c);
        quantity::check(&c);
        material::check(&c);
        property::check(&c);
        compatibility::check(&c);
        feature::check(&c);
    }
    out.extend(c.out.into_inner());
}
