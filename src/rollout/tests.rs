use std::collections::HashMap;

use super::halt::HaltWatch;
use super::*;
use crate::config::{GalleyConfig, SuccessTarget};
use crate::schema::{AuditEvent, Route};

fn rollout(mode: RolloutMode, percent: f64, declared: bool) -> UseCaseRollout {
    UseCaseRollout {
        mode,
        canary_percent: percent,
        success: if declared {
            vec![target("rejection_rate", 0.2, 60, 10)]
        } else {
            vec![]
        },
        experiment: vec![],
    }
}

fn target(metric: &str, max: f64, window_s: u64, min_sample: u64) -> SuccessTarget {
    SuccessTarget {
        metric: metric.into(),
        max: Some(max),
        min: None,
        window_s,
        min_sample,
    }
}

fn control(use_case: &str, mode: Option<RolloutMode>, killed: bool) -> RolloutControl {
    RolloutControl {
        use_case: use_case.into(),
        mode,
        canary_percent: None,
        killed,
        source: "admin".into(),
        actor: "admin:root".into(),
        reason: "test".into(),
        time_ms: 1,
    }
}

#[test]
fn a_canary_selects_its_share_stably_and_a_larger_share_only_adds_keys() {
    let keys: Vec<String> = (0..20_000).map(|i| format!("SKU-{i:06}")).collect();
    let ten: Vec<&String> = keys.iter().filter(|k| canary_member(k, 10.0)).collect();
    let share = ten.len() as f64 / keys.len() as f64;
    assert!((0.09..0.11).contains(&share), "10% canary selected {share}");
    let again: Vec<&String> = keys.iter().filter(|k| canary_member(k, 10.0)).collect();
    assert_eq!(ten, again, "membership is a function of the key");
    assert!(ten.iter().all(|k| canary_member(k, 25.0)));
    assert!(keys.iter().all(|k| !canary_member(k, 0.0)) && keys.iter().all(|k| canary_member(k, 100.0)));
}

#[test]
fn overrides_win_over_config_but_never_take_a_use_case_live_without_declared_metrics() {
    let none = HashMap::new();
    let on = rollout(RolloutMode::On, 0.0, true);
    assert_eq!(
        effective("product_description", Some(&on), &none).disposition("A"),
        Disposition::Live
    );
    assert_eq!(
        effective("product_description", None, &none).disposition("A"),
        Disposition::Off("rollout_off"),
        "not configured is off"
    );
    let shadowed = HashMap::from([(
        "product_description".into(),
        control("product_description", Some(RolloutMode::Shadow), false),
    )]);
    assert_eq!(
        effective("product_description", Some(&on), &shadowed).disposition("A"),
        Disposition::Shadow
    );

    let undeclared = rollout(RolloutMode::Shadow, 0.0, false);
    let forced_on = HashMap::from([(
        "support_reply".into(),
        control("support_reply", Some(RolloutMode::On), false),
    )]);
    assert_eq!(
        effective("support_reply", Some(&undeclared), &forced_on).mode,
        RolloutMode::Shadow,
        "an override to on without declared metrics stays in shadow"
    );

    let killed_all = HashMap::from([(ALL.into(), control(ALL, None, true))]);
    let e = effective("product_description", Some(&on), &killed_all);
    assert_eq!(e.disposition("A"), Disposition::Off("killed"));
    assert_eq!(e.overridden_by.map(|o| o.use_case), Some(ALL.to_owned()));

    let canary = rollout(RolloutMode::Canary, 50.0, true);
    let e = effective("product_description", Some(&canary), &none);
    let (inside, outside): (Vec<String>, Vec<String>) = (0..200)
        .map(|i| format!("K{i}"))
        .partition(|k| e.disposition(k) == Disposition::Live);
    assert!(
        !inside.is_empty()
            && outside
                .iter()
                .all(|k| e.disposition(k) == Disposition::Off("not_in_canary"))
    );
}

fn audit(outcome: Route, at_s: i64) -> AuditEvent {
    AuditEvent::sample(outcome, at_s * 1000)
}

#[test]
fn auto_halt_waits_for_the_minimum_sample_and_judges_only_the_window() {
    let targets = [target("rejection_rate", 0.2, 60, 10)];
    let mut watch = HaltWatch::default();
    for s in 0..9 {
        assert_eq!(
            watch.record(&audit(Route::Rejected, s), &targets),
            None,
            "9 samples are too few"
        );
    }
    let breach = watch
        .record(&audit(Route::Rejected, 9), &targets)
        .expect("10 of 10 rejected");
    assert_eq!(
        (breach.metric.as_str(), breach.value, breach.samples),
        ("rejection_rate", 1.0, 10)
    );
    assert!(breach.reason().contains("rejection_rate <= 0.2"), "{}", breach.reason());

    // A fresh start after the halt; then old rejections slide out of the window.
    watch.reset("product_description");
    for s in 100..140 {
        assert_eq!(watch.record(&audit(Route::Approved, s), &targets), None);
    }
    for s in 140..145 {
        assert_eq!(
            watch.record(&audit(Route::Rejected, s), &targets),
            None,
            "5 of 45 is 0.11"
        );
    }
    for s in 145..160 {
        watch.record(&audit(Route::Approved, s), &targets);
    }
    // At 205 s the window (145..=205) holds only approvals and these rejections.
    let mut fired = None;
    for s in 205..220 {
        fired = fired.or(watch.record(&audit(Route::Rejected, s), &targets));
    }
    let b = fired.expect("rejections within the last 60 s breach");
    assert!(b.samples < 45, "events older than the window left it: {b:?}");
}

#[test]
fn config_refuses_going_live_without_declared_metrics_and_bad_targets() {
    let load = |env: &[(&str, &str)]| {
        GalleyConfig::load_with_env(None, env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert_eq!(load(&[]), "", "the defaults are valid");
    let e = load(&[("GALLEY_ROLLOUT__SUPPORT_REPLY__MODE", "on")]);
    assert!(
        e.contains("rollout.support_reply.mode = \"on\" needs declared success metrics first"),
        "{e}"
    );
    let e = load(&[("GALLEY_STAGES__GENERATE__PROFILES", "")]);
    assert!(
        e.contains("rollout.homepage_blurb.mode: homepage_blurb is written from interest profiles"),
        "{e}"
    );
    let e = load(&[("GALLEY_ROLLOUT__PRODUCT_DESCRIPTION__MODE", "canary")]);
    assert!(
        e.contains("rollout.product_description.canary_percent must be in (0, 100]"),
        "{e}"
    );
}

#[test]
fn a_file_declaring_success_metrics_replaces_the_default_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.toml");
    std::fs::write(
        &path,
        "[[rollout.product_description.success]]\nmetric = \"approval_rate\"\nmin = 0.5\nwindow_s = 10\nmin_sample = 5\n",
    )
    .unwrap();
    let cfg = GalleyConfig::load_with_env(Some(&path), Vec::new()).unwrap();
    let declared = &cfg.rollout["product_description"].success;
    assert_eq!(declared.len(), 1, "{declared:?}");
    assert!(declared[0].breached_by(0.4) && !declared[0].breached_by(0.6));
}
