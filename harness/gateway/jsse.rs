//! Java's JSSE server as Tomcat 10.1 runs it (`SSLHostConfig
//! certificateVerification="required|optional|optionalNoCA"`, a
//! truststore); Spring Boot and Jetty use the same `SSLEngine`. Measured on
//! Tomcat 10.1.60 and OpenJDK 17.0.15 (Debian 12): the expectations hold
//! for that JDK.
//!
//! - A missing mandatory certificate: fatal bad_certificate (TLS 1.2 and
//!   1.3); every verification failure (expired, untrusted, revoked, bad
//!   issuer, wrong EKU): certificate_unknown.
//! - PKIX checks what OpenSSL checks, keyCertSign included, except that a
//!   trust anchor's pathLenConstraint is ignored and an anchor without
//!   basicConstraints cA is refused ([`Rules::Jsse`]); with
//!   `certificateRevocationListFile` every certificate of the chain needs a
//!   CRL.
//! - A CertificateVerify that does not verify (a key that does not match the
//!   certificate): handshake_failure, not decrypt_error.
//! - `optionalNoCA` is `optional` under JSSE (it means something only to
//!   Tomcat's OpenSSL implementation).
//! - The CA names sent are the whole truststore.
//! - A CA list over 64 KiB: on TLS 1.3, when the names' DER bytes alone are
//!   over 65,535, the certificate_authorities extension is silently left
//!   out; otherwise (and always on TLS 1.2) encoding fails mid-flight
//!   ("Field length overflow") and the client reads a broken message.

use super::Posture;
use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::observation::TlsVersion;
use crate::tls::policy::{
    CaListSize, ClientCertStatus, Enforcement, GatewayResponse, OversizedCaList,
    PostHandshakeRefusal,
};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// Tomcat `SSLHostConfig certificateVerification`.
    pub enum JsseMode {
        /// `required`: no certificate -> alert bad_certificate; a bad one -> certificate_unknown.
        Required = "required",
        /// `optional`: no certificate is served; a bad one -> alert certificate_unknown.
        Optional = "optional",
        /// `optionalNoCA`: under JSSE the same as `optional` (an untrusted certificate still fails).
        OptionalNoCa = "optional-no-ca",
        /// `none` on the connector and a `CLIENT-CERT` security constraint on the path: Tomcat asks after the request, by renegotiation on TLS 1.2; on TLS 1.3 JSSE has no post-handshake auth and Tomcat answers 401.
        ClientCertPath = "client-cert-path",
    }
}

pub struct Jsse;

impl Profile for Jsse {
    type Mode = JsseMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "jsse",
        summary: "Java JSSE as Tomcat 10.1 on OpenJDK 17 runs it: bad_certificate without a certificate, certificate_unknown for every failure",
        sources: &[
            "OpenJDK 17 sun.security.ssl CertificateMessage: `Empty client certificate chain` (bad_certificate) and `checkClientCerts` (certificate_unknown for any CertificateException)",
            "Apache Tomcat 10.1 SSLHostConfig: `certificateVerification`, `truststoreFile`, `certificateRevocationListFile`; optionalNoCA is honoured by the OpenSSL implementation only",
            "measured: Tomcat 10.1.60 on OpenJDK 17.0.15 (Debian 12 tomcat10), `openssl s_client -msg` and `mtls-harness fidelity` against `real:tomcat`, TLS 1.2 and 1.3 (docs/fidelity.md)",
            "`client-cert-path`, measured on Tomcat 10.1.60 with curl and `openssl s_client -enable_pha` (tests/after_request.rs): TLS 1.2, a HelloRequest after the request (NioEndpoint `doClientAuth`: `setNeedClientAuth(true)` and a new handshake), the certificate checked as `required`, and a client that refuses to renegotiate gets handshake_failure; TLS 1.3, 401 \"No client certificate chain in this request\" whatever the client offers, and Tomcat warns at startup that CLIENT-CERT is not compatible with TLS 1.3 and JSSE unless certificateVerification is required",
        ],
    };

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            JsseMode::Optional => Some(Posture::OptionalVerified),
            _ => None,
        }
    }

    fn enforcement(mode: JsseMode, asks: bool) -> Enforcement {
        if mode == JsseMode::ClientCertPath {
            return Enforcement::PostHandshake;
        }
        Enforcement::Handshake {
            rules: Rules::Jsse,
            cert_mandatory: asks && mode == JsseMode::Required,
            openssl_alerts: false,
        }
    }

    fn respond(_mode: JsseMode, status: &ClientCertStatus) -> GatewayResponse {
        accepted(status)
    }

    fn after_request_mode() -> Option<JsseMode> {
        Some(JsseMode::ClientCertPath)
    }

    fn answered_after_request(_mode: JsseMode, version: TlsVersion) -> Option<Enforcement> {
        // JSSE renegotiates with client auth required; it has no
        // post-handshake authentication.
        (version == TlsVersion::Tls12).then_some(Enforcement::Handshake {
            rules: Rules::Jsse,
            cert_mandatory: true,
            openssl_alerts: false,
        })
    }

    fn post_handshake_refusal(_mode: JsseMode, version: TlsVersion) -> PostHandshakeRefusal {
        match version {
            // The client answers the HelloRequest with no_renegotiation:
            // JSSE ends the connection (measured against real:tomcat).
            TlsVersion::Tls12 => PostHandshakeRefusal::Alert {
                alert: rustls::AlertDescription::HandshakeFailure,
                log: "javax.net.ssl.SSLHandshakeException: renegotiation refused by the client (no_renegotiation)".into(),
            },
            TlsVersion::Tls13 => PostHandshakeRefusal::Http(unauthorized()),
        }
    }

    fn verify_alert(_mode: JsseMode, _failure: &CertFailure) -> &'static str {
        "certificate_unknown"
    }

    fn missing_cert_alert(_mode: JsseMode) -> Option<&'static str> {
        Some("bad_certificate")
    }

    fn handshake_failure_log(_alert: &str, failure: Option<&CertFailure>) -> String {
        match failure {
            Some(f) => format!(
                "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: {f}"
            ),
            None => "javax.net.ssl.SSLHandshakeException: Empty client certificate chain".into(),
        }
    }

    fn oversized_ca_list(_mode: JsseMode, version: TlsVersion, size: CaListSize) -> OversizedCaList {
        match version {
            // CertificateAuthoritiesExtension counts the names' DER bytes
            // (not their length prefixes): over 65,535 it leaves the
            // extension out.
            TlsVersion::Tls13 if size.names_bytes() > 0xffff => OversizedCaList::Omit,
            TlsVersion::Tls13 => OversizedCaList::Unmodelled(
                "JSSE on TLS 1.3 with CA names under 64 KiB whose length prefixes push the list \
                 over it fails to encode the extension (\"Field length overflow\", logged \
                 SEVERE by Tomcat) mid-flight: the client reads a broken message and answers \
                 decode_error, which the built-in server cannot send; `real:tomcat` shows it",
            ),
            TlsVersion::Tls12 => OversizedCaList::Unmodelled(
                "JSSE on TLS 1.2 fails to encode a CA list over 64 KiB (\"Field length \
                 overflow\", logged SEVERE by Tomcat) mid-flight, without an alert: the client \
                 reads a broken message and answers decode_error, which the built-in server \
                 cannot send; `real:tomcat` shows it",
            ),
        }
    }

    fn bad_signature_alert(_mode: JsseMode) -> Option<&'static str> {
        Some("handshake_failure")
    }

    fn sends_whole_trust_store(_mode: JsseMode) -> bool {
        true
    }
}

/// Tomcat's CLIENT-CERT authenticator without a certificate (its
/// `ErrorReportValve` page).
fn unauthorized() -> GatewayResponse {
    GatewayResponse::html(
        401,
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status 401 \u{2013} Unauthorized</title></head><body><h1>HTTP Status 401 \u{2013} Unauthorized</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p><p><b>Message</b> No client certificate chain in this request</p><p><b>Description</b> The request has not been applied to the target resource because it lacks valid authentication credentials for that resource.</p><hr class=\"line\" /><h3>Apache Tomcat/10.1.60 (Debian)</h3></body></html>".into(),
        "401 No client certificate chain in this request (CLIENT-CERT)".into(),
    )
}
