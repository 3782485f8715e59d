//! `run --target` adapted to the target: each scenario's `[server]` table is
//! read as what it needs from the server (trust, CA names, mode, CRLs, TLS
//! versions), matched against what the preflight learnt of the target
//! ([`TargetFacts`]); a scenario whose needs the target does not meet is
//! SKIP with the exact mismatch. What the client presents is minted per case
//! under the root of `--pki` (the scenario's own PKI with its trusted root
//! replaced by that one), so the scenario's defect is what goes on the wire.
//!
//! The baseline is the secure configuration of the profile (its default
//! mode, a certificate required, the root trusted and named, its CRL
//! loaded): a scenario written for it always runs, and a target that deviates
//! from it FAILs there. A scenario written for another configuration (an
//! optional mode, a CRL not loaded, another CA-names policy) runs only when
//! the target was seen to have it.

use super::{ExternalTarget, TargetFacts};
use crate::backend::Adjustment;
use crate::case::CaseError;
use crate::gateway::{Posture, ProfileKind};
use crate::knobs::{CaNamesPolicy, ClientAuth};
use crate::observation::{Observation, TlsVersion};
use crate::oracle::Diff;
use crate::pki::{Defect, IssuedCert, Pki, PkiError, PkiSpec, Role};
use crate::scenario::schema::{Expectation, ScenarioFile, SelectionPolicy};
use crate::tls::client::{name_to_string, ClientKind, ClientSpec, WalletEntry};
use crate::tls::Timeouts;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why a target cannot serve a scenario as written: the case is SKIP with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unmet(pub String);

/// `Unmet(format!(..))`.
macro_rules! unmet {
    ($($arg:tt)*) => {
        Unmet(format!($($arg)*))
    };
}

/// How the target was seen to treat client certificates.
fn posture_of(facts: &TargetFacts) -> Posture {
    if !facts.asks {
        Posture::DoesNotAsk
    } else if facts.requires {
        Posture::Requires
    } else if facts.accepts_untrusted == Some(true) {
        Posture::OptionalAnyCa
    } else {
        Posture::OptionalVerified
    }
}

fn describe(posture: Posture) -> &'static str {
    match posture {
        Posture::Requires => "the target requires a certificate",
        Posture::OptionalVerified => {
            "the target asks for a certificate, serves a client without one and refuses an untrusted one"
        }
        Posture::OptionalAnyCa => {
            "the target asks for a certificate and serves a client without one or with one of any CA"
        }
        Posture::DoesNotAsk => "the target does not ask for a certificate",
    }
}

/// The posture a scenario's `client_auth` and mode for `profile` stand for,
/// when it can be told from outside; `Err` names the mode it cannot.
fn posture_needed(file: &ScenarioFile, profile: ProfileKind) -> Result<Posture, Unmet> {
    let default_mode = profile.modes().first().copied();
    let mode = profile
        .mode_for(&file.server.mode, file.server.asks)
        .ok()
        .flatten()
        .filter(|m| Some(*m) != default_mode);
    match (mode, file.server.client_auth) {
        (None, ClientAuth::Required) => Ok(Posture::Requires),
        (None, ClientAuth::Optional) => Ok(Posture::OptionalVerified),
        (None, ClientAuth::None) | (Some(_), ClientAuth::None) => Ok(Posture::DoesNotAsk),
        (Some(m), _) => profile.posture(m).ok_or_else(|| {
            Unmet(format!(
                "needs {profile} mode `{m}` ({}), which cannot be told from outside",
                profile.mode_summary(m)
            ))
        }),
    }
}

/// Whether a scenario was written for the profile's secure default: a
/// certificate required in the default mode.
fn is_baseline_posture(file: &ScenarioFile, profile: ProfileKind) -> bool {
    matches!(posture_needed(file, profile), Ok(Posture::Requires))
}

/// The PKI a case presents: the scenario's own, with the root it trusts
/// replaced by the target's root; or why the target cannot serve it.
pub fn adapted_pki(file: &ScenarioFile, facts: &TargetFacts) -> Result<Pki, Unmet> {
    let root = facts
        .root
        .as_ref()
        .ok_or_else(|| Unmet("the PKI directory has no root CA".into()))?;
    let trusted = trusted_root(file, facts)?;
    let mut spec = file.pki.clone();
    // A fresh root must not share its name with a CA the target knows (the
    // `other-root` of a PKI directory): its CA names would match it.
    let tag = fresh_tag();
    for c in &mut spec.cert {
        if c.issuer.is_none() && c.name != trusted && c.subject.is_none() {
            c.subject = Some(format!("CN={},O=mtls-harness fresh root {tag}", c.name));
        }
    }
    let adopted = HashMap::from([(trusted.to_string(), root.clone())]);
    Pki::generate_adopting(&spec, adopted).map_err(|e| describe_pki_error(&e))
}

/// Eight hex digits, new per call.
fn fresh_tag() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 4];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system RNG");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn describe_pki_error(e: &PkiError) -> Unmet {
    unmet!(
        "cannot mint this scenario's certificates under the root of --pki: {}",
        crate::error_chain::of(e)
    )
}

/// The one root the scenario's server trusts, which becomes the target's.
fn trusted_root<'f>(file: &'f ScenarioFile, facts: &TargetFacts) -> Result<&'f str, Unmet> {
    let trust = &file.server.trust;
    let theirs = format!("the root of --pki ({})", facts.root_subject);
    let [name] = &trust[..] else {
        return Err(unmet!(
            "needs trust = {} ({} CAs); the target trusts one: {theirs}",
            trust.join(", "),
            trust.len()
        ));
    };
    let Some(spec) = file.pki.cert.iter().find(|c| &c.name == name) else {
        return Err(unmet!(
            "needs trust = {name} (a [[bulk]] table); the target trusts {theirs}"
        ));
    };
    if spec.role != Role::Root || spec.issuer.is_some() {
        return Err(unmet!(
            "needs trust = {name} (an intermediate as trust anchor); the target trusts {theirs}"
        ));
    }
    if !spec.defects.is_empty() {
        let defects: Vec<_> = spec.defects.iter().map(|d| d.as_str()).collect();
        return Err(unmet!(
            "needs a trust anchor with {}; {theirs} has none",
            defects.join(", ")
        ));
    }
    if spec.path_len.is_some() || !spec.permitted_dns.is_empty() {
        return Err(unmet!(
            "needs a trust anchor that constrains its subjects (pathLen or name constraints); {theirs} carries none"
        ));
    }
    if spec.validity.is_some() || spec.not_before.is_some() || spec.not_after.is_some() {
        return Err(unmet!(
            "needs a trust anchor with its own validity; {theirs} is another"
        ));
    }
    for c in &file.pki.cert {
        if c.issuer.as_deref() == Some(name.as_str()) {
            for d in [Defect::PathLenExceeded, Defect::NameConstraintsViolated] {
                if c.has(d) {
                    return Err(unmet!(
                        "needs the trusted root itself to constrain its subjects ({} on `{}`); {theirs} carries no such constraint",
                        d.as_str(),
                        c.name
                    ));
                }
            }
            if c.has(Defect::CrlExpired) {
                return Err(unmet!(
                    "needs the root's CRL to be expired; the CRL of {theirs} written for the run is current"
                ));
            }
        }
    }
    Ok(name)
}

/// The CA names a scenario's server sends, as readable subjects, given that
/// its trusted root is the target's; `Err`: a list only the harness builds.
fn ca_names_needed(file: &ScenarioFile, facts: &TargetFacts) -> Result<Vec<String>, Unmet> {
    let subject_of = |name: &str| -> Result<String, Unmet> {
        let trusted = trusted_root(file, facts)?;
        if name == trusted {
            Ok(facts.root_subject.clone())
        } else {
            Err(unmet!(
                "needs CA names that include `{name}`, a CA the target does not have"
            ))
        }
    };
    match &file.server.ca_names {
        CaNamesPolicy::AllTrusted => Ok(vec![facts.root_subject.clone()]),
        CaNamesPolicy::Empty => Ok(Vec::new()),
        CaNamesPolicy::Flagged => {
            let trusted = trusted_root(file, facts)?;
            let flagged = file
                .pki
                .cert
                .iter()
                .any(|c| c.name == trusted && c.signs_client_certs);
            Ok(if flagged {
                vec![facts.root_subject.clone()]
            } else {
                Vec::new()
            })
        }
        CaNamesPolicy::Explicit(names) => names.iter().map(|n| subject_of(n)).collect(),
        CaNamesPolicy::TruncateBytes(n) => Err(unmet!(
            "needs a CA-names list truncated to {n} bytes (Schannel), which only the harness builds"
        )),
        CaNamesPolicy::ExtraFiller(n) => Err(unmet!(
            "needs {n} extra CA names (an oversized list), which only the harness builds"
        )),
        CaNamesPolicy::FillToBytes(n) => Err(unmet!(
            "needs a CA-names list of {n} bytes, which only the harness builds"
        )),
    }
}

fn describe_names(names: &[String]) -> String {
    match names.len() {
        0 => "no names".to_string(),
        1 => format!("1 name: {}", names[0]),
        n => format!("{n} names: {}", names.join("; ")),
    }
}

fn policy_text(policy: &CaNamesPolicy) -> String {
    match policy {
        CaNamesPolicy::AllTrusted => "every trusted CA".into(),
        CaNamesPolicy::Flagged => "flagged roots only".into(),
        CaNamesPolicy::Empty => "an empty list".into(),
        CaNamesPolicy::Explicit(names) => format!("exactly {}", names.join(", ")),
        other => format!("{other:?}"),
    }
}

/// Whether the client presents a certificate its issuer's CRL lists.
fn presents_revoked(file: &ScenarioFile) -> bool {
    file.client.certs.iter().any(|name| {
        file.pki
            .cert
            .iter()
            .any(|c| &c.name == name && c.has(Defect::Revoked))
    })
}

/// Why `file` cannot run against this target for `profile` at `version`,
/// if it cannot: the first unmet server-side requirement, with what the
/// target does instead.
pub fn unmet_need(
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    facts: &TargetFacts,
) -> Option<String> {
    if file.middlebox.is_some() {
        return Some(
            "needs a middlebox in front of the gateway, which only built-in gateways have".into(),
        );
    }
    if let Some(r) = file.revocation.as_ref().filter(|r| r.check.is_online()) {
        // The responder's state (down, hang, stale...) is the harness's to
        // set; a target asks its own responder, or none.
        return Some(format!(
            "needs the gateway to check {} against the harness's own responder",
            r.check.name()
        ));
    }
    if file.server.trust_forwarded_header.is_some() {
        return Some("needs a gateway that trusts a forwarding header from a proxy".into());
    }
    if let Some(r) = file.server.resumption {
        return Some(format!(
            "needs session resumption set to {r:?}, which is not measured on the target"
        ));
    }
    if file.server.send_chain == Some(false) {
        return Some("needs a server that sends its certificate without its chain".into());
    }
    if !file.server.ca_names_overflow.is_gateway() {
        return Some(
            "needs a server that sends a CA-names list over 64 KiB with wrapped lengths (a release-built rustls server)".into(),
        );
    }
    if !facts.versions.contains(&version) {
        let why = facts
            .unsupported
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, w)| w.as_str())
            .unwrap_or("not seen");
        return Some(format!(
            "needs TLS {}; the target does not speak it ({why})",
            version.as_str()
        ));
    }
    if let Some(offered) = &file.client.tls {
        let only_server: Vec<_> = facts
            .versions
            .iter()
            .filter(|v| !file.server.tls.contains(v))
            .collect();
        if offered.iter().any(|v| !file.server.tls.contains(v)) && !only_server.is_empty() {
            let list = |vs: &[TlsVersion]| {
                vs.iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            return Some(format!(
                "needs a server that speaks only TLS {}; the target speaks TLS {}",
                list(&file.server.tls),
                list(&facts.versions)
            ));
        }
    }
    if let Err(why) = trusted_root(file, facts) {
        return Some(why.0);
    }
    let baseline = is_baseline_posture(file, profile);
    if let Some(declared) = facts.declared_mode {
        let needed = profile
            .mode_for(&file.server.mode, file.server.asks)
            .ok()
            .flatten()
            .or_else(|| profile.modes().first().copied());
        if needed != Some(declared) {
            return Some(format!(
                "needs {profile} mode `{}`; the target is configured `{declared}` (--mode)",
                needed.unwrap_or("(none)")
            ));
        }
    }
    match posture_needed(file, profile) {
        _ if facts.declared_mode.is_some() => {}
        Err(why) => return Some(why.0),
        Ok(needed) if !baseline => {
            let seen = posture_of(facts);
            if needed != seen {
                let wanted = match needed {
                    Posture::OptionalVerified => {
                        "a certificate asked for but optional, an untrusted one refused"
                    }
                    Posture::OptionalAnyCa => {
                        "a certificate asked for but optional, one of any CA served"
                    }
                    Posture::DoesNotAsk => "no certificate asked for",
                    Posture::Requires => "a certificate required",
                };
                return Some(format!("needs {wanted}; {}", describe(seen)));
            }
        }
        Ok(_) => {}
    }
    if facts.asks {
        match ca_names_needed(file, facts) {
            Err(why) => return Some(why.0),
            Ok(names) => {
                let default_policy = file.server.ca_names == CaNamesPolicy::AllTrusted;
                if !default_policy && names != facts.ca_names {
                    return Some(format!(
                        "needs CA names = {}; the target sends {}",
                        policy_text(&file.server.ca_names),
                        describe_names(&facts.ca_names)
                    ));
                }
            }
        }
    }
    let trusted = trusted_root(file, facts).ok()?;
    match &file.server.crls[..] {
        [] if presents_revoked(file) => {
            if facts.accepts_revoked == Some(false) {
                return Some(format!(
                    "needs no CRL loaded; the target refuses a certificate {} lists, so it loaded it",
                    crl_name(facts)
                ));
            }
        }
        [] => {}
        [one] if one == trusted => {}
        other => {
            return Some(format!(
                "needs the CRLs of {} loaded; the target can only have loaded the one of the root of --pki ({})",
                other.join(", "),
                crl_name(facts)
            ))
        }
    }
    None
}

fn crl_name(facts: &TargetFacts) -> String {
    facts
        .crl_file
        .as_ref()
        .map_or_else(|| "the root's CRL".into(), |p| p.display().to_string())
}

/// One case against the target: its needs checked (`Unsupported`: SKIP),
/// its certificates minted under the target's root, its client run.
pub(super) async fn observe(
    target: &ExternalTarget,
    file: &ScenarioFile,
    profile: ProfileKind,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<Observation, CaseError> {
    if let Some(why) = unmet_need(file, profile, version, &target.facts) {
        return Err(CaseError::Unsupported(why));
    }
    let pki = adapted_pki(file, &target.facts).map_err(|e| CaseError::Unsupported(e.0))?;
    if target.facts.accepts_revoked == Some(false)
        && target.facts.accepts_via_intermediate == Some(false)
    {
        // A gateway that loaded the root's CRL and refused a valid chain
        // through an intermediate minted by the run wants a CRL from that
        // intermediate too (nginx `ssl_crl` checks every CA; Apache's `leaf`
        // the leaf's issuer): its refusal would not be the scenario's defect.
        if let Some(sub) = minted_intermediate_sent(file, &pki) {
            return Err(CaseError::Unsupported(format!(
                "needs the CRL of `{sub}` loaded: the target refuses a valid certificate under an intermediate minted for this run, whose CRL it cannot have loaded"
            )));
        }
    }
    let mut client = crate::case::client_spec(&pki, file, version, timeouts)?;
    client.server_name = target.server_name.clone();
    client.request_path = target.request_path.clone();
    if let Some(root) = &target.facts.root {
        client.server_roots = vec![root.der.clone()];
    }
    let mut obs = client
        .exchange_connections(target.addr, file.client.connections)
        .await
        .0;
    // The client can lose a TLS 1.2 refusal when the server's alert and close
    // race its last handshake write (it reads EPIPE/ECONNRESET, not the
    // alert): measured again, a real reset reproduces, a lost alert does not.
    for _ in 0..2 {
        if !lost_to_a_write_race(&obs) {
            break;
        }
        obs = client
            .exchange_connections(target.addr, file.client.connections)
            .await
            .0;
    }
    Ok(obs)
}

/// Nothing but a failed write: no alert, no response.
fn lost_to_a_write_race(obs: &Observation) -> bool {
    obs.alert.is_none()
        && obs.http.is_none()
        && obs.hang.is_none()
        && matches!(
            obs.client_error.as_deref(),
            Some("BROKEN_PIPE" | "CONNECTION_RESET")
        )
}

/// An intermediate between the client's leaf and the root, if one is sent.
fn minted_intermediate_sent(file: &ScenarioFile, pki: &Pki) -> Option<String> {
    if !file.client.send_intermediates {
        return None;
    }
    file.client
        .certs
        .iter()
        .filter_map(|n| pki.get(n))
        .flat_map(|c| c.chain_names.clone())
        .next()
}

/// The expectation for a target: the page a target serves on success is its
/// own, and its log is not read.
pub(super) fn for_target(expected: &mut Expectation) -> Vec<Adjustment> {
    let mut adjusted = Vec::new();
    if expected
        .http_status
        .is_some_and(|s| (200..300).contains(&s))
        && expected.body_contains.take().is_some()
    {
        adjusted.push(Adjustment {
            field: "body_contains",
            reason: "the page a target serves on success is its own",
        });
    }
    if expected.log_contains.take().is_some() {
        adjusted.push(Adjustment {
            field: "log_contains",
            reason: "a target's log is not read",
        });
    }
    adjusted
}

/// The CA names a case expected of the target but did not see (a scenario
/// that checks CA names, on a target whose list names other CAs).
pub fn ca_names_diff(
    file: &ScenarioFile,
    expected: &Expectation,
    facts: &TargetFacts,
    obs: &Observation,
) -> Option<Diff> {
    expected.ca_names.as_ref()?;
    let names = ca_names_needed(file, facts).ok()?;
    let seen = obs.ca_names.as_ref()?;
    (seen.subjects != names).then(|| Diff {
        field: "ca_names.subjects".into(),
        expected: describe_names(&names),
        got: describe_names(&seen.subjects),
    })
}

/// Learn the target's server-side facts: per version, a handshake without a
/// certificate (does it speak it, ask, require; which CA names); then, on
/// the newest version it speaks, a valid certificate of the root, one of a
/// fresh root and a revoked one.
pub async fn learn(
    addr: SocketAddr,
    server_name: &str,
    request_path: &str,
    pki: &Pki,
    pki_dir: &Path,
    timeouts: Timeouts,
) -> Result<TargetFacts, PkiError> {
    let mut facts = TargetFacts::default();
    let Some(root) = choose_root(pki) else {
        return Ok(facts);
    };
    facts.root_subject = name_to_string(&root.subject_der);
    facts.root = Some(root.clone());
    let (crl_file, written) = ensure_crl(root, pki_dir)?;
    facts.crl_file = Some(crl_file);
    facts.crl_written_now = written;
    let client = |wallet: Vec<WalletEntry>, version: TlsVersion| ClientSpec {
        wallet,
        selection: SelectionPolicy::Always,
        server_roots: vec![root.der.clone()],
        versions: vec![version],
        server_name: server_name.to_string(),
        timeouts,
        kind: ClientKind::Raw,
        headers: Vec::new(),
        via_tunnel: None,
        accept_any_server_cert: false,
        request_path: request_path.to_string(),
    };
    let secs = timeouts.handshake.as_secs();
    for version in TlsVersion::ALL {
        let bare = client(Vec::new(), version).exchange(addr).await;
        if let Some(why) = crate::probe::judge::unusable(&bare, secs) {
            facts.unsupported.push((version, why.cause));
            continue;
        }
        facts.versions.push(version);
        if bare.certificate_requested {
            facts.asks = true;
            if let Some(names) = &bare.ca_names {
                facts.ca_names = names.subjects.clone();
            }
        }
        facts.requires |= crate::probe::judge::refused(&bare);
    }
    let Some(&newest) = facts.versions.last() else {
        return Ok(facts);
    };
    if !facts.asks {
        return Ok(facts);
    }
    let minted = mint_probe_certs(root)?;
    let accepts = |name: &'static str| {
        let cert = minted.get(name).cloned();
        let spec = cert.map(|c| {
            client(
                WalletEntry::from_issued(&c, true).into_iter().collect(),
                newest,
            )
        });
        async move {
            let obs = spec?.exchange(addr).await;
            obs.hang.is_none().then(|| accepted(&obs))
        }
    };
    facts.accepts_valid = accepts("valid").await;
    facts.accepts_untrusted = accepts("untrusted").await;
    facts.accepts_revoked = accepts("revoked").await;
    facts.accepts_via_intermediate = accepts("via-sub").await;
    // A target that refuses a valid certificate too (an allow-list that does
    // not name the harness's subject, say) tells nothing by refusing a
    // revoked or untrusted one: only an acceptance is a fact then.
    if facts.accepts_valid == Some(false) {
        facts.accepts_revoked = facts.accepts_revoked.filter(|a| *a);
        facts.accepts_untrusted = facts.accepts_untrusted.filter(|a| *a);
        facts.accepts_via_intermediate = facts.accepts_via_intermediate.filter(|a| *a);
    }
    Ok(facts)
}

/// Served with a 2xx page.
pub fn accepted(obs: &Observation) -> bool {
    obs.http
        .as_ref()
        .is_some_and(|h| (200..300).contains(&h.status))
}

/// The root that signs what scenarios present: `root` if the directory has
/// one by that name, else the first root flagged `signs_client_certs`, else
/// the first root.
pub fn choose_root(pki: &Pki) -> Option<&IssuedCert> {
    let roots: Vec<&IssuedCert> = pki
        .certs()
        .iter()
        .filter(|c| c.issuer.is_none() && c.role.is_ca() && c.bulk.is_none())
        .collect();
    roots
        .iter()
        .find(|c| c.name == "root")
        .or_else(|| roots.iter().find(|c| c.signs_client_certs))
        .or_else(|| roots.first())
        .copied()
}

/// `<root>.crl` in the PKI directory, listing the root's reserved revoked
/// serial: written unless it already lists it. Whether it was written now.
pub fn ensure_crl(root: &IssuedCert, pki_dir: &Path) -> Result<(PathBuf, bool), PkiError> {
    let path = pki_dir.join(format!("{}.crl", root.name));
    let mut keep = Vec::new();
    if let Ok(existing) = std::fs::read(&path) {
        let der = pem_or_der(&existing);
        if crate::pki::adopt::lists_revoked_serial(root, &der) {
            return Ok((path, false));
        }
        // `pki generate` wrote it for revoked certificates of its own.
        keep = crate::pki::adopt::listed_serials(&der);
    }
    let crl = crate::pki::adopt::revocation_crl_keeping(root, &keep)?;
    let pem = IssuedCert::pem_of(&crl).replace("CERTIFICATE", "X509 CRL");
    std::fs::write(&path, pem).map_err(|source| PkiError::Io {
        path: path.clone(),
        source,
    })?;
    Ok((path, true))
}

fn pem_or_der(bytes: &[u8]) -> Vec<u8> {
    match x509_parser::pem::parse_x509_pem(bytes) {
        Ok((_, pem)) => pem.contents,
        Err(_) => bytes.to_vec(),
    }
}

/// A valid client certificate of the root, one of a fresh root, one the
/// root's CRL lists, and a valid one under an intermediate minted now (whose
/// CRL no target has loaded).
fn mint_probe_certs(root: &IssuedCert) -> Result<HashMap<&'static str, IssuedCert>, PkiError> {
    const SPEC: &str = r#"
[[cert]]
name = "root"
role = "root"
[[cert]]
name = "fresh-root"
role = "root"
[[cert]]
name = "valid"
role = "client"
issuer = "root"
[[cert]]
name = "untrusted"
role = "client"
issuer = "fresh-root"
[[cert]]
name = "revoked"
role = "client"
issuer = "root"
defects = ["revoked"]
[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"
[[cert]]
name = "via-sub"
role = "client"
issuer = "sub"
"#;
    let spec = PkiSpec::from_toml(SPEC, "<target probe>")?;
    let pki = Pki::generate_adopting(&spec, HashMap::from([("root".to_string(), root.clone())]))?;
    let mut out = HashMap::new();
    for name in ["valid", "untrusted", "revoked", "via-sub"] {
        out.insert(name, pki.cert(name)?.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(server: &str, client_defects: &str) -> ScenarioFile {
        let text = format!(
            r#"description = "t"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[[pki.cert]]
name = "alice"
role = "client"
issuer = "root"
defects = [{client_defects}]
[server]
cert = "gw"
trust = ["root"]
{server}
[client]
certs = ["alice"]
"#
        );
        toml::from_str(&text).expect("scenario")
    }

    fn requiring_target() -> TargetFacts {
        TargetFacts {
            versions: TlsVersion::ALL.to_vec(),
            asks: true,
            requires: true,
            ca_names: vec!["CN=root".into()],
            accepts_valid: Some(true),
            accepts_untrusted: Some(false),
            accepts_revoked: Some(false),
            root_subject: "CN=root".into(),
            ..TargetFacts::default()
        }
    }

    #[test]
    fn a_ca_names_policy_the_target_does_not_follow_is_named() {
        let file = scenario("ca_names = \"flagged\"", "");
        let why = unmet_need(
            &file,
            ProfileKind::Nginx,
            TlsVersion::Tls13,
            &requiring_target(),
        );
        assert_eq!(
            why.as_deref(),
            Some("needs CA names = flagged roots only; the target sends 1 name: CN=root")
        );
    }

    #[test]
    fn a_declared_mode_runs_its_own_scenarios_only() {
        let facts = TargetFacts {
            declared_mode: Some("optional"),
            ..requiring_target()
        };
        let default = scenario("", "");
        let why = unmet_need(&default, ProfileKind::Nginx, TlsVersion::Tls12, &facts)
            .expect("the default mode is not the target's");
        assert!(
            why.contains("needs nginx mode `on`; the target is configured `optional` (--mode)"),
            "{why}"
        );
        let optional = scenario("mode = { nginx = \"optional\" }", "");
        assert_eq!(
            unmet_need(&optional, ProfileKind::Nginx, TlsVersion::Tls12, &facts),
            None
        );
    }

    #[test]
    fn the_secure_default_always_runs_and_other_modes_need_the_target_to_have_them() {
        let facts = requiring_target();
        let default = scenario("", "");
        assert_eq!(
            unmet_need(&default, ProfileKind::Nginx, TlsVersion::Tls12, &facts),
            None
        );
        let no_ca = scenario("mode = { nginx = \"optional_no_ca\" }", "");
        let why = unmet_need(&no_ca, ProfileKind::Nginx, TlsVersion::Tls12, &facts)
            .expect("skipped on a requiring target");
        assert!(why.contains("the target requires a certificate"), "{why}");
        let any_ca = TargetFacts {
            requires: false,
            accepts_untrusted: Some(true),
            ..facts.clone()
        };
        assert_eq!(
            unmet_need(&no_ca, ProfileKind::Nginx, TlsVersion::Tls12, &any_ca),
            None
        );
        // The default runs on a misconfigured target too: that is the finding.
        assert_eq!(
            unmet_need(&default, ProfileKind::Nginx, TlsVersion::Tls12, &any_ca),
            None
        );
    }

    #[test]
    fn a_revoked_certificate_without_a_crl_needs_a_target_that_loaded_none() {
        let file = scenario("", "\"revoked\"");
        let why = unmet_need(
            &file,
            ProfileKind::Nginx,
            TlsVersion::Tls13,
            &requiring_target(),
        )
        .expect("skipped: the target loaded the CRL");
        assert!(why.starts_with("needs no CRL loaded"), "{why}");
        let with_crl = scenario("crls = [\"root\"]", "\"revoked\"");
        assert_eq!(
            unmet_need(
                &with_crl,
                ProfileKind::Nginx,
                TlsVersion::Tls13,
                &requiring_target()
            ),
            None
        );
    }

    #[test]
    fn a_version_the_target_does_not_speak_is_named() {
        let facts = TargetFacts {
            versions: vec![TlsVersion::Tls13],
            unsupported: vec![(TlsVersion::Tls12, "protocol_version alert".into())],
            ..requiring_target()
        };
        let why = unmet_need(
            &scenario("", ""),
            ProfileKind::Nginx,
            TlsVersion::Tls12,
            &facts,
        );
        assert_eq!(
            why.as_deref(),
            Some("needs TLS 1.2; the target does not speak it (protocol_version alert)")
        );
    }
}
