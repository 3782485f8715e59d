//! What one connection looked like, from both ends.
//!
//! An [`Observation`] is the single record the oracle judges and the reports
//! print. Every field is optional in spirit: what could not be seen stays
//! `None`/`false`, it is never guessed.

pub mod transcript;

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
    /// The handshake messages on the wire, in order, as the client read
    /// them with its own keys (`None` where no connection was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<transcript::Transcript>,
    /// The handshake resumed an earlier session: no CertificateRequest and
    /// no Certificate were exchanged on this connection (the server keeps
    /// the identity of the handshake that made the session).
    #[serde(default)]
    pub resumed: bool,
    /// How the earlier connections of the case ended, in order, when the
    /// client made several (`[client] connections`); this observation is
    /// the last one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_connections: Vec<String>,
    /// The subject of the certificate the server presented (`CN=gw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert_subject: Option<String>,
    /// A scenario with `[[step]]`: what each step did, in order (each
    /// connection's observation, each change's description).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSeen>,
}

/// What one `[[step]]` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSeen {
    /// Its place in the scenario, from 1.
    pub step: usize,
    /// `connect`, or the change as done (`revoke alice: root.crl replaced`).
    pub what: String,
    /// A connection's observation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observation: Option<Box<Observation>>,
}

/// How a connection ended, as one value: the part of an [`Observation`] that
/// says what happened, without timings, log lines, CA names or the body. The
/// oracle's summary, the fidelity comparison and the tests all start from it.
///
/// When several are set, the first of these wins: a hang (nothing after it is
/// trustworthy), an alert (a client-side alert comes with a client error
/// code; the alert is what the peer saw), the client's own error, the HTTP
/// response. The client never records a response and an error together: one
/// is the request's answer, the other its failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A stage timed out (`connect`, `handshake`, `response`).
    Hang {
        stage: String,
    },
    Alert {
        description: String,
        sent_by: Side,
    },
    /// The client's canonical error code, with no alert.
    ClientError {
        code: String,
    },
    /// The status, and IIS's substatus (`403.7`) when the page carried one.
    Http {
        status: u16,
        substatus: Option<u16>,
    },
    /// Nothing was seen: no hang, alert, error or response.
    Nothing,
}

impl Observation {
    /// How this connection ended (see [`Outcome`] for which field wins).
    pub fn outcome(&self) -> Outcome {
        if let Some(stage) = &self.hang {
            Outcome::Hang {
                stage: stage.clone(),
            }
        } else if let Some(alert) = &self.alert {
            Outcome::Alert {
                description: alert.description.clone(),
                sent_by: alert.sent_by,
            }
        } else if let Some(code) = &self.client_error {
            Outcome::ClientError { code: code.clone() }
        } else if let Some(http) = &self.http {
            Outcome::Http {
                status: http.status,
                substatus: http.substatus,
            }
        } else {
            Outcome::Nothing
        }
    }
}

/// Assertions for tests: each panics with what was seen (the outcome, the
/// client's choice and its reason, the error's detail) when it does not hold,
/// and returns the observation so they chain.
impl Observation {
    /// The HTTP status of the answer, if one came.
    pub fn status(&self) -> Option<u16> {
        self.http.as_ref().map(|h| h.status)
    }

    /// What was seen, on a few lines: the outcome, the certificate choice
    /// and its reason, the client error's detail, the gateway's log line.
    pub fn explain(&self) -> String {
        let mut text = format!("outcome: {}", self.outcome());
        text.push_str(&format!(
            "\ncertificate requested: {}, sent: {}",
            self.certificate_requested, self.client_certificate_sent
        ));
        if let Some(chosen) = &self.chosen_cert {
            text.push_str(&format!(" (`{chosen}`)"));
        }
        if let Some(reason) = &self.selection_reason {
            text.push_str(&format!("\nselection: {reason}"));
        }
        if let Some(detail) = &self.client_error_detail {
            text.push_str(&format!("\nclient error: {detail}"));
        }
        if let Some(log) = &self.gateway_log {
            text.push_str(&format!("\ngateway log: {log}"));
        }
        text
    }

    /// The request was answered with `status`.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert!(
            self.status() == Some(status),
            "expected HTTP {status}, got:\n{}",
            self.explain()
        );
        self
    }

    /// The connection ended with the alert `description` (RFC 8446 name,
    /// e.g. `certificate_required`, `bad_certificate`) sent by `sent_by`.
    #[track_caller]
    pub fn assert_alert(&self, sent_by: Side, description: &str) -> &Self {
        let seen = self.alert.as_ref();
        assert!(
            seen.is_some_and(|a| a.sent_by == sent_by && a.description == description),
            "expected the {sent_by} to send alert {description}, got:\n{}",
            self.explain()
        );
        self
    }

    /// The client sent a certificate (`true`) or none (`false`).
    #[track_caller]
    pub fn assert_certificate_sent(&self, sent: bool) -> &Self {
        assert!(
            self.client_certificate_sent == sent,
            "expected the client {} a certificate, got:\n{}",
            if sent { "to send" } else { "not to send" },
            self.explain()
        );
        self
    }

    /// The client gave up with this error code (`INVALID_CERTIFICATE_...`,
    /// `CONNECTION_REFUSED`, ...): no alert, no answer.
    #[track_caller]
    pub fn assert_client_error(&self, code: &str) -> &Self {
        assert!(
            self.client_error.as_deref() == Some(code),
            "expected client error {code}, got:\n{}",
            self.explain()
        );
        self
    }
}

impl fmt::Display for Outcome {
    /// `hang in handshake`, `alert unknown_ca by server`, `client error
    /// DECODE_ERROR`, `http 403.7`, `no outcome`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Hang { stage } => write!(f, "hang in {stage}"),
            Outcome::Alert {
                description,
                sent_by,
            } => write!(f, "alert {description} by {sent_by}"),
            Outcome::ClientError { code } => write!(f, "client error {code}"),
            Outcome::Http {
                status,
                substatus: Some(sub),
            } => write!(f, "http {status}.{sub}"),
            Outcome::Http {
                status,
                substatus: None,
            } => write!(f, "http {status}"),
            Outcome::Nothing => f.write_str("no outcome"),
        }
    }
}

#[cfg(test)]
mod outcome_tests {
    use super::*;

    fn alert(description: &str, sent_by: Side) -> Option<AlertSeen> {
        Some(AlertSeen {
            description: description.into(),
            sent_by,
        })
    }

    fn http(status: u16, substatus: Option<u16>, body: &str) -> Option<HttpSeen> {
        Some(HttpSeen {
            status,
            substatus,
            body_excerpt: body.into(),
        })
    }

    #[test]
    fn each_kind_of_outcome_and_its_spelling() {
        let cases = [
            (
                Observation {
                    hang: Some("handshake".into()),
                    ..Default::default()
                },
                Outcome::Hang {
                    stage: "handshake".into(),
                },
                "hang in handshake",
            ),
            (
                Observation {
                    alert: alert("unknown_ca", Side::Server),
                    ..Default::default()
                },
                Outcome::Alert {
                    description: "unknown_ca".into(),
                    sent_by: Side::Server,
                },
                "alert unknown_ca by server",
            ),
            (
                Observation {
                    client_error: Some("CONNECTION_CLOSED".into()),
                    ..Default::default()
                },
                Outcome::ClientError {
                    code: "CONNECTION_CLOSED".into(),
                },
                "client error CONNECTION_CLOSED",
            ),
            (
                Observation {
                    http: http(400, None, "bad"),
                    ..Default::default()
                },
                Outcome::Http {
                    status: 400,
                    substatus: None,
                },
                "http 400",
            ),
            (
                Observation {
                    http: http(403, Some(7), "HTTP Error 403.7"),
                    ..Default::default()
                },
                Outcome::Http {
                    status: 403,
                    substatus: Some(7),
                },
                "http 403.7",
            ),
            (Observation::default(), Outcome::Nothing, "no outcome"),
        ];
        for (obs, want, text) in cases {
            assert_eq!(obs.outcome(), want, "{obs:?}");
            assert_eq!(want.to_string(), text);
        }
    }

    #[test]
    fn precedence_hang_then_alert_then_client_error_then_http() {
        let all = Observation {
            hang: Some("response".into()),
            alert: alert("decode_error", Side::Client),
            client_error: Some("HANDSHAKE_PAYLOAD_TOO_LARGE".into()),
            http: http(200, None, "ok"),
            ..Default::default()
        };
        assert_eq!(all.outcome().to_string(), "hang in response");
        let no_hang = Observation {
            hang: None,
            ..all.clone()
        };
        assert_eq!(
            no_hang.outcome().to_string(),
            "alert decode_error by client"
        );
        let no_alert = Observation {
            alert: None,
            ..no_hang
        };
        assert_eq!(
            no_alert.outcome().to_string(),
            "client error HANDSHAKE_PAYLOAD_TOO_LARGE"
        );
        let no_error = Observation {
            client_error: None,
            ..no_alert
        };
        assert_eq!(no_error.outcome().to_string(), "http 200");
    }

    #[test]
    fn fields_beside_the_outcome_do_not_change_it() {
        let base = Observation {
            alert: alert("certificate_required", Side::Server),
            ..Default::default()
        };
        let busier = Observation {
            tls_version: Some(TlsVersion::Tls13),
            handshake: Some(Handshake::Aborted),
            certificate_requested: true,
            ca_names: Some(CaNamesSeen {
                count: 1,
                encoded_bytes: 20,
                truncated: false,
                subjects: vec!["CN=root".into()],
            }),
            selection_reason: Some("no issuer matched".into()),
            client_error_detail: Some("received fatal alert".into()),
            gateway_log: Some("SSL_do_handshake() failed".into()),
            timings: Timings {
                connect_ms: Some(1.0),
                handshake_ms: Some(2.0),
                response_ms: None,
            },
            ..base.clone()
        };
        assert_ne!(base, busier);
        assert_eq!(base.outcome(), busier.outcome());
        // Two responses that differ only in their bodies have the same outcome.
        let page = |body: &str| Observation {
            http: http(400, None, body),
            ..Default::default()
        };
        assert_eq!(
            page("No required SSL certificate was sent").outcome(),
            page("The SSL certificate error").outcome()
        );
    }

    #[test]
    fn the_sender_and_the_substatus_are_part_of_the_outcome() {
        let by = |side| Observation {
            alert: alert("unknown_ca", side),
            ..Default::default()
        };
        assert_ne!(by(Side::Server).outcome(), by(Side::Client).outcome());
        let iis = |sub| Observation {
            http: http(403, sub, ""),
            ..Default::default()
        };
        assert_ne!(iis(Some(7)).outcome(), iis(Some(16)).outcome());
        assert_ne!(iis(Some(7)).outcome(), iis(None).outcome());
    }
}
