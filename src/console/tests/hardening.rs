//! Hardening probes of the console. Logins: a flood of logins runs at most the configured number of
//! password checks at once (each costs argon2's 19 MiB; unbounded, 1000 parallel logins took
//! the console to 4.9 GB), and wrong passwords in a row are delayed, then refused unchecked;
//! racing decisions on one item; security headers; hidden characters shown.

use super::*;

impl Fixture {
    /// A fresh login form: its cookie pair and its token.
    async fn login_form(&self) -> (String, String) {
        let form = self.http.get(format!("{}/login", self.base)).send().await.unwrap();
        let pair = set_cookie(&form, "galley_login_csrf")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        (pair, hidden_csrf(&form.text().await.unwrap()))
    }

    async fn wrong_login(&self, user: &str) -> reqwest::Response {
        let (pair, csrf) = self.login_form().await;
        self.post(
            "/login",
            &pair,
            &[("user", user), ("password", "wrong"), ("csrf", &csrf)],
        )
        .await
    }

    fn logins(&self, outcome: &str) -> u64 {
        self.console.metrics.console_logins.with_label_values(&[outcome]).get()
    }
}

#[tokio::test]
async fn a_login_flood_runs_at_most_the_configured_checks_at_once_and_the_rest_are_turned_away() {
    let f = Arc::new(fixture().await);
    let forms = futures::future::join_all((0..48).map(|_| f.login_form())).await;
    let floods = forms.into_iter().enumerate().map(|(i, (pair, csrf))| {
        let f = f.clone();
        async move {
            let user = format!("user-{i}");
            let form = [("user", user.as_str()), ("password", "wrong"), ("csrf", &csrf)];
            f.post("/login", &pair, &form).await.status()
        }
    });
    let statuses = futures::future::join_all(floods).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    // All come from one address: once four have failed, the rest wait out its delay.
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + busy + throttled, 48, "{statuses:?}");
    assert!(busy + throttled > 0, "a flood meets the bound: {statuses:?}");
    assert!(
        f.console.auth().peak_concurrent_checks() <= 2,
        "at most max_concurrent_checks at once"
    );
    let counted = (f.logins("failed"), f.logins("busy"), f.logins("throttled"));
    assert_eq!(counted, (checked as u64, busy as u64, throttled as u64));
}

#[tokio::test]
async fn wrong_passwords_in_a_row_wait_longer_and_longer_and_are_refused_unchecked_meanwhile() {
    let f = fixture().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(f.wrong_login("ana").await.status());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429, 429].map(|s| StatusCode::from_u16(s).unwrap()),
        "three free failures, the fourth starts a delay"
    );
    assert_eq!(f.console.auth().peak_concurrent_checks(), 1);
    let refused = f.wrong_login("ana").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(refused.text().await.unwrap().contains("Too many failed logins"));
    assert_eq!(
        (f.logins("failed"), f.logins("throttled")),
        (4, 3),
        "refused ones are not checked"
    );

    // After the wait one more attempt is checked, and the next wait doubles.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(f.wrong_login("ana").await.status(), StatusCode::UNAUTHORIZED);
    let again = f.wrong_login("ana").await;
    assert_eq!(
        (again.status(), again.headers()["retry-after"].to_str().unwrap()),
        (StatusCode::TOO_MANY_REQUESTS, "2")
    );

    // The right password is refused too while the account waits (no guessing through the
    // delay), and it logs in once the delay is over, which clears it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_cookie, _csrf) = f.login("ana").await;
    assert_eq!(f.wrong_login("ana").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_forged_login_token_and_a_huge_name_are_refused_and_logged_bounded() {
    let f = fixture().await;
    let (pair, _) = f.login_form().await;
    let forged = "a".repeat(64);
    let cookie = format!("galley_login_csrf={forged}");
    let r = f
        .post(
            "/login",
            &cookie,
            &[("user", "ana"), ("password", "pw-ana"), ("csrf", &forged)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a token the console did not issue");
    drop(pair);
    let huge = format!("{}\u{1b}[2J", "x".repeat(900_000));
    assert_eq!(f.wrong_login(&huge).await.status(), StatusCode::UNAUTHORIZED);
    let audit = f.mem.audit.lock().unwrap();
    let failed = audit.iter().find(|a| a.action == "login_failed").unwrap();
    assert!(
        failed.user.chars().count() <= 65,
        "the audit event names at most 64 characters"
    );
}

/// Hardening probe: approve and reject of one item at the same moment from two sessions both
/// used to succeed; now one decision is produced and the other is refused.
#[tokio::test]
async fn of_two_racing_decisions_on_one_item_only_the_first_is_produced() {
    let f = Arc::new(fixture().await);
    let ((ana, ana_csrf), (root, root_csrf)) = (f.login("ana").await, f.login("root").await);
    let sku = crate::fixtures::sample_products()[0].sku.clone();
    let path = format!("/item/{sku}/d-{sku}");
    f.mem.send_delay_ms.store(300, std::sync::atomic::Ordering::Relaxed);
    let approve = [("action", "approve"), ("csrf", ana_csrf.as_str())];
    let reject = [("action", "reject"), ("reason", "no"), ("csrf", root_csrf.as_str())];
    let (a, b) = tokio::join!(f.post(&path, &ana, &approve), f.post(&path, &root, &reject));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    // The loser finds the item claimed (404 when it looks after the claim, 409 when both looked
    // before either claimed); before, both found it pending while the first was being produced.
    assert!(statuses == [303, 404] || statuses == [303, 409], "{statuses:?}");
    assert_eq!(f.mem.sent.lock().unwrap().len(), 1, "one decision produced");
    // A later attempt finds the item gone from the queue.
    f.mem.send_delay_ms.store(0, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(f.post(&path, &ana, &approve).await.status(), StatusCode::NOT_FOUND);
}

/// Hardening probe: no page can be framed, sniffed, cached or run inline script, and the
/// keyboard script and the stylesheet are served files.
#[tokio::test]
async fn every_page_carries_the_security_headers_and_no_inline_script() {
    let f = fixture().await;
    let (cookie, _) = f.login("ana").await;
    for (path, cookie) in [("/login", ""), ("/", cookie.as_str()), ("/static/console.js", "")] {
        let r = f.get(path, cookie).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(
            (
                &h["x-frame-options"],
                &h["x-content-type-options"],
                &h["referrer-policy"],
                &h["cache-control"]
            ),
            (
                &"DENY".parse().unwrap(),
                &"nosniff".parse().unwrap(),
                &"no-referrer".parse().unwrap(),
                &"no-store".parse().unwrap()
            )
        );
        let body = r.text().await.unwrap();
        if path != "/static/console.js" {
            assert!(
                !body.contains("<script>") && !body.contains("<style>") && !body.contains("style=\""),
                "{path}"
            );
            assert!(body.contains("src=\"/static/console.js\""));
        } else {
            assert!(body.contains("addEventListener('keydown'"));
        }
    }
    assert_eq!(
        f.get("/static/console.css", "").await.headers()["content-type"],
        "text/css"
    );
}

/// Hardening probe: a right-to-left override or a zero-width space in a draft is shown to the
/// reviewer as a visible escape, not applied.
#[tokio::test]
async fn hidden_characters_in_a_draft_are_shown_visibly() {
    let f = fixture().await;
    let mut o = outcome("SKU-X", "product_description", "Fine lamp \u{202E}pmal\u{200B} here");
    o.checks.clear();
    f.mem.queued.lock().unwrap().insert("SKU-X".into(), vec![o]);
    let (cookie, _) = f.login("ana").await;
    let page = f.get("/item/SKU-X/d-SKU-X", &cookie).await.text().await.unwrap();
    assert!(page.contains("\\u{202E}pmal\\u{200B}"), "{page}");
    assert!(!page.contains('\u{202E}'));
}
