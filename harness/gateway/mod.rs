//! Gateway profiles: how a real gateway turns the client-certificate result
//! into a TLS alert or an HTTP response. One file per gateway; the behaviour
//! table with sources is in DESIGN.md.

mod apache;
mod envoy;
mod haproxy;
mod iis;
mod layer7;
mod nginx;
mod strict;

pub use iis::parse_substatus;
pub use nginx::{CERT_ERROR_TEXT, NO_CERT_TEXT};

use crate::scenario::schema::ClientAuth;
use crate::tls::verify::{CertFailure, Rules};
use std::fmt;

/// The gateways the harness models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileKind {
    /// rustls's own server: verification in the handshake, rustls's alerts.
    Strict,
    Nginx,
    /// A Layer7-style API gateway (seed 000).
    Layer7,
    Iis,
    Apache,
    Haproxy,
    Envoy,
}

impl ProfileKind {
    pub const ALL: [ProfileKind; 7] = [
        ProfileKind::Strict,
        ProfileKind::Nginx,
        ProfileKind::Layer7,
        ProfileKind::Iis,
        ProfileKind::Apache,
        ProfileKind::Haproxy,
        ProfileKind::Envoy,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ProfileKind::Strict => "strict",
            ProfileKind::Nginx => "nginx",
            ProfileKind::Layer7 => "layer7",
            ProfileKind::Iis => "iis",
            ProfileKind::Apache => "apache",
            ProfileKind::Haproxy => "haproxy",
            ProfileKind::Envoy => "envoy",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The modes a scenario's `[server.mode]` may give this profile; the
    /// first is the default (the mode DESIGN.md's behaviour table describes).
    pub fn modes(self) -> &'static [&'static str] {
        match self {
            ProfileKind::Layer7 => &[],
            ProfileKind::Strict => strict::MODES,
            ProfileKind::Nginx => nginx::MODES,
            ProfileKind::Iis => iis::MODES,
            ProfileKind::Apache => apache::MODES,
            ProfileKind::Haproxy => haproxy::MODES,
            ProfileKind::Envoy => envoy::MODES,
        }
    }
}

impl fmt::Display for ProfileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where and by whose rules a profile checks the client certificate.
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
    /// follows is [`GatewayProfile::post_handshake_refusal`].
    PostHandshake,
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

/// An HTTP response a profile gives, with the line it would log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub log: String,
}

impl GatewayResponse {
    fn html(status: u16, body: String, log: String) -> Self {
        GatewayResponse {
            status,
            content_type: "text/html",
            body,
            log,
        }
    }

    fn text(status: u16, body: impl Into<String>, log: impl Into<String>) -> Self {
        GatewayResponse {
            status,
            content_type: "text/plain",
            body: body.into(),
            log: log.into(),
        }
    }

    /// The 200 every profile gives an accepted request.
    fn ok(status: &ClientCertStatus) -> Self {
        match status {
            ClientCertStatus::Verified { subject } => Self::text(
                200,
                format!("authenticated: {subject}\n"),
                format!("200 client certificate accepted: {subject}"),
            ),
            _ => Self::text(200, "anonymous\n", "200 no client certificate"),
        }
    }
}

/// A gateway profile with its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayProfile {
    pub kind: ProfileKind,
    /// One of `kind.modes()`, or "" for profiles without modes.
    pub mode: &'static str,
    pub client_auth: ClientAuth,
}

impl GatewayProfile {
    /// `mode` None picks the profile's default mode (the one in DESIGN.md's
    /// table). `client_auth` says whether the listener asks for a certificate
    /// at all (`none`: never); what a missing or bad one leads to is the mode's
    /// business, as on a real gateway (nginx `on` asks without failing the
    /// handshake, whatever the listener is called).
    pub fn new(
        kind: ProfileKind,
        mode: Option<&str>,
        client_auth: ClientAuth,
    ) -> Result<Self, String> {
        let modes = kind.modes();
        let mode = match mode {
            Some(m) => *modes.iter().find(|x| **x == m).ok_or_else(|| {
                if modes.is_empty() {
                    format!("profile `{kind}` has no modes (got `{m}`)")
                } else {
                    format!(
                        "profile `{kind}` has no mode `{m}` (known: {})",
                        modes.join(", ")
                    )
                }
            })?,
            None => modes.first().copied().unwrap_or(""),
        };
        Ok(GatewayProfile {
            kind,
            mode,
            client_auth,
        })
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn enforcement(&self) -> Enforcement {
        let required = self.client_auth != ClientAuth::None;
        match self.kind {
            ProfileKind::Strict => strict::enforcement(self.mode, required),
            ProfileKind::Nginx => nginx::enforcement(),
            ProfileKind::Layer7 => layer7::enforcement(),
            ProfileKind::Iis => iis::enforcement(),
            ProfileKind::Apache => apache::enforcement(self.mode, required),
            ProfileKind::Haproxy => haproxy::enforcement(self.mode, required),
            ProfileKind::Envoy => envoy::enforcement(self.mode, required),
        }
    }

    /// The response to a request on a connection whose certificate status is
    /// `status` (for handshake-enforced profiles, only what got past TLS).
    pub fn respond(&self, status: &ClientCertStatus) -> GatewayResponse {
        match self.kind {
            ProfileKind::Strict => GatewayResponse::ok(status),
            ProfileKind::Nginx => nginx::respond(self.mode, status),
            ProfileKind::Layer7 => layer7::respond(status),
            ProfileKind::Iis => iis::respond(self.mode, status),
            ProfileKind::Apache => apache::respond(self.mode, status),
            ProfileKind::Haproxy => haproxy::respond(self.mode, status),
            ProfileKind::Envoy => envoy::respond(self.mode, status),
        }
    }

    /// The alert this (OpenSSL-based, handshake-enforcing) profile sends when
    /// verification fails with `failure`.
    pub fn openssl_alert(&self, failure: &CertFailure) -> &'static str {
        match (self.kind, failure) {
            // mod_ssl's ssl_callback_SSLVerify ("Expired certificates vs.
            // 'expired' CRLs") sets the X509_STORE_CTX error to -1 so the peer
            // gets certificate_unknown, not OpenSSL's certificate_expired
            // (real Apache 2.4: AH02276 "CRL has expired", alert 46; HAProxy
            // and s_server send certificate_expired).
            (ProfileKind::Apache, CertFailure::CrlExpired) => "certificate_unknown",
            _ => failure.openssl_alert(),
        }
    }

    /// What happens when the certificate must be asked for after the
    /// handshake ([`Enforcement::PostHandshake`]) on `version`.
    pub fn post_handshake_refusal(
        &self,
        version: crate::observation::TlsVersion,
    ) -> PostHandshakeRefusal {
        apache::post_handshake_refusal(version)
    }

    /// The line the gateway logs when the handshake fails with `alert`.
    pub fn handshake_failure_log(&self, alert: &str, failure: Option<&CertFailure>) -> String {
        let reason = failure.map_or_else(String::new, |f| format!(" ({f})"));
        match self.kind {
            ProfileKind::Strict => format!("TLS handshake failed: sent alert {alert}{reason}"),
            ProfileKind::Envoy => format!("TLS error: {alert}{reason}"),
            _ => format!("SSL_do_handshake() failed: sent alert {alert}{reason}"),
        }
    }
}
