//! Go's `net/http` server with `crypto/tls` client authentication
//! (`tls.Config.ClientAuth`), as Go 1.19 behaves (Debian 12's golang-go;
//! Caddy 2.6 is built on it and its `client_auth` modes map onto these one
//! to one). Newer Go versions send other alerts (unknown_ca,
//! certificate_expired, certificate_required on TLS 1.3): these
//! expectations hold for Go 1.19.
//!
//! - Every verification failure and a missing mandatory certificate are a
//!   fatal bad_certificate alert, on TLS 1.2 and 1.3.
//! - crypto/tls has no CRL setting: a revoked certificate is served
//!   ([`Rules::Go`]).
//! - The CA names sent are always the whole `ClientCAs` pool: Go has no
//!   separate list of names.
//! - `RequestClientCert` and `RequireAnyClientCert` pass the certificate on
//!   unverified; the application sees `VerifiedChains` empty.

use super::{accepted, profile_modes, Profile, ProfileInfo};
use crate::observation::TlsVersion;
use crate::tls::policy::{
    CaListSize, ClientCertStatus, Enforcement, GatewayResponse, OversizedCaList,
};
use crate::tls::verify::{CertFailure, Rules};

profile_modes! {
    /// `tls.Config.ClientAuth`.
    pub enum GoMode {
        /// `RequireAndVerifyClientCert`: no certificate or a bad one -> alert bad_certificate.
        RequireAndVerify = "require-and-verify",
        /// `VerifyClientCertIfGiven`: no certificate is served; a bad one -> alert bad_certificate.
        VerifyIfGiven = "verify-if-given",
        /// `RequestClientCert`: asked for, never verified: every request is served, the certificate passed on unverified.
        Request = "request",
        /// `RequireAnyClientCert`: any certificate (expired, untrusted) is served unverified; none -> alert bad_certificate.
        RequireAny = "require-any",
    }
}

pub struct Go;

/// What the application logs and answers for a certificate Go did not
/// verify (`VerifiedChains` empty).
fn unverified(what: &str) -> GatewayResponse {
    GatewayResponse::text(
        200,
        format!("unverified: {what}\n"),
        format!("200 client certificate not verified: {what}"),
    )
}

impl Profile for Go {
    type Mode = GoMode;
    const INFO: ProfileInfo = ProfileInfo {
        name: "go",
        summary: "Go 1.19 net/http with crypto/tls `ClientAuth` (and Caddy 2.6 on it): bad_certificate for everything, no CRLs, the whole pool as CA names",
        sources: &[
            "Go 1.19 crypto/tls handshake_server.go / handshake_server_tls13.go `processCertsFromClient`: alertBadCertificate for a missing certificate and for every verify error",
            "Go 1.19 crypto/x509 verify.go and x509.go `CheckSignatureFrom`: every issuer, the trust anchor included, needs basicConstraints cA and (if it has keyUsage) keyCertSign; crypto/tls has no CRL support",
            "measured: go1.19.8 (Debian 12 golang-go), a net/http server per mode, `openssl s_client -msg` and `mtls-harness fidelity` against `real:go`, TLS 1.2 and 1.3 (docs/fidelity.md)",
        ],
    };

    fn enforcement(mode: GoMode, asks: bool) -> Enforcement {
        match mode {
            GoMode::RequireAndVerify | GoMode::VerifyIfGiven => Enforcement::Handshake {
                rules: Rules::Go,
                cert_mandatory: asks && mode == GoMode::RequireAndVerify,
                openssl_alerts: false,
            },
            GoMode::RequireAny if asks => Enforcement::RequireAny { rules: Rules::Go },
            GoMode::RequireAny | GoMode::Request => Enforcement::Http { rules: Rules::Go },
        }
    }

    fn respond(mode: GoMode, status: &ClientCertStatus) -> GatewayResponse {
        match (mode, status) {
            (GoMode::Request | GoMode::RequireAny, ClientCertStatus::Verified { subject }) => {
                unverified(subject)
            }
            (GoMode::Request | GoMode::RequireAny, ClientCertStatus::Failed(f)) => {
                unverified(&format!("a certificate that would not verify ({f})"))
            }
            (_, other) => accepted(other),
        }
    }

    fn verify_alert(_mode: GoMode, _failure: &CertFailure) -> &'static str {
        "bad_certificate"
    }

    fn missing_cert_alert(_mode: GoMode) -> Option<&'static str> {
        Some("bad_certificate")
    }

    fn handshake_failure_log(_alert: &str, failure: Option<&CertFailure>) -> String {
        match failure {
            Some(f) => format!(
                "http: TLS handshake error: tls: failed to verify client certificate: {f}"
            ),
            None => "http: TLS handshake error: tls: client didn't provide a certificate".into(),
        }
    }

    fn oversized_ca_list(_mode: GoMode, version: TlsVersion, _size: CaListSize) -> OversizedCaList {
        OversizedCaList::Unmodelled(match version {
            TlsVersion::Tls12 => {
                "Go 1.19 does not refuse a CA list over 64 KiB: on TLS 1.2 it sends a \
                 CertificateRequest with its lengths cut to 16 bits (the client answers \
                 decode_error), which the built-in server cannot send; `real:go` shows it"
            }
            TlsVersion::Tls13 => {
                "Go 1.19 does not refuse a CA list over 64 KiB: on TLS 1.3 building the \
                 CertificateRequest fails after the ServerHello and it closes the connection \
                 without an alert, which the built-in server does not reproduce; `real:go` \
                 shows it"
            }
        })
    }

    fn sends_whole_trust_store(_mode: GoMode) -> bool {
        true
    }
}
