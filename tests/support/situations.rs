//! Fixtures of the gateway tests: the situations PKI and the
//! situations built from it (tests/gateways.rs, tests/real_gateways.rs),
//! running a case on a built-in profile or starting one, what a case ended in
//! as the tests compare it, and the tally a matrix fails with.

use mtls_harness::case::{gateway_config, run_case};
use mtls_harness::gateway::{ProfileKind, CERT_ERROR_TEXT, NO_CERT_TEXT};
use mtls_harness::observation::{Observation, Outcome, Side, TlsVersion};
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::scenario::schema::{ScenarioFile, ServerSpec};
use mtls_harness::tls::server::RunningGateway;
use mtls_harness::tls::Timeouts;
use std::fmt;

/// One client certificate per situation (and the CAs they need).
pub const SITUATIONS_PKI: &str = include_str!("../data/situations_pki.toml");

/// The situations PKI, parsed and generated.
pub fn situations_pki() -> (PkiSpec, Pki) {
    let spec = PkiSpec::from_toml(SITUATIONS_PKI, "situations_pki.toml").expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    (spec, pki)
}

/// A classic client-certificate situation: what the client holds and what
/// the server loads besides trusting `root`.
#[derive(Debug)]
pub struct Situation {
    pub name: &'static str,
    /// The client's certificates (it always sends the first).
    pub wallet: &'static [&'static str],
    /// The CAs whose CRLs the server loads.
    pub crls: &'static [&'static str],
    /// Trust anchors besides `root`.
    pub extra_trust: &'static [&'static str],
}

const fn situation(
    name: &'static str,
    wallet: &'static [&'static str],
    crls: &'static [&'static str],
    extra_trust: &'static [&'static str],
) -> Situation {
    Situation {
        name,
        wallet,
        crls,
        extra_trust,
    }
}

/// Every situation the matrices run; each test file picks its own by name.
const SITUATIONS: &[Situation] = &[
    situation("no_cert", &[], &[], &[]),
    situation("good", &["good"], &[], &[]),
    situation("expired", &["expired"], &[], &[]),
    situation("untrusted_root", &["untrusted"], &[], &[]),
    // The client sends its (untrusted) intermediate too: OpenSSL's verify
    // error is 20, not 21.
    situation(
        "untrusted_root_with_intermediate",
        &["untrusted-via-int"],
        &[],
        &[],
    ),
    situation("revoked", &["revoked"], &["root"], &[]),
    situation("crl_expired", &["stale-crl"], &["root2"], &["root2"]),
    situation("issuer_ca_flag_false", &["under-not-a-ca"], &[], &[]),
    situation("eku_server_only", &["server-eku"], &[], &[]),
    situation("issuer_no_key_cert_sign", &["under-no-kcs"], &[], &[]),
    situation(
        "anchor_no_key_cert_sign",
        &["under-anchor-no-kcs"],
        &[],
        &["anchor-no-kcs"],
    ),
];

impl Situation {
    /// The situation called `name`.
    pub fn named(name: &str) -> &'static Situation {
        SITUATIONS
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no situation named {name}"))
    }

    /// The scenario: gateway certificate `gw`, a client certificate
    /// required, `root` (and the extra anchors) trusted, the CRLs loaded;
    /// the client always sends its first certificate. `mode` is
    /// `(profile, mode)` for `[server.mode]`.
    pub fn scenario(&self, spec: &PkiSpec, mode: Option<(&str, &str)>) -> ScenarioFile {
        let quoted = |xs: &[&str]| {
            xs.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let trust: Vec<&str> = std::iter::once("root")
            .chain(self.extra_trust.iter().copied())
            .collect();
        let text = format!(
            "description = \"situation {}\"\n[server]\ncert = \"gw\"\nclient_auth = \"required\"\ntrust = [{}]\ncrls = [{}]\n[client]\ncerts = [{}]\nselection = \"always\"\n",
            self.name,
            quoted(&trust),
            quoted(self.crls),
            quoted(self.wallet)
        );
        let mut file: ScenarioFile = toml::from_str(&text).expect("situation scenario parses");
        file.pki = spec.clone();
        if let Some((profile, mode)) = mode {
            file.server.mode.insert(profile.into(), mode.into());
        }
        file
    }
}

/// One case on a built-in profile, with the default timeouts.
pub async fn run_builtin(
    pki: &Pki,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
) -> Observation {
    run_case(pki, file, profile, version, Timeouts::default())
        .await
        .unwrap_or_else(|e| panic!("{profile} / TLS {version}: case does not run: {e}"))
}

/// A built-in gateway serving `server` on a free port.
pub async fn start_builtin(
    pki: &Pki,
    server: &ServerSpec,
    profile: ProfileKind,
    versions: &[TlsVersion],
) -> RunningGateway {
    let config = gateway_config(
        pki,
        server,
        profile,
        versions.to_vec(),
        Timeouts::default(),
        None,
    )
    .expect("gateway config");
    mtls_harness::tls::server::start(config)
        .await
        .expect("gateway starts")
}

/// What a case ended in, as the tests compare it: the shared [`Outcome`]
/// and, for an HTTP response, the phrase of its body that says what the
/// gateway decided ([`key_phrase`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub outcome: Outcome,
    pub phrase: Option<String>,
}

impl Seen {
    pub fn of(obs: &Observation) -> Seen {
        let outcome = obs.outcome();
        let phrase = match (&outcome, &obs.http) {
            (Outcome::Http { .. }, Some(h)) => Some(key_phrase(&h.body_excerpt)),
            _ => None,
        };
        Seen { outcome, phrase }
    }
}

impl fmt::Display for Seen {
    /// `http 400 "The SSL certificate error"`, `alert unknown_ca by server`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.phrase {
            Some(p) => write!(f, "{} {p:?}", self.outcome),
            None => write!(f, "{}", self.outcome),
        }
    }
}

/// An HTTP response (no IIS substatus) whose body says `phrase`.
pub fn http(status: u16, phrase: &str) -> Seen {
    Seen {
        outcome: Outcome::Http {
            status,
            substatus: None,
        },
        phrase: Some(phrase.to_string()),
    }
}

/// The server's alert `name`, as an outcome.
pub fn server_alert(name: &str) -> Outcome {
    Outcome::Alert {
        description: name.to_string(),
        sent_by: Side::Server,
    }
}

/// The server's alert `name`.
pub fn alert(name: &str) -> Seen {
    Seen {
        outcome: server_alert(name),
        phrase: None,
    }
}

/// The phrase of a body that says what the gateway decided: the first of the
/// phrases the profiles and real gateways use that it contains, else its
/// first 80 characters.
pub fn key_phrase(body: &str) -> String {
    for phrase in [
        NO_CERT_TEXT,
        CERT_ERROR_TEXT,
        "authenticated",
        "anonymous",
        // Go's RequestClientCert / RequireAnyClientCert.
        "unverified",
        "Request forbidden by administrative rules",
        "You don't have permission to access this resource",
        // openssl s_server -www: its status page.
        "s_server",
    ] {
        if body.contains(phrase) {
            return phrase.to_string();
        }
    }
    body.chars().take(80).collect()
}

/// The cases a matrix ran and the wrong ones; it fails listing them all.
#[derive(Debug, Default)]
pub struct Tally {
    ran: usize,
    failures: Vec<String>,
}

impl Tally {
    /// One more case ran.
    pub fn ran(&mut self) {
        self.ran += 1;
    }

    pub fn fail(&mut self, why: String) {
        self.failures.push(why);
    }

    /// Exactly `cases` ran and none was wrong.
    #[track_caller]
    pub fn assert_all_right(self, cases: usize) {
        assert_eq!(self.ran, cases, "cases run");
        assert!(
            self.failures.is_empty(),
            "{} of {} cases wrong:\n{}",
            self.failures.len(),
            self.ran,
            self.failures.join("\n")
        );
    }
}
