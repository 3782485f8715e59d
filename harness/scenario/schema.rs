//! The scenario file format (`scenarios/<namespace>/<name>.toml`). A contract:
//! see DESIGN.md. Extend, never rename.

pub use crate::knobs::{
    AlpnProtocol, Asks, CaNamesOverflow, CaNamesPolicy, ClientAuth, ForwardHeader, MiddleboxKind,
    OnlineRevocation, ResponderState, Resumption, RevocationCheck, SelectionPolicy,
};
use crate::observation::{Side, TlsVersion};
use crate::pki::spec::PkiSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One scenario file, as written on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub description: String,
    /// The field report it reproduces: "000" | "001" | "002" | "003".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub pki: PkiSpec,
    pub server: ServerSpec,
    #[serde(default)]
    pub client: ClientSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middlebox: Option<MiddleboxSpec>,
    /// How the gateway checks revocation, and the responder it asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationSpec>,
    #[serde(default)]
    pub expect: ExpectSpec,
    /// `[[step]]`: connections and changes run in order against one
    /// running gateway; each connection has its own `[step.expect]`.
    #[serde(default, rename = "step", skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSpec>,
}

/// One `[[step]]` of a scenario: a connection, or a change to the
/// gateway's trust material on disk, or a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub action: StepAction,
    /// `revoke`: the certificate revoked (its issuer's CRL is published
    /// anew); `replace-server-cert`: the server certificate that replaces
    /// the one in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// `connect`: the wallet of this connection (default `[client] certs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certs: Option<Vec<String>>,
    /// `expire-crl`: the CA whose CRL is published past its nextUpdate;
    /// `add-ca` / `remove-ca`: the CA added to or removed from the trust
    /// store (and the CA names sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// `reload`: by which mechanism (default the program's own reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<ReloadVia>,
    /// `connect`: what this connection must give, layered as `[expect]` is
    /// (gateway and version tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectation>,
}

/// What a `[[step]]` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepAction {
    /// One connection and request, judged by the step's `expect`.
    Connect,
    /// Revoke `cert`: its issuer's CRL file is replaced by one listing it.
    Revoke,
    /// Replace `ca`'s CRL file by one past its nextUpdate.
    ExpireCrl,
    /// Replace the server certificate and key files by `cert`'s.
    ReplaceServerCert,
    /// Add `ca` to the trust store file (and the CA names).
    AddCa,
    /// Remove `ca` from the trust store file (and the CA names).
    RemoveCa,
    /// Make the gateway take what is on disk, `via` its mechanism.
    Reload,
}

impl StepAction {
    pub fn name(self) -> &'static str {
        match self {
            StepAction::Connect => "connect",
            StepAction::Revoke => "revoke",
            StepAction::ExpireCrl => "expire-crl",
            StepAction::ReplaceServerCert => "replace-server-cert",
            StepAction::AddCa => "add-ca",
            StepAction::RemoveCa => "remove-ca",
            StepAction::Reload => "reload",
        }
    }
}

/// How a `reload` step makes the gateway take its changed files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReloadVia {
    /// The program's own graceful reload: nginx `-s reload` (SIGHUP), Apache
    /// `-k graceful` (SIGUSR1).
    #[default]
    Signal,
    /// HAProxy's runtime API on its stats socket: `set ssl crl-file`, `set
    /// ssl ca-file`, `set ssl cert`, then `commit`, for each file changed.
    RuntimeApi,
    /// Caddy's admin endpoint: `POST /load` with the configuration as on
    /// disk (what `caddy reload` does).
    AdminApi,
}

impl ReloadVia {
    pub fn name(self) -> &'static str {
        match self {
            ReloadVia::Signal => "signal",
            ReloadVia::RuntimeApi => "runtime-api",
            ReloadVia::AdminApi => "admin-api",
        }
    }
}

/// `[revocation]`: how the gateway checks revocation and what the
/// harness's responder (OCSP responder and CRL server on 127.0.0.1) does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationSpec {
    pub check: RevocationCheck,
    /// Default `up`. Meaningless with `crl-file` (nothing is fetched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<ResponderState>,
    /// How long a gateway waits for the responder, in place of its real
    /// default (nginx: client_header_timeout 60 s; Apache:
    /// SSLOCSPResponderTimeout 10 s; CryptoAPI 15 s), so a `hang` case stays
    /// short. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Certificates the OCSP responder has no record of (it answers
    /// `unknown` for them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_to_responder: Vec<String>,
}

impl RevocationSpec {
    /// The default of `timeout_secs`.
    pub const DEFAULT_TIMEOUT_SECS: u64 = 2;

    pub fn responder(&self) -> ResponderState {
        self.responder.unwrap_or_default()
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs.unwrap_or(Self::DEFAULT_TIMEOUT_SECS))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerSpec {
    /// The server certificate (a `server` cert of the PKI).
    pub cert: String,
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// Trust anchors / CAs for client verification (`<prefix>-*` allowed).
    #[serde(default)]
    pub trust: Vec<String>,
    #[serde(default)]
    pub ca_names: CaNamesPolicy,
    /// What happens to a CA-names list over 65,535 bytes (default: what the
    /// profile's gateway does).
    #[serde(default, skip_serializing_if = "CaNamesOverflow::is_gateway")]
    pub ca_names_overflow: CaNamesOverflow,
    /// The scenario runs once per version listed.
    #[serde(default = "default_tls")]
    pub tls: Vec<TlsVersion>,
    /// Issuers whose CRL the server loads.
    #[serde(default)]
    pub crls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_forwarded_header: Option<ForwardHeader>,
    /// Client certs (names) of the proxies whose forwarding header is trusted.
    /// Default: the scenario's `middlebox.upstream_cert`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// Per-profile modes, e.g. `nginx = "optional_no_ca"`, `apache = "per-directory"`,
    /// `haproxy = "optional-deny"`, `envoy = "rbac"`. Default derives from `client_auth`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mode: BTreeMap<String, String>,
    /// Also send these certs after the leaf (intermediates), default: the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_chain: Option<bool>,
    /// How a client may resume an earlier session (default: the gateway's
    /// own default; the built-in one keeps sessions, as `session-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumption: Option<Resumption>,
    /// When the certificate is asked for: in the handshake (default), or
    /// after the request (renegotiation on TLS 1.2, post-handshake auth on
    /// TLS 1.3), on every path.
    #[serde(default, skip_serializing_if = "Asks::is_in_handshake")]
    pub asks: Asks,
    /// The running responder of `[revocation]`, set by whoever runs the
    /// case (never read from a file): what a real gateway's config names.
    #[serde(skip)]
    pub online_revocation: Option<OnlineRevocation>,
    /// The versions on which the case's client answers a certificate asked
    /// for after the request ([`ClientSpec::answers_after_request`]), set
    /// by whoever runs the case (never read from a file): the built-in
    /// gateway's model of an after-request ask follows it.
    #[serde(skip)]
    pub client_answers_after_request: Vec<TlsVersion>,
}

impl Default for ServerSpec {
    /// No certificate named yet (set `cert`), the client certificate
    /// required, trust in nothing, every version.
    fn default() -> Self {
        ServerSpec {
            cert: String::new(),
            client_auth: ClientAuth::default(),
            trust: Vec::new(),
            ca_names: CaNamesPolicy::default(),
            ca_names_overflow: CaNamesOverflow::default(),
            tls: default_tls(),
            crls: Vec::new(),
            trust_forwarded_header: None,
            trusted_proxies: Vec::new(),
            mode: BTreeMap::new(),
            send_chain: None,
            resumption: None,
            asks: Asks::InHandshake,
            online_revocation: None,
            client_answers_after_request: Vec::new(),
        }
    }
}

pub fn default_tls() -> Vec<TlsVersion> {
    TlsVersion::ALL.to_vec()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The wallet: cert names, each sent with its chain.
    #[serde(default)]
    pub certs: Vec<String>,
    #[serde(default)]
    pub selection: SelectionPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge_header: Option<ForwardHeader>,
    /// Send the intermediates after the leaf (default true).
    #[serde(default = "yes")]
    pub send_intermediates: bool,
    /// Versions the client offers (default: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Vec<TlsVersion>>,
    /// Server name to send (default `localhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Root(s) the client trusts for the server cert (default: the server cert's root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trust: Vec<String>,
    /// Connections made one after the other with the same client (one
    /// session cache: the later ones offer to resume); the last one is
    /// judged (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub connections: u32,
    /// Offer TLS 1.3 post-handshake authentication (the
    /// `post_handshake_auth` extension) and answer its CertificateRequest
    /// (default false: rustls, the built-in client, does not).
    #[serde(default, skip_serializing_if = "is_false")]
    pub post_handshake_auth: bool,
    /// Accept a TLS 1.2 renegotiation the server starts, and send the
    /// certificate on the new handshake (default false: rustls refuses
    /// with no_renegotiation).
    #[serde(default, skip_serializing_if = "is_false")]
    pub renegotiation: bool,
    /// The ALPN protocols offered, in order (default: `http/1.1` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<Vec<AlpnProtocol>>,
}

impl ClientSpec {
    /// Whether this client answers a certificate asked for after the
    /// request on `version`: by renegotiation (TLS 1.2) or post-handshake
    /// authentication (TLS 1.3).
    pub fn answers_after_request(&self, version: TlsVersion) -> bool {
        match version {
            TlsVersion::Tls12 => self.renegotiation,
            TlsVersion::Tls13 => self.post_handshake_auth,
        }
    }

    /// Whether it offers `h2`.
    pub fn offers_h2(&self) -> bool {
        self.alpn
            .as_ref()
            .is_some_and(|a| a.contains(&AlpnProtocol::H2))
    }
}

impl Default for ClientSpec {
    fn default() -> Self {
        ClientSpec {
            certs: Vec::new(),
            selection: SelectionPolicy::default(),
            forge_header: None,
            send_intermediates: true,
            tls: None,
            sni: None,
            trust: Vec::new(),
            connections: 1,
            post_handshake_auth: false,
            renegotiation: false,
            alpn: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiddleboxSpec {
    pub kind: MiddleboxKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<ForwardHeader>,
    /// Whether a terminating middlebox asks the client for a certificate
    /// (default: an offloader does, an interceptor does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_client_cert: Option<bool>,
    /// The certificate the middlebox presents to clients (default: the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// The client certificate a terminating middlebox presents to the
    /// gateway (its own identity; none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_cert: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExpectedResult {
    /// The request was authenticated: a 2xx response.
    Success,
    /// Anything else.
    Failure,
}

/// Expected `ca_names` facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaNamesExpectation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// The encoded list is at most this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

/// One set of expected fields. A missing field is not checked; a present one is exact.
///
/// The same table shape is used at three levels: `[expect]` (defaults for every
/// profile), `[expect.gateway.<profile>]` / `[expect.client.<policy>]`
/// (overrides), and `."1.2"` / `."1.3"` below either (per-version overrides).
/// Loading rejects nesting that makes no sense (a `gateway` table inside a
/// gateway table, a version inside a version).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ExpectedResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<crate::observation::Handshake>,
    /// RFC 8446 snake_case alert name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_sent_by: Option<Side>,
    /// Canonical SCREAMING_SNAKE client error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_substatus: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_sent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_requested: Option<bool>,
    /// The (last) connection resumed an earlier session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_names: Option<CaNamesExpectation>,
    /// A substring of the gateway's log line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_contains: Option<String>,
    /// The subject of the certificate the server presented (`CN=gw`): which
    /// one a gateway serves after a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cert_subject: Option<String>,
    #[serde(rename = "1.2", default, skip_serializing_if = "Option::is_none")]
    pub tls12: Option<Box<Expectation>>,
    #[serde(rename = "1.3", default, skip_serializing_if = "Option::is_none")]
    pub tls13: Option<Box<Expectation>>,
    /// `[expect.gateway.<profile>]`
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gateway: BTreeMap<String, Expectation>,
    /// `[expect.client.<selection-policy>]`
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client: BTreeMap<String, Expectation>,
    /// `[expect.performance]` (directly under `[expect]` only): a bound on
    /// handshake cost as a ratio to a baseline measured in the same run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceExpectation>,
}

/// `[expect.performance]`: this scenario's built-in gateway against the same
/// gateway with a smaller trust store, both measured in the same run,
/// interleaved, in CPU time. Never an absolute time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceExpectation {
    /// What the scenario is compared with.
    pub baseline: PerformanceBaseline,
    /// CPU per handshake at most this multiple of the baseline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_ratio: Option<f64>,
    /// Handshakes per CPU second at least this multiple of the baseline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_handshakes_ratio: Option<f64>,
}

/// `baseline = { trust_anchors = 1 }`: the same `[server]` trusting only
/// this many of its CAs (those the client's certificates chain to first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformanceBaseline {
    pub trust_anchors: usize,
}

/// The `[expect]` table of a scenario.
pub type ExpectSpec = Expectation;
