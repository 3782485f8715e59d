//! Clients that pick a certificate the way real clients do, over a raw
//! tokio-rustls connection or reqwest, and report an [`Observation`].

use super::classify::{
    alert_for_local_error, alert_name, client_error_code, find_io_error, find_rustls_error,
    io_error_code,
};
use super::deferred_write_error::DeferWriteErrors;
use super::{provider, Timeouts, TlsError};
use crate::knobs::SelectionPolicy;
use crate::observation::{
    AlertSeen, CaNamesSeen, Handshake, HttpSeen, Observation, Side, TlsVersion,
};
use crate::pki::IssuedCert;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::SignatureScheme;
use rustls_pki_types::{CertificateDer, ServerName};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How long a response may still arrive once its connection has ended
/// (it is normally there already; see `http_get`).
const LOST_REQUEST_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

/// How much of a response body an observation keeps.
pub const BODY_EXCERPT_BYTES: usize = 4096;

/// One certificate a client holds, with what it needs to choose it.
#[derive(Debug, Clone)]
pub struct WalletEntry {
    pub name: String,
    /// Leaf first, then the intermediates it sends.
    pub chain: Vec<CertificateDer<'static>>,
    pub key: Arc<rustls::sign::CertifiedKey>,
    /// Issuer Name (DER) of every cert of the chain: what `match-issuer`
    /// compares against the server's CA names.
    pub issuers: Vec<Vec<u8>>,
}

impl WalletEntry {
    /// From a PKI cert; `send_intermediates` false sends the leaf alone, and
    /// so does a cert whose chain file holds it alone (`chain_in_file =
    /// false`: a client sends what its file holds).
    pub fn from_issued(cert: &IssuedCert, send_intermediates: bool) -> Result<Self, TlsError> {
        let chain = if send_intermediates && cert.files.chain_in_file {
            cert.chain_with_leaf()
        } else {
            vec![cert.der.clone()]
        };
        Self::new(&cert.name, chain, cert.private_key())
    }

    pub fn new(
        name: &str,
        chain: Vec<CertificateDer<'static>>,
        key: rustls_pki_types::PrivateKeyDer<'static>,
    ) -> Result<Self, TlsError> {
        let signing = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|source| TlsError::UnusableKey {
                name: name.to_string(),
                source,
            })?;
        let mut issuers = Vec::new();
        for der in &chain {
            let (_, c) = x509_parser::parse_x509_certificate(der).map_err(|e| {
                TlsError::UnparseableCert {
                    name: name.to_string(),
                    detail: e.to_string(),
                }
            })?;
            issuers.push(c.tbs_certificate.issuer.as_raw().to_vec());
        }
        // CertifiedKey::new does not check that key and cert match: a
        // key-mismatch client must be able to try.
        let key = Arc::new(CertifiedKey::new(chain.clone(), signing));
        Ok(WalletEntry {
            name: name.to_string(),
            chain,
            key,
            issuers,
        })
    }
}

/// What the client saw of the CertificateRequest and what it chose.
#[derive(Debug, Default, Clone)]
struct Selection {
    requested: bool,
    ca_names: Option<CaNamesSeen>,
    chosen: Option<String>,
    reason: Option<String>,
}

/// A `ResolvesClientCert` applying a [`SelectionPolicy`] to a wallet.
#[derive(Debug)]
struct SelectingResolver {
    wallet: Vec<WalletEntry>,
    policy: SelectionPolicy,
    seen: Mutex<Selection>,
    /// Set when `prompt` would show the picker: the connection's writes
    /// stop ([`super::picker::PickerGate`]).
    picker: Arc<std::sync::atomic::AtomicBool>,
}

impl SelectingResolver {
    fn choose(&self, hints: &[&[u8]]) -> (Option<usize>, String) {
        if self.wallet.is_empty() {
            return (None, "the client holds no certificate".into());
        }
        let matching = || {
            self.wallet
                .iter()
                .position(|w| w.issuers.iter().any(|i| hints.contains(&i.as_slice())))
        };
        match self.policy {
            SelectionPolicy::Never => (None, "policy `never`: certificates are not sent".into()),
            SelectionPolicy::Always => (Some(0), format!("policy `always`: sends `{}` whatever the CA names", self.wallet[0].name)),
            SelectionPolicy::AlwaysLast => {
                let last = self.wallet.len() - 1;
                (Some(last), format!("policy `always-last`: sends `{}`, the last loaded, whatever the CA names", self.wallet[last].name))
            }
            SelectionPolicy::MatchIssuerOrAnyIfEmpty if hints.is_empty() => (
                Some(0),
                format!("policy `match-issuer-or-any-if-empty`: the server sent no CA names, so `{}` is sent", self.wallet[0].name),
            ),
            SelectionPolicy::MatchIssuerOrLastIfEmpty if hints.is_empty() => {
                let last = self.wallet.len() - 1;
                (
                    Some(last),
                    format!("policy `match-issuer-or-last-if-empty`: the server sent no CA names, so `{}`, the last imported, is sent", self.wallet[last].name),
                )
            }
            SelectionPolicy::Prompt => {
                let shown = if hints.is_empty() { Some(0) } else { matching() };
                match shown {
                    Some(i) => {
                        self.picker.store(true, std::sync::atomic::Ordering::SeqCst);
                        (None, format!("policy `prompt`: `{}` matches ({}), so the certificate picker is shown and waits for a person; nothing is sent", self.wallet[i].name, if hints.is_empty() { "the server sent no CA names".to_string() } else { format!("an issuer in its chain is among the server's {} CA names", hints.len()) }))
                    }
                    None => (None, format!("policy `prompt`: no certificate in the wallet has an issuer among the server's {} CA names, so no picker is shown and nothing is sent", hints.len())),
                }
            }
            SelectionPolicy::GnutlsDefault if hints.is_empty() => match self.wallet.len() {
                1 => (Some(0), format!("policy `gnutls-default`: the server sent no CA names and the client holds one certificate, so `{}` is sent", self.wallet[0].name)),
                n => (None, format!("policy `gnutls-default`: the server sent no CA names and the client holds {n} certificates, so none is sent")),
            },
            SelectionPolicy::GnutlsDefault => {
                // The server's names in its order, then the wallet's.
                let found = hints.iter().enumerate().find_map(|(k, h)| {
                    self.wallet
                        .iter()
                        .position(|w| w.issuers.iter().any(|i| i.as_slice() == *h))
                        .map(|i| (k, i))
                });
                match found {
                    Some((k, i)) => (Some(i), format!("policy `gnutls-default`: `{}` has a certificate issued by the server's CA name #{} (names are tried in the server's order)", self.wallet[i].name, k + 1)),
                    None => (None, format!("policy `gnutls-default`: no certificate in the wallet has an issuer among the server's {} CA names", hints.len())),
                }
            }
            SelectionPolicy::MatchIssuer
            | SelectionPolicy::MatchIssuerOrAnyIfEmpty
            | SelectionPolicy::MatchIssuerOrLastIfEmpty => match matching() {
                Some(i) => (Some(i), format!("`{}`: an issuer in its chain is among the server's {} CA names", self.wallet[i].name, hints.len())),
                None => (
                    None,
                    format!(
                        "no certificate in the wallet ({}) has an issuer among the server's {} CA names",
                        self.wallet.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", "),
                        hints.len()
                    ),
                ),
            },
        }
    }
}

impl ResolvesClientCert for SelectingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let (index, reason) = self.choose(root_hint_subjects);
        let mut seen = self.seen.lock().expect("selection lock");
        seen.requested = true;
        seen.ca_names = Some(CaNamesSeen {
            count: root_hint_subjects.len(),
            encoded_bytes: root_hint_subjects.iter().map(|h| 2 + h.len()).sum(),
            truncated: false,
            subjects: root_hint_subjects
                .iter()
                .map(|h| name_to_string(h))
                .collect(),
        });
        seen.chosen = index.map(|i| self.wallet[i].name.clone());
        seen.reason = Some(reason);
        index.map(|i| self.wallet[i].key.clone())
    }

    fn has_certs(&self) -> bool {
        !self.wallet.is_empty()
    }
}

/// A readable form of a DER Name.
pub fn name_to_string(der: &[u8]) -> String {
    // One spelling for the observation and the transcript.
    super::transcript::dn_to_string(der)
}

/// Which client library carries the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientKind {
    /// tokio-rustls + hyper's HTTP/1 client.
    #[default]
    Raw,
    /// reqwest given a prebuilt rustls config.
    Reqwest,
}

/// A client: wallet, selection policy, trust for the server, versions.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub wallet: Vec<WalletEntry>,
    pub selection: SelectionPolicy,
    /// Roots the client trusts for the server certificate.
    pub server_roots: Vec<CertificateDer<'static>>,
    pub versions: Vec<TlsVersion>,
    pub server_name: String,
    pub timeouts: Timeouts,
    pub kind: ClientKind,
    /// Extra request headers (a forged forwarding header, say).
    pub headers: Vec<(String, String)>,
    /// Reach the server through this HTTP CONNECT proxy.
    pub via_tunnel: Option<SocketAddr>,
    /// Do not verify the server's certificate (the probe looks at servers
    /// whose CA it does not know; never for authentication decisions).
    pub accept_any_server_cert: bool,
    /// The path (and query) of the GET, `/` by default; a target's URL
    /// keeps its own.
    pub request_path: String,
}

impl Default for ClientSpec {
    /// An empty wallet, the default selection policy, no trusted root (set
    /// `server_roots`), every version, `localhost`, the raw client.
    fn default() -> Self {
        ClientSpec {
            wallet: Vec::new(),
            selection: SelectionPolicy::default(),
            server_roots: Vec::new(),
            versions: TlsVersion::ALL.to_vec(),
            server_name: "localhost".into(),
            timeouts: Timeouts::default(),
            kind: ClientKind::default(),
            headers: Vec::new(),
            via_tunnel: None,
            accept_any_server_cert: false,
            request_path: "/".into(),
        }
    }
}

/// Accepts any server certificate, still checking handshake signatures.
#[derive(Debug)]
pub(crate) struct AnyServerCert;

impl rustls::client::danger::ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &provider().signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &provider().signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl ClientSpec {
    /// The rustls client configuration this client uses (benchmarks drive
    /// it in memory).
    pub fn rustls_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        self.config().map(|(c, _)| c)
    }

    fn config(&self) -> Result<(Arc<rustls::ClientConfig>, Arc<SelectingResolver>), TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for r in &self.server_roots {
            roots.add(r.clone()).map_err(|source| TlsError::Config {
                what: "server trust root",
                source,
            })?;
        }
        let versions = super::rustls_versions(&self.versions);
        let resolver = Arc::new(SelectingResolver {
            wallet: self.wallet.clone(),
            policy: self.selection,
            seen: Mutex::new(Selection::default()),
            picker: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        });
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_protocol_versions(&versions)
            .map_err(|source| TlsError::Config {
                what: "client TLS versions",
                source,
            })?;
        let builder = if self.accept_any_server_cert {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert))
        } else {
            builder.with_root_certificates(roots)
        };
        let mut config = builder.with_client_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok((Arc::new(config), resolver))
    }

    /// Connect to `addr`, send `GET /`, and report everything seen.
    pub async fn exchange(&self, addr: SocketAddr) -> Observation {
        self.exchange_with_local_addr(addr).await.0
    }

    /// As [`Self::exchange`], also returning the local address used (how a
    /// gateway's record of the same connection is found).
    pub async fn exchange_with_local_addr(
        &self,
        addr: SocketAddr,
    ) -> (Observation, Option<SocketAddr>) {
        self.exchange_connections(addr, 1).await
    }

    /// `connections` connections to `addr`, one after the other, with one
    /// client configuration: one session cache, so each offers to resume
    /// the session of the one before. Returns the last one's observation
    /// (with how the earlier ones ended in `earlier_connections`) and local
    /// address.
    pub async fn exchange_connections(
        &self,
        addr: SocketAddr,
        connections: u32,
    ) -> (Observation, Option<SocketAddr>) {
        let (config, resolver) = match self.config() {
            Ok(c) => c,
            Err(e) => {
                let obs = Observation {
                    client_error: Some("CLIENT_SETUP".into()),
                    client_error_detail: Some(e.to_string()),
                    ..Default::default()
                };
                return (obs, None);
            }
        };
        let n = connections.max(1);
        let mut earlier = Vec::new();
        for i in 1..=n {
            let (obs, local) = self.exchange_once(addr, config.clone(), &resolver).await;
            if i == n {
                let mut obs = obs;
                obs.earlier_connections = earlier;
                return (obs, local);
            }
            let resumed = if obs.resumed { ", resumed" } else { "" };
            earlier.push(format!("{}{resumed}", obs.outcome()));
        }
        unreachable!("the loop returns on its last connection")
    }

    async fn exchange_once(
        &self,
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        resolver: &SelectingResolver,
    ) -> (Observation, Option<SocketAddr>) {
        let mut obs = Observation::default();
        let mut local = None;
        *resolver.seen.lock().expect("selection lock") = Selection::default();
        let picker = resolver.picker.clone();
        picker.store(false, std::sync::atomic::Ordering::SeqCst);
        match self.kind {
            ClientKind::Raw => {
                // The tap and the key log: the transcript, and a capture
                // for whoever collects them (`tap::CaptureSink`).
                let capture = super::tap::new_capture(addr);
                let config = super::tap::with_key_log(&config, &capture);
                self.exchange_raw(addr, config, &mut obs, &mut local, &capture, &picker)
                    .await;
                obs.transcript = super::tap::transcript_of(&capture);
            }
            ClientKind::Reqwest => self.exchange_reqwest(addr, config, &mut obs).await,
        }
        let seen = resolver.seen.lock().expect("selection lock").clone();
        obs.certificate_requested = seen.requested;
        obs.ca_names = seen.ca_names;
        obs.chosen_cert = seen.chosen.clone();
        obs.selection_reason = seen.reason;
        obs.client_certificate_sent = seen.requested && seen.chosen.is_some();
        if picker.load(std::sync::atomic::Ordering::SeqCst) {
            // The outcome is the wait, not how the closed connection ended.
            obs.client_error = Some(super::picker::CERTIFICATE_PICKER.into());
            obs.client_error_detail = obs.selection_reason.clone();
            obs.alert = None;
            obs.http = None;
        }
        if obs.resumed && !seen.requested {
            obs.selection_reason = Some(
                "the session was resumed: no certificate was asked for or sent on this \
                 connection (the server keeps the identity of the earlier handshake)"
                    .into(),
            );
        }
        (obs, local)
    }

    async fn exchange_raw(
        &self,
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        obs: &mut Observation,
        local: &mut Option<SocketAddr>,
        capture: &super::tap::SharedCapture,
        picker: &Arc<std::sync::atomic::AtomicBool>,
    ) {
        let t0 = Instant::now();
        let tcp =
            match tokio::time::timeout(self.timeouts.connect, tokio::net::TcpStream::connect(addr))
                .await
            {
                Err(_) => {
                    obs.hang = Some("connect".into());
                    return;
                }
                Ok(Err(e)) => {
                    obs.client_error = Some(io_error_code(&e));
                    obs.client_error_detail = Some(format!("connect to {addr}: {e}"));
                    return;
                }
                Ok(Ok(s)) => s,
            };
        *local = tcp.local_addr().ok();
        super::tap::connected(capture, *local);
        // Small handshake writes go out at once (see the server's accept).
        let _ = tcp.set_nodelay(true);
        obs.timings.connect_ms = Some(ms(t0));
        match self.via_tunnel {
            None => {
                let tcp = super::tap::TapStream::new(tcp, capture.clone());
                self.tls_and_http(DeferWriteErrors::new(tcp), addr.port(), config, obs, picker)
                    .await
            }
            Some(_) => {
                drop(tcp);
                let proxy = self.via_tunnel.expect("checked");
                match super::proxy::connect_via(proxy, &addr.to_string(), self.timeouts).await {
                    Ok(io) => {
                        let io = super::tap::TapStream::new(io, capture.clone());
                        self.tls_and_http(
                            DeferWriteErrors::new(io),
                            addr.port(),
                            config,
                            obs,
                            picker,
                        )
                        .await
                    }
                    Err(e) => {
                        obs.client_error = Some("PROXY_CONNECT_FAILED".into());
                        obs.client_error_detail = Some(e.to_string());
                    }
                }
            }
        }
    }

    async fn tls_and_http<IO>(
        &self,
        io: IO,
        port: u16,
        config: Arc<rustls::ClientConfig>,
        obs: &mut Observation,
        picker: &Arc<std::sync::atomic::AtomicBool>,
    ) where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let io = super::picker::PickerGate::new(io, picker.clone());
        let server_name = match ServerName::try_from(self.server_name.clone()) {
            Ok(n) => n,
            Err(e) => {
                obs.client_error = Some("INVALID_SERVER_NAME".into());
                obs.client_error_detail = Some(format!("`{}`: {e}", self.server_name));
                return;
            }
        };
        let t1 = Instant::now();
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls =
            match tokio::time::timeout(self.timeouts.handshake, connector.connect(server_name, io))
                .await
            {
                Err(_) => {
                    obs.hang = Some("handshake".into());
                    return;
                }
                Ok(Err(e)) => {
                    obs.handshake = Some(Handshake::Aborted);
                    classify_into(obs, &e);
                    return;
                }
                Ok(Ok(tls)) => tls,
            };
        obs.timings.handshake_ms = Some(ms(t1));
        obs.handshake = Some(Handshake::Complete);
        obs.tls_version = tls.get_ref().1.protocol_version().and_then(version_of);
        obs.resumed = tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        obs.server_cert_subject = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|leaf| x509_parser::parse_x509_certificate(leaf).ok())
            .map(|(_, c)| name_to_string(c.subject().as_raw()));

        // TLS 1.3: the server's verdict on our certificate arrives after our
        // handshake completed, on the first read; classify on the response.
        let t2 = Instant::now();
        let result = tokio::time::timeout(self.timeouts.response, self.http_get(tls, port)).await;
        match result {
            Err(_) => obs.hang = Some("response".into()),
            Ok(Err(e)) => {
                classify_into(obs, e.as_ref());
                if obs.alert.is_some() {
                    obs.handshake = Some(Handshake::Aborted);
                }
            }
            Ok(Ok(http)) => {
                obs.timings.response_ms = Some(ms(t2));
                obs.http = Some(http);
            }
        }
    }

    async fn http_get<IO>(
        &self,
        tls: tokio_rustls::client::TlsStream<IO>,
        port: u16,
    ) -> Result<HttpSeen, Box<dyn std::error::Error + Send + Sync>>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let io = hyper_util::rt::TokioIo::new(tls);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(io).await?;
        let conn_task = tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .uri(self.request_path.as_str())
            .header("host", host_header(&self.server_name, port));
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Empty::<Bytes>::new())?;
        let response = sender.send_request(req);
        tokio::pin!(response);
        let mut conn_task = conn_task;
        // Set when the connection ended before its response: how it ended.
        let mut ended_first = None;
        let response = tokio::select! {
            r = &mut response => r,
            joined = &mut conn_task => {
                // hyper can lose a request sent just as its connection ends
                // (the request lands in the dispatcher's queue after the
                // queue was drained; its response never resolves): seen on
                // TLS 1.3 when the server's alert arrives as the request is
                // sent, about once in 20,000 refusals under load. A response
                // the connection delivered is waiting already; otherwise
                // how the connection ended is the outcome.
                let ended = joined.ok().and_then(Result::err);
                match tokio::time::timeout(LOST_REQUEST_GRACE, &mut response).await {
                    Ok(r) => {
                        ended_first = Some(ended);
                        r
                    }
                    Err(_) => {
                        return Err(match ended {
                            Some(e) => Box::new(e),
                            None => Box::new(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the connection closed before the response",
                            )),
                        })
                    }
                }
            }
        };
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                // The connection task holds the TLS error (an alert) when the
                // request failed because the peer aborted.
                let conn_err = match ended_first {
                    Some(ended) => ended,
                    None => tokio::time::timeout(std::time::Duration::from_secs(1), conn_task)
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .and_then(Result::err),
                };
                if let Some(conn_err) = conn_err {
                    if find_rustls_error(&conn_err).is_some() {
                        return Err(Box::new(conn_err));
                    }
                }
                return Err(Box::new(e));
            }
        };
        let status = response.status().as_u16();
        let body = collect_limited(response.into_body()).await?;
        conn_task.abort();
        Ok(http_seen(status, &body))
    }

    async fn exchange_reqwest(
        &self,
        addr: SocketAddr,
        config: Arc<rustls::ClientConfig>,
        obs: &mut Observation,
    ) {
        super::install_default_provider();
        let client = match reqwest::Client::builder()
            .tls_backend_preconfigured((*config).clone())
            .connect_timeout(self.timeouts.connect)
            .timeout(self.timeouts.handshake + self.timeouts.response)
            .resolve(&self.server_name, addr)
            .http1_only()
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                obs.client_error = Some("CLIENT_SETUP".into());
                obs.client_error_detail = Some(e.to_string());
                return;
            }
        };
        let url = format!(
            "https://{}:{}{}",
            self.server_name,
            addr.port(),
            self.request_path
        );
        let mut req = client.get(&url);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let t0 = Instant::now();
        match req.send().await {
            Err(e) if e.is_timeout() => obs.hang = Some("response".into()),
            Err(e) => {
                classify_into(obs, &e);
                obs.handshake = Some(Handshake::Aborted);
            }
            Ok(resp) => {
                obs.handshake = Some(Handshake::Complete);
                obs.tls_version = self
                    .versions
                    .first()
                    .copied()
                    .filter(|_| self.versions.len() == 1);
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(body) => obs.http = Some(http_seen(status, &body)),
                    Err(e) => classify_into(obs, &e),
                }
                obs.timings.response_ms = Some(ms(t0));
            }
        }
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn version_of(v: rustls::ProtocolVersion) -> Option<TlsVersion> {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
        rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
        _ => None,
    }
}

async fn collect_limited(mut body: hyper::body::Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
            if out.len() >= 64 * 1024 {
                break;
            }
        }
    }
    Ok(out)
}

fn http_seen(status: u16, body: &[u8]) -> HttpSeen {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(BODY_EXCERPT_BYTES).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    HttpSeen {
        status,
        substatus: crate::observation::parse_substatus(&text),
        body_excerpt: excerpt,
    }
}

/// Put a failure into the observation: an alert from the server, or the
/// client's own error (and the alert it sent for it).
pub fn classify_into(obs: &mut Observation, e: &(dyn std::error::Error + 'static)) {
    if let Some(tls) = find_rustls_error(e) {
        match tls {
            rustls::Error::AlertReceived(a) => {
                obs.alert = Some(AlertSeen {
                    description: alert_name(*a),
                    sent_by: Side::Server,
                });
            }
            other => {
                obs.client_error = Some(client_error_code(other));
                obs.alert = Some(AlertSeen {
                    description: alert_name(alert_for_local_error(other)),
                    sent_by: Side::Client,
                });
            }
        }
        obs.client_error_detail = Some(tls.to_string());
        return;
    }
    if let Some(io) = find_io_error(e) {
        obs.client_error = Some(io_error_code(io));
        obs.client_error_detail = Some(io.to_string());
        return;
    }
    let chain = full_chain(e);
    // hyper's pool reports a connection the peer closed before the request
    // went out as "not ready" / "closed before message completed", without
    // the TLS error that closed it (reqwest on TLS 1.3 when the server
    // rejects the certificate right after the handshake).
    let closed = [
        "connection was not ready",
        "connection closed before message completed",
    ];
    obs.client_error = Some(
        if closed.iter().any(|c| chain.contains(c)) {
            "CONNECTION_CLOSED"
        } else {
            "REQUEST_FAILED"
        }
        .into(),
    );
    obs.client_error_detail = Some(chain);
}

fn full_chain(e: &(dyn std::error::Error + 'static)) -> String {
    crate::error_chain::of(e)
}

/// Whether a TLS server answers on `addr` with `version`: a ClientHello
/// (without a client certificate to offer) gets any reaction within `wait`
/// (a completed handshake, an alert, even a closed connection). A listening
/// socket alone does not say it: Tomcat accepts TCP about a second before
/// its connector reads from it. No request is sent.
pub async fn answers_tls(addr: SocketAddr, version: TlsVersion, wait: std::time::Duration) -> bool {
    let versions = super::rustls_versions(&[version]);
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&versions)
    else {
        return false;
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerCert))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let attempt = async {
        let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else {
            return false;
        };
        let Ok(name) = ServerName::try_from("localhost") else {
            return false;
        };
        // Whatever the outcome, the server reacted.
        let _ = connector.connect(name, tcp).await;
        true
    };
    tokio::time::timeout(wait, attempt).await.unwrap_or(false)
}

/// `Host` for a request to `name` on `port` (RFC 9110 7.2: the port unless it
/// is https' default). A proxy that terminates TLS (squid `ssl_bump`) builds
/// the request's URL from it, so without the port it forwards to 443.
fn host_header(name: &str, port: u16) -> String {
    if port == 443 {
        name.to_string()
    } else {
        format!("{name}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::host_header;

    #[test]
    fn host_header_carries_the_port_unless_it_is_the_https_default() {
        assert_eq!(host_header("localhost", 8443), "localhost:8443");
        assert_eq!(host_header("localhost", 443), "localhost");
    }
}
