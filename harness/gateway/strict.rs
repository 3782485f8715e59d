//! rustls itself as the gateway: `WebPkiClientVerifier`, rustls's alerts.

use super::Enforcement;
use crate::tls::verify::Rules;

pub(super) fn enforcement(required: bool) -> Enforcement {
    Enforcement::Handshake {
        rules: Rules::Webpki,
        cert_mandatory: required,
        openssl_alerts: false,
    }
}
