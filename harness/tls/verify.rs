//! Client-certificate chain verification for gateways that decide after the
//! handshake, and the OpenSSL view of a failure (its verify error text and the
//! alert OpenSSL sends for it).
//!
//! The path building is rustls-webpki's. On top of it, [`Rules::OpenSsl`]
//! adds what OpenSSL checks and webpki does not (an issuer whose keyUsage lacks
//! keyCertSign; CRL expiry), so OpenSSL-based profiles reject what nginx,
//! HAProxy and Apache reject.

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use std::fmt;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

/// Whose rules a verification follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// rustls-webpki as rustls's `WebPkiClientVerifier` uses it (CRL expiry ignored).
    Webpki,
    /// OpenSSL's `X509_verify_cert`, as nginx/HAProxy/Apache run it.
    OpenSsl,
}

/// Why a presented client chain was not accepted, in OpenSSL's terms
/// (`X509_V_ERR_*`), which is how gateways log and map it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertFailure {
    /// No path to a trust anchor (`unable to get local issuer certificate`).
    Untrusted,
    /// The leaf is self-signed and not trusted.
    SelfSigned,
    Expired,
    NotYetValid,
    Revoked,
    /// A CRL needed for the chain is past nextUpdate.
    CrlExpired,
    /// No CRL for an issuer in the chain while CRL checking is on.
    CrlUnavailable,
    /// Wrong extendedKeyUsage for a client.
    BadPurpose,
    /// An issuer that is not a CA (cA false or basicConstraints absent).
    InvalidCa,
    /// An issuer whose keyUsage lacks keyCertSign.
    NoCertSign,
    PathLength,
    NameConstraints,
    BadSignature,
    /// Anything else, with webpki's description.
    Other(String),
}

impl CertFailure {
    /// OpenSSL's `X509_verify_cert_error_string` for this failure.
    pub fn openssl_text(&self) -> &str {
        match self {
            CertFailure::Untrusted => "unable to get local issuer certificate",
            CertFailure::SelfSigned => "self-signed certificate",
            CertFailure::Expired => "certificate has expired",
            CertFailure::NotYetValid => "certificate is not yet valid",
            CertFailure::Revoked => "certificate revoked",
            CertFailure::CrlExpired => "CRL has expired",
            CertFailure::CrlUnavailable => "unable to get certificate CRL",
            CertFailure::BadPurpose => "unsupported certificate purpose",
            CertFailure::InvalidCa => "invalid CA certificate",
            CertFailure::NoCertSign => "key usage does not include certificate signing",
            CertFailure::PathLength => "path length constraint exceeded",
            CertFailure::NameConstraints => "permitted subtree violation",
            CertFailure::BadSignature => "certificate signature failure",
            CertFailure::Other(s) => s,
        }
    }

    /// The alert OpenSSL sends for this verify error (`ssl_verify_alarm_type`).
    pub fn openssl_alert(&self) -> &'static str {
        match self {
            CertFailure::Untrusted
            | CertFailure::SelfSigned
            | CertFailure::CrlUnavailable
            | CertFailure::InvalidCa
            | CertFailure::NoCertSign
            | CertFailure::PathLength => "unknown_ca",
            CertFailure::Expired => "certificate_expired",
            CertFailure::NotYetValid | CertFailure::CrlExpired => "bad_certificate",
            CertFailure::Revoked => "certificate_revoked",
            CertFailure::BadPurpose => "unsupported_certificate",
            CertFailure::BadSignature => "decrypt_error",
            CertFailure::NameConstraints | CertFailure::Other(_) => "certificate_unknown",
        }
    }

    /// A rustls error whose alert is [`Self::openssl_alert`], so a rustls
    /// server sends what OpenSSL would.
    pub fn as_rustls_error_for_openssl_alert(&self) -> rustls::Error {
        use rustls::CertificateError as C;
        let e = match self.openssl_alert() {
            "unknown_ca" => C::UnknownIssuer,
            "certificate_expired" => C::Expired,
            "bad_certificate" => C::BadEncoding,
            "certificate_revoked" => C::Revoked,
            "unsupported_certificate" => C::InvalidPurpose,
            "decrypt_error" => C::BadSignature,
            _ => C::Other(rustls::OtherError(std::sync::Arc::new(FailureCarrier(
                self.clone(),
            )))),
        };
        rustls::Error::InvalidCertificate(e)
    }

    /// Expired or not yet valid (IIS 403.17, the validity family).
    pub fn is_validity(&self) -> bool {
        matches!(self, CertFailure::Expired | CertFailure::NotYetValid)
    }

    /// The errors nginx's `optional_no_ca` tolerates (`ngx_ssl_verify_error_optional`).
    pub fn is_untrusted_issuer(&self) -> bool {
        matches!(self, CertFailure::Untrusted | CertFailure::SelfSigned)
    }

    #[allow(deprecated)] // RequiredEkuNotFound: older webpki still returns it
    fn from_webpki(e: &webpki::Error) -> Self {
        use webpki::Error as E;
        match e {
            E::UnknownIssuer => CertFailure::Untrusted,
            E::CertExpired { .. } | E::InvalidCertValidity => CertFailure::Expired,
            E::CertNotValidYet { .. } => CertFailure::NotYetValid,
            E::CertRevoked => CertFailure::Revoked,
            E::CrlExpired { .. } => CertFailure::CrlExpired,
            E::UnknownRevocationStatus => CertFailure::CrlUnavailable,
            E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
                CertFailure::BadPurpose
            }
            E::CaUsedAsEndEntity | E::EndEntityUsedAsCa => CertFailure::InvalidCa,
            E::PathLenConstraintViolated => CertFailure::PathLength,
            E::NameConstraintViolation => CertFailure::NameConstraints,
            E::InvalidSignatureForPublicKey => CertFailure::BadSignature,
            other => CertFailure::Other(format!("{other:?}")),
        }
    }
}

impl fmt::Display for CertFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.openssl_text())
    }
}

/// Carries a [`CertFailure`] through rustls's `OtherError`.
#[derive(Debug)]
pub struct FailureCarrier(pub CertFailure);

impl fmt::Display for FailureCarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for FailureCarrier {}

/// Trust anchors, the CA certificates they came from, and CRLs: everything a
/// gateway verifies client chains against.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
    anchor_certs: Vec<CertificateDer<'static>>,
    crls: Vec<OwnedCertRevocationList>,
    crl_ders: Vec<CertificateRevocationListDer<'static>>,
}

impl TrustStore {
    /// Build from CA certificates (DER) and CRLs (DER). A certificate that
    /// cannot be an anchor is an error naming its index.
    pub fn new(
        cas: &[CertificateDer<'static>],
        crls: &[CertificateRevocationListDer<'static>],
    ) -> Result<Self, String> {
        let mut anchors = Vec::with_capacity(cas.len());
        for (i, der) in cas.iter().enumerate() {
            let ta = webpki::anchor_from_trusted_cert(der)
                .map_err(|e| format!("trust certificate #{i} is not usable as an anchor: {e:?}"))?;
            anchors.push(ta.to_owned());
        }
        let mut owned = Vec::with_capacity(crls.len());
        for (i, der) in crls.iter().enumerate() {
            owned.push(
                OwnedCertRevocationList::from_der(der)
                    .map_err(|e| format!("CRL #{i} does not parse: {e:?}"))?,
            );
        }
        Ok(TrustStore {
            anchors,
            anchor_certs: cas.to_vec(),
            crls: owned,
            crl_ders: crls.to_vec(),
        })
    }

    pub fn anchors(&self) -> &[rustls_pki_types::TrustAnchor<'static>] {
        &self.anchors
    }

    pub fn anchor_certs(&self) -> &[CertificateDer<'static>] {
        &self.anchor_certs
    }

    pub fn crl_ders(&self) -> &[CertificateRevocationListDer<'static>] {
        &self.crl_ders
    }

    pub fn has_crls(&self) -> bool {
        !self.crls.is_empty()
    }

    /// A rustls root store with the same anchors.
    pub fn root_store(&self) -> rustls::RootCertStore {
        rustls::RootCertStore {
            roots: self.anchors.clone(),
        }
    }

    /// Verify a client chain (leaf first) for client authentication.
    pub fn verify_client_chain(
        &self,
        chain: &[CertificateDer<'_>],
        rules: Rules,
    ) -> Result<(), CertFailure> {
        let Some(leaf) = chain.first() else {
            return Err(CertFailure::Other("empty chain".into()));
        };
        let ee = EndEntityCert::try_from(leaf).map_err(|e| CertFailure::from_webpki(&e))?;
        let crl_refs: Vec<CertRevocationList<'_>> = self
            .crls
            .iter()
            .map(|c| CertRevocationList::Owned(c.clone()))
            .collect();
        let crl_ptrs: Vec<&CertRevocationList<'_>> = crl_refs.iter().collect();
        let revocation = if crl_ptrs.is_empty() {
            None
        } else {
            let builder = RevocationOptionsBuilder::new(&crl_ptrs)
                .expect("non-empty CRL list")
                .with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Deny)
                .with_expiration_policy(match rules {
                    Rules::Webpki => ExpirationPolicy::Ignore,
                    Rules::OpenSsl => ExpirationPolicy::Enforce,
                });
            Some(builder.build())
        };
        let intermediates = &chain[1..];
        let now = UnixTime::now();
        let path = ee
            .verify_for_usage(
                super::provider().signature_verification_algorithms.all,
                &self.anchors,
                intermediates,
                now,
                webpki::KeyUsage::client_auth(),
                revocation,
                None,
            )
            .map_err(|e| {
                let failure = CertFailure::from_webpki(&e);
                // OpenSSL names an untrusted self-signed leaf specially.
                if failure == CertFailure::Untrusted && is_self_issued(leaf) {
                    CertFailure::SelfSigned
                } else {
                    failure
                }
            })?;
        if rules == Rules::OpenSsl {
            // OpenSSL wants keyCertSign on every issuer that has a keyUsage
            // extension; webpki does not look. For an intermediate, OpenSSL
            // 3.0's check_chain (X509_check_ca == 0) reports it as
            // X509_V_ERR_INVALID_CA (79, "invalid CA certificate", alert
            // unknown_ca): seen on real nginx, HAProxy, Apache and s_server
            // (tests/real_gateways.rs), not KEYUSAGE_NO_CERTSIGN.
            for ca in path.intermediate_certificates() {
                if lacks_key_cert_sign(ca.der().as_ref()) {
                    return Err(CertFailure::InvalidCa);
                }
            }
            // A trust anchor whose keyUsage lacks keyCertSign: OpenSSL 3.0
            // says X509_V_ERR_KEYUSAGE_NO_CERTSIGN (32), alert unknown_ca
            // (real nginx/HAProxy/Apache/s_server agree).
            let anchor_subject = path.anchor().subject.as_ref();
            for (ta, der) in self.anchors.iter().zip(&self.anchor_certs) {
                if ta.subject.as_ref() == anchor_subject && lacks_key_cert_sign(der) {
                    return Err(CertFailure::NoCertSign);
                }
            }
        }
        Ok(())
    }
}

fn parse(der: &[u8]) -> Option<x509_parser::certificate::X509Certificate<'_>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, c)| c)
}

fn is_self_issued(der: &[u8]) -> bool {
    parse(der)
        .is_some_and(|c| c.tbs_certificate.subject.as_raw() == c.tbs_certificate.issuer.as_raw())
}

fn lacks_key_cert_sign(der: &[u8]) -> bool {
    parse(der)
        .and_then(|c| {
            c.key_usage()
                .ok()
                .flatten()
                .map(|ku| !ku.value.key_cert_sign())
        })
        .unwrap_or(false)
}
