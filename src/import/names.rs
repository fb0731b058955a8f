//! What a header's name says about its column, in two strengths: a *known name* (the header,
//! folded to lower-case letters and digits, is one of a field's usual names: `Variant SKU` →
//! `variantsku`) and *header words* (one of the words in it names the field and none rules it
//! out: `Product Code/SKU` → sku, `SEO Title` → not a title). Prices get their own role
//! (selling, plain, regular, compare-at) because exports name sale and list prices in
//! opposite ways (`price` is Google's regular price but a plain export's selling price).

use super::columns::Field;

/// A header folded for comparison: lower case, letters and digits only.
pub(crate) fn fold(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A header's words, lower case: split at anything not a letter or digit and at camelCase
/// humps (`imgLink` → `img`, `link`).
pub(crate) fn words(header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in header.chars() {
        if !c.is_alphanumeric() {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Known names of a field (folded), preferred first. Prices are in [`price_role`].
pub(crate) fn known(field: Field) -> &'static [&'static str] {
    match field {
        Field::Sku => &[
            "sku",
            "variantsku",
            "productsku",
            "itemsku",
            "skuid",
            "skucode",
            "sellersku",
            "merchantsku",
            "articlenumber",
            "itemnumber",
            "partnumber",
            "productcode",
            "itemcode",
            "pid",
            "productid",
            "id",
            "itemid",
            "offerid",
            "asin",
            "uniqid",
        ],
        Field::Title => &["title", "name", "productname", "producttitle", "itemname", "itemtitle"],
        Field::Brand => &["brand", "brands", "brandname", "vendor", "manufacturer", "make"],
        Field::Category => &[
            "category",
            "categories",
            "categorypath",
            "productcategorytree",
            "productcategory",
            "googleproductcategory",
            "producttype",
            "categoryname",
            "breadcrumb",
            "breadcrumbs",
        ],
        Field::Currency => &["currency", "currencycode", "pricecurrency", "currencyiso"],
        Field::Description => &[
            "description",
            "bodyhtml",
            "body",
            "longdescription",
            "productdescription",
            "aboutproduct",
            "shortdescription",
            "productdetails",
            "details",
        ],
        Field::Images => &[
            "images",
            "image",
            "imagesrc",
            "imageurl",
            "imageurls",
            "imagelink",
            "imglink",
            "mainimage",
            "additionalimagelink",
            "additionalimagelinks",
            "variantimage",
            "picture",
            "pictures",
            "photo",
            "photos",
        ],
        Field::Specs => &["specs", "attributes", "productspecifications", "specifications"],
        Field::Version => &["version"],
        Field::Locale => &["locale"],
        Field::PriceMinor => &["priceminor"],
        Field::ListPriceMinor => &["listpriceminor"],
        Field::Group => &["handle", "parent", "parentsku", "parentid", "itemgroupid", "groupid"],
        Field::Price | Field::ListPrice => &[],
    }
}

/// Words that name a field, and words that rule it out, for headers that are no known name.
fn word_rule(field: Field) -> (&'static [&'static str], &'static [&'static str]) {
    const NOT_TEXT: &[&str] = &["seo", "meta", "alt", "image", "img", "url", "link", "file", "id"];
    match field {
        Field::Sku => (
            &[
                "sku",
                "id",
                "code",
                "ref",
                "reference",
                "artikelnummer",
                "asin",
                "number",
                "no",
                "nr",
            ],
            &[
                "parent", "group", "category", "brand", "image", "tax", "shipping", "customer", "order", "user",
                "vendor", "supplier", "gtin", "ean", "upc", "isbn", "barcode", "review", "phone", "zip", "postal",
            ],
        ),
        Field::Title => (
            &["title", "name", "bezeichnung", "designation", "nombre"],
            &[
                "seo",
                "meta",
                "brand",
                "vendor",
                "category",
                "categories",
                "image",
                "img",
                "file",
                "alt",
                "option",
                "attribute",
                "supplier",
                "manufacturer",
                "seller",
                "shop",
                "store",
                "tag",
                "tags",
                "collection",
                "user",
                "customer",
                "author",
                "first",
                "last",
                "company",
                "review",
                "page",
                "url",
                "link",
            ],
        ),
        Field::Brand => (
            &[
                "brand",
                "brands",
                "vendor",
                "manufacturer",
                "make",
                "marke",
                "marque",
                "marca",
                "hersteller",
            ],
            &["id", "code", "url", "logo", "image"],
        ),
        Field::Category => (
            &[
                "category",
                "categories",
                "department",
                "breadcrumb",
                "breadcrumbs",
                "taxonomy",
                "kategorie",
                "categorie",
                "categoria",
                "warengruppe",
            ],
            &["id", "ids", "code", "url", "image", "description"],
        ),
        Field::Currency => (&["currency", "währung", "waehrung", "devise", "moneda"], &[]),
        Field::Description => (
            &[
                "description",
                "desc",
                "body",
                "about",
                "details",
                "overview",
                "beschreibung",
                "descripción",
                "descripcion",
            ],
            NOT_TEXT,
        ),
        Field::Images => (
            &[
                "image", "images", "img", "picture", "pictures", "photo", "photos", "imagen", "bild",
            ],
            &[
                "alt",
                "position",
                "count",
                "text",
                "title",
                "width",
                "height",
                "caption",
                "type",
                "size",
                "sort",
                "label",
                "description",
                "id",
                "thumbnail",
            ],
        ),
        Field::Specs => (&["specifications", "specs"], &[]),
        _ => (&[], &[]),
    }
}

/// How well a header names `field`: 2 for a known name, 1 for header words, 0 for neither.
pub(crate) fn score(field: Field, header: &str) -> u8 {
    let folded = fold(header);
    if known(field).contains(&folded.as_str()) {
        return 2;
    }
    let (yes, no) = word_rule(field);
    let w = words(header);
    let named = w.iter().any(|w| yes.contains(&w.as_str()));
    let ruled_out = w.iter().any(|w| no.contains(&w.as_str()));
    u8::from(named && !ruled_out)
}

/// What a price column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PriceRole {
    /// The price the item sells at when it is on offer (`sale_price`, `discounted_price`).
    Selling,
    /// A bare `price` (`Variant Price`): selling price, or the regular one beside a sale column.
    Plain,
    /// The regular price (`regular_price`, `actual_price`, `retail_price`, `msrp`).
    Regular,
    /// A "was" price shown struck through (`compare_at_price`).
    CompareAt,
}

/// The role a header's name gives its column, if it is a price at all. Cost, shipping, tax
/// and minor-unit columns are not prices of the product.
pub(crate) fn price_role(header: &str) -> Option<PriceRole> {
    const PRICE: &[&str] = &[
        "price", "prices", "preis", "prix", "precio", "prezzo", "mrp", "msrp", "rrp", "uvp",
    ];
    const NOT: &[&str] = &[
        "cost",
        "shipping",
        "tax",
        "minor",
        "wholesale",
        "range",
        "per",
        "date",
        "from",
        "to",
        "starts",
        "ends",
        "currency",
        "rule",
        "type",
        "percentage",
        "percent",
    ];
    const SELLING: &[&str] = &[
        "sale",
        "discounted",
        "discount",
        "special",
        "offer",
        "selling",
        "promo",
        "promotional",
        "deal",
        "final",
        "current",
        "our",
        "now",
        "angebot",
    ];
    const REGULAR: &[&str] = &[
        "regular", "actual", "retail", "list", "original", "base", "standard", "normal", "mrp", "msrp", "rrp", "uvp",
    ];
    const COMPARE: &[&str] = &["compare", "was", "old", "strikethrough", "before"];
    let w = words(header);
    let has = |set: &[&str]| w.iter().any(|w| set.contains(&w.as_str()));
    if !has(PRICE) || has(NOT) {
        return None;
    }
    Some(if has(COMPARE) {
        PriceRole::CompareAt
    } else if has(SELLING) {
        PriceRole::Selling
    } else if has(REGULAR) {
        PriceRole::Regular
    } else {
        PriceRole::Plain
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_words() {
        assert_eq!(fold("Variant SKU"), "variantsku");
        assert_eq!(fold("Body (HTML)"), "bodyhtml");
        assert_eq!(words("imgLink"), ["img", "link"]);
        assert_eq!(words("Product Code/SKU"), ["product", "code", "sku"]);
        assert_eq!(words("GTIN, UPC, EAN, or ISBN"), ["gtin", "upc", "ean", "or", "isbn"]);
    }

    #[test]
    fn header_scores() {
        assert_eq!(score(Field::Sku, "Variant SKU"), 2);
        assert_eq!(score(Field::Sku, "Product Code/SKU"), 1);
        assert_eq!(score(Field::Sku, "Parent SKU"), 0);
        assert_eq!(score(Field::Title, "Product Name"), 2);
        assert_eq!(score(Field::Title, "Item Display Name"), 1);
        assert_eq!(score(Field::Title, "SEO Title"), 0);
        assert_eq!(score(Field::Images, "Product Image URL - 1"), 1);
        assert_eq!(score(Field::Images, "Image Alt Text"), 0);
        assert_eq!(score(Field::Description, "Long Description"), 2);
        assert_eq!(score(Field::Description, "Meta Description"), 0);
        assert_eq!(score(Field::Brand, "Brand Name"), 2);
    }

    #[test]
    fn price_roles() {
        use PriceRole::*;
        for (h, want) in [
            ("price", Some(Plain)),
            ("Variant Price", Some(Plain)),
            ("sale_price", Some(Selling)),
            ("Sale price", Some(Selling)),
            ("discounted_price", Some(Selling)),
            ("actual_price", Some(Regular)),
            ("Regular price", Some(Regular)),
            ("retail_price", Some(Regular)),
            ("MSRP", Some(Regular)),
            ("Variant Compare At Price", Some(CompareAt)),
            ("Cost per item", None),
            ("Cost Price", None),
            ("price_minor", None),
            ("Date sale price starts", None),
            ("Fixed Shipping Cost", None),
            ("rating_count", None),
        ] {
            assert_eq!(price_role(h), want, "{h}");
        }
    }
}
