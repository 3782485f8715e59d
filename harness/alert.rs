//! The one alert table: each TLS alert's code, its RFC 8446 snake_case name
//! (the spelling scenario files and reports use), the rustls variant, and the
//! OpenSSL verify errors (`X509_V_ERR_*`) that OpenSSL's
//! `ssl_verify_alarm_type` turns into it. Classification (what was on the
//! wire), validation (what a scenario may expect) and the profiles (what an
//! OpenSSL-based gateway sends) all read this table, so they cannot disagree.

use rustls::AlertDescription as A;

/// One TLS alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertInfo {
    pub code: u8,
    /// RFC 8446 §6 name, snake_case (`unknown_ca`, `unrecognized_name`).
    pub name: &'static str,
    pub rustls: A,
    /// The `X509_V_ERR_*` numbers OpenSSL answers with this alert when
    /// client-certificate verification fails.
    pub openssl_verify_errors: &'static [u32],
}

const fn alert(code: u8, name: &'static str, rustls: A) -> AlertInfo {
    AlertInfo {
        code,
        name,
        rustls,
        openssl_verify_errors: &[],
    }
}

const fn alert_for(
    code: u8,
    name: &'static str,
    rustls: A,
    openssl_verify_errors: &'static [u32],
) -> AlertInfo {
    AlertInfo {
        code,
        name,
        rustls,
        openssl_verify_errors,
    }
}

/// Every alert a TLS 1.2 or 1.3 peer may send: RFC 8446 §6 plus the rest of
/// rustls's `AlertDescription`, except the SSLv3-era `no_certificate` and
/// `export_restriction`, which no TLS 1.2/1.3 peer sends.
///
/// The verify-error column follows OpenSSL 3.0's `ssl_verify_alarm_type`
/// (ssl/statem/statem_lib.c); an error not listed there is
/// `certificate_unknown`. 79 is the number OpenSSL 3.0 reports first for an
/// issuer that may not sign certificates (see `tls::verify::CertFailure`).
pub static ALERTS: [AlertInfo; 33] = [
    alert(0, "close_notify", A::CloseNotify),
    alert(10, "unexpected_message", A::UnexpectedMessage),
    alert(20, "bad_record_mac", A::BadRecordMac),
    alert(21, "decryption_failed", A::DecryptionFailed),
    alert(22, "record_overflow", A::RecordOverflow),
    alert(30, "decompression_failure", A::DecompressionFailure),
    // APPLICATION_VERIFICATION: what mod_ssl sets for an OCSP status
    // other than good or revoked (ssl_verify_ocsp).
    alert_for(40, "handshake_failure", A::HandshakeFailure, &[50]),
    // CERT_NOT_YET_VALID, CRL_NOT_YET_VALID, CERT_UNTRUSTED, CERT_REJECTED,
    // UNABLE_TO_DECRYPT_CERT_SIGNATURE, UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY.
    alert_for(
        42,
        "bad_certificate",
        A::BadCertificate,
        &[9, 11, 27, 28, 4, 6],
    ),
    // INVALID_PURPOSE.
    alert_for(
        43,
        "unsupported_certificate",
        A::UnsupportedCertificate,
        &[26],
    ),
    alert_for(44, "certificate_revoked", A::CertificateRevoked, &[23]),
    // CERT_HAS_EXPIRED, CRL_HAS_EXPIRED.
    alert_for(45, "certificate_expired", A::CertificateExpired, &[10, 12]),
    // The default; SUBTREE_VIOLATION (47) falls to it.
    alert_for(46, "certificate_unknown", A::CertificateUnknown, &[47]),
    alert(47, "illegal_parameter", A::IllegalParameter),
    // UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), UNABLE_TO_VERIFY_LEAF_SIGNATURE,
    // UNABLE_TO_GET_CRL(_ISSUER), DEPTH_ZERO_SELF_SIGNED_CERT,
    // SELF_SIGNED_CERT_IN_CHAIN, CERT_CHAIN_TOO_LONG, INVALID_CA,
    // PATH_LENGTH_EXCEEDED, KEYUSAGE_NO_CERTSIGN.
    alert_for(
        48,
        "unknown_ca",
        A::UnknownCA,
        &[2, 20, 21, 3, 33, 18, 19, 22, 24, 79, 25, 32],
    ),
    alert(49, "access_denied", A::AccessDenied),
    alert(50, "decode_error", A::DecodeError),
    // CERT_SIGNATURE_FAILURE, CRL_SIGNATURE_FAILURE.
    alert_for(51, "decrypt_error", A::DecryptError, &[7, 8]),
    alert(70, "protocol_version", A::ProtocolVersion),
    alert(71, "insufficient_security", A::InsufficientSecurity),
    // OUT_OF_MEM.
    alert_for(80, "internal_error", A::InternalError, &[17]),
    alert(86, "inappropriate_fallback", A::InappropriateFallback),
    alert(90, "user_canceled", A::UserCanceled),
    alert(100, "no_renegotiation", A::NoRenegotiation),
    alert(109, "missing_extension", A::MissingExtension),
    alert(110, "unsupported_extension", A::UnsupportedExtension),
    alert(111, "certificate_unobtainable", A::CertificateUnobtainable),
    alert(112, "unrecognized_name", A::UnrecognisedName),
    alert(
        113,
        "bad_certificate_status_response",
        A::BadCertificateStatusResponse,
    ),
    alert(
        114,
        "bad_certificate_hash_value",
        A::BadCertificateHashValue,
    ),
    alert(115, "unknown_psk_identity", A::UnknownPSKIdentity),
    alert(116, "certificate_required", A::CertificateRequired),
    alert(120, "no_application_protocol", A::NoApplicationProtocol),
    alert(
        121,
        "encrypted_client_hello_required",
        A::EncryptedClientHelloRequired,
    ),
];

/// The alert named `name` (exact snake_case).
pub fn by_name(name: &str) -> Option<&'static AlertInfo> {
    ALERTS.iter().find(|a| a.name == name)
}

/// The alert with wire code `code`.
pub fn by_code(code: u8) -> Option<&'static AlertInfo> {
    ALERTS.iter().find(|a| a.code == code)
}

/// Whether `name` is a known alert name (exact snake_case).
pub fn is_known(name: &str) -> bool {
    by_name(name).is_some()
}

/// The name of a rustls alert as scenario files and reports spell it; an
/// alert outside the table is `unknown_alert_<code>`.
pub fn name_of(a: A) -> String {
    let code = u8::from(a);
    match by_code(code) {
        Some(info) => info.name.to_string(),
        None => format!("unknown_alert_{code}"),
    }
}

/// The alert OpenSSL sends when verification fails with `X509_V_ERR_*`
/// number `code` (`None`: an error OpenSSL has no number for here).
pub fn for_openssl_verify_error(code: Option<u32>) -> &'static AlertInfo {
    code.and_then(|c| ALERTS.iter().find(|a| a.openssl_verify_errors.contains(&c)))
        .unwrap_or_else(|| by_name("certificate_unknown").expect("in the table"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_round_trips_code_name_and_rustls_variant() {
        for a in &ALERTS {
            assert_eq!(by_name(a.name), Some(a), "{}", a.name);
            assert_eq!(by_code(a.code), Some(a), "{}", a.name);
            assert_eq!(u8::from(a.rustls), a.code, "{}", a.name);
            assert_eq!(A::from(a.code), a.rustls, "{}", a.name);
            assert_eq!(name_of(a.rustls), a.name);
        }
    }

    #[test]
    fn names_are_rfc_snake_case_and_unique() {
        for (i, a) in ALERTS.iter().enumerate() {
            assert!(
                a.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                a.name
            );
            assert!(ALERTS[..i]
                .iter()
                .all(|b| b.name != a.name && b.code != a.code));
        }
        // RFC spelling, not rustls's British variant name.
        assert_eq!(name_of(A::UnrecognisedName), "unrecognized_name");
        assert_eq!(name_of(A::UnknownCA), "unknown_ca");
        assert!(!is_known("no_certificate"));
        assert!(!is_known("UnknownCA"));
        assert_eq!(name_of(A::Unknown(41)), "unknown_alert_41");
    }

    #[test]
    fn each_openssl_verify_error_maps_to_exactly_one_alert() {
        let mut seen = std::collections::BTreeMap::new();
        for a in &ALERTS {
            for e in a.openssl_verify_errors {
                assert!(
                    seen.insert(*e, a.name).is_none(),
                    "X509_V_ERR {e} listed twice"
                );
            }
        }
        assert_eq!(for_openssl_verify_error(Some(20)).name, "unknown_ca");
        assert_eq!(
            for_openssl_verify_error(Some(10)).name,
            "certificate_expired"
        );
        assert_eq!(
            for_openssl_verify_error(Some(26)).name,
            "unsupported_certificate"
        );
        assert_eq!(
            for_openssl_verify_error(Some(9999)).name,
            "certificate_unknown"
        );
        assert_eq!(for_openssl_verify_error(None).name, "certificate_unknown");
    }
}
