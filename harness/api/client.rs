//! [`Client`]: a client that picks its certificate as a browser, curl or any
//! [`SelectionPolicy`] does, pointed at any URL.

use crate::knobs::SelectionPolicy;
use crate::observation::{Observation, TlsVersion};
use crate::pki::Pki;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::Timeouts;

/// A client, built in one line; [`Client::get`] makes one request and
/// reports what happened as an [`Observation`] (it never panics: a refused
/// connection or a bad URL is an observation too).
///
/// Defaults: trust in every root of the PKI for the server's certificate,
/// an empty wallet, TLS 1.2 and 1.3, intermediates sent after the leaf.
///
/// ```
/// use mtls_harness::prelude::*;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), mtls_harness::api::Error> {
/// let pki = Pki::builder()
///     .root("root").server("gw", "root")
///     .client("alice", "root")
///     .root("other").client("mallory", "other")
///     .build()?;
/// let gw = Gateway::builtin(Profile::Strict).pki(&pki).cert("gw").trust(["root"])
///     .start().await?;
///
/// // A browser sends nothing when no CA name matches: the gateway refuses.
/// let obs = Client::browser().pki(&pki).trust(["root"]).wallet(["mallory"])
///     .tls(TlsVersion::Tls12).get(&gw.url()).await;
/// assert!(!obs.client_certificate_sent);
/// obs.assert_alert(Side::Server, "certificate_required");
///
/// // curl sends what it holds whatever the names: refused as unknown.
/// let obs = Client::curl().pki(&pki).wallet(["mallory"]).get(&gw.url()).await;
/// assert!(obs.client_certificate_sent);
///
/// Client::browser().pki(&pki).wallet(["alice"]).get(&gw.url()).await.assert_status(200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Client<'p> {
    policy: SelectionPolicy,
    pki: Option<&'p Pki>,
    trust: Option<Vec<String>>,
    wallet: Vec<String>,
    versions: Vec<TlsVersion>,
    server_name: Option<String>,
    timeouts: Timeouts,
    send_intermediates: bool,
    headers: Vec<(String, String)>,
    kind: ClientKind,
    identities: Vec<WalletEntry>,
}

impl<'p> Client<'p> {
    /// A client choosing as `policy` says.
    pub fn with_policy(policy: SelectionPolicy) -> Self {
        Client {
            policy,
            pki: None,
            trust: None,
            wallet: Vec::new(),
            versions: TlsVersion::ALL.to_vec(),
            server_name: None,
            timeouts: Timeouts::default(),
            send_intermediates: true,
            headers: Vec::new(),
            kind: ClientKind::Raw,
            identities: Vec::new(),
        }
    }

    /// A browser with automatic selection (Firefox, Go, Java): a certificate
    /// whose issuer is among the server's CA names, the first one when the
    /// list is empty, else none.
    pub fn browser() -> Self {
        Self::with_policy(SelectionPolicy::MatchIssuerOrAnyIfEmpty)
    }

    /// curl (OpenSSL): its one certificate, whatever the CA names.
    pub fn curl() -> Self {
        Self::with_policy(SelectionPolicy::Always)
    }

    /// The PKI its wallet and trust come from.
    pub fn pki(mut self, pki: &'p Pki) -> Self {
        self.pki = Some(pki);
        self
    }

    /// The roots it trusts for the server's certificate (default: every
    /// root of the PKI).
    pub fn trust<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.trust = Some(super::names(names));
        self
    }

    /// The certificates it holds, in order (`<prefix>-*` allowed).
    pub fn wallet<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.wallet = super::names(names);
        self
    }

    /// A certificate from outside the PKI: the chain (leaf first) and its key.
    pub fn identity(
        mut self,
        name: &str,
        chain: Vec<rustls_pki_types::CertificateDer<'static>>,
        key: rustls_pki_types::PrivateKeyDer<'static>,
    ) -> Result<Self, super::Error> {
        self.identities.push(WalletEntry::new(name, chain, key)?);
        Ok(self)
    }

    /// Offer only this TLS version.
    pub fn tls(mut self, version: TlsVersion) -> Self {
        self.versions = vec![version];
        self
    }

    /// Offer these TLS versions.
    pub fn tls_versions(mut self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        self.versions = versions.into_iter().collect();
        self
    }

    /// The server name sent and checked (default: the URL's host, or
    /// `localhost` for an IP address).
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_string());
        self
    }

    /// Send the leaf alone, without its intermediates.
    pub fn leaf_only(mut self) -> Self {
        self.send_intermediates = false;
        self
    }

    /// An extra request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Make the request with reqwest instead of hyper over tokio-rustls.
    pub fn reqwest(mut self) -> Self {
        self.kind = ClientKind::Reqwest;
        self
    }

    /// How long each stage may take.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    fn spec(&self, server_name: String) -> Result<ClientSpec, super::Error> {
        let mut wallet = Vec::new();
        let mut server_roots = Vec::new();
        match self.pki {
            Some(pki) => {
                for cert in pki.resolve(&self.wallet)? {
                    wallet.push(WalletEntry::from_issued(cert, self.send_intermediates)?);
                }
                let trust = self.trust.clone().unwrap_or_else(|| super::roots_of(pki));
                server_roots = pki.resolve(&trust)?.iter().map(|c| c.der.clone()).collect();
            }
            None if !self.wallet.is_empty() || self.trust.is_some() => {
                return Err(super::Error::Usage(
                    "Client: certificates named without .pki(&pki)".into(),
                ))
            }
            None => {}
        }
        wallet.extend(self.identities.iter().cloned());
        Ok(ClientSpec {
            wallet,
            selection: self.policy,
            server_roots,
            versions: self.versions.clone(),
            server_name,
            timeouts: self.timeouts,
            kind: self.kind,
            headers: self.headers.clone(),
            via_tunnel: None,
            accept_any_server_cert: false,
            request_path: "/".into(),
        })
    }

    /// One `GET /` to `url` (`https://host:port`): what happened, from the
    /// client's side. A name with several addresses (`localhost`: ::1 and
    /// 127.0.0.1) is tried address by address while the connection is refused.
    pub async fn get(&self, url: &str) -> Observation {
        let setup_error = |code: &str, detail: String| Observation {
            client_error: Some(code.into()),
            client_error_detail: Some(detail),
            ..Default::default()
        };
        let (addrs, name) = match resolve_all(url, self.timeouts).await {
            Ok(found) => found,
            Err(detail) => return setup_error("BAD_URL", detail),
        };
        let name = self.server_name.clone().unwrap_or(name);
        let spec = match self.spec(name) {
            Ok(spec) => spec,
            Err(e) => return setup_error("CLIENT_SETUP", e.to_string()),
        };
        let mut obs = Observation::default();
        for (i, addr) in addrs.iter().enumerate() {
            obs = spec.exchange(*addr).await;
            let refused = obs.client_error.as_deref() == Some("CONNECTION_REFUSED");
            if !refused || i + 1 == addrs.len() {
                break;
            }
        }
        obs
    }
}

/// Every address of `url`'s host (IPv4 first) and the server name to send:
/// the host, or `localhost` for an IP address (as `probe` does).
pub(crate) async fn resolve_all(
    url: &str,
    timeouts: Timeouts,
) -> Result<(Vec<std::net::SocketAddr>, String), String> {
    let bad = || format!("`{url}`: not an https://host:port URL");
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    if parsed.scheme() != "https" {
        return Err(bad());
    }
    let host = parsed
        .host_str()
        .ok_or_else(bad)?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let found = tokio::time::timeout(
        timeouts.connect,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| format!("{host}: name lookup timed out"))?
    .map_err(|e| format!("{host}: {e}"))?;
    let mut addrs: Vec<std::net::SocketAddr> = found.collect();
    addrs.sort_by_key(|a| a.is_ipv6());
    addrs.dedup();
    if addrs.is_empty() {
        return Err(format!("{host}: no address"));
    }
    let name = if host.parse::<std::net::IpAddr>().is_ok() {
        "localhost".to_string()
    } else {
        host
    };
    Ok((addrs, name))
}
