//! The admin server: `/metrics` (Prometheus text), `/healthz` (process alive) and `/readyz`
//! (every stage connected, joined, not storm-paused, lag and breakers within limits).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::health::StageHealth;
use crate::metrics::Metrics;

#[derive(Clone)]
struct AdminState {
    metrics: Metrics,
    stages: Arc<Vec<Arc<StageHealth>>>,
}

/// Binds `listen` and serves until `shutdown`; returns the bound address (useful with port 0).
pub async fn spawn(
    listen: &str,
    metrics: Metrics,
    stages: Vec<Arc<StageHealth>>,
    shutdown: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(metrics, stages);
    tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await });
        if let Err(error) = serve.await {
            tracing::error!(message = "Admin server failed.", %error);
        }
    });
    Ok(addr)
}

/// The routes, separate from binding so handler tests need no socket.
pub fn router(metrics: Metrics, stages: Vec<Arc<StageHealth>>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AdminState {
            metrics,
            stages: Arc::new(stages),
        })
}

async fn metrics_handler(State(s): State<AdminState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

async fn readyz(State(s): State<AdminState>) -> impl IntoResponse {
    let reasons: Vec<String> = s
        .stages
        .iter()
        .flat_map(|h| {
            h.not_ready_reasons()
                .into_iter()
                .map(move |r| format!("{}: {r}", h.stage))
        })
        .collect();
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready\n{}\n", reasons.join("\n")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        let code = buf[9..12].parse().unwrap();
        (code, buf)
    }

    #[tokio::test]
    async fn readyz_follows_stage_health_and_metrics_are_served() {
        let metrics = Metrics::new();
        metrics.records.with_label_values(&["passthrough", "passed"]).inc();
        let health = StageHealth::new("passthrough", 100, Duration::from_secs(60));
        let stop = CancellationToken::new();
        let addr = spawn("127.0.0.1:0", metrics, vec![health.clone()], stop.clone())
            .await
            .unwrap();

        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503);
        assert!(body.contains("broker not connected"), "{body}");
        health.set_connected(true);
        health.set_joined(true);
        assert_eq!(get(addr, "/readyz").await.0, 200);
        health.set_lag(101);
        assert_eq!(get(addr, "/readyz").await.0, 503);

        assert_eq!(get(addr, "/healthz").await.0, 200);
        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains("galley_records_total{outcome=\"passed\",stage=\"passthrough\"} 1"),
            "{body}"
        );
        stop.cancel();
    }
}
