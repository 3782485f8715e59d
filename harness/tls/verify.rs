//! Client-certificate chain verification for gateways that decide after the
//! handshake, and the OpenSSL view of a failure (its verify error text and the
//! alert OpenSSL sends for it).
//!
//! The path building is rustls-webpki's. On top of it, [`Rules::OpenSsl`]
//! adds what OpenSSL checks and webpki does not (an issuer whose keyUsage lacks
//! keyCertSign; CRL expiry), so OpenSSL-based profiles reject what nginx,
//! HAProxy and Apache reject.

use crate::knobs::{OnlineRevocation, RevocationCheck};
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
    /// Go's crypto/x509 `Verify` as crypto/tls runs it for client
    /// certificates (Go 1.19): OpenSSL's keyCertSign checks on issuers and
    /// anchors (`CheckSignatureFrom`), but no revocation at all: crypto/tls
    /// has no CRL setting, so a configured CRL is never consulted. Measured
    /// on real Go 1.19 (`real:go`, docs/fidelity.md).
    Go,
    /// Java's PKIX validation as JSSE's trust manager runs it (OpenJDK 17):
    /// OpenSSL's checks (keyCertSign, CRLs for the whole chain when CRLs are
    /// configured) except that a trust anchor's pathLenConstraint is
    /// ignored, and an anchor without basicConstraints cA is refused.
    /// Measured on real Tomcat 10.1 (`real:tomcat`, docs/fidelity.md).
    Jsse,
}

impl Rules {
    /// Whether CRLs are consulted.
    pub fn checks_revocation(self) -> bool {
        self != Rules::Go
    }
}

/// Why a presented client chain was not accepted, in OpenSSL's terms
/// (`X509_V_ERR_*`), which is how gateways log and map it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertFailure {
    /// No path to a trust anchor (`unable to get local issuer certificate`,
    /// X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 20): the client sent the
    /// leaf's issuer but no trusted CA issued the top of what it sent.
    Untrusted,
    /// No path to a trust anchor and the client sent no issuer of its leaf:
    /// OpenSSL's chain is the leaf alone, so it says `unable to verify the
    /// first certificate` (X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 21).
    /// Seen on real nginx for an untrusted leaf sent without intermediates.
    UntrustedLeaf,
    /// The leaf is self-signed and not trusted.
    SelfSigned,
    Expired,
    NotYetValid,
    Revoked,
    /// A CRL needed for the chain is past nextUpdate.
    CrlExpired,
    /// No CRL for an issuer in the chain while CRL checking is on.
    CrlUnavailable,
    /// The OCSP responder has no record of the certificate (certStatus
    /// unknown). nginx logs "certificate status unknown"; mod_ssl sets
    /// X509_V_ERR_APPLICATION_VERIFICATION (50).
    RevocationUnknown,
    /// No usable answer from the OCSP responder or CRL distribution point
    /// (refused, timed out, stale, malformed). nginx logs "certificate
    /// status request failed"; mod_ssl sets X509_V_ERR_APPLICATION_VERIFICATION.
    RevocationUnavailable(crate::revocation::ResponderFailure),
    /// Wrong extendedKeyUsage for a client.
    BadPurpose,
    /// An issuer that is not a CA (cA false or basicConstraints absent).
    InvalidCa,
    /// An intermediate whose keyUsage lacks keyCertSign: OpenSSL's first
    /// error is X509_V_ERR_INVALID_CA (79, alert unknown_ca); when its verify
    /// callback lets verification go on (nginx), the last is 32.
    IssuerNoCertSign,
    /// A trust anchor whose keyUsage lacks keyCertSign (32).
    NoCertSign,
    PathLength,
    NameConstraints,
    BadSignature,
    /// The chain verified, but the gateway refuses its issuer
    /// (X509_V_ERR_CERT_REJECTED, 28): lighttpd's `ssl.ca-dn-file` does so
    /// for an issuer it does not list.
    Rejected,
    /// Anything else, with webpki's description.
    Other(String),
}

impl CertFailure {
    /// OpenSSL's `X509_verify_cert_error_string` for this failure.
    pub fn openssl_text(&self) -> &str {
        match self {
            CertFailure::Untrusted => "unable to get local issuer certificate",
            CertFailure::UntrustedLeaf => "unable to verify the first certificate",
            CertFailure::SelfSigned => "self-signed certificate",
            CertFailure::Expired => "certificate has expired",
            CertFailure::NotYetValid => "certificate is not yet valid",
            CertFailure::Revoked => "certificate revoked",
            CertFailure::CrlExpired => "CRL has expired",
            CertFailure::CrlUnavailable => "unable to get certificate CRL",
            CertFailure::RevocationUnknown => "certificate status unknown",
            CertFailure::RevocationUnavailable(_) => "certificate status request failed",
            // OpenSSL 3.0's wording (1.1.1 said "unsupported").
            CertFailure::BadPurpose => "unsuitable certificate purpose",
            CertFailure::InvalidCa | CertFailure::IssuerNoCertSign => "invalid CA certificate",
            CertFailure::NoCertSign => "key usage does not include certificate signing",
            CertFailure::PathLength => "path length constraint exceeded",
            CertFailure::NameConstraints => "permitted subtree violation",
            CertFailure::BadSignature => "certificate signature failure",
            CertFailure::Rejected => "certificate rejected",
            CertFailure::Other(s) => s,
        }
    }

    /// The `X509_V_ERR_*` number OpenSSL reports first (what a server that
    /// stops at the first error sees), if known.
    pub fn openssl_code(&self) -> Option<u32> {
        Some(match self {
            CertFailure::Untrusted => 20,
            CertFailure::UntrustedLeaf => 21,
            CertFailure::SelfSigned => 18,
            CertFailure::Expired => 10,
            CertFailure::NotYetValid => 9,
            CertFailure::Revoked => 23,
            CertFailure::CrlExpired => 12,
            CertFailure::CrlUnavailable => 3,
            CertFailure::RevocationUnknown | CertFailure::RevocationUnavailable(_) => 50,
            CertFailure::BadPurpose => 26,
            CertFailure::InvalidCa | CertFailure::IssuerNoCertSign => 79,
            CertFailure::NoCertSign => 32,
            CertFailure::PathLength => 25,
            CertFailure::NameConstraints => 47,
            CertFailure::BadSignature => 7,
            CertFailure::Rejected => 28,
            CertFailure::Other(_) => return None,
        })
    }

    /// `N:text` of the error OpenSSL leaves in `SSL_get_verify_result` when
    /// the verify callback accepts every error and verification runs to the
    /// end (nginx): the LAST error, which for a bad issuer is not the first
    /// (real nginx: cA-false issuer -> 26, no-keyCertSign issuer -> 32).
    pub fn openssl_last_error(&self) -> String {
        let (code, text) = match self {
            // check_chain: INVALID_CA, then the CA purpose check fails too.
            CertFailure::InvalidCa => (Some(26), "unsuitable certificate purpose"),
            // then internal_verify's check_issued: KEYUSAGE_NO_CERTSIGN.
            CertFailure::IssuerNoCertSign => {
                (Some(32), "key usage does not include certificate signing")
            }
            other => (other.openssl_code(), other.openssl_text()),
        };
        match code {
            Some(c) => format!("{c}:{text}"),
            None => text.to_string(),
        }
    }

    /// The alert OpenSSL sends for this verify error (`ssl_verify_alarm_type`,
    /// from the one alert table): CRL_HAS_EXPIRED is certificate_expired
    /// (real HAProxy and s_server agree; Apache rewrites it, see the apache
    /// profile).
    pub fn openssl_alert(&self) -> &'static str {
        crate::alert::for_openssl_verify_error(self.openssl_code()).name
    }

    /// A rustls error whose alert is [`Self::openssl_alert`], so a rustls
    /// server sends what OpenSSL would.
    pub fn as_rustls_error_for_openssl_alert(&self) -> rustls::Error {
        self.as_rustls_error_for_alert(self.openssl_alert())
    }

    /// A rustls error whose alert is `alert` (one of the names
    /// [`Self::openssl_alert`] returns; others become certificate_unknown).
    pub fn as_rustls_error_for_alert(&self, alert: &str) -> rustls::Error {
        use rustls::CertificateError as C;
        if alert == "handshake_failure" {
            // rustls answers a verifier error that is not a certificate
            // error with handshake_failure (send_cert_verify_error_alert),
            // as OpenSSL does for X509_V_ERR_APPLICATION_VERIFICATION.
            return rustls::Error::Other(rustls::OtherError(std::sync::Arc::new(FailureCarrier(
                self.clone(),
            ))));
        }
        let e = match alert {
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

    /// No fresh revocation answer: an expired CRL, a CRL missing for an
    /// issuer, an OCSP `unknown`, or a responder that failed. IIS answers
    /// 403.13 to all of these (KB 294305, 884115).
    pub fn is_revocation_unavailable(&self) -> bool {
        matches!(
            self,
            CertFailure::CrlExpired
                | CertFailure::CrlUnavailable
                | CertFailure::RevocationUnknown
                | CertFailure::RevocationUnavailable(_)
        )
    }

    /// Expired or not yet valid (IIS 403.17, the validity family).
    pub fn is_validity(&self) -> bool {
        matches!(self, CertFailure::Expired | CertFailure::NotYetValid)
    }

    /// The errors nginx's `optional_no_ca` tolerates (`ngx_ssl_verify_error_optional`).
    pub fn is_untrusted_issuer(&self) -> bool {
        matches!(
            self,
            CertFailure::Untrusted | CertFailure::UntrustedLeaf | CertFailure::SelfSigned
        )
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

/// The issuer names a gateway requires a client leaf's issuer to be among
/// (lighttpd's `ssl.ca-dn-file`): `None` when `names` are every trusted CA's
/// subject, the case where lighttpd sets no ca-dn-file, or none at all
/// (lighttpd cannot send an empty list).
pub fn named_issuers(names: &[Vec<u8>], trust: &TrustStore) -> Option<Vec<Vec<u8>>> {
    let mut trusted: Vec<&[u8]> = trust
        .anchor_certs()
        .iter()
        .filter_map(|der| parse(der).map(|c| c.tbs_certificate.subject.as_raw()))
        .collect();
    let mut named: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    trusted.sort();
    trusted.dedup();
    named.sort();
    named.dedup();
    (!named.is_empty() && named != trusted).then(|| names.to_vec())
}

/// The leaf's issuer is among `issuers`, or [`CertFailure::Rejected`].
pub fn check_named_issuer(
    chain: &[CertificateDer<'_>],
    issuers: &[Vec<u8>],
) -> Result<(), CertFailure> {
    let issuer = chain
        .first()
        .and_then(|leaf| parse(leaf).map(|c| c.tbs_certificate.issuer.as_raw().to_vec()));
    match issuer {
        Some(i) if issuers.contains(&i) => Ok(()),
        _ => Err(CertFailure::Rejected),
    }
}

/// Trust anchors, the CA certificates they came from, and CRLs: everything a
/// gateway verifies client chains against.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<rustls_pki_types::TrustAnchor<'static>>,
    anchor_certs: Vec<CertificateDer<'static>>,
    crls: Vec<OwnedCertRevocationList>,
    crl_ders: Vec<CertificateRevocationListDer<'static>>,
    /// A responder asked after the chain verified (OCSP, or CRLs fetched
    /// from distribution points).
    online: Option<OnlineRevocation>,
}

impl TrustStore {
    /// Build from CA certificates (DER) and CRLs (DER). A certificate that
    /// cannot be an anchor is an error naming its index.
    pub fn new(
        cas: &[CertificateDer<'static>],
        crls: &[CertificateRevocationListDer<'static>],
    ) -> Result<Self, crate::tls::TlsError> {
        use crate::tls::TlsError;
        let mut anchors = Vec::with_capacity(cas.len());
        for (i, der) in cas.iter().enumerate() {
            let ta = webpki::anchor_from_trusted_cert(der)
                .map_err(|source| TlsError::BadTrustAnchor { index: i, source })?;
            anchors.push(ta.to_owned());
        }
        let mut owned = Vec::with_capacity(crls.len());
        for (i, der) in crls.iter().enumerate() {
            owned.push(
                OwnedCertRevocationList::from_der(der)
                    .map_err(|source| TlsError::BadCrl { index: i, source })?,
            );
        }
        Ok(TrustStore {
            anchors,
            anchor_certs: cas.to_vec(),
            crls: owned,
            crl_ders: crls.to_vec(),
            online: None,
        })
    }

    /// Also ask `online` about every chain that verifies.
    pub fn with_online(mut self, online: OnlineRevocation) -> Self {
        self.online = Some(online);
        self
    }

    pub fn online(&self) -> Option<&OnlineRevocation> {
        self.online.as_ref()
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
        let revocation = if crl_ptrs.is_empty() || !rules.checks_revocation() {
            None
        } else {
            let builder = RevocationOptionsBuilder::new(&crl_ptrs)
                .expect("non-empty CRL list")
                .with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Deny)
                .with_expiration_policy(match rules {
                    Rules::Webpki => ExpirationPolicy::Ignore,
                    Rules::OpenSsl | Rules::Go | Rules::Jsse => ExpirationPolicy::Enforce,
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
                // OpenSSL names an untrusted self-signed leaf specially, and
                // an untrusted leaf sent without its issuer too.
                if failure == CertFailure::Untrusted && is_self_issued(leaf) {
                    CertFailure::SelfSigned
                } else if failure == CertFailure::Untrusted
                    && !intermediates.iter().any(|i| issued_by(leaf, i))
                {
                    CertFailure::UntrustedLeaf
                } else {
                    failure
                }
            })?;
        if rules != Rules::Webpki {
            // OpenSSL (and Go's CheckSignatureFrom) wants keyCertSign on every issuer that has a keyUsage
            // extension; webpki does not look. For an intermediate, OpenSSL
            // 3.0's check_chain (X509_check_ca == 0) reports it as
            // X509_V_ERR_INVALID_CA (79, "invalid CA certificate", alert
            // unknown_ca): seen on real nginx, HAProxy, Apache and s_server
            // (tests/real_gateways.rs), not KEYUSAGE_NO_CERTSIGN.
            for ca in path.intermediate_certificates() {
                if lacks_key_cert_sign(ca.der().as_ref()) {
                    return Err(CertFailure::IssuerNoCertSign);
                }
            }
            // A trust anchor whose keyUsage lacks keyCertSign: OpenSSL 3.0
            // says X509_V_ERR_KEYUSAGE_NO_CERTSIGN (32), alert unknown_ca
            // (real nginx/HAProxy/Apache/s_server agree).
            let anchor_subject = path.anchor().subject.as_ref();
            let below_anchor = path.intermediate_certificates().count();
            for (ta, der) in self.anchors.iter().zip(&self.anchor_certs) {
                if ta.subject.as_ref() != anchor_subject {
                    continue;
                }
                if lacks_key_cert_sign(der) {
                    return Err(CertFailure::NoCertSign);
                }
                // Go's CheckSignatureFrom refuses any v3 issuer, the trust
                // anchor included, without basicConstraints cA (real Go
                // 1.19: chain::trust_anchor_basic_constraints_absent is
                // bad_certificate); OpenSSL trusts such an anchor.
                if matches!(rules, Rules::Go | Rules::Jsse) && !is_ca(der) {
                    return Err(CertFailure::InvalidCa);
                }
                // OpenSSL enforces the anchor's own pathLenConstraint
                // (X509_V_ERR_PATH_LENGTH_EXCEEDED, 25); webpki ignores
                // constraints on anchors. Found by `mtls-harness fidelity`.
                // Java's PKIX takes only the anchor's name and key (real
                // Tomcat serves chain::path_len_exceeded_on_trust_anchor).
                if rules != Rules::Jsse
                    && path_len(der).is_some_and(|max| below_anchor > max as usize)
                {
                    return Err(CertFailure::PathLength);
                }
            }
        }
        match &self.online {
            Some(online) if rules.checks_revocation() => {
                super::blocking(|| self.check_online(chain, online))
            }
            _ => Ok(()),
        }
    }

    /// Ask the responder about a chain that verified: OCSP for the leaf
    /// (what nginx `ssl_ocsp on` and Apache `SSLOCSPEnable leaf` check), or
    /// CRLs fetched for every issuer in the chain (CryptoAPI's default,
    /// as IIS runs it), verified by OpenSSL's rules with expiry enforced.
    fn check_online(
        &self,
        chain: &[CertificateDer<'_>],
        online: &OnlineRevocation,
    ) -> Result<(), CertFailure> {
        use crate::revocation::{client, OcspVerdict};
        let leaf = &chain[0];
        match online.check {
            RevocationCheck::CrlFile => Ok(()),
            RevocationCheck::Ocsp => {
                let issuer = self
                    .issuer_of(leaf, &chain[1..])
                    .ok_or(CertFailure::Untrusted)?;
                // The responder the certificate names (authorityInfoAccess),
                // as nginx and Apache ask it without an override.
                let url = client::ocsp_url_of(leaf).ok_or(CertFailure::RevocationUnavailable(
                    crate::revocation::ResponderFailure::NoUrl,
                ))?;
                match client::ocsp_status(&url, leaf, &issuer, online.timeout) {
                    Ok(OcspVerdict::Good) => Ok(()),
                    Ok(OcspVerdict::Revoked) => Err(CertFailure::Revoked),
                    Ok(OcspVerdict::Unknown) => Err(CertFailure::RevocationUnknown),
                    Err(why) => Err(CertFailure::RevocationUnavailable(why)),
                }
            }
            RevocationCheck::CrlDistributionPoint => {
                let mut crls = self.crl_ders.clone();
                for cert in chain {
                    let Some(c) = parse(cert) else { continue };
                    let issuer = c.tbs_certificate.issuer.as_raw();
                    if c.tbs_certificate.subject.as_raw() == issuer {
                        continue;
                    }
                    // CryptoAPI fetches from the certificate's own
                    // distribution point; none is "revocation unknown".
                    let url = client::crl_urls_of(cert).into_iter().next().ok_or(
                        CertFailure::RevocationUnavailable(
                            crate::revocation::ResponderFailure::NoUrl,
                        ),
                    )?;
                    let der = client::fetch_crl_url(&url, online.timeout)
                        .map_err(CertFailure::RevocationUnavailable)?;
                    crls.push(CertificateRevocationListDer::from(der));
                }
                let fetched = TrustStore::new(&self.anchor_certs, &crls).map_err(|e| {
                    CertFailure::RevocationUnavailable(
                        crate::revocation::ResponderFailure::Malformed(e.to_string()),
                    )
                })?;
                match fetched.verify_client_chain(chain, Rules::OpenSsl) {
                    Err(CertFailure::CrlExpired) => Err(CertFailure::RevocationUnavailable(
                        crate::revocation::ResponderFailure::Stale,
                    )),
                    other => other,
                }
            }
        }
    }

    /// The certificate (sent or trusted) that issued `cert`.
    fn issuer_of(&self, cert: &CertificateDer<'_>, sent: &[CertificateDer<'_>]) -> Option<Vec<u8>> {
        sent.iter()
            .map(|c| c.as_ref())
            .chain(self.anchor_certs.iter().map(|c| c.as_ref()))
            .find(|i| issued_by(cert, i))
            .map(<[u8]>::to_vec)
    }
}

fn parse(der: &[u8]) -> Option<x509_parser::certificate::X509Certificate<'_>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, c)| c)
}

/// `subject`'s issuer name is `issuer`'s subject name.
fn issued_by(subject: &[u8], issuer: &[u8]) -> bool {
    match (parse(subject), parse(issuer)) {
        (Some(s), Some(i)) => {
            s.tbs_certificate.issuer.as_raw() == i.tbs_certificate.subject.as_raw()
        }
        _ => false,
    }
}

fn is_self_issued(der: &[u8]) -> bool {
    parse(der)
        .is_some_and(|c| c.tbs_certificate.subject.as_raw() == c.tbs_certificate.issuer.as_raw())
}

/// basicConstraints present with cA true.
fn is_ca(der: &[u8]) -> bool {
    parse(der)
        .and_then(|c| c.basic_constraints().ok().flatten().map(|bc| bc.value.ca))
        .unwrap_or(false)
}

/// The pathLenConstraint of a CA certificate's basicConstraints, if any.
fn path_len(der: &[u8]) -> Option<u32> {
    parse(der)?
        .basic_constraints()
        .ok()
        .flatten()?
        .value
        .path_len_constraint
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
