//! Real nginx, HAProxy, Apache httpd, `openssl s_server`, lighttpd, a Go
//! net/http server, Caddy and Tomcat against the same situations as the
//! built-in profiles (tests/gateways.rs), on TLS 1.2 and
//! 1.3: each case runs on the real process AND on the built-in profile whose
//! expectations the real kind uses, and both must give the outcome in the
//! table. Where reality and the profile legitimately differ, the table row
//! says so (`Differs`) with why. No gateway installed is a failure naming the
//! install command, never a silent pass. Every process started is checked
//! gone (by process group) after its case.

mod support;

use mtls_harness::gateway::{CERT_ERROR_TEXT, NO_CERT_TEXT};
use mtls_harness::observation::{Observation, TlsVersion};
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::real::{group_members, observe_real_gateway, RealKind};
use mtls_harness::scenario::schema::ScenarioFile;
use mtls_harness::tls::Timeouts;
use support::situations::{
    alert, http, run_builtin, server_alert, situations_pki, Seen, Situation, Tally,
};

/// The situations (tests/support/situations.rs) each real gateway is run in.
const SITUATIONS: &[&str] = &[
    "no_cert",
    "good",
    "expired",
    "untrusted_root",
    // OpenSSL's verify error is 20, not 21 (see the nginx log check in `matrix`).
    "untrusted_root_with_intermediate",
    "revoked",
    "crl_expired",
    "issuer_ca_flag_false",
    "eku_server_only",
    "issuer_no_key_cert_sign",
    "anchor_no_key_cert_sign",
];

/// What a situation gives on the real gateway and on its built-in profile.
enum Expect {
    Same(Seen),
    /// A legitimate difference (the reason is in the table's comment).
    Differs {
        real: Seen,
        builtin: Seen,
    },
}

/// The situations lighttpd runs: it checks its own server chain against
/// the CRLs it loads, so an expired CRL of the server's root breaks every
/// handshake (real:lighttpd reports that scenario unsupported).
const LIGHTTPD_SITUATIONS: &[&str] = &[
    "no_cert",
    "good",
    "expired",
    "untrusted_root",
    "untrusted_root_with_intermediate",
    "revoked",
    "issuer_ca_flag_false",
    "eku_server_only",
    "issuer_no_key_cert_sign",
    "anchor_no_key_cert_sign",
];

fn expected(kind: RealKind, situation: &str, version: TlsVersion) -> Expect {
    use Expect::*;
    use RealKind as K;
    let v12 = version == TlsVersion::Tls12;
    match (kind, situation) {
        // Go 1.19 (and Caddy on it): bad_certificate for everything; no CRLs.
        (K::Go | K::Caddy, "good" | "revoked" | "crl_expired") => Same(http(200, "authenticated")),
        (K::Go | K::Caddy, _) => Same(alert("bad_certificate")),
        // JSSE: bad_certificate without one, certificate_unknown for every failure.
        (K::Tomcat, "good") => Same(http(200, "authenticated")),
        (K::Tomcat, "no_cert") => Same(alert("bad_certificate")),
        (K::Tomcat, _) => Same(alert("certificate_unknown")),
        // openssl s_server -www answers 200 with its status page (its command
        // line, ciphers, session; the client certificate only after the first
        // 4 KiB the client keeps), never our "authenticated" text.
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
        (_, "untrusted_root" | "untrusted_root_with_intermediate") => Same(alert("unknown_ca")),
        // lighttpd passes OpenSSL's alerts on, as Apache per-server does.
        // mod_ssl turns OpenSSL's certificate_expired for an expired CRL into
        // certificate_unknown; HAProxy and s_server pass OpenSSL's alert on.
        (K::Apache, "crl_expired") => Same(alert("certificate_unknown")),
        (_, "crl_expired") => Same(alert("certificate_expired")),
        (_, "revoked") => Same(alert("certificate_revoked")),
        (_, "issuer_ca_flag_false") => Same(alert("unknown_ca")),
        (_, "eku_server_only") => Same(alert("unsupported_certificate")),
        (_, "issuer_no_key_cert_sign") => Same(alert("unknown_ca")),
        (_, "anchor_no_key_cert_sign") => Same(alert("unknown_ca")),
        (k, s) => panic!("no expectation for {k} / {s}"),
    }
}

/// Run one case on the real gateway (checking no process survives it) and
/// on the built-in profile.
async fn run_pair(
    pki: &Pki,
    file: &ScenarioFile,
    kind: RealKind,
    version: TlsVersion,
) -> (Observation, Observation) {
    let timeouts = Timeouts::default();
    let mut pid = None;
    let real = observe_real_gateway(pki, file, kind, version, timeouts, |s| pid = Some(s.pid()))
        .await
        .unwrap_or_else(|e| panic!("{kind} / TLS {version}: {e}"));
    let pid = pid.expect("server started");
    let left = group_members(pid);
    assert!(
        left.is_empty(),
        "{kind}: processes of group {pid} survived the case: {left:?}"
    );
    let builtin = run_builtin(pki, file, kind.profile(), version).await;
    (real, builtin)
}

/// The `(...)` of nginx's "client SSL certificate verify error: (21:...)".
fn verify_error(log: Option<&str>) -> Option<String> {
    let log = log?;
    let start = log.find("verify error: (")? + "verify error: (".len();
    let end = log[start..].find(')')? + start;
    Some(log[start..end].to_string())
}

/// What the client saw besides the outcome, when it failed on its own.
fn detail(obs: &Observation) -> String {
    obs.client_error_detail
        .as_ref()
        .map_or_else(String::new, |d| format!(" ({d})"))
}

type ExpectFn = fn(RealKind, &str, TlsVersion) -> Expect;

async fn matrix(kind: RealKind, mode: Option<&str>, situations: &[&str], expect: ExpectFn) {
    if !support::require_real(kind) {
        return;
    }
    let (spec, pki) = situations_pki();
    let mut tally = Tally::default();
    for &situation in situations {
        let mode = mode.map(|m| (kind.profile().name(), m));
        let file = Situation::named(situation).scenario(&spec, mode);
        for version in TlsVersion::ALL {
            let (real, builtin) = run_pair(&pki, &file, kind, version).await;
            tally.ran();
            let (got_real, got_builtin) = (Seen::of(&real), Seen::of(&builtin));
            let (want_real, want_builtin) = match expect(kind, situation, version) {
                Expect::Same(o) => (o.clone(), o),
                Expect::Differs { real, builtin } => (real, builtin),
            };
            // nginx logs OpenSSL's verify error: the profile must name the same one.
            if let (Some(r), Some(b)) = (
                verify_error(real.gateway_log.as_deref()),
                verify_error(builtin.gateway_log.as_deref()),
            ) {
                if !r.ends_with(&b) {
                    tally.fail(format!(
                        "{kind} / {situation} / TLS {version}: verify error logged: real `{r}`, built-in `{b}`"
                    ));
                }
            }
            if got_real != want_real || got_builtin != want_builtin {
                tally.fail(format!(
                    "{kind} (mode {mode:?}) / {situation} / TLS {version}:\n  real:     want {want_real}, got {got_real}{}\n  built-in ({}): want {want_builtin}, got {got_builtin}{}\n  gateway log: {}",
                    detail(&real),
                    kind.profile(),
                    detail(&builtin),
                    real.gateway_log.as_deref().unwrap_or("-").replace('\n', "\n    ")
                ));
            }
        }
    }
    tally.assert_all_right(situations.len() * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_nginx_matches_nginx_profile() {
    matrix(RealKind::Nginx, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_haproxy_matches_haproxy_profile() {
    matrix(RealKind::Haproxy, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apache_matches_apache_profile() {
    matrix(RealKind::Apache, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_openssl_s_server_matches_haproxy_profile() {
    matrix(RealKind::Openssl, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_lighttpd_matches_apache_profile() {
    matrix(RealKind::Lighttpd, None, LIGHTTPD_SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_go_matches_go_profile() {
    matrix(RealKind::Go, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_caddy_matches_go_profile() {
    matrix(RealKind::Caddy, None, SITUATIONS, expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tomcat_matches_jsse_profile() {
    matrix(RealKind::Tomcat, None, SITUATIONS, expected).await;
}

/// The situations the non-default modes are run in.
const MODE_SITUATIONS: &[&str] = &["no_cert", "good", "expired", "untrusted_root"];

fn expected_nginx_optional(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "no_cert" => Expect::Same(http(200, "anonymous")),
        "good" => Expect::Same(http(200, "authenticated")),
        _ => Expect::Same(http(400, CERT_ERROR_TEXT)),
    }
}

fn expected_nginx_optional_no_ca(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        // optional_no_ca tolerates an untrusted issuer: the request goes on
        // unauthenticated ($ssl_client_verify FAILED:..., our config says anonymous).
        "no_cert" | "untrusted_root" => Expect::Same(http(200, "anonymous")),
        "good" => Expect::Same(http(200, "authenticated")),
        // ...but not an expired certificate (DESIGN table: "even optional_no_ca").
        _ => Expect::Same(http(400, CERT_ERROR_TEXT)),
    }
}

fn expected_haproxy_optional_deny(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "good" => Expect::Same(http(200, "authenticated")),
        _ => Expect::Same(http(403, "Request forbidden by administrative rules")),
    }
}

fn expected_go_verify_if_given(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "no_cert" => Expect::Same(http(200, "anonymous")),
        "good" => Expect::Same(http(200, "authenticated")),
        _ => Expect::Same(alert("bad_certificate")),
    }
}

/// `RequestClientCert`: never verified, every request served.
fn expected_go_request(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "no_cert" => Expect::Same(http(200, "anonymous")),
        _ => Expect::Same(http(200, "unverified")),
    }
}

/// `RequireAnyClientCert`: any certificate, expired or untrusted, is served.
fn expected_go_require_any(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "no_cert" => Expect::Same(alert("bad_certificate")),
        _ => Expect::Same(http(200, "unverified")),
    }
}

/// `optional` and `optionalNoCA` are the same under JSSE.
fn expected_jsse_optional(_: RealKind, situation: &str, _: TlsVersion) -> Expect {
    match situation {
        "no_cert" => Expect::Same(http(200, "anonymous")),
        "good" => Expect::Same(http(200, "authenticated")),
        _ => Expect::Same(alert("certificate_unknown")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_go_and_caddy_modes_match_profile() {
    for kind in [RealKind::Go, RealKind::Caddy] {
        matrix(
            kind,
            Some("verify-if-given"),
            MODE_SITUATIONS,
            expected_go_verify_if_given,
        )
        .await;
        matrix(kind, Some("request"), MODE_SITUATIONS, expected_go_request).await;
        matrix(
            kind,
            Some("require-any"),
            MODE_SITUATIONS,
            expected_go_require_any,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tomcat_optional_modes_match_profile() {
    for mode in ["optional", "optional-no-ca"] {
        matrix(
            RealKind::Tomcat,
            Some(mode),
            MODE_SITUATIONS,
            expected_jsse_optional,
        )
        .await;
    }
}

/// `SSLVerifyClient require` in a `<Location>`: Apache asks for the
/// certificate after the request, by renegotiation (TLS 1.2) or post-handshake
/// authentication (TLS 1.3). rustls clients do neither, so the certificate the
/// client holds makes no difference: TLS 1.2 ends in a handshake_failure alert
/// (AH02261), TLS 1.3 in 403 (AH10158), even for a good certificate.
fn expected_apache_per_directory(_: RealKind, _: &str, version: TlsVersion) -> Expect {
    match version {
        TlsVersion::Tls12 => Expect::Same(alert("handshake_failure")),
        TlsVersion::Tls13 => Expect::Same(http(
            403,
            "You don't have permission to access this resource",
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_nginx_optional_modes_match_profile() {
    matrix(
        RealKind::Nginx,
        Some("optional"),
        MODE_SITUATIONS,
        expected_nginx_optional,
    )
    .await;
    matrix(
        RealKind::Nginx,
        Some("optional_no_ca"),
        MODE_SITUATIONS,
        expected_nginx_optional_no_ca,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_haproxy_optional_deny_matches_profile() {
    matrix(
        RealKind::Haproxy,
        Some("optional-deny"),
        MODE_SITUATIONS,
        expected_haproxy_optional_deny,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_apache_per_directory_matches_profile() {
    matrix(
        RealKind::Apache,
        Some("per-directory"),
        MODE_SITUATIONS,
        expected_apache_per_directory,
    )
    .await;
}

const NAMES_PKI: &str = r#"
[[cert]]
name = "root-a"
role = "root"
subject = "CN=Root A,O=Acme"
signs_client_certs = true
[[cert]]
name = "root-b"
role = "root"
subject = "CN=Root B,O=Acme"
[[cert]]
name = "gw"
role = "server"
issuer = "root-a"
[[cert]]
name = "alice"
role = "client"
issuer = "root-b"
"#;

/// nginx 1.22 refuses `ssl_verify_client` without `ssl_client_certificate`;
/// Apache refuses an empty SSLCADNRequestFile and, without one, sends its
/// SSLCACertificateFile names; so does lighttpd with ssl.ca-dn-file. HAProxy
/// (`ca-verify-file` alone) and s_server (`-no_ca_names`) can. Go and JSSE
/// send their whole pool whatever the policy ([`whole_pool`]).
fn can_send_empty(kind: RealKind) -> bool {
    matches!(kind, RealKind::Haproxy | RealKind::Openssl)
}

/// Go (and Caddy) and JSSE (Tomcat) name every CA they trust, and nothing
/// else: the policy changes nothing but filler CAs, which they load.
fn whole_pool(kind: RealKind) -> bool {
    matches!(kind, RealKind::Go | RealKind::Caddy | RealKind::Tomcat)
}

/// The CA names each gateway sends, per `ca_names` policy, equal to what the
/// built-in profile sends; CAs trusted but not named (nginx
/// `ssl_trusted_certificate`, HAProxy `ca-verify-file`, Apache CAs outside
/// `SSLCADNRequestFile`, s_server `-verifyCAfile`) still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_names_policies_match_profiles() {
    for kind in RealKind::ALL {
        if !support::require_real(kind) {
            return;
        }
    }
    let spec = PkiSpec::from_toml(NAMES_PKI, "names.toml").expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    // (policy as TOML, subjects expected, supported by which gateways)
    let policies: &[(&str, &[&str])] = &[
        (
            "\"all-trusted\"",
            &["CN=Root A, O=Acme", "CN=Root B, O=Acme"],
        ),
        ("\"flagged\"", &["CN=Root A, O=Acme"]),
        ("{ explicit = [\"root-b\"] }", &["CN=Root B, O=Acme"]),
        // Room for one name only: the second is dropped (Windows-style).
        ("{ truncate-bytes = 40 }", &["CN=Root A, O=Acme"]),
        // Filler names: written as filler CA certificates with that subject.
        (
            "{ extra-filler = 2 }",
            &[
                "CN=Root A, O=Acme",
                "CN=Root B, O=Acme",
                "CN=mtls-harness filler CA 00001 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "CN=mtls-harness filler CA 00002 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            ],
        ),
        ("\"empty\"", &[]),
    ];
    let all_trusted = policies[0].1;
    let mut failures = Vec::new();
    for kind in RealKind::ALL {
        for (policy, subjects) in policies {
            let subjects: &[&str] = match *policy {
                "{ extra-filler = 2 }" => subjects,
                _ if whole_pool(kind) => all_trusted,
                _ => subjects,
            };
            let text = format!(
                "description = \"names\"\n[server]\ncert = \"gw\"\ntrust = [\"root-a\", \"root-b\"]\nca_names = {policy}\n[client]\ncerts = [\"alice\"]\nselection = \"always\"\n"
            );
            let mut file: ScenarioFile = toml::from_str(&text).expect("names scenario parses");
            file.pki = spec.clone();
            for version in TlsVersion::ALL {
                let what = format!("{kind} / ca_names = {policy} / TLS {version}");
                let real =
                    observe_real_gateway(&pki, &file, kind, version, Timeouts::default(), |_| {})
                        .await;
                let real = match real {
                    Err(mtls_harness::case::CaseError::Unsupported(why)) => {
                        // Only an empty list is beyond nginx and Apache.
                        if subjects.is_empty() && !can_send_empty(kind) && !whole_pool(kind) {
                            continue;
                        }
                        failures.push(format!("{what}: unsupported: {why}"));
                        continue;
                    }
                    Err(e) => panic!("{what}: {e}"),
                    Ok(obs) => obs,
                };
                if subjects.is_empty() && !can_send_empty(kind) && !whole_pool(kind) {
                    failures.push(format!(
                        "{what}: expected Unsupported, got {}",
                        Seen::of(&real)
                    ));
                    continue;
                }
                let builtin = run_builtin(&pki, &file, kind.profile(), version).await;
                let names = |o: &Observation| {
                    let mut names = o
                        .ca_names
                        .as_ref()
                        .map(|c| c.subjects.clone())
                        .unwrap_or_default();
                    // A JKS truststore's aliases are a hash table: JSSE
                    // names its CAs in no fixed order.
                    if kind == RealKind::Tomcat {
                        names.sort();
                    }
                    names
                };
                let mut want: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
                if kind == RealKind::Tomcat {
                    want.sort();
                }
                if names(&real) != want || names(&builtin) != want {
                    failures.push(format!(
                        "{what}: names want {want:?}, real {:?}, built-in {:?}",
                        names(&real),
                        names(&builtin)
                    ));
                }
                if !real.certificate_requested {
                    failures.push(format!(
                        "{what}: real gateway did not request a certificate"
                    ));
                }
                // alice's CA (root-b) is trusted whether or not it is named.
                // s_server -www answers 200 with its status page (see `expected`).
                let want_real = if kind == RealKind::Openssl {
                    http(200, "s_server")
                } else {
                    http(200, "authenticated")
                };
                // lighttpd's ssl.ca-dn-file, unlike Apache's
                // SSLCADNRequestFile, also refuses a certificate whose
                // issuer it does not list (alice's root-b); the lighttpd
                // profile does the same.
                let refused_by_lighttpd =
                    kind == RealKind::Lighttpd && !subjects.contains(&"CN=Root B, O=Acme");
                let want_real = if refused_by_lighttpd {
                    alert("bad_certificate")
                } else {
                    want_real
                };
                let want_builtin = if refused_by_lighttpd {
                    alert("bad_certificate")
                } else {
                    http(200, "authenticated")
                };
                let (got_real, got_builtin) = (Seen::of(&real), Seen::of(&builtin));
                if got_real != want_real || got_builtin != want_builtin {
                    failures.push(format!(
                        "{what}: outcome real {got_real}, built-in {got_builtin}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A gateway that cannot start is a setup error quoting what it said, and
/// leaves nothing running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_failure_quotes_the_gateway_output() {
    use mtls_harness::real::{RealError, RealServer};
    let spec = PkiSpec::from_toml(
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\ndefects = [\"key-mismatch\"]\n",
        "bad.toml",
    )
    .expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    let file: ScenarioFile =
        toml::from_str("description = \"bad key\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\n")
            .expect("scenario");
    // JSSE does not check at startup that the key matches the certificate
    // (Tomcat starts, its handshakes fail); its refusal of a connector is
    // `tomcat_severe_at_startup_is_a_setup_error`.
    for kind in RealKind::ALL.into_iter().filter(|k| *k != RealKind::Tomcat) {
        if !support::require_real(kind) {
            return;
        }
        match RealServer::start(kind, &pki, &file.server, TlsVersion::Tls13).await {
            Ok(s) => panic!("{kind} started with a mismatched key (pid {})", s.pid()),
            Err(RealError::Exited { log, .. }) => {
                let l = log.to_lowercase();
                assert!(
                    l.contains("key") || l.contains("mismatch"),
                    "{kind}: the error should quote the gateway's complaint:\n{log}"
                );
            }
            Err(e) => panic!("{kind}: want an Exited error quoting the log, got {e}"),
        }
    }
}

/// Tomcat refuses a connector it cannot build (an Ed25519 server key, which
/// Tomcat 10.1 cannot read on JDK 17) with SEVERE in its log while its JVM
/// keeps running and the port never opens: a setup error at once, quoting
/// the SEVERE line (the JVM's process group is killed like any gateway's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tomcat_severe_at_startup_is_a_setup_error() {
    use mtls_harness::real::{RealError, RealServer};
    if !support::require_real(RealKind::Tomcat) {
        return;
    }
    let spec = PkiSpec::from_toml(
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\nkey = \"ed25519\"\n",
        "ed25519.toml",
    )
    .expect("spec");
    let pki = Pki::generate(&spec).expect("pki");
    let file: ScenarioFile =
        toml::from_str("description = \"ed25519\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\n")
            .expect("scenario");
    let started = std::time::Instant::now();
    match RealServer::start(RealKind::Tomcat, &pki, &file.server, TlsVersion::Tls13).await {
        Ok(s) => panic!("real:tomcat started with an Ed25519 key (pid {})", s.pid()),
        Err(RealError::Refused { log, .. }) => {
            assert!(
                log.contains("SEVERE"),
                "the error quotes the SEVERE line:\n{log}"
            );
        }
        Err(e) => panic!("want a Refused error quoting SEVERE, got {e}"),
    }
    // Refused as soon as it is logged, not after the start timeout.
    assert!(
        started.elapsed() < mtls_harness::real::START_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );
}

/// A panicking test still stops its gateway: Drop kills the process group.
#[test]
fn a_panic_still_stops_the_gateway() {
    if !support::require_real(RealKind::Nginx) {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (spec, pki) = situations_pki();
            let file = Situation::named("no_cert").scenario(&spec, None);
            let server = mtls_harness::real::RealServer::start(
                RealKind::Nginx,
                &pki,
                &file.server,
                TlsVersion::Tls13,
            )
            .await
            .expect("nginx starts");
            tx.send(server.pid()).expect("send pid");
            assert!(!group_members(server.pid()).is_empty(), "nginx is running");
            panic!("deliberate panic with a gateway running");
        })
    })
    .join();
    assert!(joined.is_err(), "the thread panicked");
    let pid = rx.recv().expect("pid was sent");
    assert!(
        group_members(pid).is_empty(),
        "nginx (group {pid}) survived the panic: {:?}",
        group_members(pid)
    );
}

/// `mtls-harness gateway-config` writes configs the real programs accept
/// (their own config check), plus a start script and the PKI.
#[test]
fn gateway_config_writes_configs_the_real_programs_accept() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("cases")).expect("mkdir");
    let scenario = dir.path().join("cases").join("config.toml");
    let spec = support::situations::SITUATIONS_PKI
        .replace("[[cert]]", "[[pki.cert]]")
        .trim()
        .to_string();
    std::fs::write(
        &scenario,
        format!(
            "description = \"config\"\n{spec}\n[server]\ncert = \"gw\"\ntrust = [\"root\", \"other-root\"]\nca_names = {{ explicit = [\"root\"] }}\ncrls = [\"root\"]\n[client]\ncerts = [\"good\"]\n[expect]\nresult = \"SUCCESS\"\n"
        ),
    )
    .expect("write scenario");
    let checks: &[(RealKind, &str, &[&str])] = &[
        (
            RealKind::Nginx,
            "nginx.conf",
            &[
                "-t",
                "-q",
                "-p",
                "{out}/",
                "-e",
                "{out}/logs/error.log",
                "-c",
                "{out}/nginx.conf",
            ],
        ),
        (
            RealKind::Haproxy,
            "haproxy.cfg",
            &["-c", "-q", "-f", "{out}/haproxy.cfg"],
        ),
        (
            RealKind::Apache,
            "httpd.conf",
            &["-t", "-d", "{out}", "-f", "{out}/httpd.conf"],
        ),
        (
            RealKind::Lighttpd,
            "lighttpd.conf",
            &["-tt", "-f", "{out}/lighttpd.conf"],
        ),
        (
            RealKind::Caddy,
            "caddy.json",
            &["validate", "--config", "{out}/caddy.json", "--adapter", ""],
        ),
    ];
    for (kind, config, check) in checks {
        if !support::require_real(*kind) {
            return;
        }
        let out = dir.path().join(kind.name());
        let run = support::command()
            .args(["gateway-config", kind.name(), "--scenario"])
            .arg(&scenario)
            .arg("--out")
            .arg(&out)
            .args(["--tls", "1.2", "--port", "18443"])
            .output()
            .expect("run mtls-harness");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{kind}: {stdout}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = std::fs::read_to_string(out.join(config)).expect("config written");
        assert!(text.contains("18443"), "{kind}: port in {config}");
        assert!(out.join("start.sh").is_file(), "{kind}: start.sh");
        assert!(out.join("pki/good.crt").is_file(), "{kind}: PKI written");
        // root is sent as a name, other-root only verifies.
        assert!(out.join("ca-names.pem").is_file() && out.join("ca-verify.pem").is_file());
        let out_s = out.display().to_string();
        let args: Vec<String> = check.iter().map(|a| a.replace("{out}", &out_s)).collect();
        let program = kind.find_program().expect("installed");
        let status = std::process::Command::new(&program)
            .args(&args)
            .output()
            .expect("run config check");
        assert!(
            status.status.success(),
            "{kind} rejects the config it was given:\n{}{}\n--- {config}\n{text}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        );
    }
    // A second run into the same (now non-empty) directory is refused.
    let again = support::command()
        .args(["gateway-config", "nginx", "--scenario"])
        .arg(&scenario)
        .arg("--out")
        .arg(dir.path().join("nginx"))
        .output()
        .expect("run mtls-harness");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

/// `mtls-harness run --gateway real:X` runs the catalog on real processes,
/// judged by the matching profile's expectations; a wrong expectation fails.
#[test]
fn run_with_real_gateways_judges_by_the_matching_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ns = dir.path().join("real");
    std::fs::create_dir(&ns).expect("mkdir");
    let pki = "[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n";
    let write = |name: &str, client: &str, expect: &str| {
        std::fs::write(
            ns.join(format!("{name}.toml")),
            format!("description = \"{name}\"\n{pki}[server]\ncert = \"gw\"\ntrust = [\"root\"]\n[client]\n{client}\n{expect}"),
        )
        .expect("write scenario");
    };
    write(
        "no_cert",
        "certs = []",
        "[expect.gateway.nginx]\nhttp_status = 400\nbody_contains = \"No required SSL certificate was sent\"\n[expect.gateway.haproxy]\nalert = \"certificate_required\"\n[expect.gateway.haproxy.\"1.2\"]\nalert = \"handshake_failure\"\n[expect.gateway.apache]\nalert = \"certificate_required\"\n[expect.gateway.apache.\"1.2\"]\nalert = \"handshake_failure\"\n[expect.gateway.go]\nalert = \"bad_certificate\"\n[expect.gateway.jsse]\nalert = \"bad_certificate\"\n",
    );
    write(
        "good",
        "certs = [\"alice\"]",
        "[expect]\nresult = \"SUCCESS\"\nbody_contains = \"authenticated\"\n",
    );
    let run = |gateway: &str| {
        support::command()
            .arg("run")
            .arg(dir.path())
            .args(["--gateway", gateway])
            .output()
            .expect("run mtls-harness")
    };
    for kind in RealKind::ALL {
        if !support::require_real(kind) {
            return;
        }
        let out = run(&kind.to_string());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}:\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("{kind} ({})", kind.profile())),
            "{stdout}"
        );
        assert!(stdout.contains("4 passed"), "{kind}: {stdout}");
    }
    // A wrong expectation is a failure on the real gateway too.
    write(
        "wrong",
        "certs = []",
        "[expect.gateway.nginx]\nhttp_status = 200\n",
    );
    let out = run("real:nginx");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run("real:squid");
    assert_eq!(out.status.code(), Some(2));
}

/// DESIGN's CA-name size limits on every real gateway, with filler CA
/// certificates sized to the byte: a 65,520-byte list still fits TLS 1.2's
/// u16, so OpenSSL sends it and the rustls client rejects the oversized
/// CertificateRequest (HANDSHAKE_PAYLOAD_TOO_LARGE, decode_error); a
/// 66,000-byte list cannot be encoded and OpenSSL aborts with internal_error.
/// The built-in profiles must do the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_name_list_size_limits_match_profiles() {
    let cases: &[(usize, &[TlsVersion], &str)] = &[
        (65_520, &[TlsVersion::Tls12], "client"),
        (66_000, &TlsVersion::ALL, "server"),
    ];
    let mut failures = Vec::new();
    for (bytes, versions, by) in cases {
        let text = format!(
            "description = \"{bytes} bytes of CA names\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\nca_names = {{ fill-to-bytes = {bytes} }}\n[client]\ncerts = [\"alice\"]\n"
        );
        let file: ScenarioFile = toml::from_str(&text).expect("scenario");
        let pki = Pki::generate(&file.pki).expect("pki");
        // Go and JSSE do not refuse the list: see
        // `oversized_lists_on_go_and_java_gateways`.
        for kind in RealKind::ALL.into_iter().filter(|k| !whole_pool(*k)) {
            if !support::require_real(kind) {
                return;
            }
            for &version in *versions {
                let (real, builtin) = run_pair(&pki, &file, kind, version).await;
                let check = |o: &Observation| match *by {
                    "client" => {
                        o.client_error.as_deref() == Some("HANDSHAKE_PAYLOAD_TOO_LARGE")
                            && !o.client_certificate_sent
                    }
                    _ => o.outcome() == server_alert("internal_error"),
                };
                if !check(&real) || !check(&builtin) {
                    failures.push(format!(
                        "{kind} / {bytes} bytes / TLS {version}: real {} {:?}, built-in {} {:?}",
                        Seen::of(&real),
                        real.client_error,
                        Seen::of(&builtin),
                        builtin.client_error
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Go and JSSE never refuse a CA list over 64 KiB, and what they send
/// instead the built-in server cannot reproduce (the go and jsse profiles
/// SKIP those cases), so the real programs are checked here on their own.
/// Go 1.19: TLS 1.2 sends the CertificateRequest with its lengths cut to 16
/// bits (the client answers decode_error); TLS 1.3 fails to build it after
/// the ServerHello and closes without an alert. JSSE: the names' DER bytes
/// alone under 65,535 (66,000 encoded) fail to encode mid-flight on both
/// versions (decode_error from the client); over it (2,000 extra names) TLS
/// 1.3 leaves the certificate_authorities extension out and serves the
/// certificate, TLS 1.2 still breaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_lists_on_go_and_java_gateways() {
    let client_alert = |name: &str| Seen {
        outcome: mtls_harness::observation::Outcome::Alert {
            description: name.into(),
            sent_by: mtls_harness::observation::Side::Client,
        },
        phrase: None,
    };
    let scenario = |names: &str| {
        let text = format!(
            "description = \"oversized\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[[pki.cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"root\"\n[server]\ncert = \"gw\"\ntrust = [\"root\"]\nca_names = {names}\n[client]\ncerts = [\"alice\"]\n"
        );
        let file: ScenarioFile = toml::from_str(&text).expect("scenario");
        let pki = Pki::generate(&file.pki).expect("pki");
        (file, pki)
    };
    let just_over = scenario("{ fill-to-bytes = 66000 }");
    let far_over = scenario("{ extra-filler = 2000 }");
    let mut failures = Vec::new();
    for kind in [RealKind::Go, RealKind::Caddy, RealKind::Tomcat] {
        if !support::require_real(kind) {
            return;
        }
        for ((file, pki), size) in [(&just_over, "66,000 bytes"), (&far_over, "2,000 extra")] {
            for version in TlsVersion::ALL {
                let real =
                    observe_real_gateway(pki, file, kind, version, Timeouts::default(), |_| {})
                        .await
                        .unwrap_or_else(|e| panic!("{kind} / {size} / TLS {version}: {e}"));
                let got = Seen::of(&real);
                let ok = match (kind, size, version) {
                    (RealKind::Tomcat, "2,000 extra", TlsVersion::Tls13) => {
                        got == http(200, "authenticated") && real.client_certificate_sent
                    }
                    (RealKind::Tomcat, _, _) | (_, _, TlsVersion::Tls12) => {
                        got == client_alert("decode_error") && !real.client_certificate_sent
                    }
                    // Go on TLS 1.3: no alert, the connection just ends.
                    _ => {
                        real.alert.is_none()
                            && real.http.is_none()
                            && real.handshake
                                != Some(mtls_harness::observation::Handshake::Complete)
                    }
                };
                if !ok {
                    failures.push(format!(
                        "{kind} / {size} / TLS {version}: got {got} ({:?})",
                        real.client_error
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
