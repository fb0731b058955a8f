//! The facts a prompt may use, rendered once into named text variables. A prompt sees these and
//! nothing else, which is what "grounded only in the data given" means in practice; the
//! template generator and the cache key are built from the same facts.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::UseCase;
use crate::schema::{InteractionEvent, InteractionKind, ValidatedProduct};

/// At most this many attributes go into a prompt; long spec sheets are cut, never invented.
const MAX_ATTRIBUTES: usize = 30;

/// Named variables for one use case, plus what identifies them.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The use case these facts are for.
    pub use_case: UseCase,
    /// Key of the draft: sku for products, customer id for customer-facing use cases.
    pub subject_key: String,
    /// Locale the copy is written in.
    pub locale: String,
    vars: BTreeMap<&'static str, String>,
}

impl Facts {
    fn new(use_case: UseCase, subject_key: &str, locale: &str) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("locale", locale.to_owned());
        Facts {
            use_case,
            subject_key: subject_key.to_owned(),
            locale: locale.to_owned(),
            vars,
        }
    }

    /// Facts of a product description: the validated product's own fields.
    pub fn product_description(p: &ValidatedProduct) -> Self {
        let mut f = Facts::new(UseCase::ProductDescription, &p.sku, &p.locale);
        f.vars.insert("title", p.title.clone());
        f.vars.insert("brand", p.brand.clone().unwrap_or_default());
        f.vars.insert("category", p.category_path.join(" > "));
        f.vars.insert("price", price(p));
        f.vars.insert("attributes", attribute_lines(p));
        f
    }

    /// Facts of a support reply: the (already redacted) message, the product it is about when
    /// known, and the shop's known answers.
    pub fn support_reply(e: &InteractionEvent, product: Option<&ValidatedProduct>, known_answers: &[String]) -> Self {
        let mut f = Facts::new(UseCase::SupportReply, &e.customer_id, &e.locale);
        f.vars.insert("message", e.text.clone().unwrap_or_default());
        let kind = match e.kind {
            InteractionKind::SupportMessage => "support message",
            _ => "product question",
        };
        f.vars.insert("kind", kind.to_owned());
        let product = product.map_or_else(
            || "(no product named)".to_owned(),
            |p| {
                let mut s = format!("Title: {}\n", p.title);
                if let Some(b) = &p.brand {
                    s.push_str(&format!("Brand: {b}\n"));
                }
                s.push_str(&format!("Price: {}\n", price(p)));
                s + &attribute_lines(p)
            },
        );
        f.vars.insert("product", product);
        let answers = if known_answers.is_empty() {
            "(none)".to_owned()
        } else {
            known_answers
                .iter()
                .map(|a| format!("- {a}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        f.vars.insert("known_answers", answers);
        f
    }

    /// Facts of a homepage blurb for a customer segment, keyed `homepage_blurb:<segment>` so it
    /// never shares a key with the segment's email on content.approved.
    pub fn homepage_blurb(segment: &str, interests: &[String], products: &[ValidatedProduct], locale: &str) -> Self {
        let key = format!("{}:{segment}", UseCase::HomepageBlurb);
        let mut f = Facts::new(UseCase::HomepageBlurb, &key, locale);
        f.vars.insert("segment", segment.to_owned());
        f.vars.insert("interests", interests.join(", "));
        f.vars.insert("products", product_lines(products));
        f
    }

    /// Facts of an email campaign for a segment and a set of products, keyed
    /// `email_campaign:<segment>`.
    pub fn email_campaign(segment: &str, products: &[ValidatedProduct], locale: &str) -> Self {
        let key = format!("{}:{segment}", UseCase::EmailCampaign);
        let mut f = Facts::new(UseCase::EmailCampaign, &key, locale);
        f.vars.insert("segment", segment.to_owned());
        f.vars.insert("products", product_lines(products));
        f
    }

    /// A variable's value; empty when the facts do not have it.
    pub fn get(&self, name: &str) -> &str {
        self.vars.get(name).map_or("", String::as_str)
    }

    /// Hash of exactly what a prompt can see: a change elsewhere in the record (an image, a
    /// version bump) does not make new copy, and a change here always does.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.use_case.as_str().as_bytes());
        for (k, v) in &self.vars {
            for part in [k.as_bytes(), v.as_bytes()] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        hex16(&h.finalize())
    }
}

/// First 16 bytes of a digest as hex (128 bits: collisions are not a practical concern).
pub(crate) fn hex16(digest: &[u8]) -> String {
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `19.99 USD`, in the two-decimal form the review checks compare against; empty without a price.
fn price(p: &ValidatedProduct) -> String {
    match (p.price_minor, &p.currency) {
        (Some(v), Some(c)) => format!("{}.{:02} {c}", v / 100, v % 100),
        (Some(v), None) => format!("{}.{:02}", v / 100, v % 100),
        _ => String::new(),
    }
}

fn attribute_lines(p: &ValidatedProduct) -> String {
    p.attributes
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .take(MAX_ATTRIBUTES)
        .map(|(k, v)| format!("- {k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn product_lines(products: &[ValidatedProduct]) -> String {
    products
        .iter()
        .map(|p| {
            let brand = p.brand.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
            format!("- {}{brand} ({})", p.title, price(p))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
