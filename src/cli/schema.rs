//! `galley schema check --registry`: Galley's schemas against what the external registry holds
//! under each subject Galley writes or reads.

use std::process::ExitCode;

use galley::config::GalleyConfig;
use galley::schema::remote::{self, RemoteError};
use galley::schema::{Registry, compare};

/// Prints one line per subject and a summary; fails on an incompatible subject, on a missing
/// one when `auto_register` is off, and when the registry cannot be asked.
pub(crate) async fn registry(cfg: GalleyConfig) -> anyhow::Result<ExitCode> {
    if !cfg.schema_registry.enabled() {
        anyhow::bail!("schema_registry.url is empty: there is no external registry to check against");
    }
    remote::activate(&cfg, &[]).await.map_err(anyhow::Error::msg)?;
    let reg = remote::active().ok_or_else(|| anyhow::anyhow!("schema registry not active"))?;
    let (mut bad, mut missing) = (0, 0);
    let pairs = remote::written(&cfg, true);
    for (topic, name) in &pairs {
        let ours = Registry::builtin()
            .latest(name)
            .ok_or_else(|| anyhow::anyhow!("no built-in schema {name}"))?;
        let subject = reg.subject(topic, name);
        match reg.latest(&subject).await {
            Ok(None) => {
                missing += 1;
                println!("--  {subject}: not registered ({name})");
            }
            Ok(Some((id, version, theirs))) => {
                let label = format!("{subject} v{version} (id {id}) -> Galley {name} v{}", ours.version);
                let problems = compare(&label, &theirs, &ours.schema);
                if problems.is_empty() {
                    println!("ok  {label}");
                }
                for p in &problems {
                    println!("BAD {p}");
                }
                bad += usize::from(!problems.is_empty());
            }
            Err(e @ RemoteError::NotAvro { .. }) => {
                bad += 1;
                println!("BAD {subject}: {e}");
            }
            Err(e) => anyhow::bail!("asking the schema registry for {subject}: {e}"),
        }
    }
    let auto = cfg.schema_registry.auto_register;
    println!(
        "{} subjects checked, {bad} incompatible, {missing} not registered{}",
        pairs.len(),
        if auto && missing > 0 {
            " (auto_register registers them at start)"
        } else {
            ""
        }
    );
    Ok(if bad > 0 || (!auto && missing > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
