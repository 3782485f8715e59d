//! A gateway's side: ask the OCSP responder about a certificate, or fetch
//! an issuer's CRL from its distribution point, within a timeout, and say
//! what came back in the terms gateways log.

use super::der::{self, CertId, CertStatus, HashAlg};
use super::http::{self, FetchError};
use std::fmt;
use std::time::Duration;

/// What an OCSP responder said about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspVerdict {
    Good,
    Revoked,
    /// The responder has no record of it (`certStatus unknown`).
    Unknown,
}

/// Why no usable revocation answer was had: the responder was down, never
/// answered, or answered with something expired, unsigned or unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponderFailure {
    /// Connection refused.
    Refused,
    /// No answer within the gateway's timeout.
    TimedOut,
    /// The OCSP response or the CRL is past its nextUpdate.
    Stale,
    /// The bytes are not an OCSP response or a CRL, or say nothing of the
    /// certificate.
    Malformed(String),
    /// An HTTP or OCSP error status.
    Refusal(String),
    /// The signature does not verify with the issuer's key.
    BadSignature,
    /// The certificate names no OCSP responder (authorityInfoAccess) or CRL
    /// distribution point to ask.
    NoUrl,
}

impl fmt::Display for ResponderFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponderFailure::Refused => f.write_str("responder refused the connection"),
            ResponderFailure::TimedOut => f.write_str("responder timed out"),
            ResponderFailure::Stale => f.write_str("response expired"),
            ResponderFailure::Malformed(why) => write!(f, "malformed response: {why}"),
            ResponderFailure::Refusal(why) => write!(f, "responder error: {why}"),
            ResponderFailure::BadSignature => f.write_str("response signature failure"),
            ResponderFailure::NoUrl => f.write_str("no responder URL in the certificate"),
        }
    }
}

impl From<FetchError> for ResponderFailure {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::Refused => ResponderFailure::Refused,
            FetchError::TimedOut(_) => ResponderFailure::TimedOut,
            FetchError::Status(s) => ResponderFailure::Refusal(format!("HTTP {s}")),
            other => ResponderFailure::Malformed(other.to_string()),
        }
    }
}

/// The CertID of `cert` issued by `issuer` (SHA-1, as OpenSSL sends it).
pub fn cert_id(cert: &[u8], issuer: &[u8]) -> Option<CertId> {
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    let (_, i) = x509_parser::parse_x509_certificate(issuer).ok()?;
    Some(CertId {
        hash: HashAlg::Sha1,
        name_hash: HashAlg::Sha1.digest(i.tbs_certificate.subject.as_raw()),
        key_hash: HashAlg::Sha1.digest(&i.tbs_certificate.subject_pki.subject_public_key.data),
        serial: c.tbs_certificate.raw_serial().to_vec(),
    })
}

/// Ask `url` about `cert` (issued by `issuer`), POSTing the request as
/// Apache does; the response must be signed by the issuer, current, and
/// about `cert`.
pub fn ocsp_status(
    url: &str,
    cert: &[u8],
    issuer: &[u8],
    timeout: Duration,
) -> Result<OcspVerdict, ResponderFailure> {
    let id = cert_id(cert, issuer)
        .ok_or_else(|| ResponderFailure::Malformed("certificate does not parse".into()))?;
    let nonce: [u8; 16] = rand::random();
    let request = der::encode_request(std::slice::from_ref(&id), &nonce);
    let body = http::fetch(url, "application/ocsp-request", Some(&request), timeout)?;
    let response =
        der::parse_response(&body).map_err(|e| ResponderFailure::Malformed(e.to_string()))?;
    if response.status != der::status::SUCCESSFUL {
        return Err(ResponderFailure::Refusal(format!(
            "OCSP status {}",
            response.status
        )));
    }
    if !signed_by_issuer(&response, issuer) {
        return Err(ResponderFailure::BadSignature);
    }
    let answer = response
        .answers
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ResponderFailure::Malformed("no answer for the certificate".into()))?;
    let now = time::OffsetDateTime::now_utc();
    if answer.next_update.is_some_and(|n| n < now) || answer.this_update > now {
        return Err(ResponderFailure::Stale);
    }
    Ok(match answer.status {
        CertStatus::Good => OcspVerdict::Good,
        CertStatus::Revoked { .. } => OcspVerdict::Revoked,
        CertStatus::Unknown => OcspVerdict::Unknown,
    })
}

/// The response's signature verifies with the issuer's key (the built-in
/// gateways accept no delegated responder).
fn signed_by_issuer(response: &der::Response, issuer: &[u8]) -> bool {
    let der = rustls_pki_types::CertificateDer::from(issuer);
    let Ok(cert) = webpki::EndEntityCert::try_from(&der) else {
        return false;
    };
    let provider = rustls::crypto::ring::default_provider();
    provider
        .signature_verification_algorithms
        .all
        .iter()
        .any(|alg| {
            cert.verify_signature(*alg, &response.response_data, &response.signature)
                .is_ok()
        })
}

/// Fetch the CRL of the CA whose subject name is `issuer_subject` from the
/// distribution points under `base_url`.
pub fn fetch_crl(
    base_url: &str,
    issuer_subject: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ResponderFailure> {
    let url = format!("{base_url}{}.crl", super::crl_path(issuer_subject));
    Ok(http::fetch(&url, "", None, timeout)?)
}

/// The OCSP responder URL of `cert`'s authorityInfoAccess, if any.
pub fn ocsp_url_of(cert: &[u8]) -> Option<String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    c.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityInfoAccess(aia) => {
                aia.accessdescs
                    .iter()
                    .find_map(|d| match d.access_location {
                        GeneralName::URI(url)
                            if d.access_method
                                == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP =>
                        {
                            Some(url.to_string())
                        }
                        _ => None,
                    })
            }
            _ => None,
        })
}

/// The URLs of `cert`'s CRL distribution points (full names only).
pub fn crl_urls_of(cert: &[u8]) -> Vec<String> {
    use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
    let Ok((_, c)) = x509_parser::parse_x509_certificate(cert) else {
        return vec![];
    };
    let mut urls = Vec::new();
    for e in c.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = e.parsed_extension() {
            for point in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(url) = name {
                            urls.push(url.to_string());
                        }
                    }
                }
            }
        }
    }
    urls
}

/// Fetch the CRL at `url` (a distribution point of a certificate).
pub fn fetch_crl_url(url: &str, timeout: Duration) -> Result<Vec<u8>, ResponderFailure> {
    Ok(http::fetch(url, "", None, timeout)?)
}
