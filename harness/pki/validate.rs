//! Checks a parsed spec for everything serde cannot see (names, issuers,
//! defects that do not fit the role, dates, cycles) and plans the generation
//! order. Every problem is reported, each naming the file, the line and the
//! field; the spec is generated only if there is none.

use super::dn::parse_subject;
use super::error::PkiError;
use super::graph::{issuer_order, Node, Owners};
use super::locate::Locator;
use super::names::{bulk_name, cross_name, is_valid_name, MAX_BULK_COUNT};
use super::params::ExplicitDates;
use super::spec::{BulkSpec, CertSpec, Defect, PkiSpec, Role};
use super::x509::san;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use time::OffsetDateTime;

/// What generation needs from a valid spec.
pub(super) struct Plan {
    /// Issuers before their subjects.
    pub order: Vec<Node>,
    /// `not_before` / `not_after` of each `[[cert]]`, parsed.
    pub dates: Vec<ExplicitDates>,
}

/// Check `spec`; all problems at once (a [`PkiError::Many`] if several).
pub(super) fn validate(spec: &PkiSpec, at: &Locator<'_>) -> Result<Plan, PkiError> {
    let mut v = Validator {
        spec,
        at,
        owners: Owners::new(),
        errors: Vec::new(),
    };
    v.register_cert_names();
    v.register_bulk_tables();
    let dates = spec
        .cert
        .iter()
        .enumerate()
        .map(|(i, c)| v.check_cert(i, c))
        .collect();
    for (b, bulk) in spec.bulk.iter().enumerate() {
        v.check_bulk_issuer(b, bulk);
    }
    let (order, cycles) = issuer_order(spec, &v.owners);
    for node in cycles {
        let e = v.cycle_error(node);
        v.errors.push(e);
    }
    match PkiError::collect(v.errors) {
        Some(e) => Err(e),
        None => Ok(Plan { order, dates }),
    }
}

struct Validator<'s, 'l, 'src> {
    spec: &'s PkiSpec,
    at: &'l Locator<'src>,
    /// Which entry defines each name (the first, if defined twice).
    owners: Owners,
    errors: Vec<PkiError>,
}

impl Validator<'_, '_, '_> {
    fn cert_error(&mut self, i: usize, key: &str, value: Option<&str>, message: String) {
        let e = self.at.invalid("cert", i, key, value, message);
        self.errors.push(e);
    }

    fn bulk_error(&mut self, b: usize, key: &str, value: Option<&str>, message: String) {
        let e = self.at.invalid("bulk", b, key, value, message);
        self.errors.push(e);
    }

    /// Record the name of each `[[cert]]` (and of its `-cross` certificate).
    fn register_cert_names(&mut self) {
        for (i, c) in self.spec.cert.iter().enumerate() {
            if !is_valid_name(&c.name) {
                self.cert_error(i, "name", Some(&c.name), format!(
                    "`{}` is not a usable name (letters, digits, '-', '_', '.'; used as a file stem)",
                    c.name
                ));
            }
            if !self.claim(&c.name, Node::Cert(i), c.role) {
                self.cert_error(
                    i,
                    "name",
                    Some(&c.name),
                    format!("duplicate name `{}`", c.name),
                );
            }
            if c.has(Defect::CrossSigned) {
                let cross = cross_name(&c.name);
                if !self.claim(&cross, Node::Cert(i), Role::Intermediate) {
                    self.cert_error(
                        i,
                        "name",
                        Some(&c.name),
                        format!(
                            "`{}` is cross-signed, so `{cross}` is taken by its cross certificate",
                            c.name
                        ),
                    );
                }
            }
        }
    }

    /// Record that `node` defines `name`; false if another entry already does.
    fn claim(&mut self, name: &str, node: Node, role: Role) -> bool {
        match self.owners.entry(name.to_string()) {
            Entry::Occupied(_) => false,
            Entry::Vacant(free) => {
                free.insert((node, role));
                true
            }
        }
    }

    /// Check each `[[bulk]]` table's own keys and record its filler names.
    fn register_bulk_tables(&mut self) {
        let mut prefixes: HashMap<&str, usize> = HashMap::new();
        for (b, bulk) in self.spec.bulk.iter().enumerate() {
            let prefix = bulk.prefix.as_str();
            if !is_valid_name(prefix) {
                self.bulk_error(
                    b,
                    "prefix",
                    Some(prefix),
                    format!("`{prefix}` is not a usable prefix"),
                );
            }
            let count_ok = (1..=MAX_BULK_COUNT).contains(&bulk.count);
            if !count_ok {
                self.bulk_error(
                    b,
                    "count",
                    None,
                    format!("count must be 1..={MAX_BULK_COUNT}, not {}", bulk.count),
                );
            }
            if !bulk.role.is_ca() {
                self.bulk_error(
                    b,
                    "role",
                    None,
                    "bulk certificates are filler CAs: role must be root or intermediate".into(),
                );
            }
            if let Some(template) = &bulk.subject {
                if let Err(e) = parse_subject(&template.replace("{n}", "1")) {
                    self.bulk_error(b, "subject", None, e.to_string());
                }
            }
            if let Some(first) = prefixes.insert(prefix, b) {
                self.bulk_error(
                    b,
                    "prefix",
                    Some(prefix),
                    format!(
                        "duplicate prefix `{prefix}` (also bulk[{first}]): both would write `{prefix}.bundle.pem`"
                    ),
                );
                continue;
            }
            if self.owners.contains_key(prefix) {
                self.bulk_error(
                    b,
                    "prefix",
                    Some(prefix),
                    format!(
                        "prefix `{prefix}` is also the name of a certificate: both would write `{prefix}.key`"
                    ),
                );
            }
            if !count_ok {
                continue;
            }
            // Report the first collision only: one mistake, not thousands of lines.
            let collision = (1..=bulk.count)
                .map(|n| bulk_name(prefix, n, bulk.count))
                .find(|name| {
                    if self.owners.contains_key(name) {
                        return true;
                    }
                    self.owners.insert(name.clone(), (Node::Bulk(b), bulk.role));
                    false
                });
            if let Some(name) = collision {
                self.bulk_error(
                    b,
                    "prefix",
                    Some(prefix),
                    format!("bulk name `{name}` collides with another certificate"),
                );
            }
        }
    }

    /// Every check of one `[[cert]]`; returns its parsed explicit dates.
    fn check_cert(&mut self, i: usize, c: &CertSpec) -> ExplicitDates {
        if let Some(subject) = &c.subject {
            if let Err(e) = parse_subject(subject) {
                self.cert_error(i, "subject", None, e.to_string());
            }
        }
        let dates = self.check_dates(i, c);
        self.check_issuer(i, c);
        self.check_defects(i, c);
        self.check_cross_signing(i, c);
        if c.path_len.is_some() && !c.role.is_ca() {
            self.cert_error(
                i,
                "path_len",
                None,
                "path_len applies to CA certificates".into(),
            );
        }
        if !super::key_file::format_fits(c.key_format, c.key) {
            self.cert_error(
                i,
                "key_format",
                Some(c.key_format.as_str()),
                format!(
                    "`key = \"{}\"` cannot be written as `{}` (pkcs1 holds RSA keys, sec1 ECDSA keys, pkcs8 all)",
                    c.key,
                    c.key_format.as_str()
                ),
            );
        }
        if c.key_encryption.is_some() && c.key_format != super::spec::KeyFileFormat::Pkcs8 {
            self.cert_error(
                i,
                "key_encryption",
                None,
                "key_encryption writes an encrypted PKCS#8 key: leave key_format at pkcs8".into(),
            );
        }
        if !c.permitted_dns.is_empty() && !c.role.is_ca() {
            self.cert_error(
                i,
                "permitted_dns",
                None,
                "permitted_dns applies to CA certificates".into(),
            );
        }
        for (key, url) in c.ocsp_url.iter().map(|u| ("ocsp_url", u)).chain(
            c.crl_distribution_points
                .iter()
                .map(|u| ("crl_distribution_points", u)),
        ) {
            if let Some(problem) = super::urls::url_problem(url) {
                self.cert_error(i, key, Some(url), problem);
            }
        }
        for entry in &c.sans {
            if entry.is_empty()
                || entry
                    .chars()
                    .any(|ch| ch.is_whitespace() || ch.is_control())
            {
                self.cert_error(
                    i,
                    "sans",
                    Some(entry),
                    format!("`{entry}` is not a DNS name, IP address or e-mail address"),
                );
            } else if let Err(e) = san(entry) {
                self.cert_error(
                    i,
                    "sans",
                    Some(entry),
                    format!("{e} (write an internationalised name as punycode, `xn--...`)"),
                );
            }
        }
        dates
    }

    fn check_dates(&mut self, i: usize, c: &CertSpec) -> ExplicitDates {
        let mut parse = |key: &str, text: &Option<String>| -> Option<OffsetDateTime> {
            let text = text.as_deref()?;
            match OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
                Ok(date) => Some(date),
                Err(e) => {
                    self.cert_error(
                        i,
                        key,
                        None,
                        format!(
                            "`{text}` is not an RFC 3339 date such as 2020-01-01T00:00:00Z ({e})"
                        ),
                    );
                    None
                }
            }
        };
        let dates = ExplicitDates {
            not_before: parse("not_before", &c.not_before),
            not_after: parse("not_after", &c.not_after),
        };
        if let (Some(nb), Some(na)) = (dates.not_before, dates.not_after) {
            if nb >= na {
                self.cert_error(
                    i,
                    "not_after",
                    None,
                    "not_after must be later than not_before".into(),
                );
            }
        }
        if c.validity.is_some() && (c.not_before.is_some() || c.not_after.is_some()) {
            self.cert_error(
                i,
                "validity",
                None,
                "give either `validity` or explicit `not_before`/`not_after`, not both".into(),
            );
        }
        dates
    }

    /// The issuer fits the role: roots and self-signed leaves have none,
    /// everything else names a CA that exists.
    fn check_issuer(&mut self, i: usize, c: &CertSpec) {
        let self_signed_leaf = c.has(Defect::SelfSignedLeaf);
        match (&c.issuer, c.role) {
            (Some(_), Role::Root) => self.cert_error(
                i,
                "issuer",
                None,
                "a root is self-signed: remove `issuer` or use role = \"intermediate\"".into(),
            ),
            (None, Role::Intermediate) => self.cert_error(
                i,
                "issuer",
                None,
                format!("intermediate `{}` needs an issuer", c.name),
            ),
            (None, Role::Client | Role::Server) if !self_signed_leaf => self.cert_error(
                i,
                "issuer",
                None,
                format!(
                    "{} cert `{}` needs an issuer (or defects = [\"self-signed-leaf\"])",
                    c.role, c.name
                ),
            ),
            (Some(_), Role::Client | Role::Server) if self_signed_leaf => self.cert_error(
                i,
                "issuer",
                None,
                "a self-signed-leaf has no issuer: remove `issuer`".into(),
            ),
            (Some(issuer), _) => match self.owners.get(issuer) {
                None => self.cert_error(
                    i,
                    "issuer",
                    Some(issuer),
                    format!("unknown issuer `{issuer}`"),
                ),
                Some((_, role)) if !role.is_ca() => {
                    let role = *role;
                    self.cert_error(
                        i,
                        "issuer",
                        Some(issuer),
                        format!(
                            "issuer `{issuer}` is a {role} certificate, not a CA (root or intermediate)"
                        ),
                    )
                }
                Some((Node::Cert(j), _)) if *j == i => {
                    let message = if issuer == &c.name {
                        format!("`{}` names itself as issuer (a cycle)", c.name)
                    } else {
                        format!(
                            "`{}` names its own cross certificate `{issuer}` as issuer (a cycle)",
                            c.name
                        )
                    };
                    self.cert_error(i, "issuer", Some(issuer), message)
                }
                Some(_) => {}
            },
            _ => {}
        }
    }

    /// Each defect fits the role and the issuer.
    fn check_defects(&mut self, i: usize, c: &CertSpec) {
        if let Some(issuer) = &c.issuer {
            // Defects that change the issuer (its CRL, pathLen, name constraints)
            // need a named issuer: bulk fillers publish no CRL and take no knobs.
            if let Some((Node::Bulk(_), _)) = self.owners.get(issuer) {
                for d in [
                    Defect::Revoked,
                    Defect::CrlExpired,
                    Defect::PathLenExceeded,
                    Defect::NameConstraintsViolated,
                ] {
                    if c.has(d) {
                        self.cert_error(i, "defects", Some(d.as_str()), format!(
                            "`{d}` changes the issuer, but `{issuer}` is a [[bulk]] filler CA; issue `{}` from a [[cert]] CA",
                            c.name
                        ));
                    }
                }
            }
            if c.has(Defect::PathLenExceeded) {
                let explicit = self
                    .spec
                    .cert
                    .iter()
                    .find(|o| &o.name == issuer || cross_name(&o.name) == *issuer)
                    .and_then(|o| o.path_len);
                if let Some(n) = explicit {
                    self.cert_error(i, "defects", Some(Defect::PathLenExceeded.as_str()), format!(
                        "`path-len-exceeded` gives issuer `{issuer}` pathLen 0, but it sets path_len = {n}: remove one"
                    ));
                }
            }
        }
        if c.has(Defect::SelfSignedLeaf) && c.role.is_ca() {
            self.cert_error(
                i,
                "defects",
                Some(Defect::SelfSignedLeaf.as_str()),
                "self-signed-leaf applies to client or server certs".into(),
            );
        }
        for (defect, needs_ca) in [
            (Defect::CaFlagFalse, true),
            (Defect::BasicConstraintsAbsent, true),
            (Defect::NoKeyCertSign, true),
            (Defect::CrossSigned, true),
            (Defect::EkuServerOnly, false),
            (Defect::NoEku, false),
        ] {
            if c.has(defect) && needs_ca != c.role.is_ca() {
                let message = if needs_ca {
                    format!("`{defect}` applies to CA certificates (root or intermediate)")
                } else {
                    format!("`{defect}` applies to client or server certificates")
                };
                self.cert_error(i, "defects", Some(defect.as_str()), message);
            }
        }
        if c.issuer.is_none() {
            // A self-signed certificate has no issuer whose CRL could list it.
            for d in [Defect::Revoked, Defect::CrlExpired] {
                if c.has(d) {
                    self.cert_error(
                        i,
                        "defects",
                        Some(d.as_str()),
                        format!(
                            "`{d}` goes on an issued certificate (its issuer's CRL shows it), but `{}` has no issuer",
                            c.name
                        ),
                    );
                }
            }
        }
        if c.has(Defect::PathLenExceeded) && (!c.role.is_ca() || c.issuer.is_none()) {
            self.cert_error(i, "defects", Some(Defect::PathLenExceeded.as_str()), "`path-len-exceeded` goes on an intermediate CA: its issuer then gets pathLen 0, which this CA violates".into());
        }
        if c.has(Defect::NameConstraintsViolated) && (c.role.is_ca() || c.issuer.is_none()) {
            self.cert_error(i, "defects", Some(Defect::NameConstraintsViolated.as_str()), "`name-constraints-violated` goes on an issued client or server cert: its issuer then permits only `permitted.test`".into());
        }
    }

    /// `cross-signed` and `cross_signed_by` come together and name another CA.
    fn check_cross_signing(&mut self, i: usize, c: &CertSpec) {
        match (&c.cross_signed_by, c.has(Defect::CrossSigned)) {
            (None, true) => self.cert_error(
                i,
                "cross_signed_by",
                None,
                "`cross-signed` needs `cross_signed_by = \"<other CA>\"`".into(),
            ),
            (Some(_), false) => self.cert_error(
                i,
                "cross_signed_by",
                None,
                "`cross_signed_by` needs defects = [\"cross-signed\"]".into(),
            ),
            (Some(other), true) => match self.owners.get(other) {
                Some((Node::Cert(j), _)) if *j == i => self.cert_error(
                    i,
                    "cross_signed_by",
                    Some(other),
                    format!("`{}` cannot cross-sign itself: name another CA", c.name),
                ),
                Some((_, role)) if role.is_ca() => {}
                Some(_) => self.cert_error(
                    i,
                    "cross_signed_by",
                    Some(other),
                    format!("`{other}` is not a CA"),
                ),
                None => self.cert_error(
                    i,
                    "cross_signed_by",
                    Some(other),
                    format!("unknown CA `{other}`"),
                ),
            },
            (None, false) => {}
        }
    }

    /// A table's issuer is a `[[cert]]` CA; intermediates need one.
    fn check_bulk_issuer(&mut self, b: usize, bulk: &BulkSpec) {
        match (&bulk.issuer, bulk.role) {
            (Some(issuer), _) => match self.owners.get(issuer) {
                None => self.bulk_error(
                    b,
                    "issuer",
                    Some(issuer),
                    format!("unknown issuer `{issuer}`"),
                ),
                Some((_, role)) if !role.is_ca() => {
                    let role = *role;
                    self.bulk_error(
                        b,
                        "issuer",
                        Some(issuer),
                        format!("issuer `{issuer}` is a {role} certificate, not a CA"),
                    )
                }
                Some((Node::Bulk(other), _)) if *other == b => self.bulk_error(
                    b,
                    "issuer",
                    Some(issuer),
                    "a bulk table cannot issue itself".into(),
                ),
                Some((Node::Bulk(_), _)) => self.bulk_error(
                    b,
                    "issuer",
                    Some(issuer),
                    format!("`{issuer}` is a [[bulk]] filler: bulk certificates are issued by a [[cert]] CA"),
                ),
                Some((Node::Cert(_), _)) => {}
            },
            (None, Role::Intermediate) => self.bulk_error(
                b,
                "issuer",
                None,
                "bulk intermediates need an issuer".into(),
            ),
            (None, _) => {}
        }
    }

    fn cycle_error(&self, node: Node) -> PkiError {
        let spec = self.spec;
        match node {
            Node::Cert(i) => {
                // Follow the issuer links to spell the loop out: `a` -> `b` -> `a`.
                let mut path = vec![spec.cert[i].name.clone()];
                let mut cur = i;
                while let Some(next) = spec.cert[cur]
                    .issuer
                    .as_ref()
                    .and_then(|n| spec.cert.iter().position(|c| &c.name == n))
                {
                    path.push(spec.cert[next].name.clone());
                    if next == i || path.len() > spec.cert.len() + 1 {
                        break;
                    }
                    cur = next;
                }
                let path: Vec<String> = path.iter().map(|n| format!("`{n}`")).collect();
                self.at.invalid(
                    "cert",
                    i,
                    "issuer",
                    spec.cert[i].issuer.as_deref(),
                    format!(
                        "issuer cycle {} (every chain must end at a root)",
                        path.join(" -> ")
                    ),
                )
            }
            Node::Bulk(b) => self.at.invalid(
                "bulk",
                b,
                "issuer",
                spec.bulk[b].issuer.as_deref(),
                format!("issuer cycle through bulk `{}`", spec.bulk[b].prefix),
            ),
        }
    }
}
