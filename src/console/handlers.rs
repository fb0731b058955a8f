//! Request handlers: every page but the login form needs a session, every POST a CSRF token
//! matching it (the login form's matches its own cookie), and admin pages the admin role.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, Session, cookie, same};
use super::queue::Filter;
use super::throttle::{MAX_NAME, Refusal};
use super::{Console, pages};
use crate::printable::printable;
use crate::runtime::now_ms;
use crate::schema::{DecisionAction, ReviewDecision};

type App = State<Arc<Console>>;

fn cookies(h: &HeaderMap) -> &str {
    h.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The session, or a redirect to the login page.
pub(super) fn session(c: &Console, h: &HeaderMap) -> Result<Session, Box<Response>> {
    c.auth
        .session(cookies(h))
        .ok_or_else(|| Box::new(Redirect::to("/login").into_response()))
}

pub(super) fn refused(status: StatusCode, why: &str) -> Response {
    (
        status,
        Html(pages::layout(
            "Refused",
            None,
            &format!(
                "<p class=\"err\">{}</p><p><a href=\"/\">Back to the queue</a></p>",
                super::queue::esc(why)
            ),
        )),
    )
        .into_response()
}

/// A POST of this session with this token, or a 403.
pub(super) fn checked(c: &Console, h: &HeaderMap, csrf: &str) -> Result<Session, Box<Response>> {
    let s = c
        .auth
        .session(cookies(h))
        .ok_or_else(|| Box::new(refused(StatusCode::FORBIDDEN, "Not logged in (or the session ended).")))?;
    if !same(&s.csrf, csrf) {
        tracing::warn!(message = "Form without a valid CSRF token refused.", user = s.user);
        return Err(Box::new(refused(
            StatusCode::FORBIDDEN,
            "This form is stale or did not come from the console; reload the page.",
        )));
    }
    Ok(s)
}

fn login_page(c: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let t = c.auth.login_token();
    let set = c.auth.set_cookie(LOGIN_CSRF_COOKIE, &t);
    (
        status,
        [(header::SET_COOKIE, set)],
        Html(pages::login(&t, error, c.auth.has_accounts())),
    )
        .into_response()
}

pub(super) async fn login_form(State(c): App, h: HeaderMap) -> Response {
    if c.auth.session(cookies(&h)).is_some() {
        return Redirect::to("/").into_response();
    }
    login_page(&c, StatusCode::OK, None)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The client's address: the TCP peer's, or the last one in `console.login.client_ip_header`
/// behind a proxy.
fn client_addr(c: &Console, h: &HeaderMap, ext: &Extensions) -> Option<IpAddr> {
    match c.client_ip_header.as_deref() {
        Some(name) => h
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok()),
        None => ext.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip()),
    }
}

fn too_many(c: &Console, status: StatusCode, wait: Duration, why: &str) -> Response {
    let mut r = login_page(c, status, Some(why));
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    if let Ok(v) = secs.to_string().parse() {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

pub(super) async fn login(State(c): App, h: HeaderMap, ext: Extensions, Form(f): Form<LoginForm>) -> Response {
    let expected = cookie(cookies(&h), LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same(expected, &f.csrf) || !c.auth.valid_login_token(&f.csrf) {
        return refused(
            StatusCode::FORBIDDEN,
            "The login form is stale or did not come from the console; reload it.",
        );
    }
    let addr = client_addr(&c, &h, &ext);
    // Shown in logs and audit events: bounded and with control characters made visible.
    let name = printable(&f.user, MAX_NAME);
    let outcome = |o: &str| c.metrics.console_logins.with_label_values(&[o]).inc();
    let slot = match c.throttle.admit(&f.user, addr, Instant::now()) {
        Ok(slot) => slot,
        Err(Refusal::Throttled(wait)) => {
            outcome("throttled");
            tracing::debug!(message = "Login refused inside its failure delay.", user = name, ?wait);
            let why = "Too many failed logins; wait a moment before trying again.";
            return too_many(&c, StatusCode::TOO_MANY_REQUESTS, wait, why);
        }
        Err(Refusal::Busy) => {
            outcome("busy");
            let why = "The console is busy checking other logins; try again in a moment.";
            return too_many(&c, StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(1), why);
        }
    };
    let c2 = c.clone();
    let (user, password) = (f.user.clone(), f.password);
    // Argon2 is deliberately slow and memory-hard: keep it off the async workers, one check per
    // slot (the slot is given back when the check ends, even if the client has gone).
    let t = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        c2.auth.login(&user, &password)
    })
    .await
    .ok()
    .flatten();
    match t {
        Some(t) => {
            outcome("ok");
            c.throttle.succeeded(&f.user, addr);
            tracing::info!(message = "Reviewer logged in.", user = name);
            c.audit(&f.user, "login", "", String::new()).await;
            let mut headers = HeaderMap::new();
            for v in [
                c.auth.set_cookie(SESSION_COOKIE, &t),
                c.auth.set_cookie(LOGIN_CSRF_COOKIE, ""),
            ] {
                if let Ok(v) = v.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            (StatusCode::SEE_OTHER, headers, [(header::LOCATION, "/")]).into_response()
        }
        None => {
            outcome("failed");
            c.throttle.failed(&f.user, addr, Instant::now());
            tracing::warn!(message = "Failed console login.", user = name, client = ?addr);
            c.audit(&name, "login_failed", "", String::new()).await;
            login_page(&c, StatusCode::UNAUTHORIZED, Some("Wrong user or password."))
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(State(c): App, h: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let s = match checked(&c, &h, &f.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    c.auth.logout(cookies(&h));
    c.audit(&s.user, "logout", "", String::new()).await;
    let clear = c.auth.set_cookie(SESSION_COOKIE, "");
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, clear), (header::LOCATION, "/login".to_owned())],
    )
        .into_response()
}

pub(super) async fn queue(State(c): App, h: HeaderMap, Query(f): Query<Filter>) -> Response {
    let s = match session(&c, &h) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let now = now_ms();
    c.refresh_gauges(now);
    let all = c.store.pending();
    let shown: Vec<_> = all
        .iter()
        .filter(|o| f.matches(o, (now - o.decided_ms) / 1000))
        .cloned()
        .collect();
    let names: Vec<String> = c.control.configured().keys().cloned().collect();
    Html(pages::queue(&shown, all.len(), &f, &names, now, &s)).into_response()
}

fn gone() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "This draft is not waiting for review (someone decided it, or it never was queued).",
    )
}

pub(super) async fn item(State(c): App, h: HeaderMap, Path((key, draft_id)): Path<(String, String)>) -> Response {
    let s = match session(&c, &h) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(o) = c.store.find(&key, &draft_id) else {
        return gone();
    };
    let product = (o.draft.use_case == "product_description")
        .then(|| c.store.product(&key))
        .flatten();
    Html(pages::item(&o, product.as_ref(), &s, None)).into_response()
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    edited_text: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

pub(super) async fn decide(
    State(c): App,
    h: HeaderMap,
    Path((key, draft_id)): Path<(String, String)>,
    Form(f): Form<DecisionForm>,
) -> Response {
    let s = match checked(&c, &h, &f.csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(o) = c.store.find(&key, &draft_id) else {
        return gone();
    };
    let filled = |v: Option<String>| v.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let (action, edited_text, reason) = match f.action.as_str() {
        "approve" => (DecisionAction::Approve, None, None),
        "edit" => match filled(f.edited_text) {
            Some(t) => (DecisionAction::Edit, Some(t), None),
            None => return redo(&c, &o, &s, "An edit needs the edited text."),
        },
        "reject" => match filled(f.reason) {
            Some(r) => (DecisionAction::Reject, None, Some(r)),
            None => return redo(&c, &o, &s, "A rejection needs a reason."),
        },
        other => return refused(StatusCode::BAD_REQUEST, &format!("Unknown action {other:?}.")),
    };
    let decided_ms = now_ms();
    // The first decision wins, also against a request racing this one.
    if !c.store.claim(&key, &draft_id, decided_ms) {
        c.audit(&s.user, "decision_refused", &draft_id, "already decided".into())
            .await;
        return refused(
            StatusCode::CONFLICT,
            "This draft was decided a moment ago by someone else; nothing was changed.",
        );
    }
    let d = ReviewDecision {
        draft_id: draft_id.clone(),
        reviewer: s.user.clone(),
        action,
        edited_text,
        reason,
        decided_ms,
    };
    if let Err(error) = c.sink.send(key.clone(), d).await {
        c.store.release(&key, &draft_id, decided_ms);
        tracing::error!(message = "Decision not produced.", draft_id, %error);
        return redo(
            &c,
            &o,
            &s,
            &format!("The decision could not be saved ({error}); nothing was changed. Try again."),
        );
    }
    c.audit(&s.user, action.as_str(), &draft_id, key.clone()).await;
    tracing::info!(
        message = "Decision produced.",
        user = s.user,
        draft_id,
        action = action.as_str()
    );
    // Straight on to the next item: a reviewer works the queue oldest first.
    match c.store.pending().first() {
        Some(next) => Redirect::to(&format!(
            "/item/{}/{}",
            pages::urlencode(&next.draft.subject_key),
            pages::urlencode(&next.draft.draft_id)
        ))
        .into_response(),
        None => Redirect::to("/").into_response(),
    }
}

fn redo(c: &Console, o: &crate::schema::ReviewOutcome, s: &Session, error: &str) -> Response {
    let product = (o.draft.use_case == "product_description")
        .then(|| c.store.product(&o.draft.subject_key))
        .flatten();
    (
        StatusCode::BAD_REQUEST,
        Html(pages::item(o, product.as_ref(), s, Some(error))),
    )
        .into_response()
}

pub(super) async fn metrics(State(c): App) -> impl IntoResponse {
    c.refresh_gauges(now_ms());
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        c.metrics.render(),
    )
}
