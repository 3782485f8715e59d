//! The built-in gateway as `bench` loads it: the `strict` profile's rustls
//! server configuration (certificate, CA names, client-certificate
//! verifier: the TLS work a scenario's gateway does) behind an accept loop
//! that completes each handshake and closes. The scenario server also
//! records an observation per connection (the CA names' subjects, the
//! client's subject as text, a log line), which a throughput figure does
//! not need.
//!
//! `serve` is the accept loop; the load's lanes (`bench::load_builtin`)
//! each run one on their own thread. [`LeanGateway`] runs one on the
//! current runtime for a single client process (`openssl s_time`).

use crate::tls::ServiceHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A running lean gateway; dropping it stops it.
pub struct LeanGateway {
    addr: SocketAddr,
    service: ServiceHandle,
}

impl LeanGateway {
    /// Listen on 127.0.0.1:0 with `config`; each handshake gets `timeout`.
    pub async fn start(
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> std::io::Result<LeanGateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let service = ServiceHandle::spawn(move |stop| serve(listener, config, timeout, stop));
        Ok(LeanGateway { addr, service })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(self) {
        self.service.shutdown().await;
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
