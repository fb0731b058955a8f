//! Handler tests over HTTP with an in-memory queue and decision sink (the Kafka shell is tested
//! with a real broker and a real browser in tests/console_browser.rs).

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

use super::auth::hash_password;
use super::queue::{Decided, is_pending, pending};
use super::*;
use crate::config::{Account, Role};
use crate::schema::{
    CheckResult, CheckSeverity, ConsoleAction, ContentDraft, DecisionAction, ReviewDecision, ReviewOutcome, RiskTier,
    RolloutControl, RolloutMode, Route, ValidatedProduct,
};

#[derive(Default)]
struct Mem {
    queued: Mutex<HashMap<String, Vec<ReviewOutcome>>>,
    decided: Mutex<Decided>,
    sent: Mutex<Vec<(String, ReviewDecision)>>,
    controls: Mutex<Vec<RolloutControl>>,
    audit: Mutex<Vec<ConsoleAction>>,
    /// Decisions take this long to be acknowledged (a race needs a window).
    send_delay_ms: std::sync::atomic::AtomicU64,
}

impl QueueStore for Mem {
    fn pending(&self) -> Vec<ReviewOutcome> {
        pending(&self.queued.lock().unwrap(), &self.decided.lock().unwrap())
    }
    fn find(&self, key: &str, draft_id: &str) -> Option<ReviewOutcome> {
        self.pending()
            .into_iter()
            .find(|o| o.draft.subject_key == key && o.draft.draft_id == draft_id)
    }
    fn product(&self, sku: &str) -> Option<ValidatedProduct> {
        crate::fixtures::sample_products().into_iter().find(|p| p.sku == sku)
    }
    fn claim(&self, key: &str, draft_id: &str, at_ms: i64) -> bool {
        let queued = self.queued.lock().unwrap();
        let mut decided = self.decided.lock().unwrap();
        let pending = queued.get(key).is_some_and(|os| {
            os.iter()
                .any(|o| o.draft.draft_id == draft_id && is_pending(o, decided.get(key)))
        });
        if pending {
            decided.entry(key.into()).or_default().push((draft_id.into(), at_ms));
        }
        pending
    }
    fn release(&self, key: &str, draft_id: &str, at_ms: i64) {
        if let Some(ds) = self.decided.lock().unwrap().get_mut(key) {
            ds.retain(|(id, at)| !(id == draft_id && *at == at_ms));
        }
    }
}

impl DecisionSink for Mem {
    fn send(&self, key: String, d: ReviewDecision) -> BoxFuture<'_, Result<(), String>> {
        self.sent.lock().unwrap().push((key, d));
        let delay = self.send_delay_ms.load(std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            Ok(())
        })
    }
    fn send_control(&self, rec: RolloutControl) -> BoxFuture<'_, Result<(), String>> {
        self.controls.lock().unwrap().push(rec);
        Box::pin(async { Ok(()) })
    }
    fn send_audit(&self, action: ConsoleAction) -> BoxFuture<'_, Result<(), String>> {
        self.audit.lock().unwrap().push(action);
        Box::pin(async { Ok(()) })
    }
}

fn outcome(key: &str, use_case: &str, text: &str) -> ReviewOutcome {
    ReviewOutcome {
        draft: ContentDraft::sample(use_case, key, text),
        checks: vec![CheckResult {
            check: "unsupported_claim.quantity".into(),
            severity: CheckSeverity::High,
            message: "'20000 mAh' is not in the product's attributes".into(),
            span_start: Some(12),
            span_end: Some(21),
        }],
        tier: RiskTier::Human,
        route: Route::Review,
        reason: "unsupported_claim.quantity".into(),
        audit_sample: false,
        decided_ms: 1_764_000_000_000,
    }
}

struct Fixture {
    mem: Arc<Mem>,
    console: Arc<Console>,
    base: String,
    http: reqwest::Client,
    _stop: tokio_util::sync::DropGuard,
}

async fn fixture() -> Fixture {
    fixture_with(None).await
}

/// [`fixture`], with `retractor` behind the admin page's retract box.
async fn fixture_with(retractor: Option<Arc<dyn crate::console::store::Retractor>>) -> Fixture {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = GalleyConfig::load_with_env(None, Vec::new()).unwrap();
    let hash = hash_password("pw-ana").unwrap();
    cfg.console.accounts = vec![
        Account {
            user: "ana".into(),
            password_hash: hash.clone(),
            role: Role::Reviewer,
        },
        Account {
            user: "root".into(),
            password_hash: hash,
            role: Role::Admin,
        },
    ];
    let mem = Arc::new(Mem::default());
    let sku = crate::fixtures::sample_products()[0].sku.clone();
    mem.queued.lock().unwrap().insert(
        sku.clone(),
        vec![outcome(&sku, "product_description", "A bank with 20000 mAh <inside>.")],
    );
    mem.queued.lock().unwrap().insert(
        "C-1".into(),
        vec![outcome("C-1", "support_reply", "Thanks, we will look at it.")],
    );
    let mut console = Console::new(&cfg, mem.clone(), mem.clone(), Metrics::new());
    if let Some(r) = retractor {
        console = console.with_retractor(r);
    }
    let console = Arc::new(console);
    let stop = CancellationToken::new();
    let addr = console.clone().serve("127.0.0.1:0", stop.clone()).await.unwrap();
    Fixture {
        mem,
        console,
        base: format!("http://{addr}"),
        http: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
        _stop: stop.drop_guard(),
    }
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn encode(form: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", pages::urlencode(v)))
        .collect();
    pairs.join("&")
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 64].to_owned()
}

impl Fixture {
    /// Logs in; returns the session's Cookie header value and its CSRF token.
    async fn login(&self, user: &str) -> (String, String) {
        let form = self.http.get(format!("{}/login", self.base)).send().await.unwrap();
        let login_cookie = set_cookie(&form, "galley_login_csrf").unwrap();
        let pair = login_cookie.split(';').next().unwrap().to_owned();
        let csrf = hidden_csrf(&form.text().await.unwrap());
        let r = self
            .http
            .post(format!("{}/login", self.base))
            .header("cookie", &pair)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[("user", user), ("password", "pw-ana"), ("csrf", &csrf)]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let session = set_cookie(&r, "galley_session").unwrap();
        assert!(
            session.contains("HttpOnly") && session.contains("SameSite=Strict"),
            "{session}"
        );
        let cookie = session.split(';').next().unwrap().to_owned();
        let page = self.get("/", &cookie).await.text().await.unwrap();
        (cookie, hidden_csrf(&page))
    }

    async fn get(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn nothing_works_without_a_session_and_logins_need_the_forms_token_and_the_password() {
    let f = fixture().await;
    let r = f.get("/", "").await;
    assert_eq!(
        (r.status(), r.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let r = f
        .post("/item/C-1/d-C-1", "", &[("action", "approve"), ("csrf", "x")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let form = f.http.get(format!("{}/login", f.base)).send().await.unwrap();
    let pair = set_cookie(&form, "galley_login_csrf")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = hidden_csrf(&form.text().await.unwrap());
    let bad_token = f
        .post(
            "/login",
            &pair,
            &[("user", "ana"), ("password", "pw-ana"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(bad_token.status(), StatusCode::FORBIDDEN);
    let bad_password = f
        .post(
            "/login",
            &pair,
            &[("user", "ana"), ("password", "nope"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(bad_password.status(), StatusCode::UNAUTHORIZED);
    assert!(f.mem.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_reviewer_filters_the_queue_opens_an_item_and_decides_it() {
    let f = fixture().await;
    let (cookie, csrf) = f.login("ana").await;
    let page = f.get("/", &cookie).await.text().await.unwrap();
    assert!(page.contains("(2 shown of 2)"), "{page}");
    let filtered = f
        .get("/?use_case=support_reply&tier=&audit=&min_age_min=", &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        filtered.contains("(1 shown of 2)") && filtered.contains("C-1"),
        "{filtered}"
    );

    let sku = crate::fixtures::sample_products()[0].sku.clone();
    let path = format!("/item/{sku}/d-{sku}");
    let item = f.get(&path, &cookie).await.text().await.unwrap();
    assert!(
        item.contains("<mark title=\"unsupported_claim.quantity"),
        "flagged span marked: {item}"
    );
    assert!(item.contains("&lt;inside&gt;"), "draft text escaped");
    assert!(
        item.contains("id=\"facts\""),
        "the product's attributes beside the draft"
    );

    // A form without the session's token changes nothing.
    let forged = f.post(&path, &cookie, &[("action", "approve"), ("csrf", "0")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let no_reason = f
        .post(
            &path,
            &cookie,
            &[("action", "reject"), ("reason", " "), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(no_reason.status(), StatusCode::BAD_REQUEST);
    assert!(f.mem.sent.lock().unwrap().is_empty());

    let edited = "A bank with 10000 mAh.";
    let r = f
        .post(
            &path,
            &cookie,
            &[("action", "edit"), ("edited_text", edited), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/item/C-1/d-C-1",
        "on to the next item"
    );
    let sent = f.mem.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let (key, d) = &sent[0];
    assert_eq!(
        (key.as_str(), d.reviewer.as_str(), d.action, d.edited_text.as_deref()),
        (sku.as_str(), "ana", DecisionAction::Edit, Some(edited))
    );
    assert_eq!(
        f.get(&path, &cookie).await.status(),
        StatusCode::NOT_FOUND,
        "decided items leave the queue"
    );
    let metrics = f.get("/metrics", "").await.text().await.unwrap();
    assert!(
        metrics.contains("galley_review_queue_depth{use_case=\"support_reply\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("galley_review_queue_depth{use_case=\"product_description\"} 0"),
        "{metrics}"
    );
}

mod admin;
mod hardening;
