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
    revocation_crl_keeping(ca, &[])
}

/// As [`revocation_crl`], also listing `also` (serials, big-endian bytes: a
/// CRL the directory already had keeps what it revoked).
pub fn revocation_crl_keeping(
    ca: &IssuedCert,
    also: &[Vec<u8>],
) -> Result<CertificateRevocationListDer<'static>, PkiError> {
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
        revoked_certs: std::iter::once(revoked_serial(ca))
            .chain(also.iter().map(|s| SerialNumber::from_slice(s)))
            .map(|serial_number| RevokedCertParams {
                serial_number,
                revocation_time: now - Duration::hours(2),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
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

/// The serials a CRL (DER) lists, big-endian bytes; none if it does not parse.
pub fn listed_serials(der: &[u8]) -> Vec<Vec<u8>> {
    use x509_parser::prelude::FromDer;
    match x509_parser::revocation_list::CertificateRevocationList::from_der(der) {
        Ok((_, crl)) => crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Pki, PkiSpec};

    fn root() -> IssuedCert {
        let spec =
            PkiSpec::from_toml("[[cert]]\nname = \"root\"\nrole = \"root\"\n", "t").expect("spec");
        Pki::generate(&spec)
            .expect("pki")
            .cert("root")
            .expect("root")
            .clone()
    }

    #[test]
    fn the_crl_lists_the_reserved_serial_and_keeps_earlier_ones() {
        let ca = root();
        let crl = revocation_crl_keeping(&ca, &[vec![0x12, 0x34]]).expect("crl");
        assert!(lists_revoked_serial(&ca, &crl));
        let serials = listed_serials(&crl);
        assert!(serials.contains(&vec![0x12, 0x34]), "{serials:?}");
        assert_eq!(serials.len(), 2);
        // Stable: the same CA reserves the same serial every run.
        assert_eq!(revoked_serial(&ca), revoked_serial(&ca));
    }

    #[test]
    fn a_revoked_subject_of_an_adopted_root_carries_the_reserved_serial() {
        let ca = root();
        let spec = PkiSpec::from_toml(
            "[[cert]]\nname = \"r\"\nrole = \"root\"\n[[cert]]\nname = \"bob\"\nrole = \"client\"\nissuer = \"r\"\ndefects = [\"revoked\"]\n",
            "t",
        )
        .expect("spec");
        let pki = Pki::generate_adopting(
            &spec,
            std::collections::HashMap::from([("r".to_string(), ca.clone())]),
        )
        .expect("pki");
        let bob = pki.cert("bob").expect("bob");
        assert_eq!(
            pki.cert("r").expect("r").der,
            ca.der,
            "the root is adopted as is"
        );
        let want = revoked_serial(&ca);
        assert_eq!(bob.serial, crate::pki::x509::hex(want.as_ref()));
    }
}
