//! Order-line rows (one product of one order per row, as shop and ERP exports write them):
//! the fields the orders audit compares with the catalog.

use super::columns::{Columns, FieldSpec};
use super::time;
use crate::import::{Record, parse_price};

/// The fields of an order line and the header names that mean them.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "order",
        names: &[
            "orderid",
            "order",
            "ordernumber",
            "orderno",
            "invoiceno",
            "invoice",
            "invoiceid",
            "transactionid",
            "name",
        ],
    },
    FieldSpec {
        name: "line",
        names: &["lineid", "lineitemid", "linenumber", "line", "lineno", "itemid"],
    },
    FieldSpec {
        name: "sku",
        names: &[
            "sku",
            "lineitemsku",
            "variantsku",
            "itemsku",
            "productid",
            "stockcode",
            "asin",
            "pid",
            "product",
        ],
    },
    FieldSpec {
        name: "quantity",
        names: &["quantity", "qty", "lineitemquantity", "units", "count"],
    },
    FieldSpec {
        name: "price",
        names: &[
            "unitprice",
            "lineitemprice",
            "itemprice",
            "price",
            "sellingprice",
            "priceeach",
        ],
    },
    FieldSpec {
        name: "currency",
        names: &["currency", "currencycode", "ordercurrency"],
    },
    FieldSpec {
        name: "customer",
        names: &["customerid", "customer", "buyerid", "buyer", "userid", "email"],
    },
    FieldSpec {
        name: "time",
        names: &[
            "orderdate",
            "createdat",
            "orderedat",
            "invoicedate",
            "date",
            "timestamp",
            "time",
            "paidat",
        ],
    },
];

/// One order line as read.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    /// Line in the file.
    pub line: u64,
    /// Order id.
    pub order: Option<String>,
    /// Line id within the order, when the export has one.
    pub line_id: Option<String>,
    /// Product.
    pub sku: Option<String>,
    /// Quantity (`Ok(None)`: none given).
    pub quantity: Result<Option<f64>, String>,
    /// Unit price in hundredths (`Ok(None)`: none given).
    pub unit_price_minor: Result<Option<i64>, String>,
    /// Currency: the currency column, else the one the price text names, else the default.
    pub currency: Option<String>,
    /// Customer.
    pub customer: Option<String>,
    /// Order time (`Ok(None)`: none given).
    pub time: Result<Option<i64>, String>,
}

/// Reads order lines.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The column resolution (and what fed which field).
    pub columns: Columns,
    default_currency: Option<String>,
}

impl Reader {
    /// A reader with `--map` choices and the currency of lines that name none.
    pub fn new(maps: &[String], default_currency: Option<String>) -> Result<Reader, String> {
        Ok(Reader {
            columns: Columns::new(FIELDS, maps)?,
            default_currency: default_currency.map(|c| c.trim().to_ascii_uppercase()),
        })
    }

    /// One row's fields.
    pub fn parse(&mut self, rec: &Record) -> OrderLine {
        let c = &mut self.columns;
        c.observe(rec);
        let own = |v: Option<(&str, &str)>| v.map(|(_, v)| v.to_owned());
        let price = c
            .get("price", rec)
            .map(|(_, v)| parse_price(v))
            .transpose()
            .map(Option::flatten);
        let named = price
            .as_ref()
            .ok()
            .and_then(|p| p.as_ref())
            .and_then(|p| p.currency)
            .map(|n| n.code.to_owned());
        let currency = own(c.get("currency", rec))
            .map(|s| s.to_ascii_uppercase())
            .or(named)
            .or_else(|| self.default_currency.clone());
        let quantity = c
            .get("quantity", rec)
            .map(|(_, v)| {
                let t = v.replace([',', ' '], "");
                t.parse::<f64>()
                    .ok()
                    .filter(|q| q.is_finite())
                    .ok_or_else(|| format!("quantity '{v}' is not a number"))
            })
            .transpose();
        OrderLine {
            line: rec.line,
            order: own(c.get("order", rec)),
            line_id: own(c.get("line", rec)),
            sku: own(c.get("sku", rec)),
            quantity,
            unit_price_minor: price.map(|p| p.map(|p| p.minor)),
            currency,
            customer: own(c.get("customer", rec)),
            time: c.get("time", rec).map(|(_, v)| time::parse_ms(v)).transpose(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> Record {
        Record {
            line: 2,
            values: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn shopify_style_line() {
        let mut r = Reader::new(&[], None).unwrap();
        let l = r.parse(&rec(&[
            ("Name", "#1001"),
            ("Lineitem sku", "SKU-1"),
            ("Lineitem quantity", "2"),
            ("Lineitem price", "1,099.50"),
            ("Currency", "inr"),
            ("Created at", "2026-03-01 10:00:00 +0530"),
        ]));
        assert_eq!(l.order.as_deref(), Some("#1001"));
        assert_eq!(l.sku.as_deref(), Some("SKU-1"));
        assert_eq!(l.quantity, Ok(Some(2.0)));
        assert_eq!(l.unit_price_minor, Ok(Some(109_950)));
        assert_eq!(l.currency.as_deref(), Some("INR"));
        assert!(l.time.unwrap().is_some());
    }

    #[test]
    fn currency_from_the_price_text_else_the_default_and_errors_kept() {
        let mut r = Reader::new(&[], Some("eur".into())).unwrap();
        let l = r.parse(&rec(&[
            ("order_id", "A"),
            ("sku", "S"),
            ("qty", "x"),
            ("unit_price", "₹399"),
        ]));
        assert_eq!(l.currency.as_deref(), Some("INR"));
        assert!(l.quantity.unwrap_err().contains("'x'"));
        let l = r.parse(&rec(&[("order_id", "A"), ("sku", "S"), ("unit_price", "abc")]));
        assert_eq!(l.currency.as_deref(), Some("EUR"));
        assert!(l.unit_price_minor.is_err());
        assert_eq!(l.quantity, Ok(None));
    }
}
