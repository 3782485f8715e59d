//! Real nginx, HAProxy, Apache httpd and `openssl s_server` against the same
//! situations as the built-in profiles (tests/gateways.rs), on TLS 1.2 and
//! 1.3: each case runs on the real process AND on the built-in profile whose
//! expectations the real kind uses, and both must give the outcome in the
//! table. Where reality and the profile legitimately differ, the table row
//! says so (`Differs`) with why. No gateway installed is a failure naming the
//! install command, never a silent pass. Every process started is checked
//! gone (by process group) after its case.

use mtls_harness::case::run_case;
use mtls_harness::gateway::{CERT_ERROR_TEXT, NO_CERT_TEXT};
use mtls_harness::observation::{Observation, TlsVersion};
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::real::{group_members, run_case_real_with, RealKind, INSTALL_HINT};
use mtls_harness::scenario::schema::ScenarioFile;
use mtls_harness::tls::Timeouts;

const PKI: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "other-root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
[[cert]]
name = "good"
role = "client"
issuer = "root"
[[cert]]
name = "expired"
role = "client"
issuer = "root"
validity = "expired"
[[cert]]
name = "untrusted"
role = "client"
issuer = "other-root"
[[cert]]
name = "revoked"
role = "client"
issuer = "root"
defects = ["revoked"]
[[cert]]
name = "not-a-ca"
role = "intermediate"
issuer = "root"
defects = ["ca-flag-false"]
[[cert]]
name = "under-not-a-ca"
role = "client"
issuer = "not-a-ca"
[[cert]]
name = "server-eku"
role = "client"
issuer = "root"
defects = ["eku-server-only"]
[[cert]]
name = "no-kcs"
role = "intermediate"
issuer = "root"
defects = ["no-key-cert-sign"]
[[cert]]
name = "under-no-kcs"
role = "client"
issuer = "no-kcs"
[[cert]]
name = "anchor-no-kcs"
role = "root"
defects = ["no-key-cert-sign"]
[[cert]]
name = "under-anchor-no-kcs"
role = "client"
issuer = "anchor-no-kcs"
"#;

/// Situations: (name, client wallet, CRLs the server loads, extra trust
/// anchors besides `root`).
type Situation = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);
const SITUATIONS: &[Situation] = &[
    ("no_cert", &[], &[], &[]),
    ("good", &["good"], &[], &[]),
    ("expired", &["expired"], &[], &[]),
    ("untrusted_root", &["untrusted"], &[], &[]),
    ("revoked", &["revoked"], &["root"], &[]),
    ("issuer_ca_flag_false", &["under-not-a-ca"], &[], &[]),
    ("eku_server_only", &["server-eku"], &[], &[]),
    ("issuer_no_key_cert_sign", &["under-no-kcs"], &[], &[]),
    (
        "anchor_no_key_cert_sign",
        &["under-anchor-no-kcs"],
        &[],
        &["anchor-no-kcs"],
    ),
];

/// An outcome as both ends can be compared on: the HTTP status with the
/// key text of the body, or the alert with its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Http(u16, String),
    Alert(String, String),
    Other(String),
}

fn http(status: u16, text: &str) -> Outcome {
    Outcome::Http(status, text.to_string())
}

fn alert(name: &str) -> Outcome {
    Outcome::Alert(name.to_string(), "server".to_string())
}

/// The key text of a body: the phrases the profiles and gateways use.
fn key_text(body: &str) -> String {
    for phrase in [
        NO_CERT_TEXT,
        CERT_ERROR_TEXT,
        "authenticated",
        "anonymous",
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

fn outcome(obs: &Observation) -> Outcome {
    if let Some(h) = &obs.http {
        return Outcome::Http(h.status, key_text(&h.body_excerpt));
    }
    if let Some(a) = &obs.alert {
        return Outcome::Alert(a.description.clone(), a.sent_by.to_string());
    }
    Outcome::Other(format!(
        "no response: client_error={:?} ({:?}) hang={:?}",
        obs.client_error, obs.client_error_detail, obs.hang
    ))
}

/// What a situation gives on the real gateway and on its built-in profile.
enum Expect {
    Same(Outcome),
    /// A legitimate difference (the reason is in the table's comment).
    Differs {
        real: Outcome,
        builtin: Outcome,
    },
}

fn expected(kind: RealKind, situation: &str, version: TlsVersion) -> Expect {
    use Expect::*;
    use RealKind as K;
    let v12 = version == TlsVersion::Tls12;
    match (kind, situation) {
        // openssl s_server -www answers with its status page, not our text.
        (K::Openssl, "good") => Differs {
            real: http(200, "s_server"),
            builtin: http(200, "authenticated"),
        },
        (_, "good") => Same(http(200, "authenticated")),
        (K::Nginx, "no_cert") => Same(http(400, NO_CERT_TEXT)),
        (K::Nginx, _) => Same(http(400, CERT_ERROR_TEXT)),
        (_, "no_cert") => Same(alert(if v12 {
            "handshake_failure"
        } else {
            "certificate_required"
        })),
        (_, "expired") => Same(alert("certificate_expired")),
        (_, "untrusted_root") => Same(alert("unknown_ca")),
        (_, "revoked") => Same(alert("certificate_revoked")),
        (_, "issuer_ca_flag_false") => Same(alert("unknown_ca")),
        (_, "eku_server_only") => Same(alert("unsupported_certificate")),
        (_, "issuer_no_key_cert_sign") => Same(alert("unknown_ca")),
        (_, "anchor_no_key_cert_sign") => Same(alert("unknown_ca")),
        (k, s) => panic!("no expectation for {k} / {s}"),
    }
}

fn scenario(spec: &PkiSpec, wallet: &[&str], crls: &[&str], extra_trust: &[&str]) -> ScenarioFile {
    let list = |xs: &[&str]| {
        xs.iter()
            .map(|x| format!("\"{x}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "description = \"real matrix\"\n[server]\ncert = \"gw\"\nclient_auth = \"required\"\ntrust = [\"root\"{}]\ncrls = [{}]\n[client]\ncerts = [{}]\nselection = \"always\"\n",
        extra_trust.iter().map(|t| format!(", \"{t}\"")).collect::<String>(),
        list(crls),
        list(wallet)
    );
    let mut file: ScenarioFile = toml::from_str(&text).expect("matrix scenario parses");
    file.pki = spec.clone();
    file
}

/// The gateway must be installed: CI or not, a missing one fails loudly.
fn require_installed(kind: RealKind) {
    if let Err(e) = kind.find_program() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        panic!(
            "{kind}: {e}. The real-gateway suite needs nginx, haproxy, apache2 and openssl: `{INSTALL_HINT}` (ci/test does this){}",
            if ci { " [CI=true]" } else { "" }
        );
    }
}

async fn matrix(kind: RealKind) {
    require_installed(kind);
    let spec = PkiSpec::from_toml(PKI, "real-matrix.toml").expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    let timeouts = Timeouts::default();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (situation, wallet, crls, extra_trust) in SITUATIONS {
        let file = scenario(&spec, wallet, crls, extra_trust);
        for version in TlsVersion::ALL {
            let mut pid = None;
            let real = run_case_real_with(&pki, &file, kind, version, timeouts, |s| {
                pid = Some(s.pid())
            })
            .await
            .unwrap_or_else(|e| panic!("{kind} / {situation} / TLS {version}: {e}"));
            let pid = pid.expect("server started");
            let left = group_members(pid);
            assert!(
                left.is_empty(),
                "{kind} / {situation}: processes survived the case: {left:?}"
            );
            let builtin = run_case(&pki, &file, kind.profile(), version, timeouts)
                .await
                .expect("built-in case runs");
            ran += 1;
            let (got_real, got_builtin) = (outcome(&real), outcome(&builtin));
            let (want_real, want_builtin) = match expected(kind, situation, version) {
                Expect::Same(o) => (o.clone(), o),
                Expect::Differs { real, builtin } => (real, builtin),
            };
            if got_real != want_real || got_builtin != want_builtin {
                failures.push(format!(
                    "{kind} / {situation} / TLS {version}:\n  real:     want {want_real:?}, got {got_real:?}\n  built-in ({}): want {want_builtin:?}, got {got_builtin:?}\n  gateway log: {}",
                    kind.profile(),
                    real.gateway_log.as_deref().unwrap_or("-").replace('\n', "\n    ")
                ));
            }
        }
    }
    assert_eq!(ran, SITUATIONS.len() * 2);
    assert!(
        failures.is_empty(),
        "{} of {ran} cases wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_nginx_matches_nginx_profile() {
    matrix(RealKind::Nginx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_haproxy_matches_haproxy_profile() {
    matrix(RealKind::Haproxy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apache_matches_apache_profile() {
    matrix(RealKind::Apache).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_openssl_s_server_matches_apache_profile() {
    matrix(RealKind::Openssl).await;
}
