//! nginx `ssl_verify_client on | optional | optional_no_ca`.
//!
//! nginx's verify callback accepts every certificate, so the handshake
//! completes; `ngx_http_process_request` then answers 400 with code 496 (no
//! certificate) or 495 (verify error), shown as "400 Bad Request".

use super::Posture;
use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::knobs::RevocationCheck;
use crate::revocation::ResponderFailure;
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// nginx `ssl_verify_client`.
    pub enum NginxMode {
        /// `ssl_verify_client on`: no certificate -> 400 "No required SSL certificate was sent"; a bad one -> 400 "The SSL certificate error".
        On = "on",
        /// `ssl_verify_client optional`: no certificate is served; a bad one -> 400.
        Optional = "optional",
        /// `ssl_verify_client optional_no_ca`: an untrusted issuer is served as if none were sent; other verify errors -> 400.
        OptionalNoCa = "optional_no_ca",
    }
}

pub const NO_CERT_TEXT: &str = "No required SSL certificate was sent";
pub const CERT_ERROR_TEXT: &str = "The SSL certificate error";

pub struct Nginx;

impl Profile for Nginx {
    type Mode = NginxMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "nginx",
        summary: "nginx with `ssl_verify_client`: the handshake completes, HTTP 400 decides",
        sources: &[
            "nginx src/http/ngx_http_request.c `ngx_http_process_request`: NGX_HTTP_NO_CERT (496) and NGX_HTTPS_CERT_ERROR (495), shown as 400",
            "nginx src/event/ngx_event_openssl.c `ngx_ssl_verify_callback` accepts every certificate; `ngx_ssl_verify_error_optional` for optional_no_ca",
            "measured: real nginx 1.22 in `mtls-harness fidelity` (docs/fidelity.md)",
            "nginx `ssl_ocsp on` (1.19+, src/event/ngx_event_openssl_stapling.c `ngx_ssl_ocsp_validate`): good -> 200; revoked, unknown, responder down, stale or malformed -> 400 \"The SSL certificate error\" (hard-fail, no soft-fail setting); a responder that never answers holds the request until `client_header_timeout` (default 60 s), then the connection closes with no response. Measured on real nginx 1.22 against the harness's responder (docs/fidelity.md)",
        ],
    };

    fn online_revocation(_mode: NginxMode) -> &'static [RevocationCheck] {
        // `ssl_ocsp`; nginx never fetches a CRL distribution point.
        &[RevocationCheck::Ocsp]
    }

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            NginxMode::Optional => Some(Posture::OptionalVerified),
            NginxMode::OptionalNoCa => Some(Posture::OptionalAnyCa),
            _ => None,
        }
    }

    fn enforcement(_mode: NginxMode, _asks: bool) -> Enforcement {
        Enforcement::Http {
            rules: Rules::OpenSsl,
        }
    }

    fn respond(mode: NginxMode, status: &ClientCertStatus) -> GatewayResponse {
        match status {
            ClientCertStatus::NotSent if mode == NginxMode::On => GatewayResponse::html(
                400,
                page_400(NO_CERT_TEXT),
                "client sent no required SSL certificate while reading client request headers"
                    .into(),
            ),
            ClientCertStatus::Failed(f)
                if mode == NginxMode::OptionalNoCa && f.is_untrusted_issuer() =>
            {
                accepted(&ClientCertStatus::NotSent)
            }
            // `ssl_ocsp on` and a responder that never answers: nginx waits
            // on it until `client_header_timeout` (60 s by default) and closes
            // the connection without a response (real nginx 1.22: "client
            // timed out ... while SSL handshaking"). The harness's timeout
            // stands for client_header_timeout.
            ClientCertStatus::Failed(CertFailure::RevocationUnavailable(
                ResponderFailure::TimedOut,
            )) => GatewayResponse::no_response(
                "client timed out (110: Connection timed out) while SSL handshaking",
            ),
            // nginx's own OCSP code logs its result without a verify code.
            ClientCertStatus::Failed(
                f @ (CertFailure::RevocationUnknown | CertFailure::RevocationUnavailable(_)),
            ) => GatewayResponse::html(
                400,
                page_400(CERT_ERROR_TEXT),
                format!(
                    "client SSL certificate verify error: {} while reading client request headers",
                    f.openssl_text()
                ),
            ),
            ClientCertStatus::Failed(f) => GatewayResponse::html(
                400,
                page_400(CERT_ERROR_TEXT),
                format!(
                    "client SSL certificate verify error: ({}) while reading client request headers",
                    f.openssl_last_error()
                ),
            ),
            other => accepted(other),
        }
    }
}

fn page_400(text: &str) -> String {
    format!(
        "<html>\r\n<head><title>400 {text}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>{text}</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}
