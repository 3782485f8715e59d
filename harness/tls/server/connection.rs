//! The connection stage: handshake (with OpenSSL's TLS 1.2 alert where the
//! policy says so), the certificate status after it, the request, and the
//! policy's answer; everything seen goes into the connection's record.

use super::record::{RecordBook, ServerRecord};
use super::GatewayConfig;
use crate::observation::{Side, TlsVersion};
use crate::tls::alert_rewrite::AlertRewrite;
use crate::tls::ca_names::max_encodable_bytes;
use crate::tls::classify::{alert_for_local_error, alert_name, find_rustls_error};
use crate::tls::policy::{
    CertOrigin, ClientAuthPolicy, ClientCertStatus, Enforcement, PostHandshakeRefusal,
};
use crate::tls::verify::{CertFailure, FailureCarrier};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use rustls_pki_types::CertificateDer;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};

pub(super) struct Shared {
    pub(super) config: GatewayConfig,
    pub(super) acceptor: tokio_rustls::TlsAcceptor,
    /// The CA list does not fit: abort like OpenSSL (internal_error).
    pub(super) oversized: bool,
    pub(super) rewrite_tls12_alert: bool,
    /// See [`super::GatewayTls::missing_cert_alert`].
    pub(super) missing_cert_alert: Option<rustls::AlertDescription>,
    pub(super) missing_cert_after_handshake: bool,
    /// The CA names did not fit and the profile asks without naming any.
    pub(super) names_omitted: bool,
    /// The profile asks for the certificate after the request
    /// ([`Enforcement::PostHandshake`]).
    pub(super) post_handshake: bool,
}

pub(super) async fn accept_loop(
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
                // A TLS 1.2 server flight is several small writes: without
                // NODELAY the last waits for the client's delayed ACK (~40 ms).
                let _ = tcp.set_nodelay(true);
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
    let policy = &cfg.policy;
    let offer = policy.asks();
    let rec = Arc::new(Mutex::new(ServerRecord {
        peer: peer.to_string(),
        profile: policy.name().to_string(),
        certificate_requested: offer && !shared.oversized && !shared.post_handshake,
        ca_names: (offer && !shared.names_omitted).then(|| cfg.ca_list.seen()),
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

    let tls12_missing_cert = shared
        .missing_cert_alert
        .unwrap_or(rustls::AlertDescription::HandshakeFailure);
    let stream = AlertRewrite::new(
        tcp,
        shared
            .rewrite_tls12_alert
            .then_some(u8::from(tls12_missing_cert)),
    );
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
                let rewrote_to = rewrote.load(Ordering::SeqCst).then_some(tls12_missing_cert);
                record_handshake_error(&mut r, &e, rewrote_to, policy.as_ref());
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
        match policy.enforcement() {
            Enforcement::Http { rules } | Enforcement::RequireAny { rules } => {
                match cfg.trust.verify_client_chain(&chain, rules) {
                    Ok(()) => ClientCertStatus::Verified {
                        subject: subject_of(&chain[0]),
                    },
                    Err(f) => ClientCertStatus::Failed(f),
                }
            }
            Enforcement::PostHandshake => ClientCertStatus::NotSent,
            Enforcement::Handshake { .. } => ClientCertStatus::Verified {
                subject: subject_of(&chain[0]),
            },
        }
    };
    // A resumed session: no CertificateRequest and no Certificate on this
    // connection; `chain` is the earlier handshake's, kept in the session.
    let resumed = conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    {
        let mut r = rec.lock().expect("record lock");
        r.tls_version = version;
        r.handshake_complete = true;
        r.resumed = resumed;
        if resumed {
            r.certificate_requested = false;
            r.ca_names = None;
        }
        r.client_certificate_sent = Some(!resumed && !chain.is_empty());
        r.client_cert_subject = chain.first().map(subject_of);
        r.cert_status = Some(if resumed && !chain.is_empty() {
            format!("{status} (from the resumed session)")
        } else {
            status.to_string()
        });
        // What is known so far is visible before the connection ends
        // (`RunningGateway::records`, once the client has its answer).
        book.put(peer, r.clone());
    }
    // A mandatory certificate missing on TLS 1.3, where the profile's alert
    // is not rustls's: the handshake completed; send that alert now.
    if shared.missing_cert_after_handshake && offer && chain.is_empty() {
        if let Some(alert) = shared.missing_cert_alert {
            let result =
                crate::tls::post_handshake::send_fatal_alert(tls, alert, cfg.timeouts.response)
                    .await;
            let mut r = rec.lock().expect("record lock");
            let name = alert_name(alert);
            r.log = policy.handshake_failure_log(&name, None);
            if let Err(e) = result {
                r.log.push_str(&format!(": {e}"));
            } else {
                r.alert = Some(name);
                r.alert_sent_by = Some(Side::Server);
            }
            drop(r);
            finish(&rec);
            return;
        }
    }
    // Asked for after the request (Apache per-directory): a client that can
    // neither renegotiate nor do post-handshake auth gets the refusal.
    let refusal = if shared.post_handshake {
        match policy.post_handshake_refusal(version.unwrap_or(TlsVersion::Tls13)) {
            PostHandshakeRefusal::Http(response) => Some(response),
            PostHandshakeRefusal::Alert { alert, log } => {
                let result = crate::tls::post_handshake::refuse_renegotiation(
                    tls,
                    alert,
                    cfg.timeouts.response,
                )
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
    let (svc_book, svc_peer) = (book.clone(), peer);
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let rec = svc_rec.clone();
        let svc_book = svc_book.clone();
        let (status, note) = forwarded_status(
            &svc_shared.config,
            peer_leaf.as_ref(),
            &status,
            req.headers(),
        );
        let mut response = match &refusal {
            Some(refused) => refused.clone(),
            None => {
                let origin = if note.is_some() {
                    CertOrigin::ForwardedHeader
                } else {
                    CertOrigin::Handshake
                };
                svc_shared.config.policy.respond(&status, origin)
            }
        };
        if let Some(note) = note {
            response.log = format!("{note}; {}", response.log);
        }
        async move {
            if response.is_no_response() {
                // Close without a byte of response (hyper drops the
                // connection when the service fails).
                let mut r = rec.lock().expect("record lock");
                r.log = response.log.clone();
                r.closed_without_response = true;
                return Err(ServiceError::NoResponse);
            }
            {
                let mut r = rec.lock().expect("record lock");
                r.http_status = Some(response.status);
                r.log = response.log.clone();
                let mut excerpt = response.body.clone();
                excerpt.truncate(super::record::BODY_EXCERPT_BYTES);
                r.body_excerpt = Some(excerpt);
                svc_book.put(svc_peer, r.clone());
            }
            hyper::Response::builder()
                .status(response.status)
                .header("content-type", response.content_type)
                .header("connection", "close")
                .body(Full::new(Bytes::from(response.body)))
                .map_err(ServiceError::Http)
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
            if r.http_status.is_none() && !r.closed_without_response {
                if let Some(tls_err) = find_rustls_error(&e) {
                    record_rustls_error(&mut r, tls_err, None, policy.as_ref());
                } else {
                    r.log = format!("connection ended without a request: {e}");
                }
            }
        }
        Ok(Ok(())) => {}
    }
    finish(&rec);
}

/// Why the service gave hyper no response.
#[derive(Debug, thiserror::Error)]
enum ServiceError {
    /// The profile answers nothing and closes ([`GatewayResponse::no_response`]).
    #[error("closed without a response")]
    NoResponse,
    #[error("building the response: {0}")]
    Http(#[source] hyper::http::Error),
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
        cfg.versions.iter().map(|v| max_encodable_bytes(*v)).min().unwrap_or(0xffff)
    );
}

fn record_handshake_error(
    r: &mut ServerRecord,
    e: &std::io::Error,
    rewrote: Option<rustls::AlertDescription>,
    policy: &dyn ClientAuthPolicy,
) {
    match find_rustls_error(e) {
        Some(tls_err) => record_rustls_error(r, tls_err, rewrote, policy),
        None => {
            r.log = format!("handshake failed: {e}");
        }
    }
}

fn record_rustls_error(
    r: &mut ServerRecord,
    e: &rustls::Error,
    rewrote: Option<rustls::AlertDescription>,
    policy: &dyn ClientAuthPolicy,
) {
    use rustls::Error as E;
    let (alert, by, failure): (Option<String>, Side, Option<CertFailure>) = match e {
        E::NoCertificatesPresented => {
            r.client_certificate_sent = Some(false);
            let a = rewrote.unwrap_or(rustls::AlertDescription::CertificateRequired);
            (Some(alert_name(a)), Side::Server, None)
        }
        E::InvalidCertificate(ce) => {
            r.client_certificate_sent = Some(true);
            let failure = match ce {
                rustls::CertificateError::Other(o) => {
                    o.0.downcast_ref::<FailureCarrier>().map(|f| f.0.clone())
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
        // A verify failure sent as handshake_failure (see
        // `CertFailure::as_rustls_error_for_alert`).
        E::Other(o) if o.0.downcast_ref::<FailureCarrier>().is_some() => {
            r.client_certificate_sent = Some(true);
            (
                Some(alert_name(rustls::AlertDescription::HandshakeFailure)),
                Side::Server,
                o.0.downcast_ref::<FailureCarrier>().map(|f| f.0.clone()),
            )
        }
        other => (
            Some(alert_name(alert_for_local_error(other))),
            Side::Server,
            None,
        ),
    };
    r.alert = alert.clone();
    r.alert_sent_by = Some(by);
    r.log = match by {
        Side::Server => {
            policy.handshake_failure_log(alert.as_deref().unwrap_or("?"), failure.as_ref())
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
    let rules = cfg.policy.enforcement().rules();
    let note = format!(
        "client certificate from trusted proxy header `{}`",
        trust.header.header_name()
    );
    match crate::tls::forwarded::decode(trust.header, value.to_str().unwrap_or_default()) {
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
