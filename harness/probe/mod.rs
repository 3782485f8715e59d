//! Diagnose a target: does it ask for a client certificate (and does it
//! insist), which CA names does it send, how big is that list and which
//! clients it breaks, would a browser send the given certificate, and a plain
//! verdict.

use crate::observation::{Observation, TlsVersion};
use crate::scenario::schema::SelectionPolicy;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::Timeouts;
use serde::Serialize;
use std::net::SocketAddr;

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
}

/// The whole diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    pub target: String,
    pub versions: Vec<VersionReport>,
    pub verdict: Vec<String>,
}

/// Where to probe and with what.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub url: String,
    /// The certificate (leaf first, then intermediates) and key to try.
    pub identity: Option<WalletEntry>,
    pub timeouts: Timeouts,
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

/// Probe the target on TLS 1.2 and 1.3.
pub async fn probe(opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let (addr, server_name) = resolve(&opts.url, opts.timeouts).await?;
    // Reachability first: a clear error beats two empty version reports.
    tokio::time::timeout(opts.timeouts.connect, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| ProbeError::Unreachable {
            target: opts.url.clone(),
            reason: "connect timed out".into(),
        })?
        .map_err(|e| ProbeError::Unreachable {
            target: opts.url.clone(),
            reason: e.to_string(),
        })?;
    let client = |wallet: Vec<WalletEntry>, selection: SelectionPolicy, v: TlsVersion| ClientSpec {
        wallet,
        selection,
        server_roots: Vec::new(),
        versions: vec![v],
        server_name: server_name.clone(),
        timeouts: opts.timeouts,
        kind: ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: true,
    };
    let mut versions = Vec::new();
    for v in TlsVersion::ALL {
        let bare = client(Vec::new(), SelectionPolicy::Never, v)
            .exchange(addr)
            .await;
        // Far enough to tell: a CertificateRequest, a finished handshake or an answer.
        let reachable = bare.certificate_requested
            || bare.http.is_some()
            || bare.handshake == Some(crate::observation::Handshake::Complete);
        let names = bare.ca_names.clone().unwrap_or_default();
        let mut report = VersionReport {
            tls: v,
            reachable,
            certificate_requested: bare.certificate_requested,
            ca_names_count: names.count,
            ca_names_bytes: names.encoded_bytes,
            ca_names: names.subjects.clone(),
            without_certificate: outcome(&bare),
            required_in_handshake: bare.alert.as_ref().is_some_and(|a| {
                a.sent_by == crate::observation::Side::Server
                    && matches!(
                        a.description.as_str(),
                        "certificate_required" | "handshake_failure"
                    )
            }),
            browser_would_send: None,
            browser_reason: None,
            with_certificate: None,
            limits: limits(names.encoded_bytes, &bare),
            error: bare
                .client_error_detail
                .clone()
                .filter(|_| bare.http.is_none() && bare.alert.is_none()),
        };
        if let Some(id) = &opts.identity {
            if bare.certificate_requested {
                let browser = client(vec![id.clone()], SelectionPolicy::MatchIssuer, v)
                    .exchange(addr)
                    .await;
                report.browser_would_send = Some(browser.client_certificate_sent);
                report.browser_reason = browser.selection_reason.clone();
            }
            let curl = client(vec![id.clone()], SelectionPolicy::Always, v)
                .exchange(addr)
                .await;
            report.with_certificate = Some(outcome(&curl));
        }
        versions.push(report);
    }
    let verdict = verdict(&versions, opts.identity.as_ref());
    Ok(ProbeReport {
        target: opts.url.clone(),
        versions,
        verdict,
    })
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
    let live: Vec<&VersionReport> = versions.iter().filter(|v| v.reachable).collect();
    if live.is_empty() {
        lines.push("no TLS 1.2 or 1.3 handshake could be started with the target".into());
        return lines;
    }
    for v in &live {
        let who = format!("TLS {}", v.tls);
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
                "{who}: the CA list is empty: browsers and Java may send any certificate or none; OpenSSL/curl send what they are given"
            ));
        }
        for l in &v.limits {
            lines.push(format!("{who}: {l}"));
        }
        if let (Some(id), Some(false)) = (identity, v.browser_would_send) {
            lines.push(format!(
                "{who}: your certificate will not be sent by browsers, Java or Windows clients because {}; curl/OpenSSL send it anyway: {}",
                v.browser_reason.as_deref().unwrap_or("its issuer is not among the CA names"),
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
