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
        ],
    };

    fn posture(mode: Self::Mode) -> Option<Posture> {
        match mode {
            JsseMode::Optional => Some(Posture::OptionalVerified),
            _ => None,
        }
    }

    fn enforcement(mode: JsseMode, asks: bool) -> Enforcement {
        Enforcement::Handshake {
            rules: Rules::Jsse,
            cert_mandatory: asks && mode == JsseMode::Required,
            openssl_alerts: false,
        }
    }

    fn respond(_mode: JsseMode, status: &ClientCertStatus) -> GatewayResponse {
        accepted(status)
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
