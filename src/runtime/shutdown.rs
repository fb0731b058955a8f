//! One shutdown path: the first SIGINT/SIGTERM cancels a token (stop intake, drain, commit,
//! flush, exit 0); a second signal exits at once for an operator who cannot wait.

use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

/// Exit code after a second signal: the conventional 128 + SIGINT.
pub const FORCED_EXIT_CODE: i32 = 130;

/// Cancels `token` on the first signal and exits the process on the second.
pub fn on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            return;
        }
        warn!(message = "Shutdown requested; draining. Send the signal again to exit immediately.");
        token.cancel();
        if wait_for_signal().await.is_ok() {
            error!(message = "Second signal; exiting without draining.");
            std::process::exit(FORCED_EXIT_CODE);
        }
    });
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
