//! `galley console`: the reviewer console until SIGTERM/SIGINT, or `--hash-password` to make an
//! account's password hash.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use galley::config::{GalleyConfig, ms};
use galley::console::Console;
use galley::console::auth::hash_password;
use galley::console::store::{KafkaRetractor, KafkaSink, KafkaStore};
use galley::metrics::Metrics;
use galley::runtime::shutdown;
use tokio_util::sync::CancellationToken;

/// Options of `galley console`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConsoleArgs {
    /// Read a password from stdin, print its argon2 hash for `[[console.accounts]]`, and exit.
    #[arg(long)]
    hash_password: bool,
    /// Address to serve on (default: console.listen).
    #[arg(long)]
    listen: Option<String>,
}

/// Serves the console, or hashes a password.
pub(crate) async fn console(cfg: GalleyConfig, args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    if args.hash_password {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            bail!("empty password on stdin");
        }
        println!("{}", hash_password(password).map_err(anyhow::Error::msg)?);
        return Ok(ExitCode::SUCCESS);
    }
    if cfg.console.accounts.is_empty() {
        tracing::warn!(
            message = "No console accounts configured; nobody can log in. Add [[console.accounts]] (see galley console --hash-password)."
        );
    }
    let r = &cfg.stages.review;
    // Only the brokers: a queue topic that does not exist yet is an empty queue.
    galley::runtime::wait_for_brokers(&cfg.kafka, &[])
        .await
        .context("reaching the brokers")?;
    let store = Arc::new(KafkaStore::start(&cfg).await);
    let sink = Arc::new(KafkaSink::new(&cfg).context("creating the decisions producer")?);
    let metrics = Metrics::new();
    galley::schema::remote::observe(&metrics);
    let retractor = Arc::new(KafkaRetractor::new(&cfg));
    let console = Arc::new(Console::new(&cfg, store, sink, metrics).with_retractor(retractor));
    console
        .control()
        .start("console-control", ms(cfg.console.table_load_timeout_ms))
        .await
        .map_err(anyhow::Error::msg)
        .context("following the rollout control topic")?;
    let stop = CancellationToken::new();
    shutdown::on_signals(stop.clone());
    let listen = args.listen.unwrap_or_else(|| cfg.console.listen.clone());
    let addr = console
        .serve(&listen, stop.clone())
        .await
        .with_context(|| format!("serving on {listen}"))?;
    tracing::info!(message = "Console listening.", addr = %addr, review = r.review, decisions = r.decisions);
    println!("Galley console at http://{addr}/");
    stop.cancelled().await;
    Ok(ExitCode::SUCCESS)
}
