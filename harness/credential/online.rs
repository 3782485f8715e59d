//! Revocation asked where the credential's certificates say, on loopback
//! only: the CRL of each distribution point and the leaf's OCSP responder
//! whose host is `localhost` or a loopback address. Any other host is
//! never contacted (a note says so: give `--crl`).

use super::{Credential, Finding, FindingKind};
use crate::revocation::client::{
    crl_urls_of, fetch_crl_url, ocsp_status, ocsp_url_of, OcspVerdict,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use std::time::Duration;

/// `url`'s host is this machine.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What was learned online: CRLs fetched (as `--crl` would give them,
/// named by their URL), findings (OCSP's revoked), notes.
#[derive(Debug, Default)]
pub struct Online {
    pub crls: Vec<(PathBuf, Vec<u8>)>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

/// Ask every loopback distribution point of the chain, and the leaf's
/// loopback OCSP responder (its issuer found in the file or `issuers`).
/// Blocking: run it off the async workers.
pub fn ask(
    cred: &Credential,
    leaf: usize,
    issuers: &[CertificateDer<'static>],
    timeout: Duration,
) -> Online {
    let mut online = Online::default();
    let mut asked: Vec<String> = Vec::new();
    for cert in &cred.certs {
        for url in crl_urls_of(cert) {
            if asked.contains(&url) {
                continue;
            }
            asked.push(url.clone());
            if !is_loopback_url(&url) {
                online.notes.push(format!(
                    "not fetched: the CRL at {url} (only loopback hosts are contacted; give it with --crl)"
                ));
                continue;
            }
            match fetch_crl_url(&url, timeout) {
                // DER as RFC 5280 says, or PEM as some servers publish it.
                Ok(body) => {
                    match rustls_pki_types::CertificateRevocationListDer::from_pem_slice(&body) {
                        Ok(der) => online
                            .crls
                            .push((PathBuf::from(&url), der.as_ref().to_vec())),
                        Err(_) => online.crls.push((PathBuf::from(&url), body)),
                    }
                }
                Err(e) => online.notes.push(format!("the CRL at {url}: {e}")),
            }
        }
    }
    let Some(leaf_der) = cred.certs.get(leaf) else {
        return online;
    };
    let Some(url) = ocsp_url_of(leaf_der) else {
        return online;
    };
    if !is_loopback_url(&url) {
        online.notes.push(format!(
            "not asked: the OCSP responder at {url} (only loopback hosts are contacted)"
        ));
        return online;
    }
    let wanted = x509_parser::parse_x509_certificate(leaf_der)
        .map(|(_, c)| c.issuer().as_raw().to_vec())
        .unwrap_or_default();
    let issuer = cred.certs.iter().chain(issuers).find(|c| {
        x509_parser::parse_x509_certificate(c)
            .is_ok_and(|(_, p)| p.subject().as_raw() == wanted.as_slice())
    });
    let Some(issuer) = issuer else {
        online.notes.push(format!(
            "not asked: the OCSP responder at {url} (the leaf's issuer is not in the file nor --ca)"
        ));
        return online;
    };
    match ocsp_status(&url, leaf_der, issuer, timeout) {
        Ok(OcspVerdict::Revoked) => online.findings.push(Finding::new(
            FindingKind::Revoked,
            format!("the certificate is revoked according to its OCSP responder {url}"),
            "have the CA issue a new certificate and key; a revoked one is refused (certificate_revoked, nginx 400, IIS 403.13)",
        )),
        Ok(OcspVerdict::Good) => online
            .notes
            .push(format!("OCSP responder {url}: good")),
        Ok(OcspVerdict::Unknown) => online.notes.push(format!(
            "OCSP responder {url}: unknown (a gateway that requires an answer refuses it)"
        )),
        Err(e) => online
            .notes
            .push(format!("OCSP responder {url}: {e}")),
    }
    online
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_are_contacted() {
        for url in [
            "http://127.0.0.1:8080/crl",
            "http://localhost/x.crl",
            "http://[::1]:9/ocsp",
            "http://127.8.9.10/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://crl.example.com/x.crl",
            "http://192.0.2.1/",
            "http://localhost.example/",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
