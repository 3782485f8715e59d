//! nginx `ssl_verify_client on | optional | optional_no_ca`.
//!
//! nginx's verify callback accepts every certificate, so the handshake
//! completes; `ngx_http_process_request` then answers 400 with code 496 (no
//! certificate) or 495 (verify error), shown as "400 Bad Request".

use super::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

pub(super) const MODES: &[&str] = &["on", "optional", "optional_no_ca"];

pub(super) fn enforcement() -> Enforcement {
    Enforcement::Http {
        rules: Rules::OpenSsl,
    }
}

pub const NO_CERT_TEXT: &str = "No required SSL certificate was sent";
pub const CERT_ERROR_TEXT: &str = "The SSL certificate error";

fn page_400(text: &str) -> String {
    format!(
        "<html>\r\n<head><title>400 {text}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>{text}</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

pub(super) fn respond(mode: &str, status: &ClientCertStatus) -> GatewayResponse {
    match status {
        ClientCertStatus::NotSent if mode == "on" => GatewayResponse::html(
            400,
            page_400(NO_CERT_TEXT),
            "client sent no required SSL certificate while reading client request headers".into(),
        ),
        ClientCertStatus::Failed(f) if mode == "optional_no_ca" && f.is_untrusted_issuer() => {
            GatewayResponse::ok(&ClientCertStatus::NotSent)
        }
        ClientCertStatus::Failed(f) => GatewayResponse::html(
            400,
            page_400(CERT_ERROR_TEXT),
            format!(
                "client SSL certificate verify error: ({}) while reading client request headers",
                f.openssl_last_error()
            ),
        ),
        other => GatewayResponse::ok(other),
    }
}
