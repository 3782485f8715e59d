//! Diagnose a target: does it ask for a client certificate (and does it
//! insist), which CA names does it send, how big is that list and which
//! clients it breaks, would a browser send the given certificate, and a plain
//! verdict.

pub mod judge;
pub mod trust_store;
pub mod wire;

pub use judge::{Conclusion, Finding};
pub use trust_store::TrustStoreSize;

use crate::observation::{Observation, TlsVersion};
use crate::scenario::schema::SelectionPolicy;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::Timeouts;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Instant;

/// Why a probe could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("`{0}` is not an https:// URL with a host")]
    BadUrl(String),
    #[error("{host}: cannot resolve: {reason}")]
    Resolve { host: String, reason: String },
    #[error("{target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("client certificate: {0}")]
    BadCertificate(String),
    #[error("trust store {}: {reason}", path.display())]
    TrustStore {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Client-side limits a CA-names list can break.
const SCHANNEL_TRUSTED_ISSUER_LIMIT: usize = 16 * 1024;
const RUSTLS_MAX_HANDSHAKE_MESSAGE: usize = 0xffff;

/// What the probe learned on one TLS version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    pub tls: TlsVersion,
    /// The handshake got far enough to tell.
    pub reachable: bool,
    pub certificate_requested: bool,
    pub ca_names_count: usize,
    pub ca_names_bytes: usize,
    pub ca_names: Vec<String>,
    /// Without a certificate: `handshake alert X`, `http N`, or an error.
    pub without_certificate: String,
    /// The target refuses the handshake when no certificate comes.
    pub required_in_handshake: bool,
    /// With the given certificate (if any): would a browser-like client send it, and why.
    pub browser_would_send: Option<bool>,
    pub browser_reason: Option<String>,
    /// With the certificate sent anyway (curl/OpenSSL): the outcome.
    pub with_certificate: Option<String>,
    pub limits: Vec<String>,
    pub error: Option<String>,
    /// The CA names read from the raw TLS 1.2 flight when rustls refused a
    /// CertificateRequest over 64 KiB.
    pub raw_ca_names: Option<wire::RawCaNames>,
    /// How the exchange without a certificate shows the certificate
    /// asked for after the request ([`judge::asked_after_request`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked_after_request: Option<String>,
    /// TLS 1.3: what it shows if TLS 1.2 asks after the request
    /// ([`judge::after_request_on_tls13`]).
    #[serde(skip)]
    after_request_if_tls12_asks: Option<String>,
    /// What this version says, and why.
    pub finding: Finding,
}

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub target: String,
    pub versions: Vec<VersionReport>,
    pub verdict: Vec<String>,
    /// The conclusion over every version, its cause and the exit code.
    pub conclusion: Conclusion,
    pub cause: String,
    pub exit_code: i32,
    /// Seconds from the start of the probe to its verdict.
    pub elapsed_s: f64,
}

/// Where to probe and with what.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub url: String,
    /// The certificate (leaf first, then intermediates) and key to try.
    pub identity: Option<WalletEntry>,
    pub timeouts: Timeouts,
    /// The trust store the target names its CAs from, when known: a
    /// handshake that breaks where the CA names were due then says how big
    /// that list is.
    pub trust_store: Option<TrustStoreSize>,
}

fn outcome(o: &Observation) -> String {
    let summary = crate::oracle::summarize(o);
    match (
        &o.client_error_detail,
        o.http.is_none() && o.alert.is_none(),
    ) {
        (Some(detail), true) => format!("{summary}: {detail}"),
        _ => summary,
    }
}

/// The path and query of `url` (`/admin/?x=1`), what a request to it asks
/// for; `/` when it has none or does not parse.
pub fn request_path(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => "/".into(),
    }
}

/// Resolve `url` to an address and a server name.
pub async fn resolve(url: &str, timeouts: Timeouts) -> Result<(SocketAddr, String), ProbeError> {
    let parsed = url::Url::parse(url).map_err(|_| ProbeError::BadUrl(url.into()))?;
    if parsed.scheme() != "https" {
        return Err(ProbeError::BadUrl(url.into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| ProbeError::BadUrl(url.into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let lookup = tokio::time::timeout(
        timeouts.connect,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| ProbeError::Resolve {
        host: host.clone(),
        reason: "timed out".into(),
    })?
    .map_err(|e| ProbeError::Resolve {
        host: host.clone(),
        reason: e.to_string(),
    })?;
    let addr = lookup
        .into_iter()
        .next()
        .ok_or_else(|| ProbeError::Resolve {
            host: host.clone(),
            reason: "no address".into(),
        })?;
    let name = if host.parse::<std::net::IpAddr>().is_ok() {
        "localhost".to_string()
    } else {
        host
    };
    Ok((addr, name))
}

/// Probe the target on TLS 1.2 and 1.3 (the two at once, so a silent
/// target costs one timeout, not four).
pub async fn probe(opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let started = Instant::now();
    let (addr, server_name) = resolve(&opts.url, opts.timeouts).await?;
    // Reachability first: a clear error beats two empty version reports.
    tokio::time::timeout(opts.timeouts.connect, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| ProbeError::Unreachable {
            target: opts.url.clone(),
            reason: format!(
                "connect timed out after {} s",
                opts.timeouts.connect.as_secs()
            ),
        })?
        .map_err(|e| ProbeError::Unreachable {
            target: opts.url.clone(),
            reason: e.to_string(),
        })?;
    let (v12, v13) = tokio::join!(
        probe_version(opts, addr, &server_name, TlsVersion::Tls12),
        probe_version(opts, addr, &server_name, TlsVersion::Tls13),
    );
    let mut versions = vec![v12, v13];
    // Apache's TLS 1.3 refusal is a plain 403: told by the TLS 1.2 one.
    if versions[0].asked_after_request.is_some() && versions[1].asked_after_request.is_none() {
        versions[1].asked_after_request = versions[1].after_request_if_tls12_asks.clone();
    }
    for v in &mut versions {
        if let Some(how) = &v.asked_after_request {
            v.finding = judge::after_request_finding(how, v.tls);
        }
    }
    let mut verdict = verdict(&versions, opts.identity.as_ref());
    let findings: Vec<(TlsVersion, &Finding)> =
        versions.iter().map(|v| (v.tls, &v.finding)).collect();
    let overall = judge::overall(&findings);
    let exit_code = overall.conclusion.exit_code();
    verdict.push(format!(
        "conclusion ({}, exit {exit_code}): {}",
        conclusion_label(overall.conclusion),
        overall.cause
    ));
    Ok(ProbeReport {
        target: opts.url.clone(),
        versions,
        verdict,
        conclusion: overall.conclusion,
        cause: overall.cause,
        exit_code,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

fn conclusion_label(c: Conclusion) -> &'static str {
    match c {
        Conclusion::Accepted => "accepted",
        Conclusion::NotAccepted => "not accepted",
        _ => "cannot judge",
    }
}

fn client_for(
    opts: &ProbeOptions,
    server_name: &str,
    wallet: Vec<WalletEntry>,
    selection: SelectionPolicy,
    v: TlsVersion,
) -> ClientSpec {
    ClientSpec {
        wallet,
        selection,
        server_roots: Vec::new(),
        versions: vec![v],
        server_name: server_name.to_string(),
        timeouts: opts.timeouts,
        kind: ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: true,
        request_path: request_path(&opts.url),
    }
}

/// Everything the probe learns on one version.
async fn probe_version(
    opts: &ProbeOptions,
    addr: SocketAddr,
    server_name: &str,
    v: TlsVersion,
) -> VersionReport {
    let client = |wallet, selection| client_for(opts, server_name, wallet, selection, v);
    let timeout_secs = opts.timeouts.handshake.as_secs();
    let bare = client(Vec::new(), SelectionPolicy::Never)
        .exchange(addr)
        .await;
    // Far enough to tell: a CertificateRequest, a finished handshake or an answer.
    let reachable = bare.certificate_requested
        || bare.http.is_some()
        || bare.handshake == Some(crate::observation::Handshake::Complete);
    let names = bare.ca_names.clone().unwrap_or_default();
    let unusable = judge::unusable(&bare, timeout_secs);
    let mut report = VersionReport {
        tls: v,
        reachable,
        certificate_requested: bare.certificate_requested,
        ca_names_count: names.count,
        ca_names_bytes: names.encoded_bytes,
        ca_names: names.subjects.clone(),
        without_certificate: outcome(&bare),
        required_in_handshake: judge::required_in_handshake(&bare),
        browser_would_send: None,
        browser_reason: None,
        with_certificate: None,
        limits: limits(names.encoded_bytes, &bare),
        error: bare
            .client_error_detail
            .clone()
            .filter(|_| bare.http.is_none() && bare.alert.is_none()),
        raw_ca_names: None,
        asked_after_request: judge::asked_after_request(&bare, v),
        after_request_if_tls12_asks: (v == TlsVersion::Tls13)
            .then(|| judge::after_request_on_tls13(&bare))
            .flatten(),
        finding: judge::judge_version(&bare, None, timeout_secs),
    };
    if bare.client_error.as_deref() == Some("HANDSHAKE_PAYLOAD_TOO_LARGE") && v == TlsVersion::Tls12
    {
        // rustls read no name of the list; the plaintext flight has them all.
        let config = client(Vec::new(), SelectionPolicy::Never).rustls_config();
        if let Ok(config) = config {
            if let Ok(Some(raw)) =
                raw_tls12_ca_names(addr, server_name, config, opts.timeouts).await
            {
                report.certificate_requested = true;
                report.ca_names_count = raw.count;
                report.ca_names_bytes = raw.encoded_bytes;
                report.ca_names = raw
                    .names
                    .iter()
                    .map(|n| crate::tls::client::name_to_string(n))
                    .collect();
                report.limits = limits(raw.encoded_bytes, &bare);
                if raw.declared_bytes != raw.encoded_bytes {
                    report.limits.push(format!(
                        "the list's 16-bit length field says {} bytes: the server wrapped it (a list over 65,535 bytes cannot be encoded)",
                        raw.declared_bytes
                    ));
                }
                report.raw_ca_names = Some(raw);
            }
        }
    }
    if let Some(mut f) = unusable {
        if let Some(raw) = &report.raw_ca_names {
            f.cause.push_str(&format!(
                "; its CertificateRequest lists {} CA names in {} bytes",
                raw.count, raw.encoded_bytes
            ));
        }
        if let Some(note) = judge::trust_store_note(&bare, opts.trust_store) {
            f.cause.push_str(&format!("; {note}"));
        }
        // Nothing more to learn with a certificate from a version that does
        // not work without one (and no timeout to wait out twice more).
        report.finding = f;
        return report;
    }
    if let Some(id) = &opts.identity {
        if bare.certificate_requested {
            // Browsers, Java and Windows filter by the CA names and offer
            // any certificate when the list is empty.
            let browser = client(vec![id.clone()], SelectionPolicy::MatchIssuerOrAnyIfEmpty)
                .exchange(addr)
                .await;
            report.browser_would_send = Some(browser.client_certificate_sent);
            report.browser_reason = browser.selection_reason.clone();
        }
        let curl = client(vec![id.clone()], SelectionPolicy::Always)
            .exchange(addr)
            .await;
        report.with_certificate = Some(outcome(&curl));
        report.finding = judge::judge_version(
            &bare,
            Some((
                report.browser_would_send,
                report.browser_reason.as_deref(),
                &curl,
            )),
            timeout_secs,
        );
    }
    report
}

/// Send rustls's TLS 1.2 ClientHello and read the server's plaintext flight
/// (up to 1 MiB, within the handshake timeout) without handing it to rustls,
/// then decode the CertificateRequest's CA names.
async fn raw_tls12_ca_names(
    addr: SocketAddr,
    server_name: &str,
    config: std::sync::Arc<rustls::ClientConfig>,
    timeouts: Timeouts,
) -> Result<Option<wire::RawCaNames>, std::io::Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CAP: usize = 1 << 20;
    let name = rustls_pki_types::ServerName::try_from(server_name.to_string())
        .map_err(std::io::Error::other)?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let mut hello = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut hello)?;
    }
    let read = async {
        let mut tcp = tokio::time::timeout(timeouts.connect, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        tcp.write_all(&hello).await?;
        let mut flight = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = tcp.read(&mut chunk).await?;
            flight.extend_from_slice(&chunk[..n]);
            let done = n == 0
                || flight.len() >= CAP
                || wire::handshake_messages(&flight).map_or(true, |(_, ended)| ended);
            if done {
                return Ok::<_, std::io::Error>(flight);
            }
        }
    };
    let flight = tokio::time::timeout(timeouts.handshake, read)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    wire::ca_names_in_flight(&flight).map_err(std::io::Error::other)
}

fn limits(bytes: usize, obs: &Observation) -> Vec<String> {
    let mut out = Vec::new();
    if bytes > SCHANNEL_TRUSTED_ISSUER_LIMIT {
        out.push(format!(
            "the list is {bytes} bytes: a Windows (Schannel/IIS) server would cut it at 16 KB, and clients filtering by issuer may not find their CA"
        ));
    }
    if bytes + 64 > RUSTLS_MAX_HANDSHAKE_MESSAGE {
        out.push("the CertificateRequest is near or over 64 KiB: rustls clients reject it (HANDSHAKE_PAYLOAD_TOO_LARGE)".into());
    }
    if obs.client_error.as_deref() == Some("HANDSHAKE_PAYLOAD_TOO_LARGE") {
        out.push(
            "this probe's rustls client rejected the server's handshake message as too large"
                .into(),
        );
    }
    out
}

fn verdict(versions: &[VersionReport], identity: Option<&WalletEntry>) -> Vec<String> {
    let mut lines = Vec::new();
    for v in versions {
        let who = format!("TLS {}", v.tls);
        if !v.reachable {
            lines.push(format!("{who}: {}", v.finding.cause));
            for l in &v.limits {
                lines.push(format!("{who}: {l}"));
            }
            continue;
        }
        if !v.certificate_requested {
            lines.push(format!(
                "{who}: the server does not ask for a client certificate, so no client will send one ({})",
                v.without_certificate
            ));
            continue;
        }
        let how = if v.required_in_handshake {
            "requires one in the handshake"
        } else {
            "asks for one without failing the handshake"
        };
        lines.push(format!(
            "{who}: the server {how}; it sent {} CA names ({} bytes); without a certificate: {}",
            v.ca_names_count, v.ca_names_bytes, v.without_certificate
        ));
        if v.ca_names_count == 0 {
            lines.push(format!(
                "{who}: the CA list is empty: {} send one of their certificates (which one of several differs); {} send what they are given",
                crate::real::client::filtering_families(),
                crate::real::client::sending_families()
            ));
        }
        for l in &v.limits {
            lines.push(format!("{who}: {l}"));
        }
        if let (Some(id), Some(false)) = (identity, v.browser_would_send) {
            lines.push(format!(
                "{who}: your certificate will not be sent by browsers: {} (and Windows clients) will not send it because {}; {} will send it anyway: {}",
                crate::real::client::filtering_families(),
                v.browser_reason.as_deref().unwrap_or("its issuer is not among the CA names"),
                crate::real::client::sending_families(),
                v.with_certificate.as_deref().unwrap_or("-")
            ));
            let _ = id;
        } else if let (Some(_), Some(true)) = (identity, v.browser_would_send) {
            lines.push(format!(
                "{who}: your certificate's issuer is among the CA names, so clients will send it; the server then answers: {}",
                v.with_certificate.as_deref().unwrap_or("-")
            ));
        }
    }
    lines
}

impl ProbeReport {
    /// A readable report.
    pub fn render(&self) -> String {
        let mut s = format!("probe {}\n", self.target);
        for v in &self.versions {
            s.push_str(&format!("\nTLS {}:\n", v.tls));
            if !v.reachable {
                s.push_str(&format!(
                    "  no handshake: {}\n",
                    v.error.as_deref().unwrap_or(&v.without_certificate)
                ));
                if let Some(raw) = &v.raw_ca_names {
                    s.push_str(&format!(
                        "  CA names read from the raw flight: {} ({} bytes)\n",
                        raw.count, raw.encoded_bytes
                    ));
                }
                continue;
            }
            s.push_str(&format!(
                "  certificate requested: {}\n",
                if v.certificate_requested { "yes" } else { "no" }
            ));
            if v.certificate_requested {
                s.push_str(&format!(
                    "  CA names: {} ({} bytes)\n",
                    v.ca_names_count, v.ca_names_bytes
                ));
                for n in v.ca_names.iter().take(20) {
                    s.push_str(&format!("    - {n}\n"));
                }
                if v.ca_names.len() > 20 {
                    s.push_str(&format!("    ... and {} more\n", v.ca_names.len() - 20));
                }
            }
            s.push_str(&format!(
                "  without a certificate: {}\n",
                v.without_certificate
            ));
            if let Some(w) = &v.with_certificate {
                s.push_str(&format!("  with your certificate: {w}\n"));
            }
        }
        s.push_str("\nverdict:\n");
        for l in &self.verdict {
            s.push_str(&format!("  {l}\n"));
        }
        s
    }
}
