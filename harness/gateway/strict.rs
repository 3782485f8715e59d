//! rustls itself as the gateway: `WebPkiClientVerifier`, rustls's alerts.

use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// rustls's client-certificate verifier.
    pub enum StrictMode {
        /// A missing certificate aborts the handshake (certificate_required, on TLS 1.2 too).
        Required = "required",
        /// `allow_unauthenticated()`: no certificate is served; a bad one is an alert.
        Optional = "optional",
    }
}

pub struct Strict;

impl Profile for Strict {
    type Mode = StrictMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "strict",
        summary: "rustls's own server: verification in the handshake, rustls's alerts",
        sources: &[
            "rustls 0.23 `WebPkiClientVerifier` (server/webpki_verifier.rs) and its `AlertDescription::from(CertificateError)` table",
            "rustls sends certificate_required for a missing certificate on TLS 1.2 too (server/tls12.rs)",
            "revocation: CRLs only (`with_crls`), no OCSP and no CRL distribution points, so `[revocation] check = \"ocsp\"` or `\"crl-distribution-point\"` is ignored; with CRLs, status for the whole chain (`RevocationCheckDepth::Chain`), an issuer without a CRL is refused (`UnknownStatusPolicy::Deny`, the default; `allow_unknown_revocation_status` would let it in), and CRL nextUpdate is ignored (`ExpirationPolicy::Ignore`, the default)",
        ],
    };

    fn enforcement(mode: StrictMode, asks: bool) -> Enforcement {
        Enforcement::Handshake {
            rules: Rules::Webpki,
            cert_mandatory: asks && mode == StrictMode::Required,
            openssl_alerts: false,
        }
    }

    fn respond(_mode: StrictMode, status: &ClientCertStatus) -> GatewayResponse {
        accepted(status)
    }

    fn handshake_failure_log(alert: &str, failure: Option<&CertFailure>) -> String {
        format!(
            "TLS handshake failed: sent alert {alert}{}",
            super::profile::reason(failure)
        )
    }
}
