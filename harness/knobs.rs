//! The knobs a scenario turns that the TLS engine itself understands: whether
//! a listener asks for a certificate, which CA names it sends, how a client
//! picks from its wallet, what a middlebox does and which header carries a
//! forwarded certificate. A leaf module, so `tls` can use these types without
//! knowing the scenario format; `scenario::schema` re-exports them under the
//! names the files use.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    None,
    Optional,
    #[default]
    Required,
}

/// Which CA names go into the CertificateRequest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaNamesPolicy {
    /// Every trust anchor's subject (rustls, nginx `ssl_client_certificate`).
    #[default]
    AllTrusted,
    /// Only CAs marked `signs_client_certs` (a Layer7-style gateway trust store).
    Flagged,
    /// No names at all (clients may send any cert).
    Empty,
    /// Exactly these certs' subjects, in order.
    Explicit(Vec<String>),
    /// All trusted names, keeping whole names while the encoded list fits in
    /// this many bytes (Windows/Schannel: 16,384).
    #[serde(rename = "truncate_bytes", alias = "truncate-bytes")]
    TruncateBytes(usize),
    /// All trusted names plus this many generated filler names (oversized lists).
    #[serde(rename = "extra_filler", alias = "extra-filler")]
    ExtraFiller(usize),
    /// All trusted names plus filler names until the encoded list is exactly
    /// this many bytes (to land just under or just over 64 KiB).
    #[serde(rename = "fill_to_bytes", alias = "fill-to-bytes")]
    FillToBytes(usize),
}

/// Forwarding headers a TLS-terminating proxy uses to pass the client cert on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardHeader {
    /// Envoy `x-forwarded-client-cert`.
    Xfcc,
    /// RFC 9440 `Client-Cert`.
    ClientCert,
    /// nginx/HAProxy style `X-SSL-Client-Cert`.
    XSslClientCert,
}

impl ForwardHeader {
    pub fn header_name(self) -> &'static str {
        match self {
            ForwardHeader::Xfcc => "x-forwarded-client-cert",
            ForwardHeader::ClientCert => "client-cert",
            ForwardHeader::XSslClientCert => "x-ssl-client-cert",
        }
    }
}

/// How a client picks a certificate from its wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelectionPolicy {
    /// OpenSSL / curl / reqwest Identity: send the first cert whatever the CA names.
    #[default]
    Always,
    /// Never send a certificate.
    Never,
    /// Browsers, Java, Windows: only a cert whose chain's issuer is among the CA names.
    MatchIssuer,
    /// As `match-issuer`, but any cert when the server sent no names.
    MatchIssuerOrAnyIfEmpty,
}

impl SelectionPolicy {
    pub const ALL: [SelectionPolicy; 4] = [
        SelectionPolicy::Always,
        SelectionPolicy::Never,
        SelectionPolicy::MatchIssuer,
        SelectionPolicy::MatchIssuerOrAnyIfEmpty,
    ];

    /// The policy spelled as in scenario files (`match-issuer`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SelectionPolicy::Always => "always",
            SelectionPolicy::Never => "never",
            SelectionPolicy::MatchIssuer => "match-issuer",
            SelectionPolicy::MatchIssuerOrAnyIfEmpty => "match-issuer-or-any-if-empty",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MiddleboxKind {
    /// HTTP CONNECT, bytes passed through untouched.
    Tunnel,
    /// TLS offload: a new upstream TLS connection without a client cert.
    TerminateStrip,
    /// TLS offload forwarding the client cert in a header.
    TerminateForward,
}

/// How a server lets a client resume an earlier session (a resumed
/// handshake has no CertificateRequest and no Certificate: the server keeps
/// the identity of the handshake that made the session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resumption {
    /// The server keeps sessions: TLS 1.2 session IDs, TLS 1.3 stateful
    /// PSK tickets (an id into the server's cache). rustls's default.
    SessionId,
    /// Stateless tickets: the session is sealed into the ticket (TLS 1.2
    /// RFC 5077, TLS 1.3 PSK); the server keeps nothing.
    Tickets,
    /// No resumption: every connection is a full handshake.
    Off,
}

impl Resumption {
    pub const ALL: [Resumption; 3] = [Resumption::SessionId, Resumption::Tickets, Resumption::Off];

    /// The spelling in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Resumption::SessionId => "session-id",
            Resumption::Tickets => "tickets",
            Resumption::Off => "off",
        }
    }
}

/// How a gateway learns whether a client certificate is revoked
/// (`[revocation] check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationCheck {
    /// CRL files loaded from disk (`[server] crls`): nothing is fetched.
    CrlFile,
    /// The CRL fetched over HTTP from the issuer's CRL distribution point.
    CrlDistributionPoint,
    /// An OCSP request to the issuer's responder.
    Ocsp,
}

impl RevocationCheck {
    pub fn name(self) -> &'static str {
        match self {
            RevocationCheck::CrlFile => "crl-file",
            RevocationCheck::CrlDistributionPoint => "crl-distribution-point",
            RevocationCheck::Ocsp => "ocsp",
        }
    }

    /// Whether a responder (OCSP or CRL server) is consulted over the network.
    pub fn is_online(self) -> bool {
        self != RevocationCheck::CrlFile
    }
}

/// What the harness's OCSP responder and CRL server do (`[revocation] responder`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponderState {
    /// Answers from the PKI's own state.
    #[default]
    Up,
    /// Nothing listens on its port: connection refused.
    Down,
    /// Accepts the connection and never answers.
    Hang,
    /// Answers with an expired OCSP response or an expired CRL.
    Stale,
    /// Answers 200 with bytes that are not DER.
    Malformed,
}

impl ResponderState {
    pub fn name(self) -> &'static str {
        match self {
            ResponderState::Up => "up",
            ResponderState::Down => "down",
            ResponderState::Hang => "hang",
            ResponderState::Stale => "stale",
            ResponderState::Malformed => "malformed",
        }
    }
}

/// A running revocation responder a gateway consults: how, where, and how
/// long it waits. Made at run time by whoever started the responder (never
/// read from a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineRevocation {
    pub check: RevocationCheck,
    /// The OCSP responder's URL (`http://127.0.0.1:PORT/ocsp`), or the CRL
    /// server's base (`http://127.0.0.1:PORT/crl/`).
    pub url: String,
    /// How long the gateway waits for the responder.
    pub timeout: std::time::Duration,
    /// The responder's state (a real gateway's config may depend on it).
    pub state: ResponderState,
}
