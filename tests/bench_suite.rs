//! CI's short form of the benchmarks: `galley bench all --quick --json F` (the binary, on the
//! real broker) and the facts its JSON must show — every bench reported, the books of the
//! end-to-end chain and of the memory run balanced, Python's outcome counts equal to Galley's
//! (the baseline did the same work), memory measured, every ratio a finite positive number, the
//! experiment's A/A false-positive rate near its alpha and the stage's totals equal the book's.
//! With `KAFKA_CLUSTER_HOST` the pass-through and quality benches also run on the replicated
//! cluster. Speeds are figures to read, never asserted here.
#![cfg(feature = "kafka-it")]

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn positive(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x.is_finite() && x > 0.0)
}

#[test]
fn the_quick_suite_reports_every_figure_with_its_books_balanced() {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/bench-venv/bin/python");
    let python_required = std::env::var("GALLEY_REQUIRE_BENCH_PYTHON").as_deref() == Ok("1");
    assert!(
        venv.exists() || !python_required,
        "GALLEY_REQUIRE_BENCH_PYTHON=1 but {} is missing: run scripts/bench/setup.sh",
        venv.display()
    );
    if !venv.exists() {
        eprintln!(
            "SKIPPED the Python baseline: no venv at {}; scripts/bench/setup.sh creates it",
            venv.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    // The replicated cluster of scripts/test.sh too, when there is one.
    let cluster = std::env::var("KAFKA_CLUSTER_HOST").ok();
    let mut command = Command::new(env!("CARGO_BIN_EXE_galley"));
    command.args(["bench", "all", "--quick", "--json"]).arg(&json);
    if let Some(c) = &cluster {
        command.args(["--cluster", c]);
    }
    let out = command
        .envs([
            ("GALLEY_KAFKA__BOOTSTRAP_SERVERS", common::kafka_host().as_str()),
            // A crashed member's partitions wait out its session: 6 s keeps joins short.
            ("GALLEY_KAFKA__SESSION_TIMEOUT_MS", "6000"),
            ("GALLEY_RUNTIME__DRAIN_TIMEOUT_MS", "4000"),
            ("GALLEY_RUNTIME__REBALANCE_DRAIN_TIMEOUT_MS", "2000"),
            ("GALLEY_LOG", "error"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "galley bench all --quick failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["quick"], true);

    let pt = &doc["passthrough"];
    assert!(positive(&pt["throughput_ratio"]), "{pt}");
    assert!(positive(&pt["exactly_once_vs_at_least_once"]), "{pt}");
    assert!(pt["runtime_latency_ms"]["samples"].as_u64() > Some(0), "{pt}");

    let q = &doc["quality"];
    assert!(positive(&q["ratio"]), "{q}");
    match &q["python"] {
        Value::Null => {
            assert!(
                !python_required,
                "the Python baseline did not run: {}",
                q["python_skipped"]
            );
            assert!(q["python_skipped"].is_string(), "{q}");
        }
        py => {
            assert_eq!(
                py["outcomes_equal"], true,
                "galley {} vs python {}",
                q["outcomes"], py["outcomes"]
            );
            assert_eq!(py["outcomes"], q["outcomes"]);
            assert!(positive(&py["ratio"]), "{py}");
            let records = &py["records"];
            assert!(records["galley_records"].as_u64() > Some(0), "{records}");
            assert_eq!(
                records["identical"], records["galley_records"],
                "every record Python wrote equals Galley's: {records}"
            );
            assert_eq!(records["python_records"], records["galley_records"], "{records}");
        }
    }

    match &cluster {
        Some(_) => {
            let c = &doc["cluster"];
            assert!(positive(&c["passthrough"]["throughput_ratio"]), "{c}");
            assert!(positive(&c["quality"]["ratio"]), "{c}");
            assert_eq!(c["quality"]["outcomes"], q["outcomes"], "the same work on both brokers");
        }
        None => eprintln!("SKIPPED the replicated-cluster benches: KAFKA_CLUSTER_HOST is unset"),
    }

    let g = &doc["generate"];
    assert!(positive(&g["ratio"]), "{g}");
    assert_eq!(g["order_violations"], 0, "{g}");

    let e2e = &doc["e2e"];
    assert_eq!(e2e["books_balanced"], true, "{e2e}");
    assert!(positive(&e2e["msgs_per_s"]), "{e2e}");
    assert!(e2e["latency_ms"]["samples"].as_u64() > Some(0), "{e2e}");
    assert_eq!(e2e["approved_records"], e2e["books"]["review"]["approved"], "{e2e}");
    let inputs = e2e["messages"].as_u64().unwrap() + e2e["latency_messages"].as_u64().unwrap();
    let quality_outcomes: u64 = e2e["books"]["quality"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(quality_outcomes, inputs, "{e2e}");

    let m = &doc["memory"];
    assert!(
        positive(&m["baseline_rss_mb"]) && positive(&m["rss_all_waiting_mb"]),
        "{m}"
    );
    assert!(m["peak_rss_mb"].as_f64() >= m["baseline_rss_mb"].as_f64(), "{m}");
    assert_eq!(m["in_flight_peak"], m["in_flight_target"], "{m}");
    assert_eq!(m["books_balanced"], true, "{m}");

    // The experiment's statistics: facts, not speeds. The A/A rate is a sample of a few hundred
    // runs, so "not far above alpha" leaves room for its noise.
    let x = &doc["experiment"];
    let rate = |k: &str| x[k].as_f64().filter(|v| v.is_finite() && (0.0..=1.0).contains(v));
    let aa = rate("aa_false_positive_rate").unwrap_or_else(|| panic!("{x}"));
    assert!(aa <= 0.08, "A/A runs decided {aa} of the time: {x}");
    assert!(
        rate("naive_false_positive_rate").is_some() && rate("power").is_some(),
        "{x}"
    );
    assert!(rate("mirror_power").is_some(), "{x}");
    let (estimate, truth) = (
        x["uplift_estimate"].as_f64().unwrap(),
        x["true_uplift"].as_f64().unwrap(),
    );
    assert!(estimate.is_finite() && (estimate - truth).abs() < 0.15, "{x}");
    assert!(positive(&x["interactions_per_s"]), "{x}");
    assert_eq!(x["stage_matches_book"], true, "{x}");

    let figures = doc["figures"].as_array().unwrap();
    for bench in ["passthrough", "quality", "generate", "e2e", "memory", "experiment"] {
        assert!(figures.iter().any(|r| r["bench"] == bench), "no figures for {bench}");
    }
    for check in figures.iter().filter(|r| r["check"] == true) {
        assert_eq!(check["met"], true, "{check}");
    }
    assert!(stdout.contains("| bench | measure | value | goal |"), "{stdout}");
}
