//! A built-in gateway: tokio-rustls + hyper on 127.0.0.1, a client-certificate
//! verifier that sends the chosen CA names, and a [`GatewayProfile`] that
//! decides between an alert and an HTTP answer.

use super::alert_rewrite::AlertRewrite;
use super::ca_names::AcceptableCaList;
use super::classify::{alert_name, find_rustls_error};
use super::verify::{CertFailure, Rules, TrustStore};
use super::{provider, Timeouts};
use crate::gateway::{ClientCertStatus, Enforcement, GatewayProfile, PostHandshakeRefusal};
use crate::observation::{CaNamesSeen, Side, TlsVersion};
use crate::scenario::schema::{ClientAuth, ForwardHeader};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch, Notify};

/// Everything a built-in gateway needs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub profile: GatewayProfile,
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: Arc<PrivateKeyDer<'static>>,
    pub trust: TrustStore,
    pub ca_list: AcceptableCaList,
    pub versions: Vec<TlsVersion>,
    pub timeouts: Timeouts,
    /// Where to listen; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Accept a client certificate forwarded in a header by these proxies.
    pub forwarded: Option<ForwardedTrust>,
}

/// Which forwarding header the gateway trusts, and from whom: only requests
/// on a connection authenticated with one of `proxies` (exact certificate).
/// A direct request carrying the header is never authenticated by it.
#[derive(Debug, Clone)]
pub struct ForwardedTrust {
    pub header: ForwardHeader,
    pub proxies: Vec<CertificateDer<'static>>,
}

/// What the gateway saw of one connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerRecord {
    pub peer: String,
    pub profile: String,
    pub tls_version: Option<TlsVersion>,
    pub certificate_requested: bool,
    pub ca_names: Option<CaNamesSeen>,
    /// `None` when the handshake ended before it could be known.
    pub client_certificate_sent: Option<bool>,
    pub handshake_complete: bool,
    /// Alert the gateway sent (snake_case), or the one it received.
    pub alert: Option<String>,
    pub alert_sent_by: Option<Side>,
    pub cert_status: Option<String>,
    pub http_status: Option<u16>,
    pub log: String,
    /// The CA list did not fit a CertificateRequest; the gateway aborted as
    /// OpenSSL does.
    pub ca_list_oversized: bool,
    pub hang: Option<String>,
    #[serde(skip)]
    pub done: bool,
    /// Order of completion.
    #[serde(skip)]
    pub seq: u64,
}

#[derive(Default)]
struct RecordBook {
    records: Mutex<HashMap<SocketAddr, ServerRecord>>,
    seq: std::sync::atomic::AtomicU64,
    changed: Notify,
}

impl RecordBook {
    fn put(&self, peer: SocketAddr, mut rec: ServerRecord) {
        rec.seq = self.seq.fetch_add(1, Ordering::SeqCst);
        self.records.lock().expect("record lock").insert(peer, rec);
        self.changed.notify_waiters();
    }
}

/// A running gateway. Dropping it stops the accept loop and every connection.
pub struct RunningGateway {
    addr: SocketAddr,
    book: Arc<RecordBook>,
    events: broadcast::Sender<ServerRecord>,
    service: super::ServiceHandle,
}

impl RunningGateway {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
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

/// The client-certificate verifier every profile uses: it sends the chosen
/// CA names and, per the profile, verifies in the handshake or defers.
#[derive(Debug)]
pub(crate) struct GatewayVerifier {
    /// Whose alerts to send (None: OpenSSL's own).
    profile: Option<GatewayProfile>,
    names: Vec<DistinguishedName>,
    offer: bool,
    mandatory: bool,
    mode: VerifyMode,
    trust: TrustStore,
    schemes: Vec<SignatureScheme>,
}

impl GatewayVerifier {
    /// Asks for a certificate (when `offer`), names no CA, accepts whatever
    /// comes: a TLS offloader that passes the certificate on, not judging it.
    pub(crate) fn accept_any(offer: bool) -> Self {
        GatewayVerifier {
            profile: None,
            names: Vec::new(),
            offer,
            mandatory: false,
            mode: VerifyMode::Deferred,
            trust: TrustStore::new(&[], &[]).expect("an empty store is valid"),
            schemes: provider()
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}

#[derive(Debug)]
enum VerifyMode {
    /// rustls's WebPkiClientVerifier decides (and its error sets the alert).
    Rustls(Arc<dyn ClientCertVerifier>),
    /// OpenSSL's rules and alerts.
    OpenSsl,
    /// Accept any chain; the profile judges after the handshake.
    Deferred,
}

impl ClientCertVerifier for GatewayVerifier {
    fn offer_client_auth(&self) -> bool {
        self.offer
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.names
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &self.mode {
            VerifyMode::Rustls(inner) => inner.verify_client_cert(end_entity, intermediates, now),
            VerifyMode::OpenSsl => {
                let chain: Vec<CertificateDer<'_>> = std::iter::once(end_entity.clone())
                    .chain(intermediates.iter().cloned())
                    .collect();
                self.trust
                    .verify_client_chain(&chain, Rules::OpenSsl)
                    .map(|()| ClientCertVerified::assertion())
                    .map_err(|f| {
                        let alert = match &self.profile {
                            Some(p) => p.openssl_alert(&f),
                            None => f.openssl_alert(),
                        };
                        f.as_rustls_error_for_alert(alert)
                    })
            }
            VerifyMode::Deferred => Ok(ClientCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

struct Shared {
    config: GatewayConfig,
    acceptor: tokio_rustls::TlsAcceptor,
    /// The CA list does not fit: abort like OpenSSL (internal_error).
    oversized: bool,
    rewrite_tls12_alert: bool,
    /// The profile asks for the certificate after the request
    /// ([`Enforcement::PostHandshake`]).
    post_handshake: bool,
}

/// The rustls side of a gateway, without sockets (benchmarks drive it in
/// memory).
pub struct GatewayTls {
    pub config: Arc<rustls::ServerConfig>,
    /// The CA list does not fit a CertificateRequest: the gateway aborts
    /// with internal_error instead of handing it to rustls.
    pub oversized: bool,
    /// Rewrite TLS 1.2 certificate_required to handshake_failure (OpenSSL).
    pub rewrite_tls12_alert: bool,
    /// The profile asks for the certificate after the request.
    pub post_handshake: bool,
}

/// Build the rustls server configuration a gateway uses.
pub fn gateway_tls(config: &GatewayConfig) -> Result<GatewayTls, String> {
    let profile = config.profile;
    let offer = profile.client_auth != ClientAuth::None;
    let enforcement = profile.enforcement();
    let (mode, mandatory, openssl_alerts) = match enforcement {
        Enforcement::Handshake {
            rules: Rules::Webpki,
            cert_mandatory,
            ..
        } => {
            let roots = Arc::new(config.trust.root_store());
            let mut builder =
                WebPkiClientVerifier::builder_with_provider(roots, Arc::new(provider()));
            if config.trust.has_crls() {
                builder = builder.with_crls(config.trust.crl_ders().iter().cloned());
            }
            if !cert_mandatory {
                builder = builder.allow_unauthenticated();
            }
            let inner = builder
                .build()
                .map_err(|e| format!("client verifier: {e}"))?;
            (VerifyMode::Rustls(inner), cert_mandatory, false)
        }
        Enforcement::Handshake {
            cert_mandatory,
            openssl_alerts,
            ..
        } => (VerifyMode::OpenSsl, cert_mandatory, openssl_alerts),
        Enforcement::Http { .. } | Enforcement::PostHandshake => {
            (VerifyMode::Deferred, false, false)
        }
    };
    // Asked only after the request: no CertificateRequest in the handshake.
    let post_handshake = offer && enforcement == Enforcement::PostHandshake;
    let oversized = offer && config.versions.iter().any(|v| !config.ca_list.fits(*v));
    let names = if oversized {
        Vec::new()
    } else {
        config.ca_list.rustls_names()
    };
    let verifier = GatewayVerifier {
        profile: Some(profile),
        names,
        offer: offer && !post_handshake,
        mandatory: mandatory && offer,
        mode,
        trust: config.trust.clone(),
        schemes: provider()
            .signature_verification_algorithms
            .supported_schemes(),
    };
    let versions = super::rustls_versions(&config.versions);
    if versions.is_empty() {
        return Err("no TLS version enabled".into());
    }
    let mut server_config = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(config.server_chain.clone(), config.server_key.clone_key())
        .map_err(|e| format!("server certificate/key: {e}"))?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // To seal the renegotiation request and alert rustls cannot send.
    server_config.enable_secret_extraction = post_handshake;
    Ok(GatewayTls {
        config: Arc::new(server_config),
        oversized,
        rewrite_tls12_alert: openssl_alerts && config.versions.contains(&TlsVersion::Tls12),
        post_handshake,
    })
}

/// Start a gateway; it runs until the returned handle is dropped or shut down.
pub async fn start(config: GatewayConfig) -> Result<RunningGateway, String> {
    let tls = gateway_tls(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        rewrite_tls12_alert: tls.rewrite_tls12_alert,
        config,
        acceptor: tokio_rustls::TlsAcceptor::from(tls.config),
        oversized: tls.oversized,
        post_handshake: tls.post_handshake,
    });
    let book = Arc::new(RecordBook::default());
    let (events, _) = broadcast::channel(1024);
    let (loop_book, loop_events) = (book.clone(), events.clone());
    let service = super::ServiceHandle::spawn(move |stop| {
        accept_loop(listener, shared, loop_book, loop_events, stop)
    });
    Ok(RunningGateway {
        addr,
        book,
        events,
        service,
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    book: Arc<RecordBook>,
    events: broadcast::Sender<ServerRecord>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((tcp, peer)) = accepted else { continue };
                let (shared, book, events, stop) = (shared.clone(), book.clone(), events.clone(), stop.clone());
                connections.spawn(async move {
                    let mut stop = stop;
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = handle(tcp, peer, shared, book, events) => {}
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn handle(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    book: Arc<RecordBook>,
    events: broadcast::Sender<ServerRecord>,
) {
    let cfg = &shared.config;
    let profile = cfg.profile;
    let offer = profile.client_auth != ClientAuth::None;
    let rec = Arc::new(Mutex::new(ServerRecord {
        peer: peer.to_string(),
        profile: profile.name().to_string(),
        certificate_requested: offer && !shared.oversized && !shared.post_handshake,
        ca_names: offer.then(|| cfg.ca_list.seen()),
        ca_list_oversized: shared.oversized,
        ..Default::default()
    }));
    let finish = |rec: &Arc<Mutex<ServerRecord>>| {
        let mut r = rec.lock().expect("record lock").clone();
        r.done = true;
        book.put(peer, r.clone());
        let _ = events.send(r);
    };
    book.put(peer, rec.lock().expect("record lock").clone());

    if shared.oversized {
        abort_oversized(tcp, &rec, cfg).await;
        finish(&rec);
        return;
    }

    let stream = AlertRewrite::new(tcp, shared.rewrite_tls12_alert);
    let rewrote = stream.rewrote_flag();
    let tls =
        match tokio::time::timeout(cfg.timeouts.handshake, shared.acceptor.accept(stream)).await {
            Err(_) => {
                let mut r = rec.lock().expect("record lock");
                r.hang = Some("handshake".into());
                r.log = "handshake timed out".into();
                drop(r);
                finish(&rec);
                return;
            }
            Ok(Err(e)) => {
                let mut r = rec.lock().expect("record lock");
                record_handshake_error(&mut r, &e, rewrote.load(Ordering::SeqCst), &profile);
                drop(r);
                finish(&rec);
                return;
            }
            Ok(Ok(tls)) => tls,
        };

    let (_, conn) = tls.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => Some(TlsVersion::Tls12),
        Some(rustls::ProtocolVersion::TLSv1_3) => Some(TlsVersion::Tls13),
        _ => None,
    };
    let chain: Vec<CertificateDer<'static>> = conn
        .peer_certificates()
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let status = if !offer {
        ClientCertStatus::NotRequested
    } else if chain.is_empty() {
        ClientCertStatus::NotSent
    } else {
        match profile.enforcement() {
            Enforcement::Http { rules } => match cfg.trust.verify_client_chain(&chain, rules) {
                Ok(()) => ClientCertStatus::Verified {
                    subject: subject_of(&chain[0]),
                },
                Err(f) => ClientCertStatus::Failed(f),
            },
            Enforcement::PostHandshake => ClientCertStatus::NotSent,
            Enforcement::Handshake { .. } => ClientCertStatus::Verified {
                subject: subject_of(&chain[0]),
            },
        }
    };
    {
        let mut r = rec.lock().expect("record lock");
        r.tls_version = version;
        r.handshake_complete = true;
        r.client_certificate_sent = Some(!chain.is_empty());
        r.cert_status = Some(describe_status(&status));
    }
    // Asked for after the request (Apache per-directory): a client that can
    // neither renegotiate nor do post-handshake auth gets the refusal.
    let refusal = if shared.post_handshake {
        match profile.post_handshake_refusal(version.unwrap_or(TlsVersion::Tls13)) {
            PostHandshakeRefusal::Http(response) => Some(response),
            PostHandshakeRefusal::Alert { alert, log } => {
                let result =
                    super::post_handshake::refuse_renegotiation(tls, alert, cfg.timeouts.response)
                        .await;
                let mut r = rec.lock().expect("record lock");
                match result {
                    Ok(()) => {
                        r.alert = Some(alert_name(alert));
                        r.alert_sent_by = Some(Side::Server);
                        r.log = log;
                    }
                    Err(e) => r.log = format!("{log}: {e}"),
                }
                drop(r);
                finish(&rec);
                return;
            }
        }
    } else {
        None
    };
    let peer_leaf = chain.first().cloned();
    let svc_rec = rec.clone();
    let svc_shared = shared.clone();
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let rec = svc_rec.clone();
        let (status, note) = forwarded_status(
            &svc_shared.config,
            peer_leaf.as_ref(),
            &status,
            req.headers(),
        );
        let mut response = match (&status, profile.enforcement(), note.is_some()) {
            _ if refusal.is_some() => refusal.clone().expect("checked"),
            // A forwarded certificate that fails where the profile verifies in
            // the handshake: there is no alert to send any more.
            (ClientCertStatus::Failed(f), Enforcement::Handshake { .. }, true) => {
                crate::gateway::GatewayResponse {
                    status: 403,
                    content_type: "text/plain",
                    body: format!("forwarded client certificate rejected: {f}\n"),
                    log: format!("forwarded client certificate rejected: {f}"),
                }
            }
            _ => profile.respond(&status),
        };
        if let Some(note) = note {
            response.log = format!("{note}; {}", response.log);
        }
        async move {
            {
                let mut r = rec.lock().expect("record lock");
                r.http_status = Some(response.status);
                r.log = response.log.clone();
            }
            hyper::Response::builder()
                .status(response.status)
                .header("content-type", response.content_type)
                .header("connection", "close")
                .body(Full::new(Bytes::from(response.body)))
        }
    });
    let io = hyper_util::rt::TokioIo::new(tls);
    let serve = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(io, service);
    match tokio::time::timeout(cfg.timeouts.response, serve).await {
        Err(_) => {
            let mut r = rec.lock().expect("record lock");
            if r.http_status.is_none() {
                r.hang = Some("request".into());
                r.log = "no request before the timeout".into();
            }
        }
        Ok(Err(e)) => {
            let mut r = rec.lock().expect("record lock");
            if r.http_status.is_none() {
                if let Some(tls_err) = find_rustls_error(&e) {
                    record_rustls_error(&mut r, tls_err, false, &profile);
                } else {
                    r.log = format!("connection ended without a request: {e}");
                }
            }
        }
        Ok(Ok(())) => {}
    }
    finish(&rec);
}

/// The list does not fit a CertificateRequest: read the ClientHello and answer
/// with a fatal internal_error alert, as OpenSSL does when it cannot build it.
async fn abort_oversized(mut tcp: TcpStream, rec: &Arc<Mutex<ServerRecord>>, cfg: &GatewayConfig) {
    let mut header = [0u8; 5];
    let read = async {
        tcp.read_exact(&mut header).await?;
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        let mut body = vec![0u8; len];
        tcp.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(())
    };
    if tokio::time::timeout(cfg.timeouts.handshake, read)
        .await
        .is_err()
    {
        rec.lock().expect("record lock").hang = Some("handshake".into());
        return;
    }
    // TLS 1.2 record version is what an alert before ServerHello carries.
    let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 80]).await;
    let _ = tcp.shutdown().await;
    let mut r = rec.lock().expect("record lock");
    r.alert = Some("internal_error".into());
    r.alert_sent_by = Some(Side::Server);
    r.log = format!(
        "CA names list of {} names, {} bytes, does not fit in a CertificateRequest (max {}): sent alert internal_error",
        cfg.ca_list.len(),
        cfg.ca_list.encoded_bytes(),
        cfg.versions.iter().map(|v| super::ca_names::max_encodable_bytes(*v)).min().unwrap_or(0xffff)
    );
}

fn record_handshake_error(
    r: &mut ServerRecord,
    e: &std::io::Error,
    rewrote: bool,
    profile: &GatewayProfile,
) {
    match find_rustls_error(e) {
        Some(tls_err) => record_rustls_error(r, tls_err, rewrote, profile),
        None => {
            r.log = format!("handshake failed: {e}");
        }
    }
}

fn record_rustls_error(
    r: &mut ServerRecord,
    e: &rustls::Error,
    rewrote: bool,
    profile: &GatewayProfile,
) {
    use rustls::Error as E;
    let (alert, by, failure): (Option<String>, Side, Option<CertFailure>) = match e {
        E::NoCertificatesPresented => {
            r.client_certificate_sent = Some(false);
            let a = if rewrote {
                "handshake_failure"
            } else {
                "certificate_required"
            };
            (Some(a.into()), Side::Server, None)
        }
        E::InvalidCertificate(ce) => {
            r.client_certificate_sent = Some(true);
            let failure = match ce {
                rustls::CertificateError::Other(o) => {
                    o.0.downcast_ref::<super::verify::FailureCarrier>()
                        .map(|f| f.0.clone())
                }
                _ => None,
            };
            (
                Some(alert_name(rustls::AlertDescription::from(ce.clone()))),
                Side::Server,
                failure,
            )
        }
        E::AlertReceived(a) => (Some(alert_name(*a)), Side::Client, None),
        other => (
            Some(alert_name(super::classify::alert_for_local_error(other))),
            Side::Server,
            None,
        ),
    };
    r.alert = alert.clone();
    r.alert_sent_by = Some(by);
    r.log = match by {
        Side::Server => {
            profile.handshake_failure_log(alert.as_deref().unwrap_or("?"), failure.as_ref())
        }
        Side::Client => format!("client sent alert {}: {e}", alert.as_deref().unwrap_or("?")),
    };
    if failure.is_none() && by == Side::Server && !matches!(e, E::NoCertificatesPresented) {
        r.log.push_str(&format!(" [{e}]"));
    }
}

/// The certificate status of a request, taking a forwarding header into
/// account: trusted only from a configured proxy; otherwise ignored (and said
/// so in the log).
fn forwarded_status(
    cfg: &GatewayConfig,
    peer_leaf: Option<&CertificateDer<'static>>,
    tls_status: &ClientCertStatus,
    headers: &hyper::HeaderMap,
) -> (ClientCertStatus, Option<String>) {
    let Some(trust) = &cfg.forwarded else {
        return (tls_status.clone(), None);
    };
    let Some(value) = headers.get(trust.header.header_name()) else {
        return (tls_status.clone(), None);
    };
    let from_proxy = matches!(tls_status, ClientCertStatus::Verified { .. })
        && peer_leaf.is_some_and(|leaf| trust.proxies.iter().any(|p| p == leaf));
    if !from_proxy {
        let note = format!(
            "ignored `{}` header from a connection that is not a trusted proxy",
            trust.header.header_name()
        );
        return (tls_status.clone(), Some(note));
    }
    let rules = match cfg.profile.enforcement() {
        Enforcement::Handshake { rules, .. } | Enforcement::Http { rules } => rules,
        // Apache per-directory: OpenSSL's rules.
        Enforcement::PostHandshake => Rules::OpenSsl,
    };
    let note = format!(
        "client certificate from trusted proxy header `{}`",
        trust.header.header_name()
    );
    match super::forwarded::decode(trust.header, value.to_str().unwrap_or_default()) {
        Ok(der) => match cfg
            .trust
            .verify_client_chain(std::slice::from_ref(&der), rules)
        {
            Ok(()) => (
                ClientCertStatus::Verified {
                    subject: subject_of(&der),
                },
                Some(note),
            ),
            Err(f) => (ClientCertStatus::Failed(f), Some(note)),
        },
        Err(e) => (
            ClientCertStatus::Failed(CertFailure::Other(format!("forwarded header: {e}"))),
            Some(note),
        ),
    }
}

fn subject_of(der: &CertificateDer<'_>) -> String {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_else(|_| "<unparseable certificate>".into())
}

fn describe_status(s: &ClientCertStatus) -> String {
    match s {
        ClientCertStatus::NotRequested => "not requested".into(),
        ClientCertStatus::NotSent => "not sent".into(),
        ClientCertStatus::Verified { subject } => format!("verified: {subject}"),
        ClientCertStatus::Failed(f) => format!("failed: {f}"),
    }
}
