//! Envoy. `require`: `require_client_certificate: true` (BoringSSL aborts the
//! handshake). `rbac`: certificate optional in TLS, an RBAC filter requiring
//! an authenticated principal answers 403 "RBAC: access denied"; a presented
//! certificate that fails validation still aborts the handshake. `optional`:
//! `require_client_certificate: false` and no RBAC filter.

use super::Posture;
use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// Envoy's downstream TLS context and filters.
    pub enum EnvoyMode {
        /// `require_client_certificate: true`: the handshake aborts without one.
        Require = "require",
        /// Certificate optional in TLS; an RBAC filter requiring an authenticated principal answers 403.
        Rbac = "rbac",
        /// `require_client_certificate: false`, no RBAC filter: no certificate is served.
        Optional = "optional",
    }
}

pub struct Envoy;

impl Profile for Envoy {
    type Mode = EnvoyMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "envoy",
        summary: "Envoy `DownstreamTlsContext`: alerts in the handshake, or RBAC's 403",
        sources: &[
            "Envoy API: extensions.transport_sockets.tls.v3.DownstreamTlsContext `require_client_certificate`",
            "Envoy RBAC HTTP filter: 403 \"RBAC: access denied\"",
            "BoringSSL's alerts for verification failures (ssl/handshake.cc `ssl_verify_peer_cert`)",
            "Envoy `CertificateValidationContext`: `crl` only; no OCSP check of client certificates (`ocsp_staple_policy` is for its own certificate) and no CRL distribution points",
        ],
    };

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            EnvoyMode::Optional => Some(Posture::OptionalVerified),
            _ => None,
        }
    }

    fn enforcement(mode: EnvoyMode, asks: bool) -> Enforcement {
        Enforcement::Handshake {
            rules: Rules::OpenSsl,
            cert_mandatory: asks && mode == EnvoyMode::Require,
            openssl_alerts: true,
        }
    }

    fn respond(mode: EnvoyMode, status: &ClientCertStatus) -> GatewayResponse {
        match (mode, status) {
            (EnvoyMode::Rbac, ClientCertStatus::NotSent | ClientCertStatus::NotRequested) => {
                GatewayResponse::text(
                    403,
                    "RBAC: access denied",
                    "rbac_access_denied_matched_policy[none]",
                )
            }
            (_, other) => accepted(other),
        }
    }

    fn handshake_failure_log(alert: &str, failure: Option<&CertFailure>) -> String {
        format!("TLS error: {alert}{}", super::profile::reason(failure))
    }
}
