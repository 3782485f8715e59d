//! Checks a parsed scenario for things serde cannot see: names that are not in
//! the PKI, unknown profiles/modes/policies/alerts, nesting that means nothing.
//! Every error names the file, the line and the dotted key.

use super::locate::{Locator, Seg};
use super::schema::{CaNamesPolicy, Expectation, MiddleboxKind, SelectionPolicy};
use super::Scenario;
use super::{is_known_alert, modes_of, ScenarioError, PROFILES, SEEDS};
use crate::pki::spec::{Defect, Role};
use std::collections::HashMap;

/// Every problem found in `scenario` (empty: valid).
pub(crate) fn validate(scenario: &Scenario) -> Vec<ScenarioError> {
    let mut v = Validator {
        scenario,
        loc: Locator::new(&scenario.source),
        names: PkiNames::new(scenario),
        errors: Vec::new(),
    };
    v.check_seed();
    v.check_server();
    v.check_client();
    v.check_middlebox();
    v.check_revocation();
    v.check_expect();
    v.check_steps();
    v.errors
}

/// The names a scenario may reference, with the role each one has.
struct PkiNames {
    named: HashMap<String, Role>,
    /// prefix -> (count, role)
    bulk: HashMap<String, (usize, Role)>,
}

impl PkiNames {
    fn new(scenario: &Scenario) -> Self {
        let pki = &scenario.file.pki;
        let mut named = HashMap::new();
        for c in &pki.cert {
            named.insert(c.name.clone(), c.role);
            // The cross certificate is named like pki::generate names it.
            if c.defects.contains(&Defect::CrossSigned) {
                named.insert(format!("{}-cross", c.name), Role::Intermediate);
            }
        }
        let bulk = pki
            .bulk
            .iter()
            .map(|b| (b.prefix.clone(), (b.count, b.role)))
            .collect();
        PkiNames { named, bulk }
    }

    /// The role of a referenced name. `<prefix>-*` only where `wildcard_ok`.
    fn role_of(&self, name: &str, wildcard_ok: bool) -> Option<Role> {
        if let Some(role) = self.named.get(name) {
            return Some(*role);
        }
        if let Some(prefix) = name.strip_suffix("-*") {
            return self
                .bulk
                .get(prefix)
                .filter(|_| wildcard_ok)
                .map(|(_, role)| *role);
        }
        // A concrete bulk name: `<prefix>-{n:0width}`, width = max(5, digits of count).
        let (prefix, digits) = name.rsplit_once('-')?;
        let (count, role) = self.bulk.get(prefix)?;
        let width = count.to_string().len().max(5);
        let n: usize = digits.parse().ok()?;
        let well_formed = digits.len() == width && digits.bytes().all(|b| b.is_ascii_digit());
        (well_formed && (1..=*count).contains(&n)).then_some(*role)
    }

    fn hint(&self) -> String {
        let mut names: Vec<String> = self.named.keys().cloned().collect();
        names.extend(self.bulk.keys().map(|p| format!("{p}-*")));
        names.sort();
        if names.is_empty() {
            "[pki] defines no certificates".into()
        } else {
            format!("known: {}", names.join(", "))
        }
    }
}

struct Validator<'a> {
    scenario: &'a Scenario,
    loc: Locator<'a>,
    names: PkiNames,
    errors: Vec<ScenarioError>,
}

impl Validator<'_> {
    fn push(&mut self, segs: &[Seg<'_>], message: String) {
        let key = dotted(segs);
        let last_key = segs.iter().rev().find_map(|s| match s {
            Seg::Key(k) => Some(*k),
            Seg::Index(_) => None,
        });
        let line = self.loc.line_or_search(segs, last_key.unwrap_or(""), None);
        self.errors.push(ScenarioError::Invalid {
            path: self.scenario.path.clone(),
            line,
            key,
            message,
        });
    }

    fn check_seed(&mut self) {
        if let Some(seed) = &self.scenario.file.seed {
            if !SEEDS.contains(&seed.as_str()) {
                let msg = format!("unknown seed `{seed}` (known: {})", SEEDS.join(", "));
                self.push(&[Seg::Key("seed")], msg);
            }
        }
    }

    /// Each name of a list must be in the PKI.
    fn check_names(&mut self, segs: &[Seg<'_>], names: &[String]) {
        for (i, name) in names.iter().enumerate() {
            if self.names.role_of(name, true).is_none() {
                let mut at = segs.to_vec();
                at.push(Seg::Index(i));
                let msg = format!("no certificate `{name}` in [pki] ({})", self.names.hint());
                self.push(&at, msg);
            }
        }
    }

    fn check_server(&mut self) {
        let server = &self.scenario.file.server;
        match self.names.role_of(&server.cert, false) {
            None => {
                let msg = format!(
                    "no certificate `{}` in [pki] ({})",
                    server.cert,
                    self.names.hint()
                );
                self.push(&[Seg::Key("server"), Seg::Key("cert")], msg);
            }
            Some(Role::Server) => {}
            Some(role) => {
                let msg = format!(
                    "`{}` is a {role} certificate; the server needs role = \"server\"",
                    server.cert
                );
                self.push(&[Seg::Key("server"), Seg::Key("cert")], msg);
            }
        }
        self.check_names(&[Seg::Key("server"), Seg::Key("trust")], &server.trust);
        self.check_names(&[Seg::Key("server"), Seg::Key("crls")], &server.crls);
        if let CaNamesPolicy::Explicit(names) = &server.ca_names {
            self.check_names(
                &[
                    Seg::Key("server"),
                    Seg::Key("ca_names"),
                    Seg::Key("explicit"),
                ],
                names,
            );
        }
        if server.tls.is_empty() {
            self.push(
                &[Seg::Key("server"), Seg::Key("tls")],
                "lists no TLS version: the scenario would never run".into(),
            );
        }
        if !server.asks.is_in_handshake() {
            self.check_after_request();
        }
        for (profile, mode) in &server.mode {
            let at = [Seg::Key("server"), Seg::Key("mode"), Seg::Key(profile)];
            match modes_of(profile) {
                None => {
                    let msg = format!(
                        "unknown profile `{profile}` (known: {})",
                        PROFILES.join(", ")
                    );
                    self.push(&at, msg);
                }
                Some([]) => {
                    self.push(&at, format!("profile `{profile}` has no modes"));
                }
                Some(modes) if !modes.contains(&mode.as_str()) => {
                    let msg = format!(
                        "unknown {profile} mode `{mode}` (known: {})",
                        modes.join(", ")
                    );
                    self.push(&at, msg);
                }
                Some(_) => {}
            }
        }
    }

    /// `asks = "after-request"`: the listener must ask at all, a mode
    /// given must be the one that asks there, and a gateway table must name
    /// a gateway that can.
    fn check_after_request(&mut self) {
        use crate::gateway::{GatewayProfile, ProfileKind};
        let file = &self.scenario.file;
        if file.server.client_auth == crate::knobs::ClientAuth::None {
            self.push(
                &[Seg::Key("server"), Seg::Key("asks")],
                "`after-request` needs a listener that asks: client_auth is \"none\"".into(),
            );
        }
        for (profile, mode) in &file.server.mode {
            let Some(kind) = ProfileKind::from_name(profile) else {
                continue;
            };
            if let Some(after) = GatewayProfile::after_request_mode(kind) {
                if mode != after {
                    let msg = format!(
                        "`{mode}` asks in the handshake; with `asks = \"after-request\"` {profile} is `{after}` (leave the mode out)"
                    );
                    self.push(
                        &[Seg::Key("server"), Seg::Key("mode"), Seg::Key(profile)],
                        msg,
                    );
                }
            }
        }
        for profile in file.expect.gateway.keys() {
            let Some(kind) = ProfileKind::from_name(profile) else {
                continue;
            };
            if GatewayProfile::after_request_mode(kind).is_none() {
                let msg = format!(
                    "{profile} cannot ask for a certificate after the request (`[server] asks = \"after-request\"`); the gateways that can: {}",
                    PROFILES
                        .iter()
                        .filter(|p| ProfileKind::from_name(p)
                            .and_then(GatewayProfile::after_request_mode)
                            .is_some())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                self.push(
                    &[Seg::Key("expect"), Seg::Key("gateway"), Seg::Key(profile)],
                    msg,
                );
            }
        }
    }

    fn check_client(&mut self) {
        let client = &self.scenario.file.client;
        self.check_names(&[Seg::Key("client"), Seg::Key("certs")], &client.certs);
        self.check_names(&[Seg::Key("client"), Seg::Key("trust")], &client.trust);
        let proxies = self.scenario.file.server.trusted_proxies.clone();
        self.check_names(&[Seg::Key("server"), Seg::Key("trusted_proxies")], &proxies);
        if client.tls.as_ref().is_some_and(|t| t.is_empty()) {
            self.push(
                &[Seg::Key("client"), Seg::Key("tls")],
                "lists no TLS version (leave it out to offer the server's)".into(),
            );
        }
    }

    fn check_middlebox(&mut self) {
        let Some(mb) = &self.scenario.file.middlebox else {
            return;
        };
        if let Some(cert) = &mb.cert {
            if self.names.role_of(cert, false).is_none() {
                let msg = format!("no certificate `{cert}` in [pki] ({})", self.names.hint());
                self.push(&[Seg::Key("middlebox"), Seg::Key("cert")], msg);
            }
        }
        if let Some(cert) = &mb.upstream_cert {
            if self.names.role_of(cert, false).is_none() {
                let msg = format!("no certificate `{cert}` in [pki] ({})", self.names.hint());
                self.push(&[Seg::Key("middlebox"), Seg::Key("upstream_cert")], msg);
            }
        }
        if mb.kind != MiddleboxKind::Offload && mb.header.is_some() {
            self.push(
                &[Seg::Key("middlebox"), Seg::Key("kind")],
                format!(
                    "only an offloader forwards a header: `kind = \"offload\"` with `header`, or no `header` for a {}",
                    mb.kind.name()
                ),
            );
        }
    }

    fn check_revocation(&mut self) {
        use super::schema::{ResponderState, RevocationCheck};
        let Some(r) = &self.scenario.file.revocation else {
            return;
        };
        if r.check == RevocationCheck::CrlFile {
            if r.responder.is_some_and(|s| s != ResponderState::Up) {
                self.push(
                    &[Seg::Key("revocation"), Seg::Key("responder")],
                    "crl-file fetches nothing, so no responder state applies (an expired CRL file is the `crl-expired` defect)".into(),
                );
            }
            if self.scenario.file.server.crls.is_empty() {
                self.push(
                    &[Seg::Key("revocation"), Seg::Key("check")],
                    "crl-file needs the CRLs the server loads in `server.crls`".into(),
                );
            }
        }
        match r.timeout_secs {
            Some(0) => self.push(
                &[Seg::Key("revocation"), Seg::Key("timeout_secs")],
                "must be at least 1".into(),
            ),
            Some(t) if t > 60 => self.push(
                &[Seg::Key("revocation"), Seg::Key("timeout_secs")],
                format!("{t} s is longer than any gateway's default wait (at most 60)"),
            ),
            _ => {}
        }
        for (i, name) in r.unknown_to_responder.iter().enumerate() {
            if self.names.role_of(name, false).is_none() {
                let msg = format!("no certificate `{name}` in [pki] ({})", self.names.hint());
                self.push(
                    &[
                        Seg::Key("revocation"),
                        Seg::Key("unknown_to_responder"),
                        Seg::Index(i),
                    ],
                    msg,
                );
            }
        }
    }

    fn check_expect(&mut self) {
        let expect = &self.scenario.file.expect;
        self.check_expectation(expect, &[Seg::Key("expect")], Level::Base);
        // A connect step without `expect` is reported by `check_steps`.
        let steps = &self.scenario.file.steps;
        let unjudged_step = steps
            .iter()
            .any(|s| s.action == super::schema::StepAction::Connect && s.expect.is_none());
        if !unjudged_step && self.scenario.profiles_to_run().0.is_empty() {
            self.push(
                &[Seg::Key("expect")],
                "checks nothing: give [expect] fields (every profile runs) or [expect.gateway.<profile>] tables"
                    .into(),
            );
        }
    }

    /// `[[step]]`: each names what its action needs and nothing else, a
    /// change touches something the gateway loads, each connection has its
    /// own `[step.expect]`, and `[expect]` is left empty.
    fn check_steps(&mut self) {
        use super::schema::StepAction as A;
        let file = &self.scenario.file;
        if file.steps.is_empty() {
            return;
        }
        let top = &file.expect;
        if top.has_checks()
            || !top.gateway.is_empty()
            || !top.client.is_empty()
            || top.tls12.is_some()
            || top.tls13.is_some()
        {
            self.push(
                &[Seg::Key("expect")],
                "with [[step]], each connection is judged by its own [step.expect]: leave [expect] out"
                    .into(),
            );
        }
        if file.client.connections != 1 {
            self.push(
                &[Seg::Key("client"), Seg::Key("connections")],
                "with [[step]], each connect step is one connection: leave `connections` out"
                    .into(),
            );
        }
        if !file.steps.iter().any(|s| s.action == A::Connect) {
            self.push(
                &[Seg::Key("step")],
                "no `connect` step: nothing would be judged".into(),
            );
        }
        let issuer_of = |name: &str| {
            file.pki
                .cert
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| c.issuer.clone())
        };
        for (i, step) in file.steps.iter().enumerate() {
            let at = |key: &'static str| [Seg::Key("step"), Seg::Index(i), Seg::Key(key)];
            let action = step.action.name();
            let needs_cert = matches!(step.action, A::Revoke | A::ReplaceServerCert);
            let needs_ca = matches!(step.action, A::ExpireCrl | A::AddCa | A::RemoveCa);
            for (key, given, wanted) in [
                ("cert", step.cert.is_some(), needs_cert),
                ("ca", step.ca.is_some(), needs_ca),
                (
                    "certs",
                    step.certs.is_some(),
                    step.action == A::Connect && step.certs.is_some(),
                ),
                (
                    "via",
                    step.via.is_some(),
                    step.action == A::Reload && step.via.is_some(),
                ),
                ("expect", step.expect.is_some(), step.action == A::Connect),
            ] {
                if given && !wanted {
                    self.push(&at(key), format!("a `{action}` step takes no `{key}`"));
                } else if wanted && !given {
                    self.push(&at(key), format!("a `{action}` step needs `{key}`"));
                }
            }
            if let Some(certs) = &step.certs {
                self.check_names(&at("certs"), certs);
            }
            if let Some(expect) = &step.expect {
                let path = [Seg::Key("step"), Seg::Index(i), Seg::Key("expect")];
                self.check_expectation(expect, &path, Level::Base);
            }
            let role = |v: &Self, name: &str| v.names.role_of(name, false);
            match (step.action, step.cert.as_deref(), step.ca.as_deref()) {
                (A::Revoke, Some(cert), _) => match issuer_of(cert) {
                    None => {
                        let msg = format!(
                            "no issued certificate `{cert}` in [pki] ({})",
                            self.names.hint()
                        );
                        self.push(&at("cert"), msg);
                    }
                    Some(issuer) if !file.server.crls.contains(&issuer) => {
                        let msg = format!(
                            "its issuer `{issuer}` is not in server.crls: the gateway loads no CRL a revocation would change"
                        );
                        self.push(&at("cert"), msg);
                    }
                    Some(_) => {}
                },
                (A::ReplaceServerCert, Some(cert), _) if role(self, cert) != Some(Role::Server) => {
                    let msg = format!("`{cert}` is not a server certificate of [pki]");
                    self.push(&at("cert"), msg);
                }
                (A::ExpireCrl, _, Some(ca)) if !file.server.crls.iter().any(|c| c == ca) => {
                    let msg =
                        format!("`{ca}` is not in server.crls: the gateway loads no CRL of it");
                    self.push(&at("ca"), msg);
                }
                (A::AddCa | A::RemoveCa, _, Some(ca))
                    if !matches!(role(self, ca), Some(Role::Root | Role::Intermediate)) =>
                {
                    let msg = format!("`{ca}` is not a CA of [pki] ({})", self.names.hint());
                    self.push(&at("ca"), msg);
                }
                _ => {}
            }
        }
    }

    fn check_expectation<'k>(&mut self, e: &'k Expectation, at: &[Seg<'k>], level: Level) {
        let with = |extra: &[Seg<'k>]| -> Vec<Seg<'k>> {
            let mut v = at.to_vec();
            v.extend_from_slice(extra);
            v
        };
        if let Some(alert) = &e.alert {
            if !is_known_alert(alert) {
                let msg = format!(
                    "unknown alert `{alert}` (use the RFC 8446 snake_case name, e.g. `certificate_required`, `unknown_ca`)"
                );
                self.push(&with(&[Seg::Key("alert")]), msg);
            }
        }
        if let Some(code) = &e.client_error {
            let canonical = !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !canonical {
                let msg = format!("`{code}` is not a canonical SCREAMING_SNAKE client error code");
                self.push(&with(&[Seg::Key("client_error")]), msg);
            }
        }

        if let Some(perf) = &e.performance {
            let here = with(&[Seg::Key("performance")]);
            if level != Level::Base {
                self.push(
                    &here,
                    "[expect.performance] goes directly under [expect]".into(),
                );
            }
            if perf.max_cost_ratio.is_none() && perf.min_handshakes_ratio.is_none() {
                self.push(
                    &here,
                    "bounds nothing: give max_cost_ratio or min_handshakes_ratio".into(),
                );
            }
            for (key, v) in [
                ("max_cost_ratio", perf.max_cost_ratio),
                ("min_handshakes_ratio", perf.min_handshakes_ratio),
            ] {
                if v.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
                    self.push(
                        &with(&[Seg::Key("performance"), Seg::Key(key)]),
                        "must be a ratio above 0".into(),
                    );
                }
            }
            if perf.baseline.trust_anchors == 0 {
                self.push(
                    &with(&[
                        Seg::Key("performance"),
                        Seg::Key("baseline"),
                        Seg::Key("trust_anchors"),
                    ]),
                    "must be at least 1".into(),
                );
            }
        }
        let versions = [("1.2", &e.tls12), ("1.3", &e.tls13)];
        if level == Level::Version {
            for (v, table) in versions {
                if table.is_some() {
                    self.push(
                        &with(&[Seg::Key(v)]),
                        "a TLS version table cannot hold another version table".into(),
                    );
                }
            }
        } else {
            for (v, table) in versions {
                if let Some(table) = table {
                    self.check_expectation(table, &with(&[Seg::Key(v)]), Level::Version);
                }
            }
        }

        for (kind, map) in [("gateway", &e.gateway), ("client", &e.client)] {
            if map.is_empty() {
                continue;
            }
            if level != Level::Base {
                let msg = format!(
                    "`{kind}` tables go directly under [expect], not inside a gateway, client or version table"
                );
                self.push(&with(&[Seg::Key(kind)]), msg);
                continue;
            }
            for (name, table) in map {
                let here = with(&[Seg::Key(kind), Seg::Key(name)]);
                let unknown = match kind {
                    "gateway" => (!PROFILES.contains(&name.as_str())).then(|| {
                        format!("unknown profile `{name}` (known: {})", PROFILES.join(", "))
                    }),
                    _ => SelectionPolicy::parse(name).is_none().then(|| {
                        let known: Vec<&str> =
                            SelectionPolicy::ALL.iter().map(|p| p.as_str()).collect();
                        format!(
                            "unknown selection policy `{name}` (known: {})",
                            known.join(", ")
                        )
                    }),
                };
                if let Some(msg) = unknown {
                    self.push(&here, msg);
                }
                self.check_expectation(table, &here, Level::Override);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// `[expect]`
    Base,
    /// `[expect.gateway.X]` / `[expect.client.Y]`
    Override,
    /// `."1.2"` / `."1.3"` below either
    Version,
}

/// `expect.gateway.nginx."1.2".alert`, `server.trust[1]`.
fn dotted(segs: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("\"{k}\""));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const BASE: &str = r#"description = "base"
[[pki.cert]]
name = "root"
role = "root"
defects = ["cross-signed"]
cross_signed_by = "other"
[[pki.cert]]
name = "other"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[[pki.cert]]
name = "alice"
role = "client"
issuer = "root"
[[pki.bulk]]
prefix = "filler"
count = 20
[server]
cert = "gw"
trust = ["root", "filler-*"]
[client]
certs = ["alice"]
[expect]
result = "SUCCESS"
"#;

    fn load(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_source("t::t", Path::new("t/t.toml"), text.to_string())
    }

    /// The single error of `text`, rendered.
    fn error_of(text: &str) -> String {
        let err = load(text).expect_err("should be rejected");
        let all = err.errors();
        assert_eq!(all.len(), 1, "expected one error, got: {err}");
        err.to_string()
    }

    #[test]
    fn the_base_scenario_is_valid() {
        load(BASE).expect("valid");
    }

    #[test]
    fn names_resolve_through_cross_and_bulk() {
        let ok = BASE.replace(
            "trust = [\"root\", \"filler-*\"]",
            "trust = [\"root-cross\", \"filler-00001\", \"filler-00020\"]\ncrls = [\"root\"]\nca_names = { explicit = [\"other\"] }",
        );
        load(&ok).expect("valid");
        for bad in [
            "filler-00021",
            "filler-1",
            "filler-000001",
            "filler-00000",
            "gw-cross",
            "nope-*",
        ] {
            let text = BASE.replace("\"filler-*\"", &format!("\"{bad}\""));
            let msg = error_of(&text);
            assert!(
                msg.starts_with("t/t.toml:23: `server.trust[1]`:") && msg.contains(bad),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn bulk_width_grows_with_count() {
        let text = BASE
            .replace("count = 20", "count = 123456")
            .replace("\"filler-*\"", "\"filler-123456\"");
        load(&text).expect("six digits when count has six");
        let text = BASE
            .replace("count = 20", "count = 123456")
            .replace("\"filler-*\"", "\"filler-00001\"");
        assert!(error_of(&text).contains("filler-00001"));
    }

    #[test]
    fn every_reference_list_is_checked() {
        let cases = [
            (
                "certs = [\"alice\"]",
                "certs = [\"bob\"]",
                "client.certs[0]",
            ),
            (
                "certs = [\"alice\"]",
                "certs = [\"alice\"]\ntrust = [\"x\"]",
                "client.trust[0]",
            ),
            (
                "cert = \"gw\"",
                "cert = \"gw\"\ncrls = [\"x\"]",
                "server.crls[0]",
            ),
            (
                "cert = \"gw\"",
                "cert = \"gw\"\nca_names = { explicit = [\"root\", \"x\"] }",
                "server.ca_names.explicit[1]",
            ),
            ("cert = \"gw\"", "cert = \"ghost\"", "server.cert"),
            ("cert = \"gw\"", "cert = \"alice\"", "server.cert"),
        ];
        for (from, to, key) in cases {
            let msg = error_of(&BASE.replace(from, to));
            assert!(msg.contains(&format!("`{key}`")), "{key}: {msg}");
            assert!(msg.starts_with("t/t.toml:2"), "{key} has a line: {msg}");
        }
        assert!(error_of(&BASE.replace("cert = \"gw\"", "cert = \"alice\""))
            .contains("client certificate"));
    }

    #[test]
    fn middlebox_cert_and_header() {
        let with_mb = |mb: &str| format!("{BASE}[middlebox]\n{mb}\n");
        load(&with_mb(
            "kind = \"terminate-forward\"\nheader = \"xfcc\"\ncert = \"gw\"",
        ))
        .expect("the old spelling stays valid");
        load(&with_mb("kind = \"offload\"\nheader = \"apache-pem\"")).expect("valid");
        load(&with_mb("kind = \"offload\"")).expect("an offloader without a header is valid");
        let msg = error_of(&with_mb("kind = \"intercept\"\nheader = \"rfc9440\""));
        assert!(msg.contains(":29: `middlebox.kind`"), "{msg}");
        let msg = error_of(&with_mb("kind = \"tunnel\"\ncert = \"ghost\""));
        assert!(msg.contains(":30: `middlebox.cert`"), "{msg}");
    }

    #[test]
    fn revocation_fields() {
        let with = |r: &str| format!("{BASE}[revocation]\n{r}\n");
        load(&with(
            "check = \"ocsp\"\nresponder = \"hang\"\ntimeout_secs = 1",
        ))
        .expect("valid");
        let msg = error_of(&with("check = \"ocsp\"\ntimeout_secs = 0"));
        assert!(msg.contains(":30: `revocation.timeout_secs`"), "{msg}");
        let msg = error_of(&with(
            "check = \"ocsp\"\nunknown_to_responder = [\"ghost\"]",
        ));
        assert!(
            msg.contains(":30: `revocation.unknown_to_responder[0]`"),
            "{msg}"
        );
        let msg = load(&with("check = \"crl-file\"\nresponder = \"down\""))
            .expect_err("rejected")
            .to_string();
        assert!(msg.contains(":30: `revocation.responder`"), "{msg}");
        assert!(
            msg.contains(":29: `revocation.check`: crl-file needs"),
            "{msg}"
        );
        let msg = error_of(&with("check = \"ocsp\"\nresponder = \"sleepy\""));
        assert!(
            msg.contains("revocation") && msg.contains("sleepy"),
            "{msg}"
        );
    }

    #[test]
    fn asks_after_the_request_needs_a_listener_that_asks_its_mode_and_a_gateway_that_can() {
        let after = |server_extra: &str, expect: &str| {
            BASE.replace(
                "cert = \"gw\"",
                &format!("cert = \"gw\"\nasks = \"after-request\"\n{server_extra}"),
            )
            .replace("[expect]\nresult = \"SUCCESS\"", expect)
        };
        let apache = "[expect.gateway.apache]\nresult = \"SUCCESS\"";
        let s = load(&after("", apache)).expect("valid");
        assert_eq!(s.profiles_to_run().0, vec!["apache", "lighttpd"]);
        // A base expectation runs only the gateways that can ask there.
        let s = load(&after("", "[expect]\nresult = \"SUCCESS\"")).expect("valid");
        assert_eq!(
            s.profiles_to_run().0,
            vec!["iis", "apache", "jsse", "lighttpd"]
        );
        let msg = error_of(&after("client_auth = \"none\"", apache));
        assert!(
            msg.contains("`server.asks`: `after-request` needs a listener that asks"),
            "{msg}"
        );
        let msg = error_of(&after("mode = { apache = \"per-server\" }", apache));
        assert!(
            msg.contains("`server.mode.apache`: `per-server` asks in the handshake"),
            "{msg}"
        );
        load(&after("mode = { apache = \"per-directory\" }", apache))
            .expect("the mode that asks there");
        let msg = error_of(&after(
            "",
            &format!("{apache}\n[expect.gateway.nginx]\nresult = \"SUCCESS\""),
        ));
        assert!(
            msg.contains(
                "`expect.gateway.nginx`: nginx cannot ask for a certificate after the request"
            ),
            "{msg}"
        );
        let msg = error_of(&BASE.replace("cert = \"gw\"", "cert = \"gw\"\nasks = \"later\""));
        assert!(msg.contains("asks"), "{msg}");
        let msg = error_of(&BASE.replace(
            "certs = [\"alice\"]",
            "certs = [\"alice\"]\nalpn = [\"h3\"]",
        ));
        assert!(msg.contains("alpn"), "{msg}");
    }

    #[test]
    fn steps_name_what_their_action_needs_and_touch_what_the_gateway_loads() {
        let steps = |server_extra: &str, steps: &str| {
            BASE.replace("cert = \"gw\"", &format!("cert = \"gw\"\n{server_extra}"))
                .replace("[expect]\nresult = \"SUCCESS\"\n", steps)
        };
        let connect = "[[step]]\naction = \"connect\"\n[step.expect]\nresult = \"SUCCESS\"\n";
        let revoke = "[[step]]\naction = \"revoke\"\ncert = \"alice\"\n";
        let s = load(&steps(
            "crls = [\"root\"]",
            &format!("{connect}{revoke}[[step]]\naction = \"reload\"\n{connect}"),
        ))
        .expect("valid steps");
        assert_eq!(s.file.steps.len(), 4);
        assert!(s
            .step_expectation(1, "nginx", crate::observation::TlsVersion::Tls12)
            .is_none());
        assert!(s
            .step_expectation(3, "nginx", crate::observation::TlsVersion::Tls12)
            .is_some());
        // Revoking where no CRL is loaded changes nothing the gateway reads.
        let msg = error_of(&steps("", &format!("{connect}{revoke}")));
        assert!(
            msg.contains("`step[1].cert`: its issuer `root` is not in server.crls"),
            "{msg}"
        );
        let msg = error_of(&steps(
            "crls = [\"root\"]",
            &format!("{connect}[[step]]\naction = \"revoke\"\n"),
        ));
        assert!(msg.contains("a `revoke` step needs `cert`"), "{msg}");
        let msg = error_of(&steps(
            "",
            &format!("{connect}[[step]]\naction = \"reload\"\nca = \"root\"\n"),
        ));
        assert!(msg.contains("a `reload` step takes no `ca`"), "{msg}");
        let msg = error_of(&steps("", "[[step]]\naction = \"connect\"\n"));
        assert!(msg.contains("a `connect` step needs `expect`"), "{msg}");
        let msg = error_of(&steps(
            "",
            &format!("{connect}[[step]]\naction = \"replace-server-cert\"\ncert = \"alice\"\n"),
        ));
        assert!(msg.contains("`alice` is not a server certificate"), "{msg}");
        let msg = error_of(&steps(
            "",
            &format!("{connect}[[step]]\naction = \"add-ca\"\nca = \"alice\"\n"),
        ));
        assert!(msg.contains("`alice` is not a CA of [pki]"), "{msg}");
        let msg = error_of(&BASE.replace(
            "[expect]\nresult = \"SUCCESS\"\n",
            &format!("[expect]\nresult = \"SUCCESS\"\n{connect}"),
        ));
        assert!(
            msg.contains("with [[step]], each connection is judged by its own [step.expect]"),
            "{msg}"
        );
        let msg = error_of(&steps("", "[[step]]\naction = \"wait\"\n"));
        assert!(msg.contains("action"), "{msg}");
    }

    #[test]
    fn seed_tls_and_modes() {
        let msg = error_of(&BASE.replace(
            "description = \"base\"",
            "description = \"base\"\nseed = \"004\"",
        ));
        assert!(msg.contains(":2: `seed`"), "{msg}");
        load(&BASE.replace(
            "description = \"base\"",
            "description = \"base\"\nseed = \"003\"",
        ))
        .expect("valid seed");

        let msg = error_of(&BASE.replace("cert = \"gw\"", "cert = \"gw\"\ntls = []"));
        assert!(msg.contains("`server.tls`"), "{msg}");
        let msg = error_of(&BASE.replace("certs = [\"alice\"]", "certs = [\"alice\"]\ntls = []"));
        assert!(msg.contains("`client.tls`"), "{msg}");

        let mode =
            |m: &str| BASE.replace("cert = \"gw\"", &format!("cert = \"gw\"\nmode = {{ {m} }}"));
        load(&mode("nginx = \"optional_no_ca\", apache = \"per-directory\", haproxy = \"optional-deny\", envoy = \"rbac\", iis = \"negotiate\"")).expect("valid modes");
        assert!(error_of(&mode("nginx = \"sometimes\""))
            .contains("`server.mode.nginx`: unknown nginx mode `sometimes`"));
        assert!(error_of(&mode("squid = \"on\"")).contains("unknown profile `squid`"));
        assert!(error_of(&mode("strict = \"on\"")).contains("unknown strict mode `on`"));
        assert!(error_of(&mode("layer7 = \"on\"")).contains("has no modes"));
    }

    #[test]
    fn expectations_are_checked_at_every_level() {
        let with = |tail: &str| format!("{BASE}{tail}\n");
        load(&with("[expect.gateway.nginx.\"1.2\"]\nalert = \"handshake_failure\"\n[expect.client.match-issuer]\nresult = \"FAILURE\"")).expect("valid");

        let msg = error_of(&with("[expect.gateway.squid]\nresult = \"FAILURE\""));
        assert!(
            msg.contains(":28: `expect.gateway.squid`: unknown profile"),
            "{msg}"
        );

        let msg = error_of(&with("[expect.client.sometimes]\nresult = \"FAILURE\""));
        assert!(
            msg.contains("`expect.client.sometimes`: unknown selection policy"),
            "{msg}"
        );

        let msg = error_of(&with(
            "[expect.gateway.nginx.\"1.3\"]\nalert = \"UnknownCA\"",
        ));
        assert!(
            msg.contains(":29: `expect.gateway.nginx.\"1.3\".alert`: unknown alert"),
            "{msg}"
        );

        let msg = error_of(&with(
            "[expect.gateway.nginx.gateway.iis]\nresult = \"FAILURE\"",
        ));
        assert!(msg.contains("`expect.gateway.nginx.gateway`"), "{msg}");

        let msg = error_of(&with(
            "[expect.client.never.gateway.iis]\nresult = \"FAILURE\"",
        ));
        assert!(msg.contains("`expect.client.never.gateway`"), "{msg}");

        let msg = error_of(&with("[expect.\"1.2\".\"1.3\"]\nresult = \"FAILURE\""));
        assert!(msg.contains("`expect.\"1.2\".\"1.3\"`"), "{msg}");

        let msg = error_of(&with("[expect.\"1.2\".client.never]\nresult = \"FAILURE\""));
        assert!(msg.contains("`expect.\"1.2\".client`"), "{msg}");

        let msg = error_of(&with(
            "[expect.gateway.iis]\nclient_error = \"message buffer full\"",
        ));
        assert!(msg.contains("`expect.gateway.iis.client_error`"), "{msg}");
    }

    #[test]
    fn an_expectation_that_runs_nothing_is_an_error() {
        let text = BASE.replace(
            "[expect]\nresult = \"SUCCESS\"\n",
            "[expect.client.always]\nresult = \"SUCCESS\"\n",
        );
        assert!(error_of(&text).contains("`expect`: checks nothing"));
    }

    #[test]
    fn all_errors_of_one_file_are_reported() {
        let text = BASE
            .replace("cert = \"gw\"", "cert = \"ghost\"")
            .replace("certs = [\"alice\"]", "certs = [\"bob\"]");
        let err = load(&text).expect_err("two errors");
        assert_eq!(err.errors().len(), 2, "{err}");
    }
}
