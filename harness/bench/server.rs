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

/// The built-in gateway's configuration as `bench --during` reloads it:
/// each connection takes the one current when it is accepted, a reload
/// swaps in a new one whole (what nginx's graceful reload gives: new
/// connections meet the new files, those in flight keep theirs).
pub struct SwappableConfig {
    /// The generation (0 at start, one more per swap) and its configuration.
    current: std::sync::RwLock<(u64, Arc<rustls::ServerConfig>)>,
    /// The newest generation a connection was accepted with (a load
    /// client may reset its connection before the server reads its
    /// Finished, so a completed handshake is not what to wait for).
    served: std::sync::atomic::AtomicU64,
}

impl SwappableConfig {
    pub fn new(config: Arc<rustls::ServerConfig>) -> Arc<SwappableConfig> {
        Arc::new(SwappableConfig {
            current: std::sync::RwLock::new((0, config)),
            served: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Swap `config` in; its generation.
    pub fn swap(&self, config: Arc<rustls::ServerConfig>) -> u64 {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        current.0 += 1;
        current.1 = config;
        current.0
    }

    fn current(&self) -> (u64, Arc<rustls::ServerConfig>) {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The newest generation a connection was accepted with.
    pub fn served_generation(&self) -> u64 {
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A built-in gateway that answers HTTP/1.1 (`200 ok`, keep-alive) after
/// each handshake with the configuration current at its accept; dropping
/// it stops it.
pub struct SwappingGateway {
    addr: SocketAddr,
    configs: Arc<SwappableConfig>,
    service: ServiceHandle,
}

impl SwappingGateway {
    /// Listen on 127.0.0.1:0 with `config`; each handshake gets `timeout`.
    pub async fn start(
        config: Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> std::io::Result<SwappingGateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let configs = SwappableConfig::new(config);
        let served = configs.clone();
        let service = ServiceHandle::spawn(move |stop| serve_http(listener, served, timeout, stop));
        Ok(SwappingGateway {
            addr,
            configs,
            service,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn configs(&self) -> Arc<SwappableConfig> {
        self.configs.clone()
    }

    pub async fn shutdown(self) {
        self.service.shutdown().await;
    }
}

/// The accept loop of a [`SwappingGateway`] until `stop` changes.
async fn serve_http(
    listener: tokio::net::TcpListener,
    configs: Arc<SwappableConfig>,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let (generation, config) = configs.current();
                configs
                    .served
                    .fetch_max(generation, std::sync::atomic::Ordering::SeqCst);
                connections.spawn(async move {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    let Ok(Ok(tls)) = tokio::time::timeout(timeout, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let ok = hyper::service::service_fn(|_request| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"ok\n")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), ok)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}
