//! Apache httpd mod_ssl. `per-server`: `SSLVerifyClient require` in the
//! virtual host, so OpenSSL aborts the handshake (TLS 1.3 certificate_required,
//! TLS 1.2 handshake_failure). `per-directory`: the directive in a
//! `<Location>`, where the certificate can only be asked for after the
//! request arrived: by renegotiation on TLS 1.2, by post-handshake
//! authentication on TLS 1.3. Real Apache 2.4 against a rustls client (which
//! does neither), whatever certificate the client holds: TLS 1.2, "AH02261:
//! Re-negotiation handshake failed" and a fatal handshake_failure alert;
//! TLS 1.3, "AH10158: cannot perform post-handshake authentication" and 403.

use super::Posture;
use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::observation::TlsVersion;
use crate::knobs::RevocationCheck;
use crate::tls::policy::{ClientCertStatus, Enforcement, GatewayResponse, PostHandshakeRefusal};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// Where `SSLVerifyClient` stands and what it says.
    pub enum ApacheMode {
        /// `SSLVerifyClient require` in the virtual host: OpenSSL aborts the handshake.
        PerServer = "per-server",
        /// `SSLVerifyClient require` in a `<Location>`: asked after the request (renegotiation / post-handshake auth).
        PerDirectory = "per-directory",
        /// `SSLVerifyClient optional`: no certificate is served; a bad one is an alert.
        Optional = "optional",
    }
}

pub struct Apache;

impl Profile for Apache {
    type Mode = ApacheMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "apache",
        summary: "Apache httpd mod_ssl `SSLVerifyClient`: OpenSSL's alerts in the handshake",
        sources: &[
            "httpd modules/ssl/ssl_engine_kernel.c `ssl_callback_SSLVerify` (CRL-expired rewritten to certificate_unknown) and `ssl_hook_Access` (AH02261, AH10158)",
            "OpenSSL 3.0 ssl/statem/statem_lib.c `ssl_verify_alarm_type`",
            "measured: real Apache 2.4 in `mtls-harness fidelity` (docs/fidelity.md)",
            "httpd modules/ssl/ssl_engine_ocsp.c `ssl_verify_ocsp` (`SSLOCSPEnable leaf`): revoked -> X509_V_ERR_CERT_REVOKED (alert certificate_revoked); unknown, responder down (AH01974), timed out (AH01977, `SSLOCSPResponderTimeout`, default 10 s), stale or malformed (AH01980) -> X509_V_ERR_APPLICATION_VERIFICATION (alert handshake_failure): hard-fail. Measured on real Apache 2.4 against the harness's responder (docs/fidelity.md)",
        ],
    };

    fn online_revocation(_mode: ApacheMode) -> &'static [RevocationCheck] {
        // `SSLOCSPEnable`; mod_ssl never fetches a CRL distribution point.
        &[RevocationCheck::Ocsp]
    }

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            ApacheMode::Optional => Some(Posture::OptionalVerified),
            _ => None,
        }
    }

    fn enforcement(mode: ApacheMode, asks: bool) -> Enforcement {
        match mode {
            ApacheMode::PerDirectory => Enforcement::PostHandshake,
            ApacheMode::PerServer | ApacheMode::Optional => Enforcement::Handshake {
                rules: Rules::OpenSsl,
                cert_mandatory: asks && mode == ApacheMode::PerServer,
                openssl_alerts: true,
            },
        }
    }

    fn respond(_mode: ApacheMode, status: &ClientCertStatus) -> GatewayResponse {
        // per-directory never gets here with a certificate question open: see
        // `post_handshake_refusal`.
        accepted(status)
    }

    fn verify_alert(_mode: ApacheMode, failure: &CertFailure) -> &'static str {
        match failure {
            // mod_ssl's ssl_callback_SSLVerify ("Expired certificates vs.
            // 'expired' CRLs") sets the X509_STORE_CTX error to -1 so the
            // peer gets certificate_unknown, not OpenSSL's certificate_expired
            // (real Apache 2.4: AH02276 "CRL has expired", alert 46; HAProxy
            // and s_server send certificate_expired).
            CertFailure::CrlExpired => "certificate_unknown",
            other => other.openssl_alert(),
        }
    }

    fn after_request_mode() -> Option<ApacheMode> {
        Some(ApacheMode::PerDirectory)
    }

    fn answered_after_request(_mode: ApacheMode, _version: TlsVersion) -> Option<Enforcement> {
        // `ssl_hook_Access` renegotiates (TLS 1.2) or sends the
        // post-handshake CertificateRequest (TLS 1.3) with
        // SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT: OpenSSL verifies
        // and alerts as `per-server` does in the handshake (measured against
        // real clients in docs/after-request.md).
        Some(Enforcement::Handshake {
            rules: Rules::OpenSsl,
            cert_mandatory: true,
            openssl_alerts: true,
        })
    }

    fn after_request_failure_log(
        version: TlsVersion,
        alert: &str,
        failure: Option<&CertFailure>,
    ) -> Option<String> {
        // ssl_engine_kernel.c `ssl_hook_Access`: a failed renegotiation is
        // AH02261 whatever failed; after post-handshake auth, AH02262 for a
        // certificate that failed verification, AH02263 for none (the one
        // case OpenSSL answers with certificate_required).
        let why = super::profile::reason(failure);
        Some(match version {
            TlsVersion::Tls12 => {
                format!("AH02261: Re-negotiation handshake failed (sent alert {alert}{why})")
            }
            TlsVersion::Tls13 if alert == "certificate_required" => format!(
                "AH02263: Re-negotiation handshake failed: Client certificate missing (sent alert {alert})"
            ),
            TlsVersion::Tls13 => format!(
                "AH02262: Re-negotiation handshake failed: Client verification failed (sent alert {alert}{why})"
            ),
        })
    }

    fn post_handshake_refusal(_mode: ApacheMode, version: TlsVersion) -> PostHandshakeRefusal {
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
}

fn forbidden(log: String) -> GatewayResponse {
    GatewayResponse::html(
        403,
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n</body></html>\n".into(),
        log,
    )
}
