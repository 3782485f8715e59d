//! A Layer7-style API gateway (seed 000): the listener asks for a certificate
//! without requiring one; the service policy's "Require SSL or TLS Transport
//! with Client Authentication" assertion answers 401 when none came.

use super::{accepted, NoModes, Profile, ProfileInfo};
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse};
use crate::tls::verify::Rules;

pub const NO_CERT_LOG: &str = "No Client Certificate was present in the request";

pub struct Layer7;

impl Profile for Layer7 {
    type Mode = NoModes;
    const INFO: ProfileInfo = ProfileInfo {
        name: "layer7",
        summary: "A Layer7-style API gateway: certificate optional in TLS, the policy answers 401",
        sources: &[
            "Layer7 API Gateway KB000042881 (seed 000): only CAs flagged to sign client certificates are listed, the browser sends none, the policy answers 401 \"Authentication Required\"",
            "Layer7 API Gateway audit codes 4113 (no client certificate) and 3017 (policy status 401)",
        ],
    };

    fn enforcement(_mode: NoModes, _asks: bool) -> Enforcement {
        // Java's PKIX checks keyCertSign like OpenSSL does.
        Enforcement::Http {
            rules: Rules::OpenSsl,
        }
    }

    fn respond(_mode: NoModes, status: &ClientCertStatus) -> GatewayResponse {
        let unauthorized = |log: String| GatewayResponse {
            status: 401,
            content_type: "text/xml",
            body: fault("Authentication Required"),
            log,
        };
        match status {
            ClientCertStatus::NotSent | ClientCertStatus::NotRequested => unauthorized(format!(
                "4113: {NO_CERT_LOG}. 3017: Policy evaluation resulted in status 401 (Authentication Required)"
            )),
            ClientCertStatus::Failed(f) => unauthorized(format!(
                "4100: Authentication required: client certificate rejected ({f}). 3017: Policy evaluation resulted in status 401 (Authentication Required)"
            )),
            ok @ ClientCertStatus::Verified { .. } => accepted(ok),
        }
    }
}

fn fault(reason: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{reason}</faultstring><detail><l7:policyResult status=\"{reason}\" xmlns:l7=\"http://www.layer7tech.com/ws/policy/fault\"/></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
}
