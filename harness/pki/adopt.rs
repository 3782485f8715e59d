//! Adopting a CA the caller holds: a target trusts the root of a PKI
//! directory (whose key the directory holds), so what a scenario presents is
//! minted under that root rather than a fresh one. Revoked subjects of an
//! adopted CA carry one serial reserved per CA, which the CRL written next to
//! it lists: a gateway that loaded that CRL refuses them, one that did not
//! accepts them.

use super::error::{GenerateError, PkiError};
use super::IssuedCert;
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateRevocationListDer;
use time::{Duration, OffsetDateTime};

/// The serial every revoked subject of `ca` carries: derived from the CA's
/// certificate, so the CRL written once stays right for every later run.
pub fn revoked_serial(ca: &IssuedCert) -> SerialNumber {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        &[b"mtls-harness revoked serial\0".as_slice(), ca.der.as_ref()].concat(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    bytes[0] = (bytes[0] & 0x7f) | 0x10; // positive, no leading zero
    SerialNumber::from_slice(&bytes)
}

/// The CRL of `ca` listing [`revoked_serial`]: thisUpdate an hour ago,
/// nextUpdate in a year (a gateway refuses every certificate once the CRL it
/// loaded is past nextUpdate, and this one is written once for a long-lived
/// test gateway).
pub fn revocation_crl(ca: &IssuedCert) -> Result<CertificateRevocationListDer<'static>, PkiError> {
    let failed = |source: GenerateError| PkiError::Generate {
        name: format!("{}.crl", ca.name),
        source,
    };
    let key = KeyPair::try_from(ca.key_pkcs8.as_slice()).map_err(|e| failed(e.into()))?;
    let issuer = Issuer::from_ca_cert_der(&ca.der, key).map_err(|e| failed(e.into()))?;
    let now = OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(365),
        crl_number: SerialNumber::from(2u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: revoked_serial(ca),
            revocation_time: now - Duration::hours(2),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer).map_err(|e| failed(e.into()))?;
    Ok(crl.der().clone())
}

/// Whether the CRL `der` lists `ca`'s reserved revoked serial.
pub fn lists_revoked_serial(ca: &IssuedCert, der: &[u8]) -> bool {
    use x509_parser::prelude::FromDer;
    let want = revoked_serial(ca);
    let Ok((_, crl)) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
    else {
        return false;
    };
    let found = crl
        .iter_revoked_certificates()
        .any(|r| r.raw_serial() == want.as_ref());
    found
}
