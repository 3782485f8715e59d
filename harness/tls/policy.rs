//! The seam between the TLS engine and a gateway's decisions.
//!
//! The built-in server ([`super::server`]) runs the handshake, verifies or
//! defers, and serves HTTP; what it should *decide* (alert or page, which
//! alert, which status, which log line) it asks a [`ClientAuthPolicy`]. The
//! gateway profiles implement it; this module knows none of them.

use super::verify::{CertFailure, Rules};
use crate::observation::TlsVersion;
use std::fmt;

/// Where and by whose rules a gateway checks the client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// In the handshake: a failure is a TLS alert.
    Handshake {
        rules: Rules,
        /// A missing certificate aborts the handshake.
        cert_mandatory: bool,
        /// Alerts as OpenSSL sends them (handshake_failure for a missing cert
        /// on TLS 1.2, `ssl_verify_alarm_type` for verify errors) rather than
        /// rustls's.
        openssl_alerts: bool,
    },
    /// Accepted in the handshake, judged after it: the HTTP response says.
    Http { rules: Rules },
    /// Not asked for in the handshake but after the request arrives, for the
    /// requested location: renegotiation on TLS 1.2, post-handshake
    /// authentication on TLS 1.3 (Apache `SSLVerifyClient` in a
    /// `<Location>`). The harness's clients (rustls) support neither; what
    /// follows is [`ClientAuthPolicy::post_handshake_refusal`].
    PostHandshake,
    /// A certificate is mandatory in the handshake, but any one will do: it
    /// is not verified there (Go's `RequireAnyClientCert`); the HTTP stage
    /// sees it judged by `rules`.
    RequireAny { rules: Rules },
}

impl Enforcement {
    /// The rules a certificate is verified by (a forwarded one too).
    pub fn rules(self) -> Rules {
        match self {
            Enforcement::Handshake { rules, .. }
            | Enforcement::Http { rules }
            | Enforcement::RequireAny { rules } => rules,
            // Apache per-directory: OpenSSL's rules.
            Enforcement::PostHandshake => Rules::OpenSsl,
        }
    }
}

/// What the gateway knows about the client certificate once TLS is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCertStatus {
    /// The server did not ask for one.
    NotRequested,
    /// Asked, none sent.
    NotSent,
    /// Sent and verified; the leaf's subject.
    Verified { subject: String },
    /// Sent and rejected.
    Failed(CertFailure),
}

impl fmt::Display for ClientCertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCertStatus::NotRequested => f.write_str("not requested"),
            ClientCertStatus::NotSent => f.write_str("not sent"),
            ClientCertStatus::Verified { subject } => write!(f, "verified: {subject}"),
            ClientCertStatus::Failed(failure) => write!(f, "failed: {failure}"),
        }
    }
}

/// Where the certificate a request is judged by came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertOrigin {
    /// This connection's TLS handshake.
    Handshake,
    /// A forwarding header from a trusted proxy.
    ForwardedHeader,
}

/// The status of [`GatewayResponse::no_response`] (nginx's `return 444`).
pub const NO_RESPONSE: u16 = 444;

/// An HTTP response a gateway gives, with the line it would log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub log: String,
}

impl GatewayResponse {
    pub fn html(status: u16, body: String, log: String) -> Self {
        GatewayResponse {
            status,
            content_type: "text/html",
            body,
            log,
        }
    }

    /// No response at all: the connection is closed (nginx's own code for
    /// that is 444; the status never goes on the wire).
    pub fn no_response(log: impl Into<String>) -> Self {
        GatewayResponse {
            status: NO_RESPONSE,
            content_type: "text/plain",
            body: String::new(),
            log: log.into(),
        }
    }

    /// Whether this is [`Self::no_response`].
    pub fn is_no_response(&self) -> bool {
        self.status == NO_RESPONSE
    }

    pub fn text(status: u16, body: impl Into<String>, log: impl Into<String>) -> Self {
        GatewayResponse {
            status,
            content_type: "text/plain",
            body: body.into(),
            log: log.into(),
        }
    }
}

/// What a gateway that asks for a certificate after the handshake does to a
/// client that can give one neither by renegotiation nor by post-handshake
/// authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostHandshakeRefusal {
    Http(GatewayResponse),
    /// After the request: a fatal alert (encrypted), and the connection ends.
    Alert {
        alert: rustls::AlertDescription,
        log: String,
    },
}

/// What a gateway does when its CA-names list does not fit in a
/// CertificateRequest (over 65,535 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OversizedCaList {
    /// Abort the handshake with a fatal internal_error alert (OpenSSL).
    Abort,
    /// Ask for a certificate without naming any CA (JSSE on TLS 1.3).
    Omit,
    /// Send it anyway, lengths wrapped to 16 bits (a rustls server built in
    /// release mode): the CertificateRequest goes out whole, over 64 KiB.
    SendWrapped,
    /// The real gateway sends something the built-in server cannot produce
    /// (a malformed CertificateRequest): the case is not run, for this
    /// reason.
    Unmodelled(&'static str),
}

/// The size of a CA-names list: the DER names and their 2-byte length
/// prefixes make `encoded_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaListSize {
    pub count: usize,
    pub encoded_bytes: usize,
}

impl CaListSize {
    /// The names' DER bytes alone, without length prefixes.
    pub fn names_bytes(self) -> usize {
        self.encoded_bytes.saturating_sub(2 * self.count)
    }
}

/// The decisions a built-in gateway delegates to its profile.
pub trait ClientAuthPolicy: fmt::Debug + Send + Sync {
    /// The profile's name, for records and logs.
    fn name(&self) -> &'static str;
    /// Whether the listener asks for a certificate at all.
    fn asks(&self) -> bool;
    fn enforcement(&self) -> Enforcement;
    /// The alert sent when handshake verification by OpenSSL's rules fails.
    fn verify_alert(&self, failure: &CertFailure) -> &'static str;
    /// The response to a request whose certificate status is `status`.
    fn respond(&self, status: &ClientCertStatus, origin: CertOrigin) -> GatewayResponse;
    /// See [`Enforcement::PostHandshake`].
    fn post_handshake_refusal(&self, version: TlsVersion) -> PostHandshakeRefusal;
    /// The line the gateway logs when the handshake fails with `alert`.
    fn handshake_failure_log(&self, alert: &str, failure: Option<&CertFailure>) -> String;
    /// The alert sent when a mandatory certificate is missing, where it is
    /// neither rustls's (certificate_required) nor OpenSSL's (TLS 1.2
    /// handshake_failure); `None`: those.
    fn missing_cert_alert(&self) -> Option<rustls::AlertDescription> {
        None
    }
    /// What the gateway does with a CA-names list of `size` that does not
    /// fit on `version`.
    fn oversized_ca_list(&self, _version: TlsVersion, _size: CaListSize) -> OversizedCaList {
        OversizedCaList::Abort
    }
    /// Whether a certificate whose issuer is not among the CA names sent is
    /// refused, when those names are not every trusted CA (lighttpd's
    /// `ssl.ca-dn-file`).
    fn requires_named_issuer(&self) -> bool {
        false
    }
    /// The alert sent when the client's CertificateVerify signature does not
    /// verify (a key that does not match its certificate); `None`: rustls's
    /// (and OpenSSL's) decrypt_error.
    fn bad_signature_alert(&self) -> Option<rustls::AlertDescription> {
        None
    }
}
