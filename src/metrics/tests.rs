use super::*;

#[test]
fn exports_the_documented_names() {
    let m = Metrics::new();
    m.records.with_label_values(&["passthrough", "passed"]).inc_by(3);
    m.breaker_state.with_label_values(&["model"]).set(2);
    m.process_seconds.with_label_values(&["passthrough"]).observe(0.01);
    let text = m.render();
    for name in [
        "galley_records_total",
        "galley_breaker_state",
        "galley_process_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    assert_eq!(m.outcomes("passthrough"), vec![("passed".to_string(), 3)]);
    m.skipped.with_label_values(&["quality", "stale"]).inc();
    assert_eq!(
        m.counts("galley_skipped_total", "quality", "reason"),
        vec![("stale".to_string(), 1)]
    );
}
