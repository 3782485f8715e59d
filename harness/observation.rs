//! What one connection looked like, from both ends.
//!
//! An [`Observation`] is the single record the oracle judges and the reports
//! print. Every field is optional in spirit: what could not be seen stays
//! `None`/`false`, it is never guessed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A TLS protocol version the harness drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    Tls12,
    #[serde(rename = "1.3")]
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 2] = [TlsVersion::Tls12, TlsVersion::Tls13];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "1.2" | "TLSv1.2" | "tls1.2" | "tls12" => Some(TlsVersion::Tls12),
            "1.3" | "TLSv1.3" | "tls1.3" | "tls13" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which end of the connection did something (sent an alert, raised an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Server => "server",
        })
    }
}

/// Whether the TLS handshake finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handshake {
    Complete,
    Aborted,
}

impl fmt::Display for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Handshake::Complete => "complete",
            Handshake::Aborted => "aborted",
        })
    }
}

/// A TLS alert and who sent it. `description` is the RFC 8446 snake_case
/// name (`certificate_required`, `unknown_ca`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSeen {
    pub description: String,
    pub sent_by: Side,
}

/// The acceptable-CA list the server put in its CertificateRequest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaNamesSeen {
    /// How many distinguished names were in the list.
    pub count: usize,
    /// Encoded size of the list (sum of 2-byte length + DER of each name).
    pub encoded_bytes: usize,
    /// The server dropped names to fit a byte budget (Windows-style).
    pub truncated: bool,
    /// Human-readable subjects, in order (may be abbreviated in reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
}

/// The HTTP response the client received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpSeen {
    pub status: u16,
    /// IIS-style substatus (`7` for 403.7), parsed from the response page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substatus: Option<u16>,
    /// The first part of the body (at most a few KiB).
    pub body_excerpt: String,
}

/// The substatus of an IIS error page (`HTTP Error 403.7` -> 7), if any: how
/// a client reads [`HttpSeen::substatus`] off the page.
pub fn parse_substatus(body: &str) -> Option<u16> {
    let re = regex_lite::Regex::new(r"HTTP Error \d{3}\.(\d+)").expect("static regex");
    re.captures(body)?.get(1)?.as_str().parse().ok()
}

/// Durations of each stage, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_ms: Option<f64>,
}

/// Everything seen about one connection attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Negotiated version, when the handshake got that far.
    pub tls_version: Option<TlsVersion>,
    /// `None` when the attempt never reached the TLS layer (connect failed).
    pub handshake: Option<Handshake>,
    /// The server sent a CertificateRequest.
    pub certificate_requested: bool,
    /// The CA names in that CertificateRequest.
    pub ca_names: Option<CaNamesSeen>,
    /// Name (PKI reference) of the certificate the client chose, if any.
    pub chosen_cert: Option<String>,
    /// Why the client chose that certificate, or none.
    pub selection_reason: Option<String>,
    /// The client sent a (non-empty) Certificate message.
    pub client_certificate_sent: bool,
    /// A TLS alert, the first one seen, with its sender.
    pub alert: Option<AlertSeen>,
    /// Canonical client-side error code (`HANDSHAKE_PAYLOAD_TOO_LARGE`, ...).
    pub client_error: Option<String>,
    /// Free-text detail of the client error (the library's message).
    pub client_error_detail: Option<String>,
    pub http: Option<HttpSeen>,
    /// The line the gateway would write to its log for this request.
    pub gateway_log: Option<String>,
    /// Set when a stage timed out: which stage (`connect`, `handshake`, `response`).
    pub hang: Option<String>,
    pub timings: Timings,
}
