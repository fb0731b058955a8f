//! The rollout page: only admins, only with the form's token, going live only with declared
//! metrics; every change and every login and logout on the audit topic.

use super::*;

#[tokio::test]
async fn admins_change_the_rollout_on_galley_control_and_logout_ends_the_session() {
    let f = fixture().await;
    let (cookie, csrf) = f.login("ana").await;
    assert_eq!(f.get("/admin", &cookie).await.status(), StatusCode::FORBIDDEN);
    fn with(csrf: &str) -> [(&str, &str); 4] {
        [
            ("action", "kill"),
            ("use_case", "product_description"),
            ("reason", "bad copy"),
            ("csrf", csrf),
        ]
    }
    assert_eq!(
        f.post("/admin/rollout", &cookie, &with(&csrf)).await.status(),
        StatusCode::FORBIDDEN,
        "a reviewer may not"
    );
    let (admin, admin_csrf) = f.login("root").await;
    assert_eq!(
        f.post("/admin/rollout", &admin, &with("forged")).await.status(),
        StatusCode::FORBIDDEN
    );
    // Going live without declared success metrics is refused, with what to declare.
    let live = [
        ("csrf", admin_csrf.as_str()),
        ("action", "mode"),
        ("use_case", "support_reply"),
        ("mode", "on"),
        ("reason", "go"),
    ];
    let r = f.post("/admin/rollout", &admin, &live).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("[[rollout.support_reply.success]]"));
    assert!(f.mem.controls.lock().unwrap().is_empty());

    assert_eq!(
        f.post("/admin/rollout", &admin, &with(&admin_csrf)).await.status(),
        StatusCode::SEE_OTHER
    );
    let canary = [
        ("csrf", admin_csrf.as_str()),
        ("action", "mode"),
        ("use_case", "product_description"),
        ("mode", "canary"),
        ("canary_percent", "10"),
        ("reason", "try 10%"),
    ];
    assert_eq!(
        f.post("/admin/rollout", &admin, &canary).await.status(),
        StatusCode::SEE_OTHER
    );
    let sent = f.mem.controls.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].killed && sent[0].actor == "admin:root" && sent[0].reason == "bad copy");
    assert_eq!(
        (sent[1].mode, sent[1].canary_percent, sent[1].killed),
        (Some(RolloutMode::Canary), Some(10.0), true),
        "a mode change keeps the kill switch as it is"
    );
    let page = f.get("/admin", &admin).await.text().await.unwrap();
    assert!(page.contains("killed</span> (canary 10%)"), "{page}");

    assert_eq!(
        f.post("/logout", &cookie, &[("csrf", "wrong")]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        f.post("/logout", &cookie, &[("csrf", &csrf)]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(f.get("/", &cookie).await.status(), StatusCode::SEE_OTHER);
    let audit: Vec<(String, String, String)> = f
        .mem
        .audit
        .lock()
        .unwrap()
        .iter()
        .map(|a| (a.user.clone(), a.action.clone(), a.target.clone()))
        .collect();
    let rollout = |t: &str| ("root".to_owned(), "rollout".to_owned(), t.to_owned());
    let login = |u: &str| (u.to_owned(), "login".to_owned(), String::new());
    assert_eq!(
        audit,
        [
            login("ana"),
            login("root"),
            rollout("product_description"),
            rollout("product_description"),
            ("ana".into(), "logout".into(), String::new())
        ],
        "every console action is audited: {audit:?}"
    );
}

/// Records what it was asked to retract and answers with fixed counts.
#[derive(Default)]
struct FakeRetractor {
    asked: std::sync::Mutex<Vec<(Option<String>, String)>>,
}

impl crate::console::store::Retractor for FakeRetractor {
    fn retract(
        &self,
        use_case: Option<String>,
        kill: crate::schema::RolloutControl,
    ) -> futures::future::BoxFuture<'static, Result<crate::lifecycle::retraction::Report, String>> {
        self.asked.lock().unwrap().push((use_case, kill.actor));
        Box::pin(async {
            let mut r = crate::lifecycle::retraction::Report::default();
            (r.total.taken_down, r.total.restored, r.total.kept) = (7, 3, 2);
            Ok(r)
        })
    }
}

#[tokio::test]
async fn a_kill_with_the_retract_box_retracts_and_audits_the_result() {
    let fake = Arc::new(FakeRetractor::default());
    let f = fixture_with(Some(fake.clone())).await;
    let (admin, csrf) = f.login("root").await;
    let page = f.get("/admin", &admin).await.text().await.unwrap();
    assert!(page.contains("name=\"retract\""), "the box is offered");
    let plain = [
        ("csrf", csrf.as_str()),
        ("action", "kill"),
        ("use_case", "support_reply"),
        ("reason", "r"),
    ];
    assert_eq!(
        f.post("/admin/rollout", &admin, &plain).await.status(),
        StatusCode::SEE_OTHER
    );
    let retract = [
        ("csrf", csrf.as_str()),
        ("action", "kill"),
        ("use_case", "product_description"),
        ("reason", "bad copy"),
        ("retract", "1"),
    ];
    assert_eq!(
        f.post("/admin/rollout", &admin, &retract).await.status(),
        StatusCode::SEE_OTHER
    );
    let audited = || {
        f.mem
            .audit
            .lock()
            .unwrap()
            .iter()
            .any(|a| a.action == "retract" && a.detail.starts_with("taken_down=7 restored=3 kept=2"))
    };
    for _ in 0..100 {
        if audited() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(audited(), "the result is a console action");
    assert_eq!(
        *fake.asked.lock().unwrap(),
        [(Some("product_description".to_owned()), "admin:root".to_owned())],
        "only the kill with the box retracts"
    );
}

#[tokio::test]
async fn the_rollout_page_shows_a_standing_promotion_proposal_with_a_button_for_a_person() {
    let f = fixture().await;
    let (admin, _) = f.login("root").await;
    let rec = |mode: RolloutMode, source: &str, reason: &str, time_ms: i64| RolloutControl {
        use_case: "product_description".into(),
        mode: Some(mode),
        canary_percent: Some(20.0),
        killed: false,
        source: source.into(),
        actor: "someone".into(),
        reason: reason.into(),
        time_ms,
    };
    let control = &f.console.control;
    control.wrote(rec(RolloutMode::Canary, "console", "start the canary", 10));
    control.wrote_proposal(rec(
        RolloutMode::On,
        "experiment",
        "experiment: view_to_cart +12.0% [+3.0%, +21.0%]",
        20,
    ));
    let page = f.get("/admin", &admin).await.text().await.unwrap();
    assert!(
        page.contains("promotion to on proposed</span> experiment: view_to_cart +12.0%"),
        "{page}"
    );
    assert!(page.contains("Promote to on"), "{page}");
    // A person restarted the canary after it: the old proposal no longer stands.
    control.wrote(rec(RolloutMode::Canary, "console", "restart with the fixed prompt", 30));
    let page = f.get("/admin", &admin).await.text().await.unwrap();
    assert!(!page.contains("promotion to on proposed"), "{page}");
}
