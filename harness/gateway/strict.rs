//! rustls itself as the gateway: `WebPkiClientVerifier`, rustls's alerts.
//! `required` (default): a missing certificate aborts the handshake;
//! `optional`: `allow_unauthenticated()`.

use super::Enforcement;
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["required", "optional"];

pub(super) fn enforcement(mode: &str, requested: bool) -> Enforcement {
    Enforcement::Handshake {
        rules: Rules::Webpki,
        cert_mandatory: requested && mode != "optional",
        openssl_alerts: false,
    }
}
