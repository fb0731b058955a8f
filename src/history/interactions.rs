//! Interaction-history rows → [`InteractionEvent`]s. A row's fields are read as they are
//! ([`ParsedInteraction`]), so the audit can count what is missing or wrong and publish can
//! refuse exactly the rows the quality stage would.

use super::columns::{Columns, FieldSpec, normalise};
use super::time;
use crate::import::{Record, RowError};
use crate::schema::{InteractionEvent, InteractionKind};

/// The fields of an interaction row and the header names that mean them.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "customer",
        names: &[
            "customerid",
            "customer",
            "userid",
            "user",
            "authorid",
            "author",
            "reviewerid",
            "clientid",
            "visitorid",
            "shopperid",
        ],
    },
    FieldSpec {
        name: "sku",
        names: &[
            "sku",
            "productid",
            "product",
            "asin",
            "pid",
            "itemid",
            "item",
            "variantsku",
        ],
    },
    FieldSpec {
        name: "text",
        names: &[
            "text",
            "message",
            "body",
            "question",
            "reviewtext",
            "review",
            "comment",
            "content",
            "query",
            "searchquery",
            "searchterm",
        ],
    },
    FieldSpec {
        name: "time",
        names: &[
            "eventtimems",
            "eventtime",
            "timestamp",
            "createdat",
            "unixtime",
            "time",
            "datetime",
            "date",
            "ts",
            "occurredat",
        ],
    },
    FieldSpec {
        name: "kind",
        names: &["kind", "eventtype", "interactiontype", "type", "action", "event"],
    },
    FieldSpec {
        name: "channel",
        names: &["channel", "platform"],
    },
    FieldSpec {
        name: "locale",
        names: &["locale", "language", "lang"],
    },
    // Who wrote the row: the customer, or the shop answering (support threads hold both).
    FieldSpec {
        name: "inbound",
        names: &["inbound", "fromcustomer", "iscustomer"],
    },
    FieldSpec {
        name: "sender",
        names: &["sender", "direction", "authortype", "role"],
    },
];

/// Values for what rows do not say.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Kind of rows without a kind column (else told from the text column's name).
    pub kind: Option<InteractionKind>,
    /// Channel of rows without one.
    pub channel: String,
    /// Locale of rows without one.
    pub locale: String,
}

/// One row's fields as read.
#[derive(Debug, Clone)]
pub struct ParsedInteraction {
    /// Line in the file.
    pub line: u64,
    /// Customer id.
    pub customer: Option<String>,
    /// Product.
    pub sku: Option<String>,
    /// Free text.
    pub text: Option<String>,
    /// Event time (`Ok(None)`: no time column on the row).
    pub time: Result<Option<i64>, String>,
    /// Kind.
    pub kind: Result<InteractionKind, String>,
    /// Channel.
    pub channel: String,
    /// Locale.
    pub locale: String,
    /// The shop's own message (a support agent's reply), not the customer's.
    pub from_shop: bool,
}

/// A kind as exports name it.
pub fn kind_named(v: &str) -> Option<InteractionKind> {
    use InteractionKind::*;
    Some(match normalise(v).as_str() {
        "view" | "pageview" | "productview" | "detailview" | "impression" => View,
        "search" | "query" | "searchquery" => Search,
        "cart" | "addtocart" | "addcart" | "cartadd" => Cart,
        "purchase" | "order" | "transaction" | "checkout" | "buy" => Purchase,
        "review" | "rating" => Review,
        "question" | "qa" | "productquestion" => Question,
        "supportmessage" | "support" | "message" | "chat" | "ticket" | "complaint" | "tweet" => SupportMessage,
        _ => return None,
    })
}

/// The kind a free-text column's name implies, when the file has no kind column.
fn kind_of_text_column(column: &str, threaded: bool) -> Option<InteractionKind> {
    let c = normalise(column);
    if c.contains("question") {
        Some(InteractionKind::Question)
    } else if c.contains("review") {
        Some(InteractionKind::Review)
    } else if c.contains("query") || c.contains("search") {
        Some(InteractionKind::Search)
    } else if threaded {
        Some(InteractionKind::SupportMessage)
    } else {
        None
    }
}

fn is_shop(inbound: Option<&str>, sender: Option<&str>) -> bool {
    let no = |v: &str| matches!(normalise(v).as_str(), "false" | "0" | "no" | "n");
    let shop = |v: &str| {
        matches!(
            normalise(v).as_str(),
            "agent" | "brand" | "shop" | "staff" | "store" | "company" | "outbound" | "out" | "support" | "merchant"
        )
    };
    inbound.is_some_and(no) || sender.is_some_and(shop)
}

/// Reads interaction rows.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The column resolution (and what fed which field).
    pub columns: Columns,
    defaults: Defaults,
}

impl Reader {
    /// A reader with `--map` choices and defaults.
    pub fn new(maps: &[String], defaults: Defaults) -> Result<Reader, String> {
        Ok(Reader {
            columns: Columns::new(FIELDS, maps)?,
            defaults,
        })
    }

    /// One row's fields.
    pub fn parse(&mut self, rec: &Record) -> ParsedInteraction {
        let c = &mut self.columns;
        c.observe(rec);
        let own = |v: Option<(&str, &str)>| v.map(|(_, v)| v.to_owned());
        let text = c.get("text", rec);
        let text_column = text.map(|(col, _)| col.to_owned());
        let text = own(text);
        let inbound = c.get("inbound", rec).map(|(_, v)| v);
        let sender = c.get("sender", rec).map(|(_, v)| v);
        let from_shop = is_shop(inbound, sender);
        let threaded = c.has_column("inbound") || c.has_column("sender");
        let kind = match c.get("kind", rec) {
            Some((_, v)) => kind_named(v).ok_or_else(|| format!("kind '{v}' is not an interaction kind")),
            None => self
                .defaults
                .kind
                .or_else(|| {
                    text_column
                        .as_deref()
                        .and_then(|col| kind_of_text_column(col, threaded))
                })
                .ok_or_else(|| "no kind: map a kind column (--map kind=COLUMN) or pass --interaction-kind".to_owned()),
        };
        let time = c.get("time", rec).map(|(_, v)| time::parse_ms(v)).transpose();
        ParsedInteraction {
            line: rec.line,
            customer: own(c.get("customer", rec)),
            sku: own(c.get("sku", rec)),
            text,
            time,
            kind,
            channel: own(c.get("channel", rec)).unwrap_or_else(|| self.defaults.channel.clone()),
            locale: own(c.get("locale", rec)).unwrap_or_else(|| self.defaults.locale.clone()),
            from_shop,
        }
    }
}

impl ParsedInteraction {
    /// The event to publish, `Ok(None)` for the shop's own messages (not customer
    /// interactions), or why the row cannot be one. `anonymous` is the customer id of rows
    /// without one; without it they are refused, as the quality stage would refuse them.
    pub fn into_event(self, anonymous: Option<&str>) -> Result<Option<InteractionEvent>, RowError> {
        let line = self.line;
        let bad = |message: String| RowError { line, message };
        if self.from_shop {
            return Ok(None);
        }
        let customer_id = match (self.customer, anonymous) {
            (Some(c), _) => c,
            (None, Some(a)) => a.to_owned(),
            (None, None) => {
                return Err(bad(
                    "no customer id (map one with --map customer=COLUMN, or pass --anonymous-customer ID)".into(),
                ));
            }
        };
        let kind = self.kind.map_err(bad)?;
        let event_time_ms = self
            .time
            .map_err(bad)?
            .ok_or_else(|| bad("no timestamp (map one with --map time=COLUMN)".into()))?;
        Ok(Some(InteractionEvent {
            customer_id,
            kind,
            sku: self.sku,
            text: self.text,
            event_time_ms,
            channel: self.channel,
            locale: self.locale,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            kind: None,
            channel: "web".into(),
            locale: "en-US".into(),
        }
    }

    fn rec(line: u64, pairs: &[(&str, &str)]) -> Record {
        Record {
            line,
            values: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn support_tweets_customer_rows_become_events_and_brand_replies_are_skipped() {
        let mut r = Reader::new(&[], defaults()).unwrap();
        let customer = rec(
            2,
            &[
                ("tweet_id", "119237"),
                ("author_id", "105834"),
                ("inbound", "True"),
                ("created_at", "Wed Oct 11 06:55:44 +0000 2017"),
                ("text", "@AppleSupport the tapped notification is opened"),
            ],
        );
        let e = r.parse(&customer).into_event(None).unwrap().unwrap();
        assert_eq!(e.customer_id, "105834");
        assert_eq!(e.kind, InteractionKind::SupportMessage);
        assert_eq!(e.event_time_ms, 1_507_704_944_000);
        assert_eq!(e.sku, None);
        let reply = rec(
            3,
            &[("author_id", "ChaseSupport"), ("inbound", "False"), ("text", "DM us")],
        );
        assert_eq!(r.parse(&reply).into_event(None).unwrap(), None);
        assert!(r.columns.ignored().contains(&"tweet_id".to_owned()));
    }

    #[test]
    fn questions_have_no_customer_unless_one_is_given() {
        let mut r = Reader::new(&[], defaults()).unwrap();
        let q = rec(
            1,
            &[
                ("asin", "B00004U9JP"),
                ("question", "Does it fit a 30 inch range?"),
                ("unixTime", "1407999600"),
                ("answer", "Yes"),
            ],
        );
        let p = r.parse(&q);
        assert_eq!(p.kind, Ok(InteractionKind::Question));
        let err = p.clone().into_event(None).unwrap_err();
        assert!(err.message.contains("--anonymous-customer"), "{err}");
        let e = p.into_event(Some("anonymous")).unwrap().unwrap();
        assert_eq!(
            (e.customer_id.as_str(), e.sku.as_deref()),
            ("anonymous", Some("B00004U9JP"))
        );
    }

    #[test]
    fn kinds_times_and_refusals_name_the_problem() {
        let mut r = Reader::new(&["customer=shopper".into()], defaults()).unwrap();
        let ok = rec(
            1,
            &[
                ("shopper", "c1"),
                ("event_type", "add_to_cart"),
                ("timestamp", "2026-01-02T03:04:05Z"),
            ],
        );
        assert_eq!(r.parse(&ok).kind, Ok(InteractionKind::Cart));
        let unknown = rec(2, &[("shopper", "c1"), ("event_type", "wishlist"), ("timestamp", "1")]);
        let e = r.parse(&unknown).into_event(None).unwrap_err();
        assert!(e.message.contains("'wishlist'"), "{e}");
        let relative = rec(3, &[("shopper", "c1"), ("kind", "view"), ("date", "21 days ago")]);
        assert!(
            r.parse(&relative)
                .into_event(None)
                .unwrap_err()
                .message
                .contains("21 days ago")
        );
        let untimed = rec(4, &[("shopper", "c1"), ("kind", "view")]);
        assert!(
            r.parse(&untimed)
                .into_event(None)
                .unwrap_err()
                .message
                .contains("no timestamp")
        );
        let unkinded = rec(5, &[("shopper", "c1"), ("notes", "hello"), ("ts", "1")]);
        assert!(
            r.parse(&unkinded)
                .into_event(None)
                .unwrap_err()
                .message
                .contains("--interaction-kind")
        );
    }
}
