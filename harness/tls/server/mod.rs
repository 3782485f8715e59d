//! A built-in gateway: tokio-rustls + hyper on 127.0.0.1, a client-certificate
//! verifier that sends the chosen CA names (`verifier`), a per-connection
//! stage that runs the handshake and serves the request (`connection`), and
//! what it saw of each connection ([`ServerRecord`]). What to decide (alert or
//! page) is the [`ClientAuthPolicy`]'s business.

mod anchor_index;
mod connection;
mod record;
mod verifier;
mod wrapped;

pub use record::ServerRecord;
pub(crate) use verifier::GatewayVerifier;
pub use verifier::{gateway_tls, GatewayTls};

use super::ca_names::AcceptableCaList;
use super::error::TlsError;
use super::policy::ClientAuthPolicy;
use super::verify::TrustStore;
use super::Timeouts;
use crate::knobs::{ForwardHeader, Resumption};
use crate::observation::TlsVersion;
use record::RecordBook;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// Everything a built-in gateway needs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The gateway's decisions (a profile).
    pub policy: Arc<dyn ClientAuthPolicy>,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: Arc<PrivateKeyDer<'static>>,
    pub trust: TrustStore,
    pub ca_list: AcceptableCaList,
    /// What to do when `ca_list` does not fit a CertificateRequest.
    pub ca_names_overflow: crate::knobs::CaNamesOverflow,
    pub versions: Vec<TlsVersion>,
    pub timeouts: Timeouts,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Accept a client certificate forwarded in a header by these proxies.
    pub forwarded: Option<ForwardedTrust>,
    /// How clients may resume; `None`: rustls's default (as `session-id`).
    pub resumption: Option<Resumption>,
}

/// Which forwarding header the gateway trusts, and from whom: only requests
/// on a connection authenticated with one of `proxies` (exact certificate).
/// A direct request carrying the header is never authenticated by it.
#[derive(Debug, Clone)]
pub struct ForwardedTrust {
    pub header: ForwardHeader,
    pub proxies: Vec<CertificateDer<'static>>,
}

/// A running gateway. Dropping it stops the accept loop and every connection.
pub struct RunningGateway {
    addr: SocketAddr,
    book: Arc<RecordBook>,
    events: broadcast::Sender<ServerRecord>,
    service: crate::tls::ServiceHandle,
}

impl RunningGateway {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Keep at most `n` finished connections' records for
    /// [`Self::record_for`] (4,096 by default). `serve` keeps none: each
    /// record is reported by its event ([`Self::subscribe`]) and forgotten,
    /// so memory stays flat however many clients come.
    pub fn keep_finished(&self, n: usize) {
        self.book.keep_finished(n);
    }

    /// Completed connections, as they finish.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerRecord> {
        self.events.subscribe()
    }

    /// The record of the connection from `peer`, once it is complete (or what
    /// is known after `wait`).
    pub async fn record_for(
        &self,
        peer: SocketAddr,
        wait: std::time::Duration,
    ) -> Option<ServerRecord> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.book.changed.notified();
            if let Some(r) = self.book.records.lock().expect("record lock").get(&peer) {
                if r.done {
                    return Some(r.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self
                    .book
                    .records
                    .lock()
                    .expect("record lock")
                    .get(&peer)
                    .cloned();
            }
        }
    }

    /// What the gateway saw of each connection it remembers (open ones as
    /// far as they got), oldest first.
    pub fn records(&self) -> Vec<ServerRecord> {
        let mut all: Vec<ServerRecord> = self
            .book
            .records
            .lock()
            .expect("record lock")
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|r| r.opened);
        all
    }

    /// The most recently completed connection's record (a middlebox's
    /// upstream connection has no client address to look it up by).
    pub async fn last_record(&self, wait: std::time::Duration) -> Option<ServerRecord> {
        let mut events = self.events.subscribe();
        let latest = || {
            let records = self.book.records.lock().expect("record lock");
            records
                .values()
                .filter(|r| r.done)
                .max_by_key(|r| r.seq)
                .cloned()
        };
        if let Some(r) = latest() {
            return Some(r);
        }
        match tokio::time::timeout(wait, events.recv()).await {
            Ok(Ok(r)) => Some(r),
            _ => latest(),
        }
    }

    /// Stop accepting and end open connections.
    pub async fn shutdown(self) {
        self.service.shutdown().await;
    }
}

/// Start a gateway; it runs until the returned handle is dropped or shut down.
pub async fn start(config: GatewayConfig) -> Result<RunningGateway, TlsError> {
    let tls = gateway_tls(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| TlsError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| TlsError::Listen {
        addr: config.listen,
        source,
    })?;
    let shared = Arc::new(connection::Shared {
        rewrite_tls12_alert: tls.rewrite_tls12_alert,
        missing_cert_alert: tls.missing_cert_alert,
        missing_cert_after_handshake: tls.missing_cert_after_handshake,
        names_omitted: tls.names_omitted,
        config,
        acceptor: tokio_rustls::TlsAcceptor::from(tls.config),
        oversized: tls.oversized,
        post_handshake: tls.post_handshake,
    });
    let book = Arc::new(RecordBook::default());
    let (events, _) = broadcast::channel(1024);
    let (loop_book, loop_events) = (book.clone(), events.clone());
    let service = crate::tls::ServiceHandle::spawn(move |stop| {
        connection::accept_loop(listener, shared, loop_book, loop_events, stop)
    });
    Ok(RunningGateway {
        addr,
        book,
        events,
        service,
    })
}
