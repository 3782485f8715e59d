//! HAProxy `bind ... ssl verify required` (alerts from OpenSSL), or
//! `verify optional` with `ca-ignore-err all crt-ignore-err all` and
//! `http-request deny if !{ ssl_c_used } || !{ ssl_c_verify 0 }` (403), or
//! plain `verify optional` (none is served; a bad one is an alert).

use super::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["required", "optional-deny", "optional"];

pub(super) fn enforcement(mode: &str, required: bool) -> Enforcement {
    match mode {
        "optional-deny" => Enforcement::Http {
            rules: Rules::OpenSsl,
        },
        _ => Enforcement::Handshake {
            rules: Rules::OpenSsl,
            cert_mandatory: required && mode != "optional",
            openssl_alerts: true,
        },
    }
}

pub(super) fn respond(mode: &str, status: &ClientCertStatus) -> GatewayResponse {
    let deny = |why: String| {
        GatewayResponse::html(
            403,
            "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n".into(),
            format!("http-request deny: {why}"),
        )
    };
    match (mode, status) {
        ("optional-deny", ClientCertStatus::NotSent | ClientCertStatus::NotRequested) => {
            deny("ssl_c_used is false".into())
        }
        ("optional-deny", ClientCertStatus::Failed(f)) => {
            deny(format!("ssl_c_verify is not 0 ({f})"))
        }
        (_, other) => GatewayResponse::ok(other),
    }
}
