//! Apache httpd mod_ssl. `per-server`: `SSLVerifyClient require` in the
//! virtual host, so OpenSSL aborts the handshake (TLS 1.3 certificate_required,
//! TLS 1.2 handshake_failure). `per-directory`: the directive in a
//! `<Location>`, where the certificate can only be asked for after the
//! request arrived: by renegotiation on TLS 1.2, by post-handshake
//! authentication on TLS 1.3. Real Apache 2.4 against a rustls client (which
//! does neither), whatever certificate the client holds: TLS 1.2, "AH02261:
//! Re-negotiation handshake failed" and a fatal handshake_failure alert;
//! TLS 1.3, "AH10158: cannot perform post-handshake authentication" and 403.
//!
//! `optional`: `SSLVerifyClient optional` (none is served; a bad one is an alert).

use super::{ClientCertStatus, Enforcement, GatewayResponse, PostHandshakeRefusal};
use crate::observation::TlsVersion;
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["per-server", "per-directory", "optional"];

pub(super) fn enforcement(mode: &str, required: bool) -> Enforcement {
    match mode {
        "per-directory" => Enforcement::PostHandshake,
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

pub(super) fn respond(_mode: &str, status: &ClientCertStatus) -> GatewayResponse {
    // per-directory never gets here with a certificate question open: see
    // `post_handshake_refusal`.
    GatewayResponse::ok(status)
}

pub(super) fn post_handshake_refusal(version: TlsVersion) -> PostHandshakeRefusal {
    match version {
        TlsVersion::Tls12 => PostHandshakeRefusal::Alert {
            alert: rustls::AlertDescription::HandshakeFailure,
            log: "AH02261: Re-negotiation handshake failed (client refused renegotiation: no_renegotiation)".into(),
        },
        TlsVersion::Tls13 => PostHandshakeRefusal::Http(forbidden(
            "AH10158: cannot perform post-handshake authentication (client did not offer post_handshake_auth)".into(),
        )),
    }
}
