//! The reviewer console (`galley console`): the human in the loop, in a browser. It lists the
//! review queue — materialised from content.review and content.decisions, so it survives a
//! restart and two instances agree — shows each draft beside its product's attributes with the
//! flagged spans marked, and produces approve / edit / reject decisions to content.decisions,
//! which the review stage applies (re-checking edits) and records on galley.audit with the
//! reviewer's name.
//!
//! Pages are server-rendered ([`pages`]); logins, sessions and CSRF are in [`auth`]; the queue
//! logic is pure ([`queue`]) and its Kafka shell is [`store`]. Admins change the rollout on
//! galley.control (`admin`). Every login, logout, decision and rollout change is also a
//! `ConsoleAction` on the audit topic.

mod admin;
pub mod auth;
mod handlers;
pub mod pages;
pub mod queue;
pub mod store;
pub mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::auth::Auth;
use self::store::{DecisionSink, QueueStore};
use self::throttle::Throttle;
use crate::config::GalleyConfig;
use crate::metrics::Metrics;
use crate::rollout::Control;
use crate::schema::ConsoleAction;

/// Everything a request handler needs.
pub struct Console {
    auth: Auth,
    /// Bounds password checks and delays repeated failures.
    throttle: Throttle,
    /// `console.login.client_ip_header`, when set.
    client_ip_header: Option<String>,
    store: Arc<dyn QueueStore>,
    sink: Arc<dyn DecisionSink>,
    metrics: Metrics,
    /// The rollout of each use case, read from galley.control once started.
    control: Arc<Control>,
    /// Takes a killed use case's live copy down when an admin asks; `None`: the page does not
    /// offer it.
    retractor: Option<Arc<dyn store::Retractor>>,
}

impl Console {
    /// A console over `store` and `sink`, with accounts and use cases from `cfg`.
    pub fn new(cfg: &GalleyConfig, store: Arc<dyn QueueStore>, sink: Arc<dyn DecisionSink>, metrics: Metrics) -> Self {
        let c = &cfg.console;
        Console {
            auth: Auth::new(
                c.accounts.clone(),
                Duration::from_secs(c.session_ttl_s),
                c.secure_cookies,
            ),
            throttle: Throttle::new(&c.login),
            client_ip_header: Some(c.login.client_ip_header.to_ascii_lowercase()).filter(|h| !h.is_empty()),
            store,
            sink,
            control: Control::new(cfg, metrics.clone()),
            metrics,
            retractor: None,
        }
    }

    /// Lets admins retract a use case's live copy with its kill switch.
    pub fn with_retractor(mut self, retractor: Arc<dyn store::Retractor>) -> Self {
        self.retractor = Some(retractor);
        self
    }

    /// Accounts and sessions.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The rollout as this console knows it; [`Control::start`] it to follow galley.control.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// The routes: pages, forms, `/metrics` and `/healthz`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/", get(handlers::queue))
            .route("/login", get(handlers::login_form).post(handlers::login))
            .route("/logout", post(handlers::logout))
            .route("/item/{key}/{draft_id}", get(handlers::item).post(handlers::decide))
            .route("/admin", get(admin::page))
            .route("/admin/rollout", post(admin::change))
            .route("/metrics", get(handlers::metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route(
                "/static/console.css",
                get(|| async { ([(CONTENT_TYPE, "text/css")], pages::STYLE) }),
            )
            .route(
                "/static/console.js",
                get(|| async { ([(CONTENT_TYPE, "text/javascript")], pages::SCRIPT) }),
            )
            .layer(axum::middleware::map_response(security_headers))
            .with_state(self)
    }

    /// Updates `galley_review_queue_depth` and `galley_review_age_seconds` from the queue (on
    /// every scrape of `/metrics` and every queue page, so they are never stale).
    pub fn refresh_gauges(&self, now_ms: i64) {
        let pending = self.store.pending();
        for use_case in self.control.configured().keys() {
            let mine: Vec<_> = pending.iter().filter(|o| &o.draft.use_case == use_case).collect();
            let oldest = mine.iter().map(|o| o.decided_ms).min();
            self.metrics
                .review_queue_depth
                .with_label_values(&[use_case])
                .set(i64::try_from(mine.len()).unwrap_or(i64::MAX));
            let age = oldest.map_or(0.0, |t| ((now_ms - t).max(0)) as f64 / 1000.0);
            self.metrics.review_age_seconds.with_label_values(&[use_case]).set(age);
        }
    }

    /// Puts what `user` did on the audit topic. A failure is logged, not shown: the action itself
    /// (a decision, a rollout change) is already on its own topic.
    pub(crate) async fn audit(&self, user: &str, action: &str, target: &str, detail: String) {
        let a = ConsoleAction {
            user: user.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            detail,
            time_ms: crate::runtime::now_ms(),
        };
        if let Err(error) = self.sink.send_audit(a).await {
            tracing::error!(message = "Console action not written to the audit topic.", user, action, %error);
        }
    }

    /// Serves on `listen` until `shutdown`; returns the bound address.
    pub async fn serve(self: Arc<Self>, listen: &str, shutdown: CancellationToken) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        // The peer's address feeds the login throttle.
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await });
            if let Err(error) = serve.await {
                tracing::error!(message = "Console server failed.", %error);
            }
        });
        Ok(addr)
    }
}

/// What a browser may do with the console's pages: load script and style from the console
/// only (no inline script or style, so markup slipped into a draft cannot run), post forms
/// only to it, never be framed (clickjacking), never sniff types, never send the page's address
/// elsewhere, never keep a page in a cache (a reviewer's queue on a shared machine).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers<B>(mut r: Response<B>) -> Response<B> {
    let h = r.headers_mut();
    for (name, value) in [
        (CONTENT_SECURITY_POLICY, CSP),
        (X_FRAME_OPTIONS, "DENY"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

#[cfg(test)]
mod tests;
