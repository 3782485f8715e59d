//! The built-in gateway as `bench` loads it: the `strict` profile's rustls
//! server configuration (certificate, CA names, client-certificate
//! verifier: the TLS work a scenario's gateway does) behind an accept loop
//! that completes each handshake and closes. The scenario server also
//! records an observation per connection (the CA names' subjects, the
//! client's subject as text, a log line), which a throughput figure does
//! not need.
//!
//! It runs on a thread of its own with a single-threaded runtime, and the
//! load generator on another (see `cli/bench.rs`): one core each, no task
//! moved between threads. On the shared two-worker runtime the same
//! handshakes cost 10 to 35% more CPU (work stealing, waking the parked
//! worker), which is the harness's overhead, not the gateway's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// A running lean gateway; dropping it stops it (its thread is joined).
pub struct LeanGateway {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl LeanGateway {
    /// Listen on 127.0.0.1:0 with `config`; each handshake gets `timeout`.
    pub fn start(
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> std::io::Result<LeanGateway> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("bench-gateway".into())
            .spawn(move || {
                runtime.block_on(async move {
                    if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                        serve(listener, config, timeout, stop_rx).await;
                    }
                })
            })?;
        Ok(LeanGateway {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop and wait for the thread (off the async workers' hands).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for LeanGateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The accept loop on the current runtime until `stop` changes: each
/// connection's handshake gets `timeout`, then the connection is closed.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                // The TLS 1.2 flight must not wait for a delayed ACK.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let _ = tokio::time::timeout(timeout, acceptor.accept(tcp)).await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}
