//! What the benches publish: a uniform product (every record valid, for the pass-through and
//! generate runs, where only Kafka and the model should cost) and a mixed catalog (for the
//! quality, end-to-end and soak runs), a deterministic stream that takes every branch of the
//! quality stage in fixed shares, so Galley's outcome counts and the Python baseline's can be
//! compared record for record.

use galley::schema::{CatalogChange, CatalogOp, Registry, encode, names};

/// Distinct skus the records cycle over; record `i` is about sku `i % SKUS`, version `i`.
pub(super) const SKUS: usize = 5000;

/// Produces record `i` of a stream: its key and its framed payload.
pub(super) type Generator = fn(usize) -> anyhow::Result<(String, Vec<u8>)>;

fn sku(i: usize) -> String {
    format!("sku-{}", i % SKUS)
}

fn encoded(c: &CatalogChange) -> anyhow::Result<(String, Vec<u8>)> {
    Ok((c.sku.clone(), encode(Registry::builtin(), names::CATALOG_CHANGE, c)?))
}

/// A product the quality stage accepts, with work for every normaliser (markup, units,
/// taxonomy); each version changes the price, so every record is news.
pub(super) fn product(sku: &str, i: usize) -> CatalogChange {
    let mut c = CatalogChange::sample(sku, i as i64);
    c.title = Some(format!("<b>Enamel</b> camping mug {sku}"));
    c.description = Some("<p>Double-walled enamel mug,&nbsp;350ml.</p><p>Dishwasher safe.</p>".into());
    c.category_path = vec!["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs".into()];
    c.price_minor = Some(1000 + i as i64);
    c.attributes.insert("Capacity".into(), "350ml".into());
    c.attributes.insert("Weight".into(), "0.25 KG".into());
    c.images = vec![format!("https://example.com/{sku}.jpg")];
    c
}

/// Record `i` of the uniform stream: [`product`].
pub(super) fn uniform(i: usize) -> anyhow::Result<(String, Vec<u8>)> {
    encoded(&product(&sku(i), i))
}

/// Category paths as sources write them: exact nodes, deeper than the taxonomy (ancestor), a
/// foreign tree (by name), one string with other separators, a health category (which review
/// sends to a human), and a phone without its battery capacity (a category-scoped warning).
const CATEGORIES: &[&[&str]] = &[
    &["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs"],
    &["Sporting Goods", "Outdoor Recreation", "Camping & Hiking", "Tents"],
    &["Furniture >> Chairs >> Office Chairs >> Mesh"],
    &["Apparel & Accessories / Clothing / Shirts & Tops"],
    &["Kids' Corner | Puzzles"],
    &["Electronics", "Audio", "Headphones"],
    &["Health & Beauty > Personal Care > Hair Care"],
    &["Electronics > Communications > Telephony > Mobile Phones"],
];

/// A valid product with variety in every normalised field; `g` picks the variety and the price.
fn good(sku: &str, g: usize) -> CatalogChange {
    let mut c = CatalogChange::sample(sku, g as i64);
    c.source = "bench".into();
    c.title = Some(match g % 4 {
        0 => format!("<b>Enamel</b> camping mug {sku}"),
        1 => format!("Cafe\u{301} cre\u{300}me  tumbler&nbsp;{sku}"),
        2 => format!("Trail &amp; summit   bottle {sku}"),
        _ => format!("Desk lamp <i>{sku}</i> &#8211; warm light"),
    });
    c.brand = Some(["Acme", "  Borealis ", "Cr\u{e8}me & Co", "<b>Kettle</b>works"][g % 4].into());
    c.description = Some(match g % 3 {
        0 => "<p>Double-walled enamel mug,&nbsp;350ml.</p><p>Dishwasher safe.</p>".into(),
        1 => "<div>Holds 1,500 ml<br>weighs 0.40 KG</div><script>track()</script>".into(),
        _ => "A sturdy everyday piece made to last for years of daily use in any kitchen, cabin or office; \
              the finish resists scratches and stains, the handle stays cool, and it stacks neatly in a \
              cupboard or a backpack side pocket."
            .into(),
    });
    c.category_path = CATEGORIES[g % CATEGORIES.len()]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    c.price_minor = Some(900 + (g % 997) as i64);
    c.list_price_minor = (g % 5 == 0).then(|| 2000 + (g % 997) as i64);
    c.currency = Some([" usd", "EUR", "GBP "][g % 3].into());
    c.attributes.clear();
    c.attributes
        .insert("Capacity".into(), ["350ml", "1,500 ML", "2.50 L"][g % 3].into());
    if g % 2 == 0 {
        c.attributes.insert(" Battery  Capacity".into(), "5,000mAh".into());
    }
    c.attributes.insert("Screen".into(), "15.6\" display".into());
    c.attributes.insert("Material".into(), "<b>steel</b>".into());
    c.images = vec![
        format!(" https://example.com/{sku}.jpg "),
        format!("https://example.com/{sku}.jpg"),
        format!("https://example.com/{sku}-side.jpg"),
    ];
    if g % 7 == 0 {
        // Warnings only: a promotional title, no brand, no images; still valid.
        c.title = Some(format!("BEST PRICE {{mug}} {sku}"));
        c.brand = None;
        c.images.clear();
    }
    c
}

/// How far back a replayed or stale record reaches: to a record whose content is valid.
const BACK: usize = 30;

/// Record `i` of the mixed stream. Per 100 records: 77 valid products (about one in seven with
/// warnings only); 13 that need enrichment (4 without a price, 3 with an unmapped category, 2
/// with a bad currency, 2 priced above list price, 2 with nothing but a title and a category);
/// 4 re-sending the content of record `i - 30` under a newer version (unchanged); 2 sending it
/// under an older version (stale); 2 deletes; 1 keyed unlike its sku and 1 not Avro at all (both
/// dead-lettered).
pub(super) fn mixed(i: usize) -> anyhow::Result<(String, Vec<u8>)> {
    let earlier = i.checked_sub(BACK);
    match (i % 100, earlier) {
        (84..=87, Some(j)) => {
            let mut c = content(&sku(j), j);
            c.version = i as i64;
            encoded(&c)
        }
        (88 | 89, Some(j)) => {
            let mut c = content(&sku(j), j);
            c.version = j as i64 - 1;
            encoded(&c)
        }
        (90 | 91, _) => encoded(&CatalogChange {
            op: CatalogOp::Delete,
            ..CatalogChange::sample(&sku(i), i as i64)
        }),
        (92, _) => {
            let (key, payload) = encoded(&content(&sku(i), i))?;
            Ok((format!("not-{key}"), payload))
        }
        (93, _) => Ok((sku(i), b"{\"sku\": \"json, not avro\"}".to_vec())),
        _ => encoded(&content(&sku(i), i)),
    }
}

/// The content of generation `g` for `sku`: valid or defective by `g % 100`.
fn content(sku: &str, g: usize) -> CatalogChange {
    let mut c = good(sku, g);
    match g % 100 {
        70..=73 => c.price_minor = None,
        74..=76 => c.category_path = vec!["Mystery Box > Assorted".into()],
        77 | 78 => c.currency = Some("US$".into()),
        79 | 80 => c.list_price_minor = c.price_minor.map(|p| p - 100),
        81 | 82 => {
            c = CatalogChange {
                title: c.title,
                category_path: c.category_path,
                ..CatalogChange::sample(sku, g as i64)
            };
            (c.brand, c.price_minor, c.currency) = (None, None, None);
            c.attributes.clear();
        }
        _ => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use galley::quality::{Assessor, RuleSet, Taxonomy, Verdict};
    use galley::schema::decode;

    #[test]
    fn the_mix_takes_every_branch() {
        let assessor = Assessor {
            rules: RuleSet::builtin(),
            taxonomy: Taxonomy::sample(),
        };
        let (mut valid, mut enrich, mut undecodable) = (0, 0, 0);
        for i in 0..1000 {
            let (_, bytes) = mixed(i).unwrap();
            match decode::<CatalogChange>(Registry::builtin(), names::CATALOG_CHANGE, &bytes) {
                Ok(c) if c.op == CatalogOp::Upsert => match assessor.assess(&c, vec![]).verdict {
                    Verdict::Valid => valid += 1,
                    Verdict::NeedsEnrichment => enrich += 1,
                },
                Ok(_) => {}
                Err(_) => undecodable += 1,
            }
        }
        assert_eq!(undecodable, 10);
        assert!(valid > 700 && enrich > 100, "valid {valid}, needs enrichment {enrich}");
    }
}
