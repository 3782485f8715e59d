//! Envoy. `require`: `require_client_certificate: true` (BoringSSL aborts the
//! handshake). `rbac`: certificate optional in TLS, an RBAC filter requiring
//! an authenticated principal answers 403 "RBAC: access denied"; a presented
//! certificate that fails validation still aborts the handshake. `optional`:
//! `require_client_certificate: false` and no RBAC filter.

use super::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["require", "rbac", "optional"];

pub(super) fn enforcement(mode: &str, required: bool) -> Enforcement {
    Enforcement::Handshake {
        rules: Rules::OpenSsl,
        cert_mandatory: required && mode == "require",
        openssl_alerts: true,
    }
}

pub(super) fn respond(mode: &str, status: &ClientCertStatus) -> GatewayResponse {
    match (mode, status) {
        ("rbac", ClientCertStatus::NotSent | ClientCertStatus::NotRequested) => {
            GatewayResponse::text(
                403,
                "RBAC: access denied",
                "rbac_access_denied_matched_policy[none]",
            )
        }
        (_, other) => GatewayResponse::ok(other),
    }
}
