//! What is measured: every real client that declares what it answers
//! after the request (and the harness's own rustls client), with each of its
//! switches off and on, offering `h2` where its program can, on TLS 1.2
//! (renegotiation) and TLS 1.3 (post-handshake authentication), holding a
//! matching certificate, a non-matching one or none.

use crate::observation::TlsVersion;
use crate::pki::{Pki, PkiError, PkiSpec};
use crate::real::client::{
    AfterRequest, AfterRequestOptions, Alpn, Answer, OverH2, RealClientKind,
};

/// The client of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A real program (`harness/real/client/`).
    Real(RealClientKind),
    /// The harness's own client (rustls, `tls::client`).
    Rustls,
}

/// What the harness's own client answers: rustls implements neither
/// renegotiation (a HelloRequest gets a `no_renegotiation` warning,
/// rustls/src/client/tls12.rs) nor post-handshake authentication (it never
/// offers the extension); it speaks HTTP/1.1.
pub const RUSTLS_AFTER_REQUEST: AfterRequest = AfterRequest {
    renegotiation: Answer::Never,
    post_handshake_auth: Answer::Never,
    over_h2: OverH2::NotOffered,
};

impl Subject {
    pub fn name(self) -> String {
        match self {
            Subject::Real(k) => k.to_string(),
            Subject::Rustls => "rustls (the harness's client)".into(),
        }
    }

    /// What it declares it answers (`None`: not measured).
    pub fn declared(self) -> Option<AfterRequest> {
        match self {
            Subject::Real(k) => k.after_request().ok(),
            Subject::Rustls => Some(RUSTLS_AFTER_REQUEST),
        }
    }
}

/// A client with its switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub subject: Subject,
    pub options: AfterRequestOptions,
}

impl Variant {
    /// The switches set, as the program spells them (`-enable_pha`), or `-`.
    pub fn switches(&self) -> String {
        let Some(declared) = self.subject.declared() else {
            return "-".into();
        };
        let mut on = Vec::new();
        if let (true, Answer::WithOption(o)) = (self.options.renegotiation, declared.renegotiation)
        {
            on.push(o);
        }
        if let (true, Answer::WithOption(o)) = (
            self.options.post_handshake_auth,
            declared.post_handshake_auth,
        ) {
            on.push(o);
        }
        if on.is_empty() {
            "-".into()
        } else {
            on.join(", ")
        }
    }

    /// What is offered in ALPN: `h2` or HTTP/1.1 only.
    pub fn alpn(&self) -> &'static str {
        match self.options.alpn {
            Some(Alpn::H2) => "h2, http/1.1",
            _ => "http/1.1 only",
        }
    }
}

/// The certificate the client holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// `alice`, issued by the root Apache trusts.
    Matching,
    /// `mallory`, issued by another root.
    NonMatching,
    None,
}

impl Presented {
    pub const ALL: [Presented; 3] = [Presented::Matching, Presented::NonMatching, Presented::None];

    /// The PKI name, if any.
    pub fn cert_name(self) -> Option<&'static str> {
        match self {
            Presented::Matching => Some("alice"),
            Presented::NonMatching => Some("mallory"),
            Presented::None => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presented::Matching => "matching",
            Presented::NonMatching => "non-matching",
            Presented::None => "none",
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub variant: Variant,
    pub version: TlsVersion,
    pub presented: Presented,
}

/// The mechanism Apache uses on `version`.
pub fn mechanism(version: TlsVersion) -> &'static str {
    match version {
        TlsVersion::Tls12 => "renegotiation",
        TlsVersion::Tls13 => "post-handshake auth",
    }
}

/// The variants of one client: its switches off, then each switch on; over
/// HTTP/1.1 only and, where its program offers h2, over h2 as well.
pub fn variants(subject: Subject) -> Vec<Variant> {
    let Some(declared) = subject.declared() else {
        return Vec::new();
    };
    let mut switched = vec![AfterRequestOptions::default()];
    if matches!(declared.renegotiation, Answer::WithOption(_)) {
        switched.push(AfterRequestOptions {
            renegotiation: true,
            ..Default::default()
        });
    }
    if matches!(declared.post_handshake_auth, Answer::WithOption(_)) {
        switched.push(AfterRequestOptions {
            post_handshake_auth: true,
            ..Default::default()
        });
    }
    let alpns: &[Option<Alpn>] = match declared.over_h2 {
        OverH2::NotOffered => &[None],
        _ => &[Some(Alpn::Http11), Some(Alpn::H2)],
    };
    let mut out = Vec::new();
    for alpn in alpns {
        for o in &switched {
            out.push(Variant {
                subject,
                options: AfterRequestOptions { alpn: *alpn, ..*o },
            });
        }
    }
    out
}

/// Every case, in table order.
pub fn plan() -> Vec<Case> {
    let subjects = RealClientKind::ALL
        .into_iter()
        .map(Subject::Real)
        .chain([Subject::Rustls]);
    let mut cases = Vec::new();
    for subject in subjects {
        for variant in variants(subject) {
            for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
                for presented in Presented::ALL {
                    cases.push(Case {
                        variant,
                        version,
                        presented,
                    });
                }
            }
        }
    }
    cases
}

/// The clients that cannot answer a certificate asked for after the
/// request on some version or over h2, each with what it lacks, from the
/// declarations (what `gateway-config` reports for a `<Location>` that
/// asks after the request).
pub fn cannot_answer() -> String {
    let mut out = Vec::new();
    for (s, d) in declarations() {
        let mut lacks = Vec::new();
        for (what, answer) in [
            ("renegotiation (TLS 1.2)", d.renegotiation),
            ("post-handshake auth (TLS 1.3)", d.post_handshake_auth),
        ] {
            match answer {
                Answer::Always => {}
                Answer::WithOption(o) => lacks.push(format!("{what} only with {o}")),
                Answer::SendsThenFails(how) => {
                    lacks.push(format!("{what} sends, then fails: {how}"))
                }
                Answer::Never => lacks.push(format!("no {what}")),
            }
        }
        if d.over_h2 == OverH2::FailsWithStreamError {
            lacks.push("on h2 it fails (HTTP_1_1_REQUIRED)".into());
        }
        if !lacks.is_empty() {
            out.push(format!("{} ({})", s.name(), lacks.join("; ")));
        }
    }
    format!(
        "{}; and any client that stays on HTTP/2 (RFC 7540 §9.2.1 and RFC 8740 forbid both); measured in docs/after-request.md",
        out.join(", ")
    )
}

/// Every client that declares what it answers (the real ones, then the
/// harness's own), with its declaration.
fn declarations() -> impl Iterator<Item = (Subject, AfterRequest)> {
    RealClientKind::ALL
        .into_iter()
        .map(Subject::Real)
        .chain([Subject::Rustls])
        .filter_map(|s| s.declared().map(|d| (s, d)))
}

/// The clients that cannot answer the mechanism a server asks by on
/// `version` without a switch, each with the switch it needs if one does
/// (what `probe` names for a path that asks after the request).
pub fn cannot_answer_on(version: TlsVersion) -> String {
    let mut out = Vec::new();
    for (s, d) in declarations() {
        match d.answer_on(version) {
            Answer::Always => {}
            Answer::WithOption(o) => out.push(format!("{} (without {o})", s.name())),
            Answer::SendsThenFails(_) | Answer::Never => out.push(s.name()),
        }
    }
    format!(
        "{}, and any client that stays on HTTP/2 (docs/after-request.md)",
        out.join(", ")
    )
}

/// The clients that declare nothing (not measured), with their names.
pub fn not_measured() -> Vec<RealClientKind> {
    RealClientKind::ALL
        .into_iter()
        .filter(|k| k.after_request().is_err())
        .collect()
}

const PKI: &str = r#"
[[cert]]
name = "root"
role = "root"
signs_client_certs = true
[[cert]]
name = "other-root"
role = "root"
signs_client_certs = true
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "alice"
role = "client"
issuer = "root"
[[cert]]
name = "mallory"
role = "client"
issuer = "other-root"
"#;

/// The PKI of the measurements: Apache's `gw` and trusted `root`, `alice`
/// (matching) from it, `mallory` (non-matching) from `other-root`.
pub fn measurement_pki() -> Result<Pki, PkiError> {
    let spec: PkiSpec = toml::from_str(PKI).expect("the built-in measurement PKI parses");
    Pki::generate(&spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_and_h2_multiply_only_where_declared() {
        let go = variants(Subject::Real(RealClientKind::Go));
        assert_eq!(go.len(), 4, "{go:?}");
        assert!(go
            .iter()
            .any(|v| v.options.renegotiation && v.options.alpn == Some(Alpn::H2)));
        assert_eq!(variants(Subject::Real(RealClientKind::Java)).len(), 1);
        assert_eq!(variants(Subject::Real(RealClientKind::Chromium)).len(), 2);
        assert_eq!(variants(Subject::Real(RealClientKind::Firefox)).len(), 0);
        let curl = variants(Subject::Real(RealClientKind::Curl));
        assert_eq!(
            curl.iter().map(|v| v.alpn()).collect::<Vec<_>>(),
            ["http/1.1 only", "h2, http/1.1"]
        );
        assert!(measurement_pki().unwrap().cert("mallory").is_ok());
        assert_eq!(plan().len() % 6, 0);
        let cannot = cannot_answer();
        assert!(cannot.contains("rustls (the harness's client) (no renegotiation (TLS 1.2); no post-handshake auth (TLS 1.3))"), "{cannot}");
        assert!(
            cannot.contains("real:go (renegotiation (TLS 1.2) only with"),
            "{cannot}"
        );
        assert!(!cannot.contains("real:curl"), "{cannot}");
    }
}
