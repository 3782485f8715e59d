//! lighttpd 1.4 with mod_openssl: OpenSSL verifies in the handshake and its
//! alerts reach the client unchanged, as with Apache's mod_ssl, so this
//! profile is the `apache` profile (same modes, same answers) with one
//! difference, and scenarios judge it by their `apache` expectations unless
//! they name `lighttpd`:
//!
//! - `ssl.ca-dn-file` (the CA names sent, when they are not every trusted
//!   CA) also refuses a client certificate whose issuer it does not list:
//!   mod_openssl's verify callback sets X509_V_ERR_CERT_REJECTED (alert
//!   bad_certificate), where Apache's `SSLCADNRequestFile` only sets the
//!   names. Measured on real lighttpd 1.4.69 (`real:lighttpd`).

use super::apache::{Apache, ApacheMode};
use super::{profile_modes, Profile, ProfileInfo};
use crate::observation::TlsVersion;
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse, PostHandshakeRefusal};
use crate::tls::verify::CertFailure;

profile_modes! {
    /// The apache profile's modes, as lighttpd is configured for them.
    pub enum LighttpdMode {
        /// `ssl.verifyclient.activate` + `enforce = "enable"` (Apache `SSLVerifyClient require`).
        PerServer = "per-server",
        /// As Apache's `per-directory` (lighttpd itself has no equivalent: `real:lighttpd` cannot run it).
        PerDirectory = "per-directory",
        /// As Apache's `optional` (lighttpd's `enforce = "disable"` serves a failing certificate instead: `real:lighttpd` cannot run it).
        Optional = "optional",
    }
}

fn apache(mode: LighttpdMode) -> ApacheMode {
    match mode {
        LighttpdMode::PerServer => ApacheMode::PerServer,
        LighttpdMode::PerDirectory => ApacheMode::PerDirectory,
        LighttpdMode::Optional => ApacheMode::Optional,
    }
}

pub struct Lighttpd;

impl Profile for Lighttpd {
    type Mode = LighttpdMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "lighttpd",
        summary: "lighttpd 1.4 mod_openssl `ssl.verifyclient`: Apache's answers, and `ssl.ca-dn-file` refuses unlisted issuers",
        sources: &[
            "lighttpd 1.4 src/mod_openssl.c `verify_callback`: with ssl.ca-dn-file, a client certificate whose issuer is not listed is X509_V_ERR_CERT_REJECTED",
            "measured: real lighttpd 1.4.69 (Debian 12 lighttpd + lighttpd-mod-openssl) in `mtls-harness fidelity` and tests/real_gateways.rs, TLS 1.2 and 1.3 (docs/fidelity.md)",
        ],
    };

    fn enforcement(mode: LighttpdMode, asks: bool) -> Enforcement {
        Apache::enforcement(apache(mode), asks)
    }

    fn respond(mode: LighttpdMode, status: &ClientCertStatus) -> GatewayResponse {
        Apache::respond(apache(mode), status)
    }

    fn verify_alert(mode: LighttpdMode, failure: &CertFailure) -> &'static str {
        Apache::verify_alert(apache(mode), failure)
    }

    fn post_handshake_refusal(mode: LighttpdMode, version: TlsVersion) -> PostHandshakeRefusal {
        Apache::post_handshake_refusal(apache(mode), version)
    }

    fn after_request_mode() -> Option<LighttpdMode> {
        Some(LighttpdMode::PerDirectory)
    }

    fn answered_after_request(mode: LighttpdMode, version: TlsVersion) -> Option<Enforcement> {
        Apache::answered_after_request(apache(mode), version)
    }

    fn after_request_failure_log(
        version: TlsVersion,
        alert: &str,
        failure: Option<&CertFailure>,
    ) -> Option<String> {
        Apache::after_request_failure_log(version, alert, failure)
    }

    fn expectations_fall_back_to() -> Option<&'static str> {
        Some("apache")
    }

    fn requires_named_issuer(_mode: LighttpdMode) -> bool {
        true
    }
}
