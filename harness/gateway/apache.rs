//! Apache httpd mod_ssl. `per-server`: `SSLVerifyClient require` in the
//! virtual host, so OpenSSL aborts the handshake (TLS 1.3 certificate_required,
//! TLS 1.2 handshake_failure). `per-directory`: the directive in a
//! `<Location>`, where the certificate can only be asked for after the
//! handshake; a client that cannot give one there gets 403. `optional`:
//! `SSLVerifyClient optional` (none is served; a bad one is an alert).

use super::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["per-server", "per-directory", "optional"];

pub(super) fn enforcement(mode: &str, required: bool) -> Enforcement {
    match mode {
        "per-directory" => Enforcement::Http {
            rules: Rules::OpenSsl,
        },
        _ => Enforcement::Handshake {
            rules: Rules::OpenSsl,
            cert_mandatory: required && mode != "optional",
            openssl_alerts: true,
        },
    }
}

fn forbidden(log: String) -> GatewayResponse {
    GatewayResponse::html(
        403,
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n</body></html>\n".into(),
        log,
    )
}

pub(super) fn respond(mode: &str, status: &ClientCertStatus) -> GatewayResponse {
    match (mode, status) {
        ("per-directory", ClientCertStatus::NotSent | ClientCertStatus::NotRequested) => {
            forbidden("AH02261: Re-negotiation handshake failed: client sent no certificate".into())
        }
        ("per-directory", ClientCertStatus::Failed(f)) => {
            forbidden(format!("AH02039: Certificate Verification: Error: {f}"))
        }
        (_, other) => GatewayResponse::ok(other),
    }
}
