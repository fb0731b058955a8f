//! Running one compiled rule against a normalised product.

use super::{Check, Rule};
use crate::quality::Normalised;
use crate::quality::currency::is_iso4217;
use crate::schema::Finding;

impl Rule {
    pub(super) fn evaluate(&self, p: &Normalised, out: &mut Vec<Finding>) {
        let mut emit = |field: &str, default_message: String, span: Option<(usize, usize)>| {
            out.push(Finding {
                rule: self.id.clone(),
                severity: self.severity,
                field: Some(field.to_owned()),
                message: self.message.clone().unwrap_or(default_message),
                span_start: span.and_then(|s| i32::try_from(s.0).ok()),
                span_end: span.and_then(|s| i32::try_from(s.1).ok()),
            });
        };
        match &self.check {
            Check::Required(fields) => {
                for f in fields.iter().filter(|f| f.count(p) == 0) {
                    emit(f.as_str(), format!("{} is missing", f.as_str()), None);
                }
            }
            Check::RequiredAttributes(keys) => {
                for k in keys.iter().filter(|k| !p.attributes.contains_key(k.as_str())) {
                    emit("attributes", format!("attribute '{k}' is missing"), None);
                }
            }
            Check::PricePositive => {
                if let Some(price) = p.price_minor.filter(|&v| v <= 0) {
                    emit(
                        "price",
                        format!("price must be above 0, is {price} (minor units)"),
                        None,
                    );
                }
            }
            Check::DiscountNotAboveList => {
                if let (Some(price), Some(list)) = (p.price_minor, p.list_price_minor)
                    && price > list
                {
                    emit("price", format!("price {price} is above list price {list}"), None);
                }
            }
            Check::CurrencyIso4217 => match p.currency.as_deref() {
                Some(c) if !is_iso4217(c) => emit("currency", format!("'{c}' is not an ISO-4217 code"), None),
                None if p.price_minor.is_some() => emit("currency", "a price needs a currency".into(), None),
                _ => {}
            },
            Check::Length { field, min, max } => {
                if let Some(t) = field.text(p) {
                    let n = t.chars().count();
                    if n < *min || n > *max {
                        emit(
                            field.as_str(),
                            format!("{} has {n} characters; allowed {min}..={max}", field.as_str()),
                            None,
                        );
                    }
                }
            }
            Check::BannedChars { field, chars } => {
                if let Some((i, c)) = field
                    .text(p)
                    .and_then(|t| t.char_indices().find(|(_, c)| chars.contains(*c)))
                {
                    emit(
                        field.as_str(),
                        format!("contains banned character '{c}'"),
                        Some((i, i + c.len_utf8())),
                    );
                }
            }
            Check::MinCount { field, min } => {
                let n = field.count(p);
                if n < *min {
                    emit(
                        field.as_str(),
                        format!("{} has {n}; at least {min} wanted", field.as_str()),
                        None,
                    );
                }
            }
            Check::Forbidden { field, pattern } => {
                if let Some(m) = field.text(p).and_then(|t| pattern.find(t)) {
                    emit(
                        field.as_str(),
                        format!("contains '{}'", m.as_str()),
                        Some((m.start(), m.end())),
                    );
                }
            }
        }
    }
}
