//! Which profiles a scenario runs on, and the flat expectation for one
//! (profile, TLS version) case.

use super::schema::{CaNamesExpectation, Expectation};
use super::Scenario;
use super::PROFILES;
use crate::observation::TlsVersion;

impl Expectation {
    /// Whether this table itself sets any check field (its `gateway`, `client`
    /// and version tables are not looked at).
    pub fn has_checks(&self) -> bool {
        let Expectation {
            result,
            handshake,
            alert,
            alert_sent_by,
            client_error,
            http_status,
            http_substatus,
            body_contains,
            client_certificate_sent,
            certificate_requested,
            resumed,
            ca_names,
            log_contains,
            server_cert_subject,
            tls12: _,
            tls13: _,
            gateway: _,
            client: _,
            performance: _,
        } = self;
        result.is_some()
            || handshake.is_some()
            || alert.is_some()
            || alert_sent_by.is_some()
            || client_error.is_some()
            || http_status.is_some()
            || http_substatus.is_some()
            || body_contains.is_some()
            || client_certificate_sent.is_some()
            || certificate_requested.is_some()
            || resumed.is_some()
            || ca_names.is_some()
            || log_contains.is_some()
            || server_cert_subject.is_some()
    }

    /// The `."1.2"` / `."1.3"` table below this one.
    pub fn for_version(&self, version: TlsVersion) -> Option<&Expectation> {
        match version {
            TlsVersion::Tls12 => self.tls12.as_deref(),
            TlsVersion::Tls13 => self.tls13.as_deref(),
        }
    }

    /// Copy every check field `top` sets over this one (field by field; the
    /// `ca_names` sub-fields too). Nested tables of `top` are ignored.
    pub fn overlay(&mut self, top: &Expectation) {
        // Destructured so that a new field cannot be forgotten here.
        let Expectation {
            result,
            handshake,
            alert,
            alert_sent_by,
            client_error,
            http_status,
            http_substatus,
            body_contains,
            client_certificate_sent,
            certificate_requested,
            resumed,
            ca_names,
            log_contains,
            server_cert_subject,
            tls12: _,
            tls13: _,
            gateway: _,
            client: _,
            performance: _,
        } = top;
        fn set<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
            if let Some(v) = src {
                *dst = Some(v.clone());
            }
        }
        set(&mut self.result, result);
        set(&mut self.handshake, handshake);
        set(&mut self.alert, alert);
        set(&mut self.alert_sent_by, alert_sent_by);
        set(&mut self.client_error, client_error);
        set(&mut self.http_status, http_status);
        set(&mut self.http_substatus, http_substatus);
        set(&mut self.body_contains, body_contains);
        set(&mut self.client_certificate_sent, client_certificate_sent);
        set(&mut self.certificate_requested, certificate_requested);
        set(&mut self.resumed, resumed);
        set(&mut self.log_contains, log_contains);
        set(&mut self.server_cert_subject, server_cert_subject);
        if let Some(top_ca) = ca_names {
            let dst = self
                .ca_names
                .get_or_insert_with(CaNamesExpectation::default);
            set(&mut dst.count, &top_ca.count);
            set(&mut dst.max_bytes, &top_ca.max_bytes);
            set(&mut dst.truncated, &top_ca.truncated);
        }
    }
}

/// The profile whose expectations judge `profile` where a scenario does not
/// name it.
fn fallback(profile: &str) -> Option<&'static str> {
    crate::gateway::ProfileKind::from_name(profile)
        .and_then(crate::gateway::ProfileKind::falls_back_to)
        .map(crate::gateway::ProfileKind::name)
}

impl Scenario {
    /// [`fallback`], except under an online `[revocation]` check: a profile
    /// judged like another (lighttpd -> apache) need not make the same
    /// online checks (lighttpd has no OCSP for client certificates), so
    /// there it is judged only where the scenario names it.
    fn fallback(&self, profile: &str) -> Option<&'static str> {
        let online = self
            .file
            .revocation
            .as_ref()
            .is_some_and(|r| r.check.is_online());
        if online {
            None
        } else {
            fallback(profile)
        }
    }

    /// `(run, not_run)` profiles, each in [`PROFILES`] order.
    ///
    /// If `[expect]` (or `[expect."1.2"]` / `[expect."1.3"]`) sets any check
    /// field, that default applies to every profile and all run. Otherwise only
    /// the profiles with an `[expect.gateway.<profile>]` table run: a scenario
    /// that only knows nginx's answer says nothing about IIS. `[expect.client.*]`
    /// tables alone do not make a profile run.
    pub fn profiles_to_run(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        // With `[[step]]`, each connection's `[step.expect]` selects as
        // `[expect]` does.
        let tables: Vec<&Expectation> = if self.file.steps.is_empty() {
            vec![&self.file.expect]
        } else {
            self.file
                .steps
                .iter()
                .filter_map(|s| s.expect.as_ref())
                .collect()
        };
        let applies_to_all = |expect: &Expectation| {
            expect.has_checks()
                || TlsVersion::ALL
                    .iter()
                    .filter_map(|v| expect.for_version(*v))
                    .any(Expectation::has_checks)
        };
        // A gateway that cannot ask after the request has nothing to judge
        // in a scenario that asks there.
        let can_ask = |p: &str| {
            self.file.server.asks.is_in_handshake()
                || crate::gateway::ProfileKind::from_name(p)
                    .and_then(crate::gateway::GatewayProfile::after_request_mode)
                    .is_some()
        };
        PROFILES.iter().copied().partition(|p| {
            can_ask(p)
                && tables.iter().any(|expect| {
                    applies_to_all(expect)
                        || expect.gateway.contains_key(*p)
                        || self
                            .fallback(p)
                            .is_some_and(|f| expect.gateway.contains_key(f))
                })
        })
    }

    /// The flat expectation (no nested tables) for one case, layered field by
    /// field from least to most specific:
    ///
    /// 1. `[expect]`
    /// 2. `[expect."<version>"]`
    /// 3. `[expect.client.<client.selection>]` (this scenario's policy only)
    /// 4. `[expect.client.<client.selection>."<version>"]`
    /// 5. `[expect.gateway.<profile>]`
    /// 6. `[expect.gateway.<profile>."<version>"]`
    ///
    /// The gateway wins: it is the thing under test, and the client table
    /// describes what the client does whatever the gateway. A profile judged
    /// like another (lighttpd -> apache) takes that one's gateway tables
    /// where the scenario does not name it, and only its own where it does.
    pub fn expectation(&self, profile: &str, version: TlsVersion) -> Expectation {
        self.layered(&self.file.expect, profile, version)
    }

    /// [`Self::expectation`] for the connection of step `index` (from 0):
    /// its `[step.expect]` layered the same way; `None` for a change.
    pub fn step_expectation(
        &self,
        index: usize,
        profile: &str,
        version: TlsVersion,
    ) -> Option<Expectation> {
        let step = self.file.steps.get(index)?;
        step.expect
            .as_ref()
            .map(|expect| self.layered(expect, profile, version))
    }

    fn layered(&self, expect: &Expectation, profile: &str, version: TlsVersion) -> Expectation {
        let client = expect.client.get(self.file.client.selection.as_str());
        let gateway = expect
            .gateway
            .get(profile)
            .or_else(|| self.fallback(profile).and_then(|f| expect.gateway.get(f)));
        let mut flat = Expectation::default();
        for table in [Some(expect), client, gateway].into_iter().flatten() {
            flat.overlay(table);
            if let Some(per_version) = table.for_version(version) {
                flat.overlay(per_version);
            }
        }
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Handshake, Side};
    use crate::scenario::schema::ExpectedResult;
    use std::path::Path;

    const HEAD: &str = r#"description = "layers"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[server]
cert = "gw"
[client]
selection = "match-issuer"
"#;

    fn scenario(expect: &str) -> Scenario {
        Scenario::from_source("t::t", Path::new("t.toml"), format!("{HEAD}{expect}"))
            .expect("valid scenario")
    }

    #[test]
    fn gateway_tables_alone_select_profiles() {
        let s = scenario(
            "[expect.gateway.nginx]\nhttp_status = 400\n[expect.gateway.iis]\nhttp_status = 403\n",
        );
        let (run, not_run) = s.profiles_to_run();
        assert_eq!(run, ["nginx", "iis"]);
        assert_eq!(
            not_run,
            ["strict", "layer7", "apache", "haproxy", "envoy", "go", "jsse", "lighttpd"]
        );
    }

    #[test]
    fn a_base_field_runs_every_profile() {
        for base in [
            "[expect]\nclient_certificate_sent = false\n",
            "[expect.\"1.3\"]\nhandshake = \"complete\"\n",
        ] {
            let s = scenario(&format!(
                "{base}[expect.gateway.nginx]\nhttp_status = 400\n"
            ));
            let (run, not_run) = s.profiles_to_run();
            assert_eq!(run, PROFILES, "{base}");
            assert!(not_run.is_empty());
        }
    }

    #[test]
    fn client_tables_alone_do_not_select_profiles() {
        let s = scenario("[expect.client.match-issuer]\nclient_certificate_sent = false\n[expect.gateway.strict]\nalert = \"certificate_required\"\n");
        assert_eq!(s.profiles_to_run().0, ["strict"]);
    }

    #[test]
    fn layers_apply_field_by_field_gateway_last() {
        let s = scenario(
            r#"[expect]
result = "FAILURE"
http_status = 1
body_contains = "base"
log_contains = "base log"
ca_names = { count = 2, max_bytes = 100 }
[expect."1.2"]
http_status = 2
handshake = "aborted"
[expect.client.match-issuer]
http_status = 3
client_certificate_sent = false
ca_names = { truncated = true }
[expect.client.match-issuer."1.2"]
http_status = 4
[expect.client.always]
http_status = 99
alert = "unknown_ca"
[expect.gateway.nginx]
http_status = 5
body_contains = "nginx"
[expect.gateway.nginx."1.2"]
http_status = 6
alert_sent_by = "server"
[expect.gateway.iis."1.2"]
http_status = 7
"#,
        );
        let nginx12 = s.expectation("nginx", TlsVersion::Tls12);
        assert_eq!(nginx12.http_status, Some(6));
        assert_eq!(nginx12.body_contains.as_deref(), Some("nginx"));
        assert_eq!(nginx12.handshake, Some(Handshake::Aborted));
        assert_eq!(nginx12.alert_sent_by, Some(Side::Server));
        assert_eq!(nginx12.result, Some(ExpectedResult::Failure));
        assert_eq!(nginx12.client_certificate_sent, Some(false));
        assert_eq!(nginx12.log_contains.as_deref(), Some("base log"));
        // Another policy's table never applies.
        assert_eq!(nginx12.alert, None);
        let ca = nginx12.ca_names.expect("ca_names merged");
        assert_eq!(
            (ca.count, ca.max_bytes, ca.truncated),
            (Some(2), Some(100), Some(true))
        );
        // Flat: no nested tables survive.
        assert!(nginx12.tls12.is_none() && nginx12.gateway.is_empty() && nginx12.client.is_empty());

        assert_eq!(
            s.expectation("nginx", TlsVersion::Tls13).http_status,
            Some(5)
        );
        assert_eq!(s.expectation("nginx", TlsVersion::Tls13).handshake, None);
        assert_eq!(s.expectation("iis", TlsVersion::Tls12).http_status, Some(7));
        assert_eq!(s.expectation("iis", TlsVersion::Tls13).http_status, Some(3));
        assert_eq!(
            s.expectation("strict", TlsVersion::Tls12).http_status,
            Some(4)
        );
        assert_eq!(
            s.expectation("strict", TlsVersion::Tls12)
                .body_contains
                .as_deref(),
            Some("base")
        );
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::*;

    fn scenario(expect: &str) -> Scenario {
        let text = format!(
            "description = \"fallback\"\n[[pki.cert]]\nname = \"root\"\nrole = \"root\"\n[[pki.cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n[server]\ncert = \"gw\"\n{expect}"
        );
        Scenario::from_source("t::t", std::path::Path::new("t.toml"), text).expect("scenario")
    }

    #[test]
    fn lighttpd_is_judged_by_apache_tables_unless_named() {
        let s = scenario("[expect.gateway.apache]\nalert = \"unknown_ca\"\n[expect.gateway.apache.\"1.2\"]\nalert = \"bad_certificate\"\n");
        let (run, _) = s.profiles_to_run();
        assert_eq!(run, ["apache", "lighttpd"]);
        let e = s.expectation("lighttpd", TlsVersion::Tls13);
        assert_eq!(e.alert.as_deref(), Some("unknown_ca"));
        let e = s.expectation("lighttpd", TlsVersion::Tls12);
        assert_eq!(e.alert.as_deref(), Some("bad_certificate"));
        // Named: its own table alone.
        let s = scenario("[expect.gateway.apache]\nhttp_status = 200\n[expect.gateway.lighttpd]\nalert = \"bad_certificate\"\n");
        let e = s.expectation("lighttpd", TlsVersion::Tls13);
        assert_eq!(e.alert.as_deref(), Some("bad_certificate"));
        assert_eq!(e.http_status, None);
        assert_eq!(
            s.expectation("apache", TlsVersion::Tls13).http_status,
            Some(200)
        );
        let s = scenario("[expect.gateway.lighttpd]\nhttp_status = 200\n");
        assert_eq!(s.profiles_to_run().0, ["lighttpd"]);
    }
}
