//! The event fields a column can feed, and the user's explicit `--map field=column` choices.
//! Which column a field reads when the user did not say is `resolve.rs`'s job.

/// An event field a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // the names are the CatalogChange fields; Specs feeds attributes
pub enum Field {
    Sku,
    Title,
    Brand,
    Category,
    Price,
    ListPrice,
    Currency,
    Description,
    Images,
    Specs,
    Version,
    Locale,
    /// Price already in minor units (JSONL exports of CatalogChange).
    PriceMinor,
    /// List price already in minor units.
    ListPriceMinor,
    /// The product a row belongs to (Shopify's `Handle`): rows with an empty title that share
    /// it with the row before are that product's further variants and images.
    Group,
}

/// Every field, in `Field as usize` order.
pub(super) const ALL: [Field; 15] = [
    Field::Sku,
    Field::Title,
    Field::Brand,
    Field::Category,
    Field::Price,
    Field::ListPrice,
    Field::Currency,
    Field::Description,
    Field::Images,
    Field::Specs,
    Field::Version,
    Field::Locale,
    Field::PriceMinor,
    Field::ListPriceMinor,
    Field::Group,
];

impl Field {
    /// Whether a user may `--map` it (the minor-unit twins are for Galley's own JSONL).
    fn mappable(self) -> bool {
        !matches!(self, Field::PriceMinor | Field::ListPriceMinor)
    }

    /// Name used in `--map` and reports.
    pub fn name(self) -> &'static str {
        match self {
            Field::Sku => "sku",
            Field::Title => "title",
            Field::Brand => "brand",
            Field::Category => "category",
            Field::Price => "price",
            Field::ListPrice => "list_price",
            Field::Currency => "currency",
            Field::Description => "description",
            Field::Images => "images",
            Field::Specs => "specs",
            Field::Version => "version",
            Field::Locale => "locale",
            Field::PriceMinor => "price_minor",
            Field::ListPriceMinor => "list_price_minor",
            Field::Group => "group",
        }
    }

    /// The minor-units twin of a price field.
    pub(super) fn minor_key(self) -> Field {
        match self {
            Field::ListPrice => Field::ListPriceMinor,
            _ => Field::PriceMinor,
        }
    }

    /// True for fields that read every column they are given (images from `image_link` and
    /// `additional_image_link`); the others read the first non-empty one.
    pub(super) fn collects(self) -> bool {
        self == Field::Images
    }
}

/// Explicit column choices.
#[derive(Debug, Clone, Default)]
pub struct ColumnMapping {
    explicit: Vec<(Field, String)>,
}

impl ColumnMapping {
    /// Maps `field` to `column`, replacing an earlier choice.
    pub fn set(&mut self, field: Field, column: String) {
        self.explicit.retain(|(f, _)| *f != field);
        self.explicit.push((field, column));
    }

    /// The column chosen for `field`, if any.
    pub(super) fn get(&self, field: Field) -> Option<&str> {
        self.explicit.iter().find(|(f, _)| *f == field).map(|(_, c)| c.as_str())
    }
}

/// Parses `field=column` as given to `--map`.
pub fn parse_mapping(spec: &str) -> Result<(Field, String), String> {
    let (field, column) = spec
        .split_once('=')
        .ok_or_else(|| format!("--map {spec}: expected FIELD=COLUMN"))?;
    let (field, column) = (field.trim().to_ascii_lowercase(), column.trim());
    let mappable = || ALL.into_iter().filter(|f| f.mappable());
    let known = mappable().map(Field::name).collect::<Vec<_>>();
    let f = mappable()
        .find(|f| f.name() == field)
        .ok_or_else(|| format!("--map {spec}: unknown field '{field}'; fields: {}", known.join(", ")))?;
    if column.is_empty() {
        return Err(format!("--map {spec}: the column name is empty"));
    }
    Ok((f, column.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order() {
        assert!(ALL.iter().enumerate().all(|(i, f)| *f as usize == i));
        assert_eq!(parse_mapping("group=Handle").unwrap(), (Field::Group, "Handle".into()));
        assert!(parse_mapping("price_minor=x").is_err());
    }
}
