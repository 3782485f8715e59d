//! Certificate revocation lists: current ones (nextUpdate in a week), expired
//! ones (`crl-expired`), and the empty CRL every other CA publishes.

use rcgen::{
    CertificateParams, CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use time::{Duration, OffsetDateTime};

/// A CRL signed by the CA `issuer_params`/`key`: current or (`expired`) past
/// its nextUpdate, listing `serials` as revoked (keyCompromise).
pub fn sign(
    issuer_params: &CertificateParams,
    key: &KeyPair,
    now: OffsetDateTime,
    expired: bool,
    serials: &[SerialNumber],
) -> Result<CertificateRevocationListDer<'static>, rcgen::Error> {
    let crl = params(now, expired, serials).signed_by(&Issuer::from_params(issuer_params, key))?;
    Ok(crl.der().clone())
}

/// An empty, current CRL of the CA `cert_der`, signed with `key_pkcs8` (used
/// when loading a PKI directory, so that every loaded CA can publish a CRL as a
/// generated one can).
pub fn empty(
    cert_der: &CertificateDer<'_>,
    key_pkcs8: &[u8],
) -> Result<CertificateRevocationListDer<'static>, rcgen::Error> {
    let key = KeyPair::try_from(key_pkcs8)?;
    let issuer = Issuer::from_ca_cert_der(cert_der, key)?;
    let crl = params(OffsetDateTime::now_utc(), false, &[]).signed_by(&issuer)?;
    Ok(crl.der().clone())
}

/// thisUpdate an hour ago and nextUpdate in 7 days; expired: 30 days ago and
/// yesterday. Revocation time: two hours ago.
fn params(
    now: OffsetDateTime,
    expired: bool,
    serials: &[SerialNumber],
) -> CertificateRevocationListParams {
    let (this_update, next_update) = if expired {
        (now - Duration::days(30), now - Duration::days(1))
    } else {
        (now - Duration::hours(1), now + Duration::days(7))
    };
    CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: s.clone(),
                revocation_time: now - Duration::hours(2),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

/// A CRL of the CA `cert_der` (key `key_pkcs8` of `key_type`), signed now:
/// current, or (`expired`) past its nextUpdate, listing `serials` (content
/// octets) as revoked. What a CRL server hands out.
pub fn sign_for(
    cert_der: &[u8],
    key_pkcs8: &[u8],
    key_type: super::KeyType,
    now: OffsetDateTime,
    expired: bool,
    serials: &[Vec<u8>],
) -> Result<CertificateRevocationListDer<'static>, rcgen::Error> {
    let key = KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(key_pkcs8.to_vec()),
        super::keys::signature_algorithm(key_type),
    )?;
    let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(cert_der.to_vec()), key)?;
    let serials: Vec<SerialNumber> = serials
        .iter()
        .map(|s| SerialNumber::from_slice(s))
        .collect();
    let crl = params(now, expired, &serials).signed_by(&issuer)?;
    Ok(crl.der().clone())
}
