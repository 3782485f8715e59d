//! IIS with "Require SSL" and client certificates `require` (or `negotiate`,
//! IIS "Accept"): the handshake completes and IIS answers 403 with a
//! substatus: 403.7 none sent, 403.13 revoked, 403.16 untrusted or invalid,
//! 403.17 expired or not yet valid.

use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::knobs::RevocationCheck;
use crate::observation::TlsVersion;
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse, PostHandshakeRefusal};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// IIS SSL settings, client certificates.
    pub enum IisMode {
        /// "Require": no certificate -> 403.7.
        Require = "require",
        /// "Accept" (`negotiate`): no certificate is served; a bad one -> 403.13 / 403.16 / 403.17.
        Negotiate = "negotiate",
        /// "Require" on one path only (`<location>` with `sslFlags="Ssl, SslRequireCert"`, `clientcertnegotiation` off): HTTP.sys asks after the request, by renegotiation on TLS 1.2; on TLS 1.3 it cannot (no post-handshake auth).
        PerPath = "per-path",
    }
}

pub struct Iis;

impl Profile for Iis {
    type Mode = IisMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "iis",
        summary: "IIS with Require SSL and client certificates: the handshake completes, 403.x decides",
        sources: &[
            "Microsoft, \"The HTTP status code in IIS\": substatus codes 403.7, 403.13, 403.16, 403.17",
            "Microsoft KB 933430 and KB 2801679 (event 36885): Schannel's trusted issuer list is cut at 16 KB (`SendTrustedIssuerList`)",
            "seed 003: 405 trusted roots, about 133 sent, the client found no match and sent none -> 403.7",
            "`per-path` (documented only, no IIS runs here): the IIS support blog \"How it works on the wire: IIS HTTP client certificate authentication\" (2013): HTTP.sys answers the request with a renegotiation that asks for the certificate, and a client that sends none gets 403.7; the IIS support blog \"Addressing TLS 1.3 compatibility issues in IIS Express on Windows 11\" (2025-08-29): HTTP.sys has no post-handshake authentication, and on TLS 1.3 Windows 11 24H2 and Windows Server 2025 answer 500.0 with error code 0x80070032 (ERROR_NOT_SUPPORTED) whatever the client offers (earlier versions reset the connection)",
            "Microsoft KB 294305 and KB 884115, and the IIS support blog on CertCheckMode and RevocationFreshnessTime: 403.13 whenever no fresh revocation answer is had (CDP unreachable or timed out, CRL expired, status unknown); CryptoAPI's URL retrieval timeout defaults to 15 s per URL (20 s for the whole chain). Not measured here: no IIS runs on this machine",
        ],
    };

    fn online_revocation(_mode: IisMode) -> &'static [RevocationCheck] {
        // CryptoAPI: OCSP when the certificate names a responder, else the
        // CRL distribution point.
        &[RevocationCheck::Ocsp, RevocationCheck::CrlDistributionPoint]
    }

    fn enforcement(mode: IisMode, _asks: bool) -> Enforcement {
        match mode {
            IisMode::PerPath => Enforcement::PostHandshake,
            // CryptoAPI chain building checks keyCertSign too.
            IisMode::Require | IisMode::Negotiate => Enforcement::Http {
                rules: Rules::OpenSsl,
            },
        }
    }

    fn after_request_mode() -> Option<IisMode> {
        Some(IisMode::PerPath)
    }

    fn answered_after_request(_mode: IisMode, version: TlsVersion) -> Option<Enforcement> {
        // The renegotiated handshake carries the certificate; IIS then
        // answers as `require`. HTTP.sys has no post-handshake auth.
        (version == TlsVersion::Tls12).then_some(Enforcement::Http {
            rules: Rules::OpenSsl,
        })
    }

    fn post_handshake_refusal(mode: IisMode, version: TlsVersion) -> PostHandshakeRefusal {
        match version {
            TlsVersion::Tls12 => PostHandshakeRefusal::Http(answer(mode, &ClientCertStatus::NotSent)),
            TlsVersion::Tls13 => PostHandshakeRefusal::Http(not_supported()),
        }
    }

    fn respond(mode: IisMode, status: &ClientCertStatus) -> GatewayResponse {
        answer(mode, status)
    }
}

fn page(sub: u16, title: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<title>IIS 10.0 Detailed Error - 403.{sub} - Forbidden</title>\r\n</head>\r\n<body>\r\n<div id=\"content\">\r\n<div class=\"content-container\">\r\n<h3>HTTP Error 403.{sub} - Forbidden</h3>\r\n<h4>{title}</h4>\r\n</div>\r\n<div class=\"content-container\">\r\n<fieldset><h4>Most likely causes:</h4>\r\n<ul><li>{text}</li></ul>\r\n</fieldset>\r\n</div>\r\n</div>\r\n</body>\r\n</html>\r\n"
    )
}

fn forbidden(sub: u16, title: &str, text: &str) -> GatewayResponse {
    GatewayResponse::html(
        403,
        page(sub, title, text),
        format!("GET / - 443 - 127.0.0.1 - - 403 {sub} 0 0"),
    )
}

/// HTTP.sys cannot ask for a certificate after the request on TLS 1.3
/// (Windows 11 24H2, Windows Server 2025): IIS answers 500.0 with
/// ERROR_NOT_SUPPORTED.
fn not_supported() -> GatewayResponse {
    GatewayResponse::html(
        500,
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<title>IIS 10.0 Detailed Error - 500.0 - Internal Server Error</title>\r\n</head>\r\n<body>\r\n<div id=\"content\">\r\n<div class=\"content-container\">\r\n<h3>HTTP Error 500.0 - Internal Server Error</h3>\r\n<h4>The page cannot be displayed because an internal server error has occurred.</h4>\r\n</div>\r\n<div class=\"content-container\">\r\n<fieldset><h4>Detailed Error Information:</h4>\r\n<table><tr><th>Module</th><td>IIS Web Core</td></tr><tr><th>Error Code</th><td>0x80070032</td></tr></table>\r\n</fieldset>\r\n</div>\r\n</div>\r\n</body>\r\n</html>\r\n".into(),
        "GET / - 443 - 127.0.0.1 - - 500 0 50 0 (0x80070032 ERROR_NOT_SUPPORTED: no post-handshake authentication on TLS 1.3)".into(),
    )
}

fn answer(mode: IisMode, status: &ClientCertStatus) -> GatewayResponse {
    match status {
        ClientCertStatus::NotSent | ClientCertStatus::NotRequested if mode != IisMode::Negotiate => forbidden(
            7,
            "The page you are attempting to access requires your browser to have a Secure Sockets Layer (SSL) client certificate that the Web server recognizes.",
            "No client certificate was sent, or the client could not find one matching the server's trusted issuer list.",
        ),
        ClientCertStatus::Failed(CertFailure::Revoked) => forbidden(
            13,
            "The client certificate used for this request has been revoked by the Web server's certificate authority.",
            "The client certificate is listed in the issuer's certificate revocation list.",
        ),
        // CertCheckMode 0 (the default) wants a fresh revocation answer for
        // every certificate in the chain: when it cannot get one (CDP or
        // OCSP responder down or timed out, a CRL past nextUpdate or
        // RevocationFreshnessTime, status unknown) IIS answers 403.13 too.
        ClientCertStatus::Failed(f) if f.is_revocation_unavailable() => forbidden(
            13,
            "The client certificate used for this request has been revoked by the Web server's certificate authority.",
            &format!("The revocation status of the client certificate could not be determined ({f})."),
        ),
        ClientCertStatus::Failed(f) if f.is_validity() => forbidden(
            17,
            "The client certificate used for this request has expired or is not yet valid.",
            "The client certificate's validity period does not include the current time.",
        ),
        ClientCertStatus::Failed(f) => forbidden(
            16,
            "The client certificate used for this request is not trusted by the Web server.",
            &format!("Your client certificate is either not trusted or is invalid ({f})."),
        ),
        other => accepted(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::parse_substatus;

    #[test]
    fn substatus_round_trips_through_the_page() {
        for (status, sub) in [
            (ClientCertStatus::NotSent, 7),
            (ClientCertStatus::Failed(CertFailure::Revoked), 13),
            (ClientCertStatus::Failed(CertFailure::Untrusted), 16),
            (ClientCertStatus::Failed(CertFailure::NotYetValid), 17),
            (ClientCertStatus::Failed(CertFailure::CrlExpired), 13),
            (ClientCertStatus::Failed(CertFailure::CrlUnavailable), 13),
            (ClientCertStatus::Failed(CertFailure::RevocationUnknown), 13),
        ] {
            let r = answer(IisMode::Require, &status);
            assert_eq!(r.status, 403);
            assert_eq!(parse_substatus(&r.body), Some(sub), "{status:?}");
        }
        assert_eq!(parse_substatus("HTTP Error 404 - Not Found"), None);
    }
}
