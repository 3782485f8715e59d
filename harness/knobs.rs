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

/// What the gateway does with a CA-names list too long for a
/// CertificateRequest (over 65,535 bytes encoded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaNamesOverflow {
    /// What the profile's gateway does: OpenSSL-based ones abort with
    /// internal_error, JSSE omits the list on TLS 1.3, the built-in
    /// `strict` (rustls, guarded) aborts like OpenSSL.
    #[default]
    Gateway,
    /// Encode it anyway, as a rustls server built in release mode does with
    /// its default root hints: each 16-bit length wraps, and the whole
    /// CertificateRequest (a u24 handshake length) goes out. A debug build of
    /// rustls stops on `debug_assert!(len <= 0xffff)` instead.
    SendWrapped,
}

impl CaNamesOverflow {
    pub fn is_gateway(&self) -> bool {
        *self == CaNamesOverflow::Gateway
    }
}

/// How a TLS-offloading proxy passes the client certificate on: the header
/// and its value's format, as the real proxies write them. The spellings of
/// the first version (`client-cert`, `x-ssl-client-cert`) stay as aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardHeader {
    /// Envoy `x-forwarded-client-cert: Cert="<url-encoded PEM>"`.
    Xfcc,
    /// RFC 9440 `Client-Cert: :<base64 DER>:` (HAProxy
    /// `:%[ssl_c_der,base64]:`).
    #[serde(rename = "rfc9440", alias = "client-cert")]
    ClientCert,
    /// nginx `X-SSL-Client-Cert: $ssl_client_escaped_cert` (url-encoded PEM).
    #[serde(rename = "nginx-escaped-pem", alias = "x-ssl-client-cert")]
    XSslClientCert,
    /// Apache `X-SSL-Client-Cert: %{SSL_CLIENT_CERT}s`: PEM whose newlines
    /// mod_headers turned into spaces.
    ApachePem,
    /// HAProxy `X-SSL-Client-Cert: %[ssl_c_der,base64]` (bare base64 DER).
    HaproxyBase64Der,
}

impl ForwardHeader {
    pub const ALL: [ForwardHeader; 5] = [
        ForwardHeader::Xfcc,
        ForwardHeader::ClientCert,
        ForwardHeader::XSslClientCert,
        ForwardHeader::ApachePem,
        ForwardHeader::HaproxyBase64Der,
    ];

    pub fn header_name(self) -> &'static str {
        match self {
            ForwardHeader::Xfcc => "x-forwarded-client-cert",
            ForwardHeader::ClientCert => "client-cert",
            ForwardHeader::XSslClientCert
            | ForwardHeader::ApachePem
            | ForwardHeader::HaproxyBase64Der => "x-ssl-client-cert",
        }
    }

    /// The spelling in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ForwardHeader::Xfcc => "xfcc",
            ForwardHeader::ClientCert => "rfc9440",
            ForwardHeader::XSslClientCert => "nginx-escaped-pem",
            ForwardHeader::ApachePem => "apache-pem",
            ForwardHeader::HaproxyBase64Der => "haproxy-base64-der",
        }
    }

    /// A format by its name or one of the old aliases.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client-cert" => Some(ForwardHeader::ClientCert),
            "x-ssl-client-cert" => Some(ForwardHeader::XSslClientCert),
            _ => Self::ALL.into_iter().find(|h| h.name() == s),
        }
    }
}

/// How a client picks a certificate from its wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SelectionPolicy {
    /// OpenSSL / curl / reqwest Identity: send the first cert whatever the CA
    /// names (measured: curl, `openssl s_client`, `gnutls-cli`).
    #[default]
    Always,
    /// Never send a certificate.
    Never,
    /// Only a cert whose chain's issuer is among the CA names, and nothing on
    /// an empty list. No real client measured behaves so (browsers, Java and
    /// Go send on an empty list: the `-if-empty` policies below).
    MatchIssuer,
    /// As `match-issuer`, but the first cert when the server sent no names
    /// (measured: Go, Java with the PKIX key manager, Firefox).
    MatchIssuerOrAnyIfEmpty,
    /// An OpenSSL-style client given several identities (Python `ssl`
    /// `load_cert_chain` called once per cert, Node `https` with a `pfx`
    /// array): each replaces the one before (one per key type in
    /// OpenSSL's `SSL_CTX`), so the last loaded is sent whatever the CA names.
    AlwaysLast,
    /// As `match-issuer-or-any-if-empty`, but on an empty list the last
    /// certificate imported (Chromium with an auto-select filter `{}`).
    MatchIssuerOrLastIfEmpty,
    /// A browser with no automatic selection (Chromium without
    /// `AutoSelectCertificateForUrls`, Firefox with "Ask every time"): when
    /// a certificate matches (its issuer among the CA names, or any on an
    /// empty list) it shows the picker and waits for a person; when none
    /// matches it goes on without one (measured headless:
    /// `tests/client_fidelity.rs`). The built-in client reports the wait
    /// as `client_error = "CERTIFICATE_PICKER"` and closes the connection
    /// instead of sleeping until a timeout.
    Prompt,
    /// libgnutls's own choice when the program sets no retrieve callback
    /// (`gnutls_certificate_set_x509_key_file` once per identity): on an
    /// empty list the one identity if it holds exactly one, else nothing;
    /// otherwise, for the server's CA names in order, the first identity
    /// with a certificate of its chain issued by that name (`lib/auth/cert.c`,
    /// `find_x509_client_cert`: "If peer doesn't send any issuers and we have
    /// a single certificate then send that one"). Measured with GnuTLS 3.7
    /// by `real:gnutls-lib` (`gnutls-cli` loads one identity only).
    GnutlsDefault,
}

impl SelectionPolicy {
    pub const ALL: [SelectionPolicy; 8] = [
        SelectionPolicy::Always,
        SelectionPolicy::Never,
        SelectionPolicy::MatchIssuer,
        SelectionPolicy::MatchIssuerOrAnyIfEmpty,
        SelectionPolicy::AlwaysLast,
        SelectionPolicy::MatchIssuerOrLastIfEmpty,
        SelectionPolicy::Prompt,
        SelectionPolicy::GnutlsDefault,
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
            SelectionPolicy::AlwaysLast => "always-last",
            SelectionPolicy::MatchIssuerOrLastIfEmpty => "match-issuer-or-last-if-empty",
            SelectionPolicy::Prompt => "prompt",
            SelectionPolicy::GnutlsDefault => "gnutls-default",
        }
    }

    /// What a client following the policy sends, in one line (docs).
    pub fn summary(self) -> &'static str {
        match self {
            SelectionPolicy::Always => "the wallet's first certificate, whatever the CA names",
            SelectionPolicy::Never => "nothing",
            SelectionPolicy::MatchIssuer => "the first certificate with an issuer among the CA names; nothing when none matches, also on an empty list (no real client measured behaves so)",
            SelectionPolicy::MatchIssuerOrAnyIfEmpty => "the first certificate with an issuer among the CA names, nothing when none matches; on an empty list the first certificate",
            SelectionPolicy::AlwaysLast => "the wallet's last certificate (the last loaded), whatever the CA names",
            SelectionPolicy::MatchIssuerOrLastIfEmpty => "the first certificate with an issuer among the CA names, nothing when none matches; on an empty list the last certificate",
            SelectionPolicy::Prompt => "nothing automatically: when a certificate matches (issuer among the CA names, or any on an empty list) it waits at its certificate picker for a person (the built-in client reports `client_error = \"CERTIFICATE_PICKER\"` and closes the connection); when none matches, nothing",
            SelectionPolicy::GnutlsDefault => "libgnutls without a retrieve callback: on an empty list its one certificate, or nothing when it holds two or more; otherwise, for the CA names in the server's order, the first certificate issued by that name; nothing when none matches (GnuTLS's `lib/auth/cert.c`)",
        }
    }

    /// Whether a client following `self` sends the same certificate as one
    /// following `other` for every CA-names list, given a wallet of
    /// `wallet_len` certificates: with one identity `always` and
    /// `always-last` are the same client, and so are the two
    /// `match-issuer-or-*-if-empty` policies and `gnutls-default`.
    pub fn same_as(self, other: SelectionPolicy, wallet_len: usize) -> bool {
        use SelectionPolicy::*;
        self == other
            || wallet_len == 0
            || (wallet_len == 1
                && matches!(
                    (self, other),
                    (Always, AlwaysLast)
                        | (AlwaysLast, Always)
                        | (MatchIssuerOrAnyIfEmpty, MatchIssuerOrLastIfEmpty)
                        | (MatchIssuerOrLastIfEmpty, MatchIssuerOrAnyIfEmpty)
                        | (GnutlsDefault, MatchIssuerOrAnyIfEmpty)
                        | (MatchIssuerOrAnyIfEmpty, GnutlsDefault)
                        | (GnutlsDefault, MatchIssuerOrLastIfEmpty)
                        | (MatchIssuerOrLastIfEmpty, GnutlsDefault)
                ))
    }
}

/// What a middlebox between client and gateway is, as the field has them.
/// The spellings of the first version stay as aliases: `terminate-strip` is
/// an interceptor, `terminate-forward` an offloader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MiddleboxKind {
    /// HTTP CONNECT, bytes passed through untouched (tinyproxy, squid).
    Tunnel,
    /// Re-originates TLS toward the gateway and asks the client for no
    /// certificate (mitmproxy, squid `ssl_bump`); it may present a
    /// certificate of its own upstream.
    #[serde(alias = "terminate-strip")]
    Intercept,
    /// Terminates the client's TLS asking for its certificate, and forwards
    /// to the gateway, optionally with the certificate in a header (stunnel,
    /// nginx, HAProxy, Apache).
    #[serde(alias = "terminate-forward")]
    Offload,
}

impl MiddleboxKind {
    pub fn name(self) -> &'static str {
        match self {
            MiddleboxKind::Tunnel => "tunnel",
            MiddleboxKind::Intercept => "intercept",
            MiddleboxKind::Offload => "offload",
        }
    }

    /// Whether it asks the client for a certificate unless a scenario says
    /// otherwise: only an offloader does (an interceptor sends no
    /// CertificateRequest; a tunnel never sees the handshake).
    pub fn requests_client_cert(self) -> bool {
        self == MiddleboxKind::Offload
    }
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

/// When the server asks for the client certificate (`[server] asks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Asks {
    /// In the handshake: a CertificateRequest before the server's Finished.
    #[default]
    InHandshake,
    /// Once the request has arrived (Apache `SSLVerifyClient require` in a
    /// `<Location>`, IIS per-path client certificates): by renegotiation on
    /// TLS 1.2, by post-handshake authentication (RFC 8446 §4.6.2) on TLS
    /// 1.3. Whether a certificate arrives then is the client's doing
    /// (`[client] renegotiation`, `post_handshake_auth`).
    AfterRequest,
}

impl Asks {
    pub fn is_in_handshake(&self) -> bool {
        *self == Asks::InHandshake
    }
}

/// An ALPN protocol a client offers (`[client] alpn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlpnProtocol {
    #[serde(rename = "h2")]
    H2,
    #[serde(rename = "http/1.1")]
    Http11,
}

impl AlpnProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            AlpnProtocol::H2 => "h2",
            AlpnProtocol::Http11 => "http/1.1",
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
    /// server's base (`http://127.0.0.1:PORT/crl/`). The case's certificates
    /// carry it (authorityInfoAccess / cRLDistributionPoints) and gateways
    /// read it from there; this copy is for reports and overrides.
    pub url: String,
    /// How long the gateway waits for the responder.
    pub timeout: std::time::Duration,
    /// The responder's state (a real gateway's config may depend on it).
    pub state: ResponderState,
}
