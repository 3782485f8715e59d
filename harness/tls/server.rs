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
use crate::scenario::schema::ClientAuth;
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
}

#[derive(Default)]
struct RecordBook {
    records: Mutex<HashMap<SocketAddr, ServerRecord>>,
    changed: Notify,
}

impl RecordBook {
    fn put(&self, peer: SocketAddr, rec: ServerRecord) {
        self.records.lock().expect("record lock").insert(peer, rec);
        self.changed.notify_waiters();
    }
}

/// A running gateway. Dropping it stops the accept loop and every connection.
pub struct RunningGateway {
    addr: SocketAddr,
    book: Arc<RecordBook>,
    events: broadcast::Sender<ServerRecord>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
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

    /// Stop accepting and end open connections.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
        }
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The client-certificate verifier every profile uses: it sends the chosen
/// CA names and, per the profile, verifies in the handshake or defers.
#[derive(Debug)]
struct GatewayVerifier {
    profile: GatewayProfile,
    names: Vec<DistinguishedName>,
    offer: bool,
    mandatory: bool,
    mode: VerifyMode,
    trust: TrustStore,
    schemes: Vec<SignatureScheme>,
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
                    .map_err(|f| f.as_rustls_error_for_alert(self.profile.openssl_alert(&f)))
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

/// Start a gateway; it runs until the returned handle is dropped or shut down.
pub async fn start(config: GatewayConfig) -> Result<RunningGateway, String> {
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
        profile,
        names,
        offer: offer && !post_handshake,
        mandatory: mandatory && offer,
        mode,
        trust: config.trust.clone(),
        schemes: provider()
            .signature_verification_algorithms
            .supported_schemes(),
    };
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = config
        .versions
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
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
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let shared = Arc::new(Shared {
        rewrite_tls12_alert: openssl_alerts && config.versions.contains(&TlsVersion::Tls12),
        config,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server_config)),
        oversized,
        post_handshake,
    });
    let book = Arc::new(RecordBook::default());
    let (events, _) = broadcast::channel(1024);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(
        listener,
        shared,
        book.clone(),
        events.clone(),
        stop_rx,
    ));
    Ok(RunningGateway {
        addr,
        book,
        events,
        stop,
        task: Some(task),
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
    let response = if shared.post_handshake {
        match profile.post_handshake_refusal(version.unwrap_or(TlsVersion::Tls13)) {
            PostHandshakeRefusal::Http(response) => response,
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
        profile.respond(&status)
    };
    let svc_rec = rec.clone();
    let service = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
        let response = response.clone();
        let rec = svc_rec.clone();
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
