//! [`Gateway`]: a built-in gateway (one profile: how nginx, IIS, Envoy ...
//! answer a client certificate) on 127.0.0.1, built in one line.

use super::Error;
use crate::gateway::{ProfileKind, ProfileMode};
use crate::knobs::{CaNamesOverflow, CaNamesPolicy, ClientAuth, ForwardHeader, Resumption};
use crate::observation::{Side, TlsVersion};
use crate::pki::{IssuedCert, Pki};
use crate::scenario::schema::ServerSpec;
use crate::tls::server::{RunningGateway, ServerRecord};
use crate::tls::Timeouts;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// A running built-in gateway. Dropping it stops it (and every connection).
///
/// ```
/// use mtls_harness::prelude::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mtls_harness::api::Error> {
/// let pki = Pki::builder()
///     .root("root").server("gw", "root").client("alice", "root")
///     .build()?;
/// let gw = Gateway::builtin(Profile::Nginx)
///     .pki(&pki).cert("gw").trust(["root"])
///     .ca_names(CaNames::TruncateBytes(16 * 1024))
///     .tls(TlsVersion::Tls13)
///     .start().await?;
/// let obs = Client::curl().pki(&pki).wallet(["alice"]).get(&gw.url()).await;
/// obs.assert_status(200);
/// let seen = &gw.connections()[0];
/// assert!(seen.client_certificate_sent());
/// assert!(seen.ca_names().unwrap().names(pki.cert("root")?));
/// # Ok(())
/// # }
/// ```
pub struct Gateway {
    running: RunningGateway,
    ca_der: Arc<Vec<Vec<u8>>>,
    profile: ProfileKind,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("profile", &self.profile)
            .field("addr", &self.running.addr())
            .finish()
    }
}

/// Builds a built-in [`Gateway`]; every `[server]` knob of a scenario file
/// is a method. Defaults: the client certificate required, trust in the root
/// of the server certificate, the profile's own CA-name list, TLS 1.2 and
/// 1.3, the profile's default mode.
#[derive(Debug, Clone)]
#[must_use]
pub struct GatewayBuilder<'p> {
    profile: ProfileKind,
    pki: Option<&'p Pki>,
    server: ServerSpec,
    trust_given: bool,
    extra_crls: Vec<CertificateRevocationListDer<'static>>,
    timeouts: Timeouts,
    listen: SocketAddr,
}

impl Gateway {
    /// A built-in gateway that answers as `profile` does.
    pub fn builtin<'p>(profile: ProfileKind) -> GatewayBuilder<'p> {
        GatewayBuilder {
            profile,
            pki: None,
            server: ServerSpec::default(),
            trust_given: false,
            extra_crls: Vec::new(),
            timeouts: Timeouts::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The profile it answers as.
    pub fn profile(&self) -> ProfileKind {
        self.profile
    }

    /// What it saw of each connection so far, oldest first (one still open
    /// as far as it got; a client that has its answer has its connection
    /// here).
    pub fn connections(&self) -> Vec<Connection> {
        self.running
            .records()
            .into_iter()
            .map(|record| Connection {
                record,
                ca_der: self.ca_der.clone(),
            })
            .collect()
    }

    /// The underlying handle (subscribe to finished connections, ...).
    pub fn running(&self) -> &RunningGateway {
        &self.running
    }

    /// Stop accepting and end open connections (dropping it does the same).
    pub async fn shutdown(self) {
        self.running.shutdown().await
    }
}

impl<'p> GatewayBuilder<'p> {
    /// The PKI its certificates come from (required).
    pub fn pki(mut self, pki: &'p Pki) -> Self {
        self.pki = Some(pki);
        self
    }

    /// Its certificate (a `server` certificate of the PKI; required).
    pub fn cert(mut self, name: &str) -> Self {
        self.server.cert = name.to_string();
        self
    }

    /// The CAs it trusts for client certificates (`<prefix>-*`: every filler).
    pub fn trust<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.server.trust = super::names(names);
        self.trust_given = true;
        self
    }

    /// Which CA names its CertificateRequest carries.
    pub fn ca_names(mut self, policy: CaNamesPolicy) -> Self {
        self.server.ca_names = policy;
        self
    }

    /// What it does with a CA-names list over 65,535 bytes: by default what
    /// the profile's gateway does; `CaNamesOverflow::SendWrapped` sends it
    /// as a release-built rustls server does (see that variant).
    pub fn ca_names_overflow(mut self, overflow: CaNamesOverflow) -> Self {
        self.server.ca_names_overflow = overflow;
        self
    }

    /// One TLS version.
    pub fn tls(mut self, version: TlsVersion) -> Self {
        self.server.tls = vec![version];
        self
    }

    /// The TLS versions it speaks.
    pub fn tls_versions(mut self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        self.server.tls = versions.into_iter().collect();
        self
    }

    /// Whether it asks for a client certificate, and must get one.
    pub fn client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.server.client_auth = client_auth;
        self
    }

    /// The profile's mode, typed: `NginxMode::Optional`, `IisMode::...`
    /// (a mode of another profile is an error at [`Self::start`]).
    pub fn mode<M: ProfileMode>(self, mode: M) -> Self {
        self.mode_named(mode.name())
    }

    /// The profile's mode by its scenario-file spelling (`optional_no_ca`).
    pub fn mode_named(mut self, mode: &str) -> Self {
        self.server.mode = BTreeMap::from([(self.profile.name().to_string(), mode.to_string())]);
        self
    }

    /// The CAs whose CRL it loads (each an empty, current CRL unless the PKI
    /// revoked something of it).
    pub fn crls<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.server.crls = super::names(names);
        self
    }

    /// Also load this CRL (one from outside the PKI: a [`super::TargetKit`]'s
    /// [`root_crl`](super::TargetKit::root_crl), say).
    pub fn crl_der(mut self, crl: CertificateRevocationListDer<'static>) -> Self {
        self.extra_crls.push(crl);
        self
    }

    /// Also send the intermediates after its certificate (default true).
    pub fn send_chain(mut self, send: bool) -> Self {
        self.server.send_chain = Some(send);
        self
    }

    /// How clients may resume a session.
    pub fn resumption(mut self, resumption: Resumption) -> Self {
        self.server.resumption = Some(resumption);
        self
    }

    /// Accept a client certificate forwarded in `header` by the proxies
    /// [`Self::trusted_proxies`] names.
    pub fn trust_forwarded_header(mut self, header: ForwardHeader) -> Self {
        self.server.trust_forwarded_header = Some(header);
        self
    }

    /// The client certificates of the proxies whose forwarding header it trusts.
    pub fn trusted_proxies<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.server.trusted_proxies = super::names(names);
        self
    }

    /// Where to listen (default 127.0.0.1, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// How long each stage of a connection may take.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The `[server]` table this builder stands for.
    pub fn spec(&self) -> &ServerSpec {
        &self.server
    }

    /// Start it; it runs until the [`Gateway`] is dropped.
    pub async fn start(self) -> Result<Gateway, Error> {
        let pki = self
            .pki
            .ok_or_else(|| Error::Usage("Gateway: no .pki(&pki) given".into()))?;
        let mut server = self.server;
        if server.cert.is_empty() {
            return Err(Error::Usage(
                "Gateway: no .cert(name) given (a server certificate of the PKI)".into(),
            ));
        }
        if !self.trust_given {
            let cert = pki.cert(&server.cert)?;
            server.trust = vec![cert.root.clone().unwrap_or_else(|| cert.name.clone())];
        }
        if server.tls.is_empty() {
            server.tls = TlsVersion::ALL.to_vec();
        }
        let mut config = crate::case::gateway_config(
            pki,
            &server,
            self.profile,
            server.tls.clone(),
            self.timeouts,
            None,
        )?;
        config.listen = self.listen;
        if !self.extra_crls.is_empty() {
            let mut crls = self.extra_crls;
            for issuer in &server.crls {
                crls.extend(pki.crl(issuer).cloned());
            }
            let cas: Vec<_> = pki
                .resolve(&server.trust)?
                .iter()
                .map(|c| c.der.clone())
                .collect();
            config.trust = crate::tls::verify::TrustStore::new(&cas, &crls)?;
        }
        let ca_der = Arc::new(config.ca_list.names.clone());
        let running = crate::tls::server::start(config).await?;
        Ok(Gateway {
            running,
            ca_der,
            profile: self.profile,
        })
    }
}

/// What a built-in gateway saw of one connection.
#[derive(Debug, Clone)]
pub struct Connection {
    record: ServerRecord,
    ca_der: Arc<Vec<Vec<u8>>>,
}

impl Connection {
    /// The client sent a (non-empty) Certificate (`false` when the
    /// handshake ended before that was known, or the session was resumed).
    pub fn client_certificate_sent(&self) -> bool {
        self.record.client_certificate_sent.unwrap_or(false)
    }

    /// The gateway asked for a certificate.
    pub fn certificate_requested(&self) -> bool {
        self.record.certificate_requested
    }

    /// The CA names its CertificateRequest carried (`None`: it sent no
    /// request, or one without names).
    pub fn ca_names(&self) -> Option<CaNameList> {
        let seen = self.record.ca_names.as_ref()?;
        Some(CaNameList {
            der: self.ca_der.clone(),
            subjects: seen.subjects.clone(),
            truncated: seen.truncated,
        })
    }

    /// The subject of the client's certificate (`CN=alice`), when it sent one.
    pub fn client_subject(&self) -> Option<&str> {
        self.record.client_cert_subject.as_deref()
    }

    pub fn tls_version(&self) -> Option<TlsVersion> {
        self.record.tls_version
    }

    pub fn http_status(&self) -> Option<u16> {
        self.record.http_status
    }

    /// The alert and who sent it.
    pub fn alert(&self) -> Option<(Side, &str)> {
        match (&self.record.alert, self.record.alert_sent_by) {
            (Some(a), Some(side)) => Some((side, a.as_str())),
            _ => None,
        }
    }

    /// The line the real gateway would log.
    pub fn log(&self) -> &str {
        &self.record.log
    }

    /// The connection has ended.
    pub fn is_finished(&self) -> bool {
        self.record.done
    }

    /// The client's address.
    pub fn peer(&self) -> &str {
        &self.record.peer
    }

    /// Everything recorded.
    pub fn record(&self) -> &ServerRecord {
        &self.record
    }
}

/// The CA names of a CertificateRequest: the DER of each Name, in order.
#[derive(Debug, Clone)]
pub struct CaNameList {
    der: Arc<Vec<Vec<u8>>>,
    subjects: Vec<String>,
    truncated: bool,
}

impl CaNameList {
    /// The DER of each distinguished name, as on the wire.
    pub fn der(&self) -> &[Vec<u8>] {
        &self.der
    }

    /// Readable subjects, same order.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }

    pub fn len(&self) -> usize {
        self.der.len()
    }

    pub fn is_empty(&self) -> bool {
        self.der.is_empty()
    }

    /// Encoded size (a 2-byte length and the DER of each name).
    pub fn encoded_bytes(&self) -> usize {
        self.der.iter().map(|n| 2 + n.len()).sum()
    }

    /// Names were dropped to fit a byte budget.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The list names this certificate (its subject is among the names):
    /// a CA a client may pick a certificate of.
    pub fn names(&self, cert: impl CertRef) -> bool {
        cert.subject_der().is_some_and(|s| self.der.contains(&s))
    }

    /// The list names the issuer of this certificate: what a client that
    /// matches issuers (a browser, Go, Java) checks before sending it.
    pub fn names_issuer_of(&self, cert: impl CertRef) -> bool {
        cert.issuer_der().is_some_and(|s| self.der.contains(&s))
    }
}

/// A certificate [`CaNameList::names`] can look for: an [`IssuedCert`] or a
/// DER certificate (or a reference to either).
pub trait CertRef {
    /// The DER of its subject Name.
    fn subject_der(&self) -> Option<Vec<u8>>;
    /// The DER of its issuer Name.
    fn issuer_der(&self) -> Option<Vec<u8>>;
}

impl CertRef for IssuedCert {
    fn subject_der(&self) -> Option<Vec<u8>> {
        Some(self.subject_der.clone())
    }
    fn issuer_der(&self) -> Option<Vec<u8>> {
        self.der.issuer_der()
    }
}

impl CertRef for CertificateDer<'_> {
    fn subject_der(&self) -> Option<Vec<u8>> {
        let (_, c) = x509_parser::parse_x509_certificate(self).ok()?;
        Some(c.tbs_certificate.subject.as_raw().to_vec())
    }
    fn issuer_der(&self) -> Option<Vec<u8>> {
        let (_, c) = x509_parser::parse_x509_certificate(self).ok()?;
        Some(c.tbs_certificate.issuer.as_raw().to_vec())
    }
}

impl<T: CertRef + ?Sized> CertRef for &T {
    fn subject_der(&self) -> Option<Vec<u8>> {
        (**self).subject_der()
    }
    fn issuer_der(&self) -> Option<Vec<u8>> {
        (**self).issuer_der()
    }
}
