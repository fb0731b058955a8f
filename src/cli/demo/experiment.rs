//! The demo's last act: a short experiment. Product descriptions run in a 50% canary with an
//! experiment on `view_to_cart`; a simulated storefront (400 products with their own view and
//! cart rates, customers viewing, carting and buying for 60 simulated minutes, the AI copy
//! carted 50% more often) goes through the real experiment stage on the embedded broker, which
//! judges it as it would a shop's and writes its decision to galley.control.

use anyhow::Context;
use galley::config::{ExperimentTarget, GalleyConfig};
use galley::experiment::judge_all;
use galley::experiment::sim::Storefront;
use galley::metrics::Metrics;
use galley::schema::RolloutMode;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::cli::bench::storefront::through_stage;
use crate::cli::report_experiment::print_one;

/// Runs the act; true when the stage's totals equal the simulation's.
pub(super) async fn run(
    cfg: &GalleyConfig,
    mock: &MockCluster<'static, DefaultProducerContext>,
    metrics: &Metrics,
) -> anyhow::Result<bool> {
    let store = Storefront::long_tail(400, 60, 0.5);
    println!(
        "\n== Experiment: product descriptions in a {}% canary, judged on carts per view (simulated \
         storefront: {} products, {} minutes, the AI copy truly carted {:+.0}% more often)",
        store.canary_percent,
        store.products,
        store.ticks,
        store.true_uplift * 100.0
    );
    let target = ExperimentTarget::new("view_to_cart");
    let t = through_stage(cfg, Some(mock), &store, &target, metrics, "demo-x")
        .await
        .context("the experiment act")?;
    println!(
        "{} interactions through the experiment stage ({:.0}/s); its totals {} the simulation's.\n",
        t.interactions,
        t.per_s,
        if t.matches { "equal" } else { "DIFFER FROM" }
    );
    print_one(&judge_all("product_description", &[target], &t.stage));
    match &t.decision {
        Some(d) if d.mode == Some(RolloutMode::Shadow) => {
            println!("Halted to shadow on galley.control by {}: {}.", d.actor, d.reason)
        }
        Some(d) => println!(
            "Proposed on galley.control by {} (not applied: the console's rollout page shows it \
             and a person decides): {}.",
            d.actor, d.reason
        ),
        None => println!("No decision yet: the experiment continues (nothing written to galley.control)."),
    }
    Ok(t.matches)
}
