//! Server-rendered pages: plain HTML, one stylesheet, a few lines of JS for keyboard shortcuts.
//! Every value is escaped; every form carries the session's CSRF token.

use super::auth::Session;
use super::queue::{Filter, esc, highlight};
use crate::config::Role;
use crate::schema::{ReviewOutcome, ValidatedProduct};

/// The stylesheet, served as `/static/console.css` (no inline style: the CSP allows none).
pub const STYLE: &str = include_str!("static/console.css");

/// Keyboard shortcuts: on the queue j/k select and Enter opens; on an item a approves, e edits,
/// r rejects (focusing the field first), Ctrl+Enter submits a field, Escape goes back.
/// Served as `/static/console.js` (no inline script: the CSP allows none).
pub const SCRIPT: &str = include_str!("static/console.js");

/// The page frame.
pub fn layout(title: &str, session: Option<&Session>, body: &str) -> String {
    let nav = match session {
        Some(s) => {
            let admin = if s.role == Role::Admin {
                "<a href=\"/admin\">Rollout</a>"
            } else {
                ""
            };
            format!(
                "<a href=\"/\">Queue</a>{admin}<span class=\"who\">{} ({})</span>\
                 <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Log out</button></form>",
                esc(&s.user),
                if s.role == Role::Admin { "admin" } else { "reviewer" },
                esc(&s.csrf)
            )
        }
        None => String::new(),
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · Galley review</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><link rel=\"stylesheet\" href=\"/static/console.css\">\
         <script src=\"/static/console.js\" defer></script></head>\
         <body><header><strong>Galley review</strong>{nav}</header><main>{body}</main></body></html>",
        esc(title)
    )
}

/// The login form; `csrf` is also in the login cookie.
pub fn login(csrf: &str, error: Option<&str>, has_accounts: bool) -> String {
    let error = error
        .map(|e| format!("<p class=\"err\">{}</p>", esc(e)))
        .unwrap_or_default();
    let none = if has_accounts {
        ""
    } else {
        "<p class=\"err\">No accounts are configured: add <code>[[console.accounts]]</code> with a hash from <code>galley console --hash-password</code>.</p>"
    };
    layout(
        "Log in",
        None,
        &format!(
            "<div class=\"card narrow\"><h1>Log in</h1>{none}{error}\
             <form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <p><label>User<br><input type=\"text\" name=\"user\" id=\"user\" autofocus required></label></p>\
             <p><label>Password<br><input type=\"password\" name=\"password\" id=\"password\" required></label></p>\
             <button class=\"ok\" id=\"login\">Log in</button></form></div>",
            esc(csrf)
        ),
    )
}

fn tier_tags(o: &ReviewOutcome) -> String {
    if o.audit_sample {
        "<span class=\"tag audit\">audit sample</span>".into()
    } else {
        format!("<span class=\"tag human\">{:?}</span>", o.tier).to_lowercase()
    }
}

fn age(now_ms: i64, then_ms: i64) -> String {
    let s = ((now_ms - then_ms) / 1000).max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    }
}

/// The queue with its filters.
pub fn queue(
    items: &[ReviewOutcome],
    total: usize,
    f: &Filter,
    use_cases: &[String],
    now_ms: i64,
    s: &Session,
) -> String {
    let opt = |value: &str, label: &str, current: &str| {
        let sel = if value == current { " selected" } else { "" };
        format!("<option value=\"{}\"{sel}>{}</option>", esc(value), esc(label))
    };
    let mut uc = opt("", "all use cases", &f.use_case);
    for u in use_cases {
        uc.push_str(&opt(u, u, &f.use_case));
    }
    let tiers: String = [("", "all tiers"), ("human", "human"), ("auto", "auto (audit)")]
        .iter()
        .map(|(v, l)| opt(v, l, &f.tier))
        .collect();
    let audits: String = [
        ("", "audit samples too"),
        ("yes", "audit samples only"),
        ("no", "no audit samples"),
    ]
    .iter()
    .map(|(v, l)| opt(v, l, &f.audit))
    .collect();
    let min_age = f.min_age_min.map(|m| m.to_string()).unwrap_or_default();
    let mut rows = String::new();
    for o in items {
        let d = &o.draft;
        let href = format!("/item/{}/{}", urlencode(&d.subject_key), urlencode(&d.draft_id));
        let preview: String = d.text.chars().take(140).collect();
        rows.push_str(&format!(
            "<tr data-href=\"{href}\"><td><a href=\"{href}\">{}</a><br><span class=\"muted\">{}</span></td><td>{}</td>\
             <td>{}</td><td class=\"text\">{}</td><td>{}</td></tr>",
            esc(&d.subject_key),
            esc(&d.use_case),
            tier_tags(o),
            esc(&o.reason),
            esc(&preview),
            age(now_ms, o.decided_ms)
        ));
    }
    if items.is_empty() {
        rows = "<tr><td colspan=\"5\" class=\"muted\">Nothing waits for review with these filters.</td></tr>".into();
    }
    layout(
        "Queue",
        Some(s),
        &format!(
            "<h1>Review queue <span class=\"muted\">({} shown of {total})</span></h1>\
             <form method=\"get\" action=\"/\" class=\"card\"><select name=\"use_case\">{uc}</select> <select name=\"tier\">{tiers}</select> \
             <select name=\"audit\">{audits}</select> <label>older than <input type=\"text\" name=\"min_age_min\" size=\"4\" value=\"{}\"> min</label> \
             <button>Filter</button></form>\
             <table id=\"queue\"><tr><th>Subject</th><th>Tier</th><th>Why</th><th>Draft</th><th>Waiting</th></tr>{rows}</table>\
             <p class=\"muted\"><kbd>j</kbd>/<kbd>k</kbd> select · <kbd>Enter</kbd> open</p>",
            items.len(),
            esc(&min_age)
        ),
    )
}

/// One item: the draft with its flagged spans beside the product's facts, and the decisions.
pub fn item(o: &ReviewOutcome, product: Option<&ValidatedProduct>, s: &Session, error: Option<&str>) -> String {
    let d = &o.draft;
    let error = error
        .map(|e| format!("<p class=\"err\">{}</p>", esc(e)))
        .unwrap_or_default();
    let checks: String = if o.checks.is_empty() {
        "<li class=\"muted\">no findings</li>".into()
    } else {
        o.checks
            .iter()
            .map(|c| {
                let sev = c.severity.as_str();
                format!(
                    "<li><span class=\"tag {sev}\">{sev}</span> <strong>{}</strong>: {}</li>",
                    esc(&c.check),
                    esc(&c.message)
                )
            })
            .collect()
    };
    let facts = match product {
        Some(p) => {
            let mut dl = format!(
                "<dt>title</dt><dd>{}</dd><dt>brand</dt><dd>{}</dd><dt>category</dt><dd>{}</dd><dt>price</dt><dd>{} {}</dd>",
                esc(&p.title),
                esc(p.brand.as_deref().unwrap_or("-")),
                esc(&p.category_path.join(" › ")),
                p.price_minor
                    .map_or("-".to_owned(), |m| format!("{:.2}", m as f64 / 100.0)),
                esc(p.currency.as_deref().unwrap_or(""))
            );
            for (k, v) in &p.attributes {
                dl.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)));
            }
            format!("<dl id=\"facts\">{dl}</dl>")
        }
        None => {
            "<p class=\"muted\">No product record for this subject (support replies are keyed by customer).</p>".into()
        }
    };
    let action = format!("/item/{}/{}", urlencode(&d.subject_key), urlencode(&d.draft_id));
    let csrf = esc(&s.csrf);
    let hidden = |a: &str| {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"{a}\">"
        )
    };
    let body = format!(
        "<p><a href=\"/\" id=\"back\">← queue <kbd>Esc</kbd></a></p><h1>{} <span class=\"muted\">{}</span></h1>{error}\
         <div class=\"cols\"><div><div class=\"card\"><p>{} · {} · generator <strong>{}</strong> · model {} · prompt {}</p>\
         <div class=\"draft\" id=\"draft\">{}</div></div>\
         <div class=\"card\"><h2>Findings</h2><ul id=\"checks\">{checks}</ul><p class=\"muted\">Policy: {}</p></div>\
         <div class=\"card\"><form method=\"post\" action=\"{action}\">{}<label for=\"edited\">Edit <kbd>e</kbd> — checked again before it is published</label>\
         <textarea name=\"edited_text\" id=\"edited\">{}</textarea><button id=\"edit-btn\">Save edit and approve <kbd>Ctrl+Enter</kbd></button></form></div></div>\
         <div><div class=\"card\"><form method=\"post\" action=\"{action}\" id=\"approve\">{}<button class=\"ok\" id=\"approve-btn\">Approve as is <kbd>a</kbd></button></form>\
         <form method=\"post\" action=\"{action}\" class=\"mt1\">{}<label>Reject <kbd>r</kbd> — reason<br>\
         <input type=\"text\" name=\"reason\" id=\"reason\" size=\"30\" required></label> <button class=\"no\" id=\"reject-btn\">Reject</button></form></div>\
         <div class=\"card\"><h2>Source attributes</h2>{facts}</div></div></div>",
        esc(&d.subject_key),
        esc(&d.use_case),
        tier_tags(o),
        esc(&d.locale),
        esc(d.generator.as_str()),
        esc(d.model.as_deref().unwrap_or("-")),
        esc(&d.prompt),
        highlight(o),
        esc(&o.reason),
        hidden("edit"),
        esc(&d.text),
        hidden("approve"),
        hidden("reject"),
    );
    layout(&d.subject_key, Some(s), &body)
}

/// Percent-encodes a path segment.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
