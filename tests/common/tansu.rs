//! A test's own Tansu broker behind a TCP proxy, for faults that the shared broker must not
//! suffer (every other test uses it).
//!
//! Tansu here keeps its storage in memory (docs/BROKERS.md), so a literal restart loses every
//! topic, group and offset; a test would then measure data loss by construction, not Galley.
//! What clients see when a broker with persistent storage restarts is, at the network level:
//! every connection drops, new connections are refused for a while, then the same broker (same
//! data, same advertised address) accepts again. [`PrivateBroker::restart`] produces exactly
//! that at the proxy, which is the only address clients know (Tansu advertises the proxy's
//! port). [`PrivateBroker::freeze`] stops the broker process itself (SIGSTOP/SIGCONT): a hang
//! with connections open, the other way a broker fails.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The Tansu binary `scripts/install-broker.sh` installed (under `GALLEY_BROKER_DIR`, default
/// `<repo>/.cache/broker`).
///
/// # Panics
/// When it is not there: `scripts/test.sh` installs it before any real-broker test runs.
pub fn tansu_binary() -> PathBuf {
    let dir = std::env::var_os("GALLEY_BROKER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/broker"));
    let bin = dir.join("bin/tansu");
    assert!(
        bin.is_file(),
        "{} is missing; run scripts/install-broker.sh (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A private Tansu reached only through a proxy the test controls.
pub struct PrivateBroker {
    broker: Child,
    proxy: Proxy,
}

impl PrivateBroker {
    /// Starts Tansu on a free port, advertising the proxy's port, and waits until it answers.
    pub async fn start() -> Self {
        let proxy_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let proxy_addr = proxy_listener.local_addr().unwrap();
        // A free port for Tansu: bind, read, release. Another process could take it in between;
        // Tansu would then fail to start and `wait_for_port` below says so.
        let upstream = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let broker = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{upstream}"),
                "--advertised-listener-url",
                &format!("tcp://{proxy_addr}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu starts");
        assert!(
            wait_for_port(upstream, Duration::from_secs(20)).await,
            "private tansu did not listen on {upstream}"
        );
        let proxy = Proxy::start(proxy_listener, upstream);
        PrivateBroker { broker, proxy }
    }

    /// `host:port` for clients: the proxy.
    pub fn host(&self) -> String {
        self.proxy.addr.to_string()
    }

    /// A restart as clients see it: every connection drops, connections are refused for
    /// `down`, then accepted again (same broker, same data).
    pub async fn restart(&self, down: Duration) {
        self.proxy.up.send_replace(false);
        wait_until_refused(self.proxy.addr).await;
        tokio::time::sleep(down).await;
        self.proxy.up.send_replace(true);
        assert!(
            wait_for_port(self.proxy.addr, Duration::from_secs(10)).await,
            "the proxy listens again on {}",
            self.proxy.addr
        );
    }

    /// Freezes the broker process for `hang` (SIGSTOP, then SIGCONT): connections stay open
    /// and nothing answers.
    pub async fn freeze(&self, hang: Duration) {
        let pid = self.broker.id().expect("tansu is running") as i32;
        signal(pid, libc::SIGSTOP);
        tokio::time::sleep(hang).await;
        signal(pid, libc::SIGCONT);
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        // kill_on_drop sends SIGKILL, which also ends a stopped process; the proxy task ends
        // with its token.
        self.proxy.stop.cancel();
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "signal {sig} to {pid}");
}

/// True once `addr` accepts a TCP connection (false after `limit`).
async fn wait_for_port(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn wait_until_refused(addr: SocketAddr) {
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the proxy still accepts on {addr}");
}

/// Forwards TCP from `addr` to the broker; while `up` is false the listening socket is closed
/// (connections are refused, as on a host whose broker is down) and no connection survives.
///
/// It runs on a thread and runtime of its own, so a test blocking its runtime's workers (on a
/// librdkafka call that waits out the very outage it injected) cannot stall the proxy.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    stop: CancellationToken,
}

impl Proxy {
    fn start(listener: std::net::TcpListener, upstream: SocketAddr) -> Self {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (up, up_rx) = watch::channel(true);
        let stop = CancellationToken::new();
        let token = stop.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("proxy listener");
                supervise(listener, upstream, up_rx, token).await;
            });
        });
        Proxy { addr, up, stop }
    }
}

/// Alternates between serving (accepting and forwarding) and being down (no listener).
async fn supervise(
    mut listener: TcpListener,
    upstream: SocketAddr,
    mut up: watch::Receiver<bool>,
    stop: CancellationToken,
) {
    let addr = listener.local_addr().unwrap();
    loop {
        // Connections of this period: all cut when it ends.
        let period = stop.child_token();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = up.changed() => {
                    if changed.is_err() || !*up.borrow_and_update() { break; }
                }
                conn = listener.accept() => if let Ok((client, _)) = conn {
                    tokio::spawn(forward(client, upstream, period.clone()));
                },
            }
        }
        period.cancel();
        drop(listener);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = up.changed() => {
                    if changed.is_err() { return; }
                    if *up.borrow_and_update() { break; }
                }
            }
        }
        listener = rebind(addr).await;
    }
}

/// Binds `addr` again. Tokio sets SO_REUSEADDR, so closed connections in TIME_WAIT do not block
/// it; a port taken by someone else meanwhile is retried for a while, then the test fails.
async fn rebind(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) if Instant::now() < deadline => {
                eprintln!("proxy: rebinding {addr}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("proxy: cannot rebind {addr}: {e}"),
        }
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, cut: CancellationToken) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.cancelled() => {}
    }
}
