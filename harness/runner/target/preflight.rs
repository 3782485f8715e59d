//! The preflight for an external target (`run --target`): before any scenario
//! runs against a gateway someone else operates, check that it answers, speaks
//! TLS and presents a certificate from the PKI it is said to be configured
//! with. Otherwise every case would fail for one reason the report hides.

use super::ExternalTarget;
use crate::gateway::ProfileKind;
use crate::observation::TlsVersion;
use crate::pki::{Pki, PkiError};
use crate::probe::ProbeError;
use crate::scenario::schema::SelectionPolicy;
use crate::tls::client::{ClientKind, ClientSpec};
use crate::tls::Timeouts;
use std::path::{Path, PathBuf};

/// Why a target is not fit to run scenarios against.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The PKI directory could not be loaded.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// The URL is not https://host:port, or the host does not resolve.
    #[error(transparent)]
    Resolve(#[from] ProbeError),
    #[error("{}: has no root CA", dir.display())]
    NoRootCa { dir: PathBuf },
    /// Silent or too slow: the stage that timed out and what that means.
    #[error("{url}: no answer: {cause}")]
    NoAnswer {
        url: String,
        stage: String,
        cause: String,
    },
    /// The certificate the target presents is not from this PKI.
    #[error("{url}: its certificate does not verify against the roots of {} ({detail})", dir.display())]
    WrongPki {
        url: String,
        dir: PathBuf,
        detail: String,
    },
    /// Nothing usable came back (connection refused, reset, not TLS).
    #[error("{url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url}: TLS failed before any scenario ran: {detail}")]
    Handshake { url: String, detail: String },
}

/// Load the PKI in `pki_dir`, resolve `url`, and make one handshake that
/// trusts the PKI's roots and sends no certificate: it must get as far as the
/// server's certificate, and that must verify. The target is then judged by
/// `profile`'s expectations.
pub async fn preflight(
    url: &str,
    pki_dir: &Path,
    profile: ProfileKind,
    timeouts: Timeouts,
) -> Result<ExternalTarget, TargetError> {
    preflight_with(url, pki_dir, profile, timeouts, None).await
}

/// [`preflight`], knowing how many CA names the target's trust store makes:
/// a handshake that breaks where they were due says so.
pub async fn preflight_with(
    url: &str,
    pki_dir: &Path,
    profile: ProfileKind,
    timeouts: Timeouts,
    trust_store: Option<crate::probe::TrustStoreSize>,
) -> Result<ExternalTarget, TargetError> {
    let pki = Pki::load_dir(pki_dir)?;
    let (addr, server_name) = crate::probe::resolve(url, timeouts).await?;
    let roots: Vec<_> = pki
        .certs()
        .iter()
        .filter(|c| c.issuer.is_none() && c.role.is_ca())
        .map(|c| c.der.clone())
        .collect();
    if roots.is_empty() {
        return Err(TargetError::NoRootCa {
            dir: pki_dir.to_path_buf(),
        });
    }
    let client = ClientSpec {
        wallet: Vec::new(),
        selection: SelectionPolicy::Never,
        server_roots: roots,
        versions: TlsVersion::ALL.to_vec(),
        server_name: server_name.clone(),
        timeouts,
        kind: ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: false,
        request_path: crate::probe::request_path(url),
    };
    let obs = client.exchange(addr).await;
    let secs = timeouts.handshake.as_secs();
    if let Some(stage) = obs.hang.clone() {
        let cause = crate::probe::judge::unusable(&obs, secs)
            .map(|f| f.cause)
            .unwrap_or_else(|| format!("the {stage} did not finish within {secs} s"));
        return Err(TargetError::NoAnswer {
            url: url.to_string(),
            stage,
            cause,
        });
    }
    let detail = obs.client_error_detail.clone().unwrap_or_default();
    if let Some(code) = &obs.client_error {
        if code.starts_with("INVALID_CERTIFICATE") {
            return Err(TargetError::WrongPki {
                url: url.to_string(),
                dir: pki_dir.to_path_buf(),
                detail,
            });
        }
        if obs.handshake.is_none() {
            return Err(TargetError::Unreachable {
                url: url.to_string(),
                detail,
            });
        }
    }
    // Only a client-certificate decision (an answer, or a refusal after the
    // server asked) is something scenarios can judge; anything else (no TLS
    // 1.2/1.3, garbage, a reset, a CertificateRequest no client reads) is
    // named here instead of failing every case for one hidden reason.
    if let Some(finding) = crate::probe::judge::unusable(&obs, secs) {
        let mut detail = finding.cause;
        if let Some(note) = crate::probe::judge::trust_store_note(&obs, trust_store) {
            detail.push_str(&format!("; {note}"));
        }
        return Err(TargetError::Handshake {
            url: url.to_string(),
            detail,
        });
    }
    let request_path = crate::probe::request_path(url);
    let facts =
        super::adapt::learn(addr, &server_name, &request_path, &pki, pki_dir, timeouts).await?;
    Ok(ExternalTarget {
        url: url.to_string(),
        addr,
        server_name,
        request_path,
        pki,
        profile,
        facts,
    })
}
