//! `run --gateway-config FILE --policy POLICY`: the cases a policy derives
//! ([`crate::policy::plan`]) run against the user's configuration, started
//! on a PKI minted for the policy's identities; each outcome is compared
//! with the route's expectation and every difference is a deviation.
//!
//! The PKI: `root` (what the configuration's CA files get), `issuing` below
//! it (for `issuer = "intermediate"`), `gw`, one certificate per identity
//! and, for the classes that must not authenticate, one per defect with an
//! allowed subject; `other-root` issues the untrusted one. `root.crl` holds
//! the CRL of `root` and of `issuing` (a CRL file may hold several).

use crate::knobs::SelectionPolicy;
use crate::observation::{Observation, Side, TlsVersion};
use crate::pki::{IssuedCert, Pki, PkiBuilder, PkiError};
use crate::policy::{plan, CaseClass, IdentityIssuer, ListenerRef, Outcome, Policy, PolicyCase};
use crate::real::client::{
    client_timeout, run_real_client, ClientJob, RealClientError, RealClientKind, WalletFiles,
};
use crate::real::origin::Origin;
use crate::tls::client::{ClientKind, ClientSpec, WalletEntry};
use crate::tls::Timeouts;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::Path;

/// The subject of a certificate no identity of the policy has.
const NOT_ALLOWED_SUBJECT: &str = "CN=mtls-harness-not-allowed,O=mtls-harness";
/// The subject when a route allows `"*"` and the policy names no identity.
const ANY_SUBJECT: &str = "CN=mtls-harness-client,O=mtls-harness";
/// What a forged header carries.
const FORGED: &str = "forged-by-the-client";

/// An RFC 4514 string (as nginx's `$ssl_client_s_dn` prints a subject: the
/// last RDN first) in the order the PKI spec writes RDNs (first in the
/// certificate first): the RDNs reversed.
fn x509_order(rfc4514: &str) -> String {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in rfc4514.chars() {
        match c {
            ',' if !escaped => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    parts.push(current);
    parts.reverse();
    parts.iter().map(|p| p.trim()).collect::<Vec<_>>().join(",")
}

/// The certificate name of `identity` (or the harness's own subject) for
/// `class`.
fn cert_name(class: CaseClass, identity: Option<&str>) -> Option<String> {
    let who = identity.unwrap_or("harness");
    Some(match class {
        CaseClass::NoCertificate => return None,
        CaseClass::Denied if identity.is_none() => "not-allowed".into(),
        CaseClass::Allowed
        | CaseClass::AllowedViaIntermediate
        | CaseClass::Denied
        | CaseClass::ForgedHeader => format!("id-{who}"),
        CaseClass::Expired => format!("id-{who}-expired"),
        CaseClass::NotYetValid => format!("id-{who}-not-yet-valid"),
        CaseClass::Untrusted => format!("id-{who}-untrusted"),
        CaseClass::Revoked => format!("id-{who}-revoked"),
        CaseClass::WrongEku => format!("id-{who}-wrong-eku"),
    })
}

/// Mint the PKI the policy's cases need.
pub fn policy_pki(policy: &Policy) -> Result<Pki, PkiError> {
    let mut b = Pki::builder()
        .root("root")
        .intermediate("issuing", "root")
        .server("gw", "root")
        .root("other-root")
        .client("not-allowed", "root")
        .subject(&x509_order(NOT_ALLOWED_SUBJECT));
    let mut people: Vec<(String, String, Vec<String>, IdentityIssuer)> = policy
        .identity
        .iter()
        .map(|i| {
            let sans = i
                .san_uri
                .iter()
                .chain(&i.san_dns)
                .chain(&i.san_email)
                .cloned()
                .collect();
            (i.name.clone(), x509_order(&i.subject), sans, i.issuer)
        })
        .collect();
    people.push((
        "harness".into(),
        x509_order(ANY_SUBJECT),
        Vec::new(),
        IdentityIssuer::Root,
    ));
    for (name, subject, sans, issuer) in &people {
        let ca = match issuer {
            IdentityIssuer::Root => "root",
            IdentityIssuer::Intermediate => "issuing",
        };
        let id = format!("id-{name}");
        b = b.client(&id, ca).subject(subject).sans(sans);
        // The certificates that must not authenticate: the same subject,
        // one defect each (their names are `cert_name`'s).
        type Mark = fn(PkiBuilder) -> PkiBuilder;
        let defects: [(&str, Mark); 4] = [
            ("expired", PkiBuilder::expired),
            ("not-yet-valid", PkiBuilder::not_yet_valid),
            ("revoked", PkiBuilder::revoked),
            ("wrong-eku", PkiBuilder::eku_server_only),
        ];
        for (suffix, mark) in defects {
            b = mark(b.client(&format!("{id}-{suffix}"), ca).subject(subject));
        }
        b = b
            .client(&format!("{id}-untrusted"), "other-root")
            .subject(subject);
    }
    b.build()
}

/// Write what a configuration's paths are rewritten onto: the
/// [`crate::real::user_config`] layout (`gw.chain.pem`, `gw.key`, `gw.pem`,
/// `root.crt`, `root.crl`).
pub fn write_gateway_files(pki: &Pki, dir: &Path) -> Result<(), PkiError> {
    pki.write_to(dir)?;
    let write = |name: &str, text: String, private: bool| -> Result<(), PkiError> {
        let path = dir.join(name);
        let io = |source| PkiError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&path, text).map_err(io)?;
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = private;
        Ok(())
    };
    let crl_pem = |ca: &str| {
        pki.crl(ca)
            .map(|c| IssuedCert::pem_of(c).replace("CERTIFICATE", "X509 CRL"))
            .unwrap_or_default()
    };
    write("root.crl", crl_pem("root") + &crl_pem("issuing"), false)?;
    let gw = pki.cert("gw")?;
    write("gw.pem", gw.chain_pem() + &gw.key_pem(), true)?;
    Ok(())
}

/// A TLS listener of the running configuration.
#[derive(Debug, Clone)]
pub struct PolicyListener {
    /// As the user wrote it.
    pub name: String,
    pub addr: SocketAddr,
}

/// One difference between what a route expects and what happened.
#[derive(Debug, Clone, Serialize)]
pub struct Deviation {
    pub listener: String,
    pub route: String,
    pub class: CaseClass,
    pub tls: TlsVersion,
    pub expected: String,
    pub observed: String,
    /// The configuration's likely reason, when the class and what the
    /// configuration loads say it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What the harness knows of the configuration beyond its answers.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConfigFacts {
    /// It names a CRL file (nginx `ssl_crl`, HAProxy `crl-file`, Apache
    /// `SSLCARevocationFile`).
    pub loads_crl: bool,
    /// Paths (Apache `<Location>`) whose certificate is asked for after the
    /// request.
    pub after_request: Vec<String>,
}

impl ConfigFacts {
    pub fn new(loads_crl: bool) -> Self {
        ConfigFacts {
            loads_crl,
            after_request: Vec::new(),
        }
    }

    /// With the paths asked for after the request.
    pub fn with_after_request(mut self, paths: Vec<String>) -> Self {
        self.after_request = paths;
        self
    }

    /// The `<Location>` covering `path` that asks after the request, if
    /// any: Apache matches `/admin` to `/admin`, `/admin/` and `/admin/x`,
    /// and `/admin/` to what starts with it.
    pub fn asked_after_request(&self, path: &str) -> Option<&str> {
        self.after_request
            .iter()
            .find(|loc| {
                let bare = loc.trim_end_matches('/');
                if loc.ends_with('/') {
                    path.starts_with(loc.as_str())
                } else {
                    path == bare || path.starts_with(&format!("{bare}/"))
                }
            })
            .map(String::as_str)
    }
}

/// A route whose certificate is asked for after the request, and how it
/// was judged.
#[derive(Debug, Clone, Serialize)]
pub struct AfterRequestRoute {
    pub route: String,
    /// The configuration's `<Location>` that asks.
    pub location: String,
    /// The client the route's cases ran with.
    pub judged_with: String,
    pub cannot_answer: String,
}

/// Why a deviation of `class` likely happens, from the answer and the
/// configuration.
fn hint(class: CaseClass, observed: &Observation, facts: &ConfigFacts) -> Option<String> {
    let served = observed
        .http
        .as_ref()
        .is_some_and(|h| (200..300).contains(&h.status));
    Some(match class {
        CaseClass::Revoked if served && !facts.loads_crl => {
            "no CRL is loaded (nginx ssl_crl, HAProxy crl-file, Apache SSLCARevocationFile)".into()
        }
        CaseClass::Revoked if served => {
            "a CRL is loaded but not checked for this certificate's issuer".into()
        }
        CaseClass::Untrusted if served => {
            "the issuer is not verified (nginx ssl_verify_client optional_no_ca, HAProxy verify none or ca-ignore-err, Apache SSLVerifyClient optional_no_ca), or an allow-list on the subject alone decides".into()
        }
        CaseClass::NoCertificate if served => {
            "nothing refuses a request without a certificate (ssl_verify_client optional without a rule on $ssl_client_verify, HAProxy verify optional without an ACL)".into()
        }
        CaseClass::AllowedViaIntermediate if !served => {
            "a chain through an intermediate is refused: the verify depth (nginx ssl_verify_depth, Apache SSLVerifyDepth) or, with CRLs, a CRL for each CA".into()
        }
        CaseClass::Expired | CaseClass::NotYetValid | CaseClass::WrongEku if served => {
            "the certificate is not verified before the request is served".into()
        }
        _ => return None,
    })
}

/// The cases of a policy run and their deviations.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    pub cases: usize,
    /// One line per class, listener and route that deviates (its TLS
    /// versions together), in plain words, with the likely reason.
    pub findings: Vec<String>,
    pub deviations: Vec<Deviation>,
    /// Listeners and versions that could not be run, with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// Routes whose certificate is asked for after the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after_request: Vec<AfterRequestRoute>,
}

impl PolicyReport {
    /// 0 without a deviation, 1 with one, 2 when no case ran.
    pub fn exit_code(&self) -> i32 {
        if self.cases == 0 {
            crate::exit_codes::BAD_INPUT
        } else if self.deviations.is_empty() {
            crate::exit_codes::SUCCESS
        } else {
            crate::exit_codes::SCENARIO_FAILED
        }
    }

    /// Findings first, one line each, then each deviation, then the count.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!("FINDING {f}\n"));
        }
        for d in &self.deviations {
            out.push_str(&format!(
                "DEVIATION {} on {} {} (TLS {}): expected {}, got {}{}\n",
                d.class.name(),
                d.listener,
                d.route,
                d.tls.as_str(),
                d.expected,
                d.observed,
                d.hint
                    .as_ref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            ));
        }
        for n in &self.not_run {
            out.push_str(&format!("not run: {n}\n"));
        }
        for a in &self.after_request {
            out.push_str(&format!(
                "route {}: the certificate is asked for after the request (<Location {}>: renegotiation on TLS 1.2, post-handshake authentication on TLS 1.3); judged with {}; these clients cannot answer: {}\n",
                a.route, a.location, a.judged_with, a.cannot_answer
            ));
        }
        out.push_str(&format!(
            "policy: {} cases, {} deviations\n",
            self.cases,
            self.deviations.len()
        ));
        out
    }
}

/// The deviations as findings: one line per class, listener and route.
fn findings(deviations: &[Deviation]) -> Vec<String> {
    let mut groups: Vec<(&Deviation, Vec<TlsVersion>)> = Vec::new();
    for d in deviations {
        match groups
            .iter_mut()
            .find(|(g, _)| g.class == d.class && g.listener == d.listener && g.route == d.route)
        {
            Some((_, versions)) => versions.push(d.tls),
            None => groups.push((d, vec![d.tls])),
        }
    }
    groups
        .into_iter()
        .map(|(d, versions)| {
            let served = d.observed.starts_with("http 2");
            let what = match (d.class, served) {
                (CaseClass::ForgedHeader, _) => {
                    "reaches the upstream with its own value".to_string()
                }
                (CaseClass::Allowed | CaseClass::AllowedViaIntermediate, true) => {
                    "is served, but the upstream does not receive its certificate".to_string()
                }
                (_, true) => "is served".to_string(),
                (_, false) => format!("is refused ({})", d.observed),
            };
            format!(
                "{} {what} on {} {} (TLS {}){}",
                d.class.client(),
                d.listener,
                d.route,
                versions
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                d.hint
                    .as_ref()
                    .map(|h| format!(": {h}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Word(_) => "refused".into(),
        Outcome::Status {
            status,
            body_contains: None,
        } => format!("http {status}"),
        Outcome::Status {
            status,
            body_contains: Some(b),
        } => format!("http {status} containing {b:?}"),
        Outcome::Alert { alert } => format!("alert {alert}"),
    }
}

/// Refused: a TLS alert from the server, a close without a response, or a 4xx.
fn refused(o: &Observation) -> bool {
    if o.hang.is_some() {
        return false;
    }
    match &o.http {
        Some(h) => (400..500).contains(&h.status),
        None => {
            o.alert.as_ref().is_some_and(|a| a.sent_by == Side::Server)
                || crate::probe::judge::refused(o)
                || o.client_error.as_deref().is_some_and(|c| {
                    [
                        "CONNECTION_RESET",
                        "CONNECTION_CLOSED",
                        "CONNECTION_ABORTED",
                        "BROKEN_PIPE",
                        // A real client's own failure (curl: an alert, a
                        // close): no response.
                        "REAL_CLIENT_FAILED",
                    ]
                    .contains(&c)
                })
        }
    }
}

fn meets(outcome: &Outcome, o: &Observation) -> bool {
    match outcome {
        Outcome::Word(_) => refused(o),
        Outcome::Status {
            status,
            body_contains,
        } => o.http.as_ref().is_some_and(|h| {
            h.status == *status
                && body_contains
                    .as_ref()
                    .is_none_or(|b| h.body_excerpt.contains(b.as_str()))
        }),
        Outcome::Alert { alert } => o.alert.as_ref().is_some_and(|a| a.description == *alert),
    }
}

/// The versions `addr` speaks, by a handshake without a certificate.
async fn versions_spoken(
    addr: SocketAddr,
    server_name: &str,
    roots: &[rustls_pki_types::CertificateDer<'static>],
    timeouts: Timeouts,
) -> (Vec<TlsVersion>, Vec<String>) {
    let mut spoken = Vec::new();
    let mut why = Vec::new();
    for v in TlsVersion::ALL {
        let obs = ClientSpec {
            selection: SelectionPolicy::Never,
            server_roots: roots.to_vec(),
            versions: vec![v],
            server_name: server_name.to_string(),
            timeouts,
            kind: ClientKind::Raw,
            ..ClientSpec::default()
        }
        .exchange(addr)
        .await;
        match crate::probe::judge::unusable(&obs, timeouts.handshake.as_secs()) {
            Some(f) if f.conclusion == crate::probe::Conclusion::NotSpoken => {
                why.push(format!("TLS {}: {}", v.as_str(), f.cause));
            }
            _ => spoken.push(v),
        }
    }
    (spoken, why)
}

/// Run every case of `policy` against `listeners`, one at a time (so what
/// the origin receives belongs to the case that sent it).
pub async fn run_policy(
    policy: &Policy,
    pki: &Pki,
    listeners: &[PolicyListener],
    origin: &Origin,
    facts: ConfigFacts,
    timeouts: Timeouts,
) -> Result<PolicyReport, PolicyRunError> {
    let root = pki.cert("root")?.der.clone();
    let mut refs = Vec::new();
    let mut not_run = Vec::new();
    for l in listeners {
        let (versions, why) =
            versions_spoken(l.addr, "localhost", std::slice::from_ref(&root), timeouts).await;
        not_run.extend(why.into_iter().map(|w| format!("{}: {w}", l.name)));
        refs.push(ListenerRef {
            name: l.name.clone(),
            versions,
        });
    }
    let cases = plan(policy, &refs);
    // A route asked after the request runs with a real client that can
    // answer: curl (OpenSSL: renegotiation on 1.2, post-handshake auth on
    // 1.3), when installed.
    let curl = RealClientKind::Curl.executable().is_ok();
    let mut after_request: Vec<AfterRequestRoute> = Vec::new();
    for route in &policy.route {
        if let Some(loc) = facts.asked_after_request(&route.path) {
            if !after_request.iter().any(|a| a.route == route.path) {
                after_request.push(AfterRequestRoute {
                    route: route.path.clone(),
                    location: loc.to_string(),
                    judged_with: if curl {
                        "curl (OpenSSL), which answers both".into()
                    } else {
                        "the harness's own client, which cannot answer: curl is not installed"
                            .into()
                    },
                    cannot_answer: crate::real::after_request::cannot_answer(),
                });
            }
        }
    }
    let mut deviations = Vec::new();
    for case in &cases {
        let Some(listener) = listeners.iter().find(|l| l.name == case.listener) else {
            continue;
        };
        let route = &policy.route[case.route];
        let with_curl = curl && facts.asked_after_request(&case.path).is_some();
        if let Some(d) = run_one(
            pki, case, route, listener, origin, &facts, &root, timeouts, with_curl,
        )
        .await?
        {
            deviations.push(d);
        }
    }
    Ok(PolicyReport {
        cases: cases.len(),
        findings: findings(&deviations),
        deviations,
        not_run,
        after_request,
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    pki: &Pki,
    case: &PolicyCase,
    route: &crate::policy::Route,
    listener: &PolicyListener,
    origin: &Origin,
    facts: &ConfigFacts,
    root: &rustls_pki_types::CertificateDer<'static>,
    timeouts: Timeouts,
    with_curl: bool,
) -> Result<Option<Deviation>, PolicyRunError> {
    let identity = case
        .identity
        .as_deref()
        .or(if case.class == CaseClass::Denied {
            None
        } else {
            Some("harness")
        });
    let issued = match cert_name(case.class, identity) {
        Some(name) => Some(pki.cert(&name)?),
        None => None,
    };
    let wallet = issued
        .and_then(|cert| WalletEntry::from_issued(cert, true).ok())
        .map(|w| vec![w])
        .unwrap_or_default();
    let leaf = wallet.first().and_then(|w| w.chain.first().cloned());
    let mut headers = Vec::new();
    if let (CaseClass::ForgedHeader, Some(up)) = (case.class, &route.upstream) {
        headers.push((up.header.clone(), FORGED.to_string()));
    }
    let server_name = route.host.clone().unwrap_or_else(|| "localhost".into());
    let seen_before = origin.requests().len();
    let obs = if with_curl {
        with_real_client(
            RealClientKind::Curl,
            issued,
            pki,
            &headers,
            &server_name,
            listener.addr,
            &case.path,
            case.tls,
            timeouts,
        )
        .await?
    } else {
        ClientSpec {
            wallet,
            selection: SelectionPolicy::Always,
            server_roots: vec![root.clone()],
            versions: vec![case.tls],
            server_name,
            timeouts,
            kind: ClientKind::Raw,
            headers,
            request_path: case.path.clone(),
            ..ClientSpec::default()
        }
        .exchange(listener.addr)
        .await
    };
    let received = origin.requests()[seen_before..].to_vec();
    let deviation = |expected: String, observed: String| Deviation {
        listener: case.listener.clone(),
        route: case.path.clone(),
        class: case.class,
        tls: case.tls,
        expected,
        observed,
        hint: hint(case.class, &obs, facts),
    };
    if !meets(&case.expected, &obs) {
        return Ok(Some(deviation(
            describe(&case.expected),
            crate::oracle::summarize(&obs),
        )));
    }
    let Some(up) = &route.upstream else {
        return Ok(None);
    };
    let served = obs
        .http
        .as_ref()
        .is_some_and(|h| (200..300).contains(&h.status));
    if !served {
        return Ok(None);
    }
    let values: Vec<&str> = received
        .iter()
        .filter_map(|r| r.header(&up.header))
        .collect();
    match case.class {
        CaseClass::ForgedHeader if values.contains(&FORGED) => {
            return Ok(Some(deviation(
                format!("the upstream never receives the client's own {}", up.header),
                format!("the upstream received {}: {FORGED}", up.header),
            )));
        }
        CaseClass::Allowed | CaseClass::AllowedViaIntermediate => {
            let Some(leaf) = leaf else { return Ok(None) };
            let carries = values.iter().any(|v| {
                crate::tls::forwarded::decode(up.format, v)
                    .is_ok_and(|d| d.as_ref() == leaf.as_ref())
            });
            if !carries {
                return Ok(Some(deviation(
                    format!(
                        "the upstream receives the client certificate in {}",
                        up.header
                    ),
                    match values.first() {
                        None => format!("no {} reached the upstream", up.header),
                        Some(v) => format!(
                            "{}: {} (not the client's certificate as {:?})",
                            up.header,
                            v.chars().take(60).collect::<String>(),
                            up.format
                        ),
                    },
                )));
            }
        }
        _ => {}
    }
    Ok(None)
}

/// Why a policy run stopped.
#[derive(Debug, thiserror::Error)]
pub enum PolicyRunError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("{client}")]
    Client {
        client: RealClientKind,
        #[source]
        source: RealClientError,
    },
}

/// One request by the real client `kind` with `cert` (and its chain), to
/// `https://server_name:PORT{path}` connected to `addr`.
#[allow(clippy::too_many_arguments)]
async fn with_real_client(
    kind: RealClientKind,
    cert: Option<&IssuedCert>,
    pki: &Pki,
    headers: &[(String, String)],
    server_name: &str,
    addr: SocketAddr,
    path: &str,
    tls: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, PolicyRunError> {
    let client = |source| PolicyRunError::Client {
        client: kind,
        source,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PolicyRunError::Client {
            client: kind,
            source: RealClientError::Io { path, source },
        }
    };
    let (dir, _registered) = crate::interrupt::Registry::global()
        .create_temp_dir("mtls-policy-client-")
        .map_err(io(Path::new("temporary directory")))?;
    let wallet = match cert {
        Some(c) => vec![WalletFiles::write(dir.path(), 0, c, true).map_err(client)?],
        None => Vec::new(),
    };
    let server_ca = dir.path().join("server-ca.pem");
    std::fs::write(&server_ca, pki.cert("root")?.cert_pem()).map_err(io(&server_ca))?;
    let job = ClientJob {
        url: format!("https://{server_name}:{}{path}", addr.port()),
        port: addr.port(),
        version: tls,
        wallet: &wallet,
        server_ca,
        dir: dir.path(),
        timeout: client_timeout(kind, timeouts),
        auto_select: true,
        headers,
        connect_to: Some(addr),
        after_request: Default::default(),
    };
    let run = run_real_client(kind, &job).await.map_err(client)?;
    Ok(crate::real::client::observation(kind, &wallet, &[], &run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_written_as_nginx_prints_them() {
        assert_eq!(
            x509_order("CN=a,OU=SRE,O=Ex\\, Inc,C=DE"),
            "C=DE,O=Ex\\, Inc,OU=SRE,CN=a"
        );
        let policy = Policy::from_toml(
            "[[identity]]\nname = \"ops\"\nsubject = \"CN=ops,O=Example,C=DE\"\n[[route]]\npath = \"/\"\nallow = [\"ops\"]\n",
            Path::new("p.toml"),
        )
        .unwrap();
        let pki = policy_pki(&policy).unwrap();
        let der = &pki.cert("id-ops").unwrap().der;
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        // x509-parser prints the RDNs in certificate order, first first;
        // RFC 4514 (and nginx) print them last first.
        assert_eq!(cert.subject().to_string(), "C=DE, O=Example, CN=ops");
    }

    #[test]
    fn the_policy_pki_has_a_certificate_for_every_case() {
        let policy = Policy::from_toml(
            "[[identity]]\nname = \"ops\"\nsubject = \"CN=ops,O=Example\"\nsan_uri = [\"spiffe://example.org/ops\"]\n[[identity]]\nname = \"ci\"\nsubject = \"CN=ci\"\nissuer = \"intermediate\"\n[[route]]\npath = \"/\"\nallow = [\"ops\", \"ci\"]\n",
            Path::new("p.toml"),
        )
        .unwrap();
        let pki = policy_pki(&policy).expect("pki");
        let cases = plan(
            &policy,
            &[ListenerRef {
                name: "443".into(),
                versions: vec![TlsVersion::Tls13],
            }],
        );
        for case in &cases {
            let identity = case
                .identity
                .as_deref()
                .or(if case.class == CaseClass::Denied {
                    None
                } else {
                    Some("harness")
                });
            if let Some(name) = cert_name(case.class, identity) {
                assert!(pki.cert(&name).is_ok(), "{name} for {case:?}");
            }
        }
        assert_eq!(
            pki.cert("id-ci").unwrap().issuer.as_deref(),
            Some("issuing")
        );
        let dir = tempfile::tempdir().unwrap();
        write_gateway_files(&pki, dir.path()).unwrap();
        let crl = std::fs::read_to_string(dir.path().join("root.crl")).unwrap();
        assert_eq!(crl.matches("BEGIN X509 CRL").count(), 2, "{crl}");
        assert!(dir.path().join("gw.pem").is_file());
    }
}
