//! What went over the wire on one connection: the handshake messages in
//! order ([`Transcript`]), and the raw bytes with the keys to read them
//! ([`WireCapture`]).
//!
//! Vocabulary only: the client records a [`WireCapture`]
//! (`tls::tap`), `tls::transcript` decodes it into a [`Transcript`], and
//! `capture` writes it as a pcapng file for Wireshark.

use super::Side;
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::time::SystemTime;

/// The handshake of one connection as the client saw it on the wire, in
/// order, decrypted with the client's own keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub messages: Vec<WireEvent>,
    /// What could not be read: a record no key opens, bytes cut short by
    /// the end of the connection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One message and who sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    pub from: Side,
    /// Milliseconds since the TCP connection was made.
    pub at_ms: f64,
    /// Sent inside an encrypted record (and decrypted with the key log).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    #[serde(flatten)]
    pub message: WireMessage,
}

/// A certificate as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
}

/// The CA names of a CertificateRequest, as they were on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCaNames {
    pub count: usize,
    /// Sum of 2-byte length + DER of each name (the observation's measure).
    pub encoded_bytes: usize,
    /// Each name, readable, in order.
    pub names: Vec<String>,
}

/// The messages the harness tells apart, with the fields that matter for
/// client-certificate authentication. `type` in JSON is the snake_case name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireMessage {
    ClientHello {
        /// Offered versions (`supported_versions`, else the legacy field).
        versions: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sni: Option<String>,
        signature_algorithms: Vec<String>,
    },
    ServerHello {
        version: String,
        cipher_suite: String,
    },
    HelloRetryRequest,
    EncryptedExtensions,
    /// The server's chain, or the client's (empty: no certificate sent).
    Certificate {
        certificates: Vec<CertSummary>,
    },
    CertificateRequest {
        /// TLS 1.3 `certificate_request_context`, hex (empty on TLS 1.2).
        context: String,
        ca_names: WireCaNames,
        signature_algorithms: Vec<String>,
    },
    ServerKeyExchange,
    ServerHelloDone,
    ClientKeyExchange,
    CertificateVerify {
        scheme: String,
    },
    Finished,
    NewSessionTicket,
    KeyUpdate,
    ChangeCipherSpec,
    Alert {
        level: String,
        /// RFC 8446 snake_case name.
        description: String,
    },
    /// The first line of the HTTP request.
    HttpRequest {
        line: String,
    },
    /// The status line of the HTTP response.
    HttpResponse {
        status: u16,
        line: String,
    },
    /// A handshake message of another type.
    OtherHandshake {
        handshake_type: u8,
        bytes: usize,
    },
}

impl WireMessage {
    /// `ClientHello`, `CertificateRequest`, `Alert`, `HTTP response`...
    pub fn name(&self) -> &'static str {
        match self {
            WireMessage::ClientHello { .. } => "ClientHello",
            WireMessage::ServerHello { .. } => "ServerHello",
            WireMessage::HelloRetryRequest => "HelloRetryRequest",
            WireMessage::EncryptedExtensions => "EncryptedExtensions",
            WireMessage::Certificate { .. } => "Certificate",
            WireMessage::CertificateRequest { .. } => "CertificateRequest",
            WireMessage::ServerKeyExchange => "ServerKeyExchange",
            WireMessage::ServerHelloDone => "ServerHelloDone",
            WireMessage::ClientKeyExchange => "ClientKeyExchange",
            WireMessage::CertificateVerify { .. } => "CertificateVerify",
            WireMessage::Finished => "Finished",
            WireMessage::NewSessionTicket => "NewSessionTicket",
            WireMessage::KeyUpdate => "KeyUpdate",
            WireMessage::ChangeCipherSpec => "ChangeCipherSpec",
            WireMessage::Alert { .. } => "Alert",
            WireMessage::HttpRequest { .. } => "HTTP request",
            WireMessage::HttpResponse { .. } => "HTTP response",
            WireMessage::OtherHandshake { .. } => "Handshake",
        }
    }

    /// The fields, on one line; CA names follow on their own lines in
    /// [`Transcript::render`].
    fn detail(&self) -> String {
        match self {
            WireMessage::ClientHello {
                versions,
                sni,
                signature_algorithms,
            } => format!(
                "versions {}, SNI {}, signature algorithms {}",
                versions.join(" "),
                sni.as_deref().unwrap_or("(none)"),
                signature_algorithms.join(" ")
            ),
            WireMessage::ServerHello {
                version,
                cipher_suite,
            } => format!("{version}, {cipher_suite}"),
            WireMessage::Certificate { certificates } if certificates.is_empty() => {
                "empty: no certificate".into()
            }
            WireMessage::Certificate { certificates } => certificates
                .iter()
                .map(|c| format!("[{}] issued by [{}]", c.subject, c.issuer))
                .collect::<Vec<_>>()
                .join(", "),
            WireMessage::CertificateRequest {
                context,
                ca_names,
                signature_algorithms,
            } => format!(
                "{}{} CA name{} ({} bytes), signature algorithms {}",
                if context.is_empty() {
                    String::new()
                } else {
                    format!("context {context}, ")
                },
                ca_names.count,
                if ca_names.count == 1 { "" } else { "s" },
                ca_names.encoded_bytes,
                signature_algorithms.join(" ")
            ),
            WireMessage::CertificateVerify { scheme } => scheme.clone(),
            WireMessage::Alert { level, description } => format!("{level} {description}"),
            WireMessage::HttpRequest { line } => line.clone(),
            WireMessage::HttpResponse { line, .. } => line.clone(),
            WireMessage::OtherHandshake {
                handshake_type,
                bytes,
            } => format!("type {handshake_type}, {bytes} bytes"),
            _ => String::new(),
        }
    }
}

/// CA names [`Transcript::render`] shows at each end of a long list.
const SHOWN_NAMES: usize = 10;

impl Transcript {
    /// The CA names of the first CertificateRequest, if the server sent one.
    pub fn certificate_request_names(&self) -> Option<&WireCaNames> {
        self.messages.iter().find_map(|e| match &e.message {
            WireMessage::CertificateRequest { ca_names, .. } => Some(ca_names),
            _ => None,
        })
    }

    /// The client's Certificate message (the one the client sent), if any.
    pub fn client_certificates(&self) -> Option<&[CertSummary]> {
        self.messages
            .iter()
            .find_map(|e| match (&e.message, e.from) {
                (WireMessage::Certificate { certificates }, Side::Client) => {
                    Some(certificates.as_slice())
                }
                _ => None,
            })
    }

    /// One line per message (`  12.3 ms  server -> client  CertificateRequest
    /// ...`), every CA name indented below its request, then the notes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.messages {
            let arrow = match e.from {
                Side::Client => "client -> server",
                Side::Server => "server -> client",
            };
            let lock = if e.encrypted { "*" } else { " " };
            let line = format!(
                "{:>8.1} ms  {arrow} {lock} {:<19} {}",
                e.at_ms,
                e.message.name(),
                e.message.detail()
            );
            out.push_str(line.trim_end());
            out.push('\n');
            if let WireMessage::CertificateRequest { ca_names, .. } = &e.message {
                let n = ca_names.names.len();
                for (i, name) in ca_names.names.iter().enumerate() {
                    // A long list keeps its head and its tail (where a
                    // truncated list lost the names); JSON keeps them all.
                    if n > 2 * SHOWN_NAMES && i == SHOWN_NAMES {
                        let _ =
                            writeln!(out, "{:>36}      ... {} more ...", "", n - 2 * SHOWN_NAMES);
                    }
                    if n <= 2 * SHOWN_NAMES || i < SHOWN_NAMES || i >= n - SHOWN_NAMES {
                        let _ = writeln!(out, "{:>36}{:>4}. {name}", "", i + 1);
                    }
                }
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        if self.messages.iter().any(|e| e.encrypted) {
            out.push_str("  (* sent encrypted, read with the client's key log)\n");
        }
        out
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The bytes of one TCP connection in both directions as the client's
/// socket saw them, and the TLS key log of the connection (NSS format): what
/// a pcapng capture is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireCapture {
    /// The client's end.
    pub client: SocketAddr,
    /// The end the client connected to (the gateway, or a middlebox).
    pub server: SocketAddr,
    pub started: SystemTime,
    /// Reads and writes in the order they happened.
    pub segments: Vec<WireSegment>,
    /// `LABEL <client_random hex> <secret hex>` lines.
    pub key_log: String,
}

/// One read (from the server) or write (from the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSegment {
    pub from: Side,
    /// Microseconds since [`WireCapture::started`].
    pub at_us: u64,
    pub bytes: Vec<u8>,
}

impl WireCapture {
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        WireCapture {
            client,
            server,
            started: SystemTime::now(),
            segments: Vec::new(),
            key_log: String::new(),
        }
    }

    /// All bytes one side sent, in order.
    pub fn stream(&self, from: Side) -> Vec<u8> {
        self.segments
            .iter()
            .filter(|s| s.from == from)
            .flat_map(|s| s.bytes.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_messages_and_every_ca_name() {
        let t = Transcript {
            messages: vec![
                WireEvent {
                    from: Side::Server,
                    at_ms: 1.25,
                    encrypted: true,
                    message: WireMessage::CertificateRequest {
                        context: String::new(),
                        ca_names: WireCaNames {
                            count: 2,
                            encoded_bytes: 40,
                            names: vec!["CN=a".into(), "CN=b".into()],
                        },
                        signature_algorithms: vec!["ED25519".into()],
                    },
                },
                WireEvent {
                    from: Side::Client,
                    at_ms: 2.0,
                    encrypted: true,
                    message: WireMessage::Certificate {
                        certificates: vec![],
                    },
                },
            ],
            notes: vec!["a note".into()],
        };
        let text = t.render();
        assert!(
            text.contains("server -> client * CertificateRequest  2 CA names (40 bytes)"),
            "{text}"
        );
        assert!(text.contains("   1. CN=a\n"), "{text}");
        assert!(text.contains("   2. CN=b\n"), "{text}");
        assert!(
            text.contains("client -> server * Certificate         empty: no certificate"),
            "{text}"
        );
        assert!(text.contains("note: a note"), "{text}");
        assert_eq!(t.certificate_request_names().map(|n| n.count), Some(2));
        assert_eq!(t.client_certificates().map(<[_]>::len), Some(0));
        let json = serde_json::to_value(&t).expect("json");
        assert_eq!(json["messages"][0]["type"], "certificate_request");
        assert_eq!(json["messages"][0]["from"], "server");
        assert_eq!(json["messages"][0]["ca_names"]["names"][1], "CN=b");
        let back: Transcript = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, t);
    }
}
