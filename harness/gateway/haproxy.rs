//! HAProxy `bind ... ssl verify required` (alerts from OpenSSL), or
//! `verify optional` with `ca-ignore-err all crt-ignore-err all` and
//! `http-request deny if !{ ssl_c_used } || !{ ssl_c_verify 0 }` (403), or
//! plain `verify optional` (none is served; a bad one is an alert).

use super::Posture;
use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

profile_modes! {
    /// HAProxy `bind ... ssl verify`.
    pub enum HaproxyMode {
        /// `verify required`: OpenSSL aborts the handshake with its alert.
        Required = "required",
        /// `verify optional` + `ca-ignore-err all crt-ignore-err all` + `http-request deny` on `ssl_c_used`/`ssl_c_verify`: 403.
        OptionalDeny = "optional-deny",
        /// `verify optional`: no certificate is served; a bad one is an alert.
        Optional = "optional",
    }
}

pub struct Haproxy;

impl Profile for Haproxy {
    type Mode = HaproxyMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "haproxy",
        summary: "HAProxy `bind ... ssl verify`: OpenSSL's alerts, or a 403 from `http-request deny`",
        sources: &[
            "HAProxy configuration manual: `verify`, `ca-file`, `ca-verify-file`, `ca-ignore-err`, `crt-ignore-err`, `ssl_c_used`, `ssl_c_verify`",
            "OpenSSL 3.0 ssl/statem/statem_lib.c `ssl_verify_alarm_type`",
            "measured: real HAProxy 2.6 and `openssl s_server` in `mtls-harness fidelity` (docs/fidelity.md)",
            "HAProxy 2.6 has no OCSP check of client certificates (`crl-file` only; OCSP there is stapling of its own certificate) and fetches no CRL distribution point: `[revocation]` OCSP and CDP rows are 200 (measured, docs/fidelity.md)",
        ],
    };

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            HaproxyMode::Optional => Some(Posture::OptionalVerified),
            _ => None,
        }
    }

    fn enforcement(mode: HaproxyMode, asks: bool) -> Enforcement {
        match mode {
            HaproxyMode::OptionalDeny => Enforcement::Http {
                rules: Rules::OpenSsl,
            },
            HaproxyMode::Required | HaproxyMode::Optional => Enforcement::Handshake {
                rules: Rules::OpenSsl,
                cert_mandatory: asks && mode == HaproxyMode::Required,
                openssl_alerts: true,
            },
        }
    }

    fn respond(mode: HaproxyMode, status: &ClientCertStatus) -> GatewayResponse {
        let deny = |why: String| {
            GatewayResponse::html(
                403,
                "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n".into(),
                format!("http-request deny: {why}"),
            )
        };
        match (mode, status) {
            (
                HaproxyMode::OptionalDeny,
                ClientCertStatus::NotSent | ClientCertStatus::NotRequested,
            ) => deny("ssl_c_used is false".into()),
            (HaproxyMode::OptionalDeny, ClientCertStatus::Failed(f)) => {
                deny(format!("ssl_c_verify is not 0 ({f})"))
            }
            (_, other) => accepted(other),
        }
    }
}
