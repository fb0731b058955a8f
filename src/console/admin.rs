//! The admin page: each use case's rollout (configured, in force, who overrode it and why, the
//! declared success metrics), and the forms that write overrides to galley.control: set a mode,
//! kill or resume one use case, kill or resume every use case. Every change is a
//! `RolloutControl` record naming the admin, which every stage honours within seconds.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Console;
use super::auth::Session;
use super::handlers::{checked, refused, session};
use super::pages::layout;
use super::queue::esc;
use crate::config::Role;
use crate::rollout::{ALL, Change, Effective, mode_label, override_label};
use crate::schema::{RolloutControl, RolloutMode};

type App = State<Arc<Console>>;

/// A rollout form: `action` is `mode`, `kill` or `resume`; `use_case` may be `*` for kill/resume.
#[derive(Deserialize)]
pub(super) struct RolloutForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    use_case: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    canary_percent: Option<f64>,
    #[serde(default)]
    reason: String,
    /// With `kill`: also retract the live copy (the checkbox; present = on).
    #[serde(default)]
    retract: Option<String>,
}

/// The session if it is an admin's; else the refusal (or the login redirect) it already is.
fn admin_only(s: Result<Session, Box<Response>>) -> Result<Session, Box<Response>> {
    match s {
        Ok(s) if s.role == Role::Admin => Ok(s),
        Ok(_) => Err(Box::new(refused(
            StatusCode::FORBIDDEN,
            "The rollout page is for admins.",
        ))),
        Err(r) => Err(r),
    }
}

pub(super) async fn page(State(c): App, h: HeaderMap) -> Response {
    match admin_only(session(&c, &h)) {
        Ok(s) => Html(render(&c, &s, None)).into_response(),
        Err(r) => *r,
    }
}

pub(super) async fn change(State(c): App, h: HeaderMap, Form(f): Form<RolloutForm>) -> Response {
    let s = match admin_only(checked(&c, &h, &f.csrf)) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let rec = match record(&c, &s, &f) {
        Ok(rec) => rec,
        Err(why) => return (StatusCode::BAD_REQUEST, Html(render(&c, &s, Some(&why)))).into_response(),
    };
    if let Err(error) = c.sink.send_control(rec.clone()).await {
        tracing::error!(message = "Rollout change not produced.", use_case = rec.use_case, %error);
        let why = format!("The change could not be saved ({error}); nothing was changed. Try again.");
        return (StatusCode::SERVICE_UNAVAILABLE, Html(render(&c, &s, Some(&why)))).into_response();
    }
    tracing::warn!(
        message = "Rollout changed.",
        user = s.user,
        use_case = rec.use_case,
        mode = rec.mode.map(RolloutMode::as_str),
        killed = rec.killed,
        reason = rec.reason
    );
    let detail = format!(
        "mode={} killed={} reason={}",
        rec.mode.map_or("configured", RolloutMode::as_str),
        rec.killed,
        rec.reason
    );
    c.audit(&s.user, "rollout", &rec.use_case, detail).await;
    c.control.wrote(rec.clone());
    if rec.killed && f.action == "kill" && f.retract.is_some() {
        retract_in_background(&c, &s.user, rec);
    }
    Redirect::to("/admin").into_response()
}

/// Runs the retraction after a kill switch (it reads two topics and pauses between passes, so
/// the admin does not wait for it); its result goes to the audit topic as a console action.
fn retract_in_background(c: &Arc<Console>, user: &str, kill: RolloutControl) {
    let Some(retractor) = c.retractor.clone() else {
        return;
    };
    let (c, user) = (c.clone(), user.to_owned());
    tokio::spawn(async move {
        let scope = (kill.use_case != ALL).then(|| kill.use_case.clone());
        let target = kill.use_case.clone();
        match retractor.retract(scope, kill).await {
            Ok(r) => {
                let detail = format!(
                    "taken_down={} restored={} kept={} seconds_after_kill={:.1}",
                    r.total.taken_down, r.total.restored, r.total.kept, r.seconds_after_kill
                );
                tracing::warn!(message = "Live copy retracted.", user, use_case = target, detail);
                c.audit(&user, "retract", &target, detail).await;
            }
            Err(error) => {
                tracing::error!(message = "Retraction failed; the kill switch stays on.", user, use_case = target, %error);
                c.audit(&user, "retract_failed", &target, error).await;
            }
        }
    });
}

/// The override a form asks for, on top of the use case's current one; or why not.
fn record(c: &Console, s: &Session, f: &RolloutForm) -> Result<RolloutControl, String> {
    let change = match f.action.as_str() {
        "kill" => Change::Kill,
        "resume" => Change::Resume,
        "mode" => {
            let mode = RolloutMode::parse(&f.mode).ok_or_else(|| format!("Unknown mode {:?}.", f.mode))?;
            Change::Mode(mode, f.canary_percent)
        }
        other => return Err(format!("Unknown action {other:?}.")),
    };
    c.control
        .change(&f.use_case, change, ("admin", &format!("admin:{}", s.user)), &f.reason)
}

fn hidden(s: &Session, action: &str, use_case: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">\
         <input type=\"hidden\" name=\"use_case\" value=\"{}\">",
        esc(&s.csrf),
        esc(use_case)
    )
}

fn describe(e: &Effective) -> String {
    let mode = mode_label(e.mode, e.canary_percent);
    if e.killed {
        format!("<span class=\"tag no\">killed</span> ({mode})")
    } else {
        esc(&mode)
    }
}

fn render(c: &Console, s: &Session, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"err\">{}</p>", esc(e)))
        .unwrap_or_default();
    let reason = "<input type=\"text\" name=\"reason\" placeholder=\"reason\" size=\"18\" required>";
    let retract_box = if c.retractor.is_some() {
        " <label title=\"Machine-approved live copy is replaced by the last reviewer-approved copy, or taken down\">\
         <input type=\"checkbox\" name=\"retract\" value=\"1\"> and retract its live copy</label>"
    } else {
        ""
    };
    let rows: String = c
        .control
        .configured()
        .iter()
        .map(|(name, r)| {
            let e = c.control.effective(name);
            let configured = esc(&mode_label(r.mode, r.canary_percent));
            let by = e.overridden_by.as_ref().map_or_else(String::new, |o| esc(&override_label(o)));
            let mut declared: Vec<String> = r
                .success
                .iter()
                .map(|t| format!("{} over {} s, n ≥ {}", esc(&t.describe()), t.window_s, t.min_sample))
                .collect();
            declared.extend(r.experiment.iter().map(|t| {
                format!(
                    "experiment: {} uplift ≥ {:.1}%, harm ≤ {:.1}%",
                    esc(&t.metric),
                    t.min_uplift * 100.0,
                    t.max_harm * 100.0
                )
            }));
            // A promotion the experiment proposed: shown with its evidence, applied only by a person.
            let proposal = c.control.standing_proposal(name).map_or_else(String::new, |p| {
                format!(
                    "<div class=\"mt\"><span class=\"tag ok\">promotion to on proposed</span> {}\
                     <form method=\"post\" action=\"/admin/rollout\" class=\"mt\">{}<input type=\"hidden\" name=\"mode\" value=\"on\">\
                     <input type=\"text\" name=\"reason\" value=\"accept the experiment's proposal\" size=\"18\" required> \
                     <button class=\"ok\">Promote to on</button></form></div>",
                    esc(&p.reason),
                    hidden(s, "mode", name)
                )
            });
            let options: String = RolloutMode::ALL
                .iter()
                .map(|m| format!("<option{}>{}</option>", if *m == e.mode { " selected" } else { "" }, m.as_str()))
                .collect();
            let switch = if e.killed { ("resume", "Resume", "ok") } else { ("kill", "Kill", "no") };
            format!(
                "<tr><td><strong>{name}</strong></td><td>{configured}</td><td>{now}{proposal}</td><td>{by}</td><td>{declared}</td>\
                 <td><form method=\"post\" action=\"/admin/rollout\">{h}<select name=\"mode\">{options}</select> \
                 <input type=\"number\" name=\"canary_percent\" min=\"0.1\" max=\"100\" step=\"0.1\" placeholder=\"%\" class=\"pct\"> \
                 {reason} <button>Set</button></form>\
                 <form method=\"post\" action=\"/admin/rollout\" class=\"mt\">{k}{reason}{retract} <button class=\"{cls}\">{label}</button></form></td></tr>",
                name = esc(name),
                now = describe(&e),
                declared = if declared.is_empty() { "<em>none: stays in shadow at most</em>".into() } else { declared.join("<br>") },
                h = hidden(s, "mode", name),
                k = hidden(s, switch.0, name),
                retract = if switch.0 == "kill" { retract_box } else { "" },
                label = switch.1,
                cls = switch.2,
            )
        })
        .collect();
    let everything = c.control.effective(ALL);
    let global = if everything.killed {
        ("resume", "Resume every use case", "ok")
    } else {
        ("kill", "Kill every use case", "no")
    };
    layout(
        "Rollout",
        Some(s),
        &format!(
            "<h1>Rollout</h1>{error}<table><tr><th>Use case</th><th>Configured</th><th>In force</th><th>Overridden by</th>\
             <th>Declared success metrics</th><th>Change (written to galley.control)</th></tr>{rows}</table>\
             <div class=\"card\"><form method=\"post\" action=\"/admin/rollout\">{}{reason}{} <button class=\"{}\">{}</button></form>\
             <p>A kill switch stops generation and publication within seconds in every stage; drafts already written go to \
             content.shadow. With \"retract\", its live copy also comes off content.approved: machine-approved copy is \
             replaced by the last reviewer-approved copy or taken down (the result is on the audit topic). Auto-halt drops a live use case to shadow when a declared metric breaches its threshold; \
             set the mode again here once the cause is fixed. A canary declared as an experiment is halted when its copy sells worse, \
             and its promotion proposed here when it sells better: a person promotes it.</p></div>",
            hidden(s, global.0, ALL),
            if global.0 == "kill" { retract_box } else { "" },
            global.2,
            global.1,
        ),
    )
}
