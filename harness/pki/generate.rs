//! Spec -> certificates. Validation first (every error names the field and the
//! line), then generation in issuer order.

use super::spec::{CertSpec, Defect, KeyType, PkiSpec, Role, Validity};
use super::{IssuedCert, Pki, PkiError};
use crate::source;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use std::collections::{BTreeMap, HashMap, HashSet};
use time::{Duration, OffsetDateTime};

/// The DNS subtree a `name-constraints-violated` leaf's issuer permits.
pub const PERMITTED_SUBTREE: &str = "permitted.test";
/// Suffix of the name a `name-constraints-violated` leaf carries instead.
pub const FORBIDDEN_SUFFIX: &str = "forbidden.test";

struct Ctx<'a> {
    path: &'a str,
    source: Option<&'a str>,
}

impl Ctx<'_> {
    /// An `Invalid` error for cert number `index` (0-based, in `[[cert]]` order).
    fn invalid(
        &self,
        table: &str,
        index: usize,
        key: &str,
        value: Option<&str>,
        message: String,
    ) -> PkiError {
        let line = self.source.and_then(|src| {
            let table_line = source::line_of_table(src, &format!("[[{table}]]"), index)
                .or_else(|| source::line_of_table(src, &format!("[[pki.{table}]]"), index))
                .unwrap_or(1);
            let quoted = value.map(|v| format!("\"{v}\""));
            source::line_of(src, key, quoted.as_deref(), table_line).or(Some(table_line))
        });
        PkiError::Invalid {
            path: self.path.to_string(),
            line,
            field: format!("{table}[{index}].{key}"),
            message,
        }
    }
}

/// A node of the issuer graph: a named cert or a bulk table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Node {
    Cert(usize),
    Bulk(usize),
}

pub(super) fn generate(spec: &PkiSpec, path: &str, source: Option<&str>) -> Result<Pki, PkiError> {
    let ctx = Ctx { path, source };
    let plan = validate(spec, &ctx)?;
    Generator::new(spec).run(&plan)
}

struct Plan {
    order: Vec<Node>,
    /// Dates parsed from `not_before` / `not_after`, per cert index.
    dates: Vec<(Option<OffsetDateTime>, Option<OffsetDateTime>)>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

fn parse_date(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{s}` is not an RFC 3339 date such as 2020-01-01T00:00:00Z ({e})"))
}

fn validate(spec: &PkiSpec, ctx: &Ctx<'_>) -> Result<Plan, PkiError> {
    // Which node defines each name, and its role.
    let mut owner: HashMap<String, (Node, Role)> = HashMap::new();
    for (i, c) in spec.cert.iter().enumerate() {
        if !valid_name(&c.name) {
            return Err(ctx.invalid(
                "cert",
                i,
                "name",
                Some(&c.name),
                format!(
                "`{}` is not a usable name (letters, digits, '-', '_', '.'; used as a file stem)",
                c.name
            ),
            ));
        }
        if owner
            .insert(c.name.clone(), (Node::Cert(i), c.role))
            .is_some()
        {
            return Err(ctx.invalid(
                "cert",
                i,
                "name",
                Some(&c.name),
                format!("duplicate name `{}`", c.name),
            ));
        }
        if c.has(Defect::CrossSigned) {
            let cross = cross_name(&c.name);
            if owner
                .insert(cross.clone(), (Node::Cert(i), Role::Intermediate))
                .is_some()
            {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "name",
                    Some(&c.name),
                    format!(
                        "`{}` is cross-signed, so `{cross}` is taken by its cross certificate",
                        c.name
                    ),
                ));
            }
        }
    }
    for (b, bulk) in spec.bulk.iter().enumerate() {
        if !valid_name(&bulk.prefix) {
            return Err(ctx.invalid(
                "bulk",
                b,
                "prefix",
                Some(&bulk.prefix),
                format!("`{}` is not a usable prefix", bulk.prefix),
            ));
        }
        if bulk.count == 0 || bulk.count > 200_000 {
            return Err(ctx.invalid(
                "bulk",
                b,
                "count",
                None,
                format!("count must be 1..=200000, not {}", bulk.count),
            ));
        }
        if !bulk.role.is_ca() {
            return Err(ctx.invalid(
                "bulk",
                b,
                "role",
                None,
                "bulk certificates are filler CAs: role must be root or intermediate".into(),
            ));
        }
        if let Some(t) = &bulk.subject {
            if let Err(e) = super::dn::parse_subject(&t.replace("{n}", "1")) {
                return Err(ctx.invalid("bulk", b, "subject", None, e));
            }
        }
        if owner.contains_key(&bulk.prefix) {
            return Err(ctx.invalid(
                "bulk",
                b,
                "prefix",
                Some(&bulk.prefix),
                format!(
                    "prefix `{}` is also the name of a certificate: both would write `{}.key`",
                    bulk.prefix, bulk.prefix
                ),
            ));
        }
        for n in 1..=bulk.count {
            let name = bulk_name(&bulk.prefix, n, bulk.count);
            if owner
                .insert(name.clone(), (Node::Bulk(b), bulk.role))
                .is_some()
            {
                return Err(ctx.invalid(
                    "bulk",
                    b,
                    "prefix",
                    Some(&bulk.prefix),
                    format!("bulk name `{name}` collides with another certificate"),
                ));
            }
        }
    }

    let mut dates = Vec::with_capacity(spec.cert.len());
    for (i, c) in spec.cert.iter().enumerate() {
        if let Some(s) = &c.subject {
            super::dn::parse_subject(s).map_err(|e| ctx.invalid("cert", i, "subject", None, e))?;
        }
        let nb = c
            .not_before
            .as_deref()
            .map(parse_date)
            .transpose()
            .map_err(|e| ctx.invalid("cert", i, "not_before", None, e))?;
        let na = c
            .not_after
            .as_deref()
            .map(parse_date)
            .transpose()
            .map_err(|e| ctx.invalid("cert", i, "not_after", None, e))?;
        if let (Some(nb), Some(na)) = (nb, na) {
            if nb >= na {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "not_after",
                    None,
                    "not_after must be later than not_before".into(),
                ));
            }
        }
        if c.validity.is_some() && (nb.is_some() || na.is_some()) {
            return Err(ctx.invalid(
                "cert",
                i,
                "validity",
                None,
                "give either `validity` or explicit `not_before`/`not_after`, not both".into(),
            ));
        }
        dates.push((nb, na));

        let self_signed_leaf = c.has(Defect::SelfSignedLeaf);
        match (&c.issuer, c.role) {
            (Some(_), Role::Root) => {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "issuer",
                    None,
                    "a root is self-signed: remove `issuer` or use role = \"intermediate\"".into(),
                ))
            }
            (None, Role::Intermediate) => {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "issuer",
                    None,
                    format!("intermediate `{}` needs an issuer", c.name),
                ))
            }
            (None, Role::Client | Role::Server) if !self_signed_leaf => {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "issuer",
                    None,
                    format!(
                        "{} cert `{}` needs an issuer (or defects = [\"self-signed-leaf\"])",
                        c.role, c.name
                    ),
                ))
            }
            (Some(_), Role::Client | Role::Server) if self_signed_leaf => {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "issuer",
                    None,
                    "a self-signed-leaf has no issuer: remove `issuer`".into(),
                ))
            }
            (Some(issuer), _) => match owner.get(issuer) {
                None => {
                    return Err(ctx.invalid(
                        "cert",
                        i,
                        "issuer",
                        Some(issuer),
                        format!("unknown issuer `{issuer}`"),
                    ))
                }
                Some((_, role)) if !role.is_ca() => {
                    return Err(ctx.invalid(
                        "cert",
                        i,
                        "issuer",
                        Some(issuer),
                        format!(
                        "issuer `{issuer}` is a {role} certificate, not a CA (root or intermediate)"
                    ),
                    ))
                }
                Some(_) if issuer == &c.name => {
                    return Err(ctx.invalid(
                        "cert",
                        i,
                        "issuer",
                        Some(issuer),
                        format!("`{}` names itself as issuer (a cycle)", c.name),
                    ))
                }
                _ => {}
            },
            _ => {}
        }
        // Defects that change the issuer (its CRL, pathLen, name constraints)
        // need a named issuer: bulk fillers publish no CRL and take no knobs.
        if let Some(issuer) = &c.issuer {
            if let Some((Node::Bulk(_), _)) = owner.get(issuer) {
                for d in [
                    Defect::Revoked,
                    Defect::CrlExpired,
                    Defect::PathLenExceeded,
                    Defect::NameConstraintsViolated,
                ] {
                    if c.has(d) {
                        return Err(ctx.invalid(
                            "cert",
                            i,
                            "defects",
                            Some(d.as_str()),
                            format!(
                                "`{d}` changes the issuer, but `{issuer}` is a [[bulk]] filler CA; issue `{}` from a [[cert]] CA",
                                c.name
                            ),
                        ));
                    }
                }
            }
            if c.has(Defect::PathLenExceeded) {
                let explicit = spec
                    .cert
                    .iter()
                    .find(|o| &o.name == issuer || cross_name(&o.name) == *issuer)
                    .and_then(|o| o.path_len);
                if let Some(n) = explicit {
                    return Err(ctx.invalid(
                        "cert",
                        i,
                        "defects",
                        Some("path-len-exceeded"),
                        format!(
                            "`path-len-exceeded` gives issuer `{issuer}` pathLen 0, but it sets path_len = {n}: remove one"
                        ),
                    ));
                }
            }
        }
        if self_signed_leaf && c.role.is_ca() {
            return Err(ctx.invalid(
                "cert",
                i,
                "defects",
                Some("self-signed-leaf"),
                "self-signed-leaf applies to client or server certs".into(),
            ));
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
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "defects",
                    Some(defect.as_str()),
                    if needs_ca {
                        format!("`{defect}` applies to CA certificates (root or intermediate)")
                    } else {
                        format!("`{defect}` applies to client or server certificates")
                    },
                ));
            }
        }
        if c.has(Defect::PathLenExceeded) && (!c.role.is_ca() || c.issuer.is_none()) {
            return Err(ctx.invalid("cert", i, "defects", Some("path-len-exceeded"), "`path-len-exceeded` goes on an intermediate CA: its issuer then gets pathLen 0, which this CA violates".into()));
        }
        if c.has(Defect::NameConstraintsViolated) && (c.role.is_ca() || c.issuer.is_none()) {
            return Err(ctx.invalid("cert", i, "defects", Some("name-constraints-violated"), "`name-constraints-violated` goes on an issued client or server cert: its issuer then permits only `permitted.test`".into()));
        }
        if c.has(Defect::CrossSigned) {
            match &c.cross_signed_by {
                None => {
                    return Err(ctx.invalid(
                        "cert",
                        i,
                        "cross_signed_by",
                        None,
                        "`cross-signed` needs `cross_signed_by = \"<other CA>\"`".into(),
                    ))
                }
                Some(other) => match owner.get(other) {
                    Some((Node::Cert(j), _)) if *j == i => {
                        return Err(ctx.invalid(
                            "cert",
                            i,
                            "cross_signed_by",
                            Some(other),
                            format!("`{}` cannot cross-sign itself: name another CA", c.name),
                        ))
                    }
                    Some((_, role)) if role.is_ca() => {}
                    Some(_) => {
                        return Err(ctx.invalid(
                            "cert",
                            i,
                            "cross_signed_by",
                            Some(other),
                            format!("`{other}` is not a CA"),
                        ))
                    }
                    None => {
                        return Err(ctx.invalid(
                            "cert",
                            i,
                            "cross_signed_by",
                            Some(other),
                            format!("unknown CA `{other}`"),
                        ))
                    }
                },
            }
        } else if c.cross_signed_by.is_some() {
            return Err(ctx.invalid(
                "cert",
                i,
                "cross_signed_by",
                None,
                "`cross_signed_by` needs defects = [\"cross-signed\"]".into(),
            ));
        }
        if c.path_len.is_some() && !c.role.is_ca() {
            return Err(ctx.invalid(
                "cert",
                i,
                "path_len",
                None,
                "path_len applies to CA certificates".into(),
            ));
        }
        if !c.permitted_dns.is_empty() && !c.role.is_ca() {
            return Err(ctx.invalid(
                "cert",
                i,
                "permitted_dns",
                None,
                "permitted_dns applies to CA certificates".into(),
            ));
        }
        for san in &c.sans {
            if san.is_empty() || san.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
                return Err(ctx.invalid(
                    "cert",
                    i,
                    "sans",
                    None,
                    format!("`{san}` is not a DNS name, IP address or e-mail address"),
                ));
            }
        }
    }
    for (b, bulk) in spec.bulk.iter().enumerate() {
        match (&bulk.issuer, bulk.role) {
            (Some(issuer), _) => match owner.get(issuer) {
                None => {
                    return Err(ctx.invalid(
                        "bulk",
                        b,
                        "issuer",
                        Some(issuer),
                        format!("unknown issuer `{issuer}`"),
                    ))
                }
                Some((_, role)) if !role.is_ca() => {
                    return Err(ctx.invalid(
                        "bulk",
                        b,
                        "issuer",
                        Some(issuer),
                        format!("issuer `{issuer}` is a {role} certificate, not a CA"),
                    ))
                }
                Some((Node::Bulk(other), _)) if *other == b => {
                    return Err(ctx.invalid(
                        "bulk",
                        b,
                        "issuer",
                        Some(issuer),
                        "a bulk table cannot issue itself".into(),
                    ))
                }
                Some((Node::Bulk(_), _)) => {
                    return Err(ctx.invalid(
                        "bulk",
                        b,
                        "issuer",
                        Some(issuer),
                        format!("`{issuer}` is a [[bulk]] filler: bulk certificates are issued by a [[cert]] CA"),
                    ))
                }
                _ => {}
            },
            (None, Role::Intermediate) => {
                return Err(ctx.invalid(
                    "bulk",
                    b,
                    "issuer",
                    None,
                    "bulk intermediates need an issuer".into(),
                ))
            }
            _ => {}
        }
    }

    // Topological order of the issuer graph (named certs, bulk tables, and
    // the issuers of cross certificates); a cycle is an error naming a member.
    let deps = |node: Node| -> Vec<Node> {
        let mut out = Vec::new();
        let names: Vec<&String> = match node {
            Node::Cert(i) => spec.cert[i]
                .issuer
                .iter()
                .chain(spec.cert[i].cross_signed_by.iter())
                .collect(),
            Node::Bulk(b) => spec.bulk[b].issuer.iter().collect(),
        };
        for n in names {
            if let Some((dep, _)) = owner.get(n) {
                if *dep != node {
                    out.push(*dep);
                }
            }
        }
        out
    };
    let nodes: Vec<Node> = (0..spec.cert.len())
        .map(Node::Cert)
        .chain((0..spec.bulk.len()).map(Node::Bulk))
        .collect();
    let mut state: HashMap<Node, u8> = HashMap::new(); // 1 visiting, 2 done
    let mut order = Vec::with_capacity(nodes.len());
    for &start in &nodes {
        if state.get(&start) == Some(&2) {
            continue;
        }
        // Iterative DFS with an explicit stack: deep chains must not overflow.
        let mut stack = vec![(start, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                state.insert(node, 2);
                order.push(node);
                continue;
            }
            match state.get(&node) {
                Some(2) => continue,
                Some(1) => {
                    // Still on the path: this closes a cycle.
                    return Err(cycle_error(spec, node, ctx));
                }
                _ => {}
            }
            state.insert(node, 1);
            stack.push((node, true));
            for dep in deps(node) {
                match state.get(&dep) {
                    Some(2) => {}
                    Some(1) => return Err(cycle_error(spec, dep, ctx)),
                    _ => stack.push((dep, false)),
                }
            }
        }
    }
    Ok(Plan { order, dates })
}

fn cycle_error(spec: &PkiSpec, node: Node, ctx: &Ctx<'_>) -> PkiError {
    match node {
        Node::Cert(i) => ctx.invalid("cert", i, "issuer", spec.cert[i].issuer.as_deref(), {
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
            format!(
                "issuer cycle {} (every chain must end at a root)",
                path.join(" -> ")
            )
        }),
        Node::Bulk(b) => ctx.invalid(
            "bulk",
            b,
            "issuer",
            spec.bulk[b].issuer.as_deref(),
            format!("issuer cycle through bulk `{}`", spec.bulk[b].prefix),
        ),
    }
}

impl CertSpec {
    pub fn has(&self, defect: Defect) -> bool {
        self.defects.contains(&defect)
    }
}

/// The name of the cross certificate of a `cross-signed` CA.
pub fn cross_name(name: &str) -> String {
    format!("{name}-cross")
}

fn bulk_name(prefix: &str, n: usize, count: usize) -> String {
    let width = count.to_string().len().max(5);
    format!("{prefix}-{n:0width$}")
}

/// One generated filler: name, subject, DER, serial, subject DN DER.
type BulkOut = (
    String,
    String,
    CertificateDer<'static>,
    SerialNumber,
    Vec<u8>,
);

/// What a CA needs to issue: its parameters and its real signing key.
struct CaMaterial {
    params: CertificateParams,
    key: KeyPair,
}

struct Generator<'s> {
    spec: &'s PkiSpec,
    now: OffsetDateTime,
    pki: Pki,
    cas: HashMap<String, CaMaterial>,
    /// Issuers that must carry pathLen 0 / permitted subtrees because a subject
    /// asked to violate them.
    forced_path_len: HashSet<String>,
    forced_subtrees: HashSet<String>,
    /// Serials per issuer of certs listed (revoked) or covered by an expired CRL.
    revoked: BTreeMap<String, Vec<SerialNumber>>,
    crl_expired: HashSet<String>,
    /// `<name>-cross` -> `<name>`: a cross certificate's subjects are listed
    /// in the CRL of the CA it duplicates (same subject DN, same key).
    cross_of: HashMap<String, String>,
}

impl<'s> Generator<'s> {
    fn new(spec: &'s PkiSpec) -> Self {
        let mut forced_path_len = HashSet::new();
        let mut forced_subtrees = HashSet::new();
        // `<name>-cross` issues with <name>'s parameters: force those.
        let original = |issuer: &String| -> String {
            spec.cert
                .iter()
                .find(|o| o.has(Defect::CrossSigned) && cross_name(&o.name) == *issuer)
                .map_or_else(|| issuer.clone(), |o| o.name.clone())
        };
        for c in &spec.cert {
            if let Some(issuer) = c.issuer.as_ref().map(original) {
                let issuer = &issuer;
                if c.has(Defect::PathLenExceeded) {
                    forced_path_len.insert(issuer.clone());
                }
                if c.has(Defect::NameConstraintsViolated) {
                    forced_subtrees.insert(issuer.clone());
                }
            }
        }
        Generator {
            spec,
            now: OffsetDateTime::now_utc(),
            pki: Pki::default(),
            cas: HashMap::new(),
            forced_path_len,
            forced_subtrees,
            revoked: BTreeMap::new(),
            crl_expired: HashSet::new(),
            cross_of: HashMap::new(),
        }
    }

    fn run(mut self, plan: &Plan) -> Result<Pki, PkiError> {
        for node in &plan.order {
            match *node {
                Node::Cert(i) => self.named(i, plan.dates[i])?,
                Node::Bulk(b) => self.bulk(b)?,
            }
        }
        self.crls()?;
        Ok(self.pki)
    }

    fn validity(
        &self,
        c: &CertSpec,
        dates: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    ) -> (OffsetDateTime, OffsetDateTime) {
        let now = self.now;
        let lifetime = if c.role.is_ca() {
            Duration::days(3650)
        } else {
            Duration::days(365)
        };
        let (nb, na) = match c.validity.unwrap_or_default() {
            Validity::Valid => (now - Duration::days(1), now + lifetime),
            Validity::Expired => (now - Duration::days(730), now - Duration::days(365)),
            Validity::NotYetValid => (now + Duration::days(365), now + Duration::days(730)),
        };
        match dates {
            (Some(b), Some(a)) => (b, a),
            (Some(b), None) => (b, (b + lifetime).max(b + Duration::days(1))),
            (None, Some(a)) => ((a - lifetime).min(a - Duration::days(1)), a),
            (None, None) => (nb, na),
        }
    }

    fn named(
        &mut self,
        i: usize,
        dates: (Option<OffsetDateTime>, Option<OffsetDateTime>),
    ) -> Result<(), PkiError> {
        let c = &self.spec.cert[i];
        let gen_err = |e: String| PkiError::Generate {
            name: c.name.clone(),
            message: e,
        };
        let subject = c
            .subject
            .clone()
            .unwrap_or_else(|| format!("CN={}", c.name));
        let mut params = CertificateParams::default();
        params.distinguished_name = super::dn::parse_subject(&subject).map_err(gen_err)?;
        let (nb, na) = self.validity(c, dates);
        params.not_before = nb;
        params.not_after = na;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.key_identifier_method = KeyIdMethod::Sha256;

        if c.role.is_ca() {
            let path_len = c
                .path_len
                .or_else(|| self.forced_path_len.contains(&c.name).then_some(0));
            params.is_ca = if c.has(Defect::BasicConstraintsAbsent) {
                IsCa::NoCa
            } else if c.has(Defect::CaFlagFalse) {
                IsCa::ExplicitNoCa
            } else {
                IsCa::Ca(match path_len {
                    Some(n) => BasicConstraints::Constrained(n),
                    None => BasicConstraints::Unconstrained,
                })
            };
            params.key_usages = if c.has(Defect::NoKeyCertSign) {
                vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign]
            } else {
                vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ]
            };
            let mut permitted: Vec<GeneralSubtree> = c
                .permitted_dns
                .iter()
                .cloned()
                .map(GeneralSubtree::DnsName)
                .collect();
            if permitted.is_empty() && self.forced_subtrees.contains(&c.name) {
                permitted.push(GeneralSubtree::DnsName(PERMITTED_SUBTREE.into()));
            }
            if !permitted.is_empty() {
                params.name_constraints = Some(NameConstraints {
                    permitted_subtrees: permitted,
                    excluded_subtrees: vec![],
                });
            }
        } else {
            params.is_ca = IsCa::NoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            if matches!(
                c.key,
                KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096
            ) {
                params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
            let natural = match c.role {
                Role::Server => ExtendedKeyUsagePurpose::ServerAuth,
                _ => ExtendedKeyUsagePurpose::ClientAuth,
            };
            params.extended_key_usages = if c.has(Defect::NoEku) {
                vec![]
            } else if c.has(Defect::EkuServerOnly) {
                vec![ExtendedKeyUsagePurpose::ServerAuth]
            } else {
                vec![natural]
            };
            let mut sans = c.sans.clone();
            if sans.is_empty() && c.role == Role::Server {
                sans = vec!["localhost".into(), "127.0.0.1".into()];
            }
            if c.has(Defect::NameConstraintsViolated) {
                sans.push(format!(
                    "{}.{FORBIDDEN_SUFFIX}",
                    c.name.to_ascii_lowercase()
                ));
            } else if self.issuer_constrained(c) && sans.is_empty() {
                sans.push(format!(
                    "{}.{PERMITTED_SUBTREE}",
                    c.name.to_ascii_lowercase()
                ));
            }
            params.subject_alt_names = sans
                .iter()
                .map(|s| san(s))
                .collect::<Result<_, _>>()
                .map_err(gen_err)?;
        }

        let key = make_key(c.key).map_err(gen_err)?;
        let self_signed = c.issuer.is_none();
        let der = if self_signed {
            params.self_signed(&key).map_err(|e| e.to_string())
        } else {
            params.use_authority_key_identifier_extension = true;
            let issuer_name = c.issuer.as_deref().unwrap_or_default();
            self.sign(&params, &key, issuer_name)
        }
        .map_err(gen_err)?
        .der()
        .clone();

        let handed_key = if c.has(Defect::KeyMismatch) {
            make_key(c.key).map_err(gen_err)?
        } else {
            key.clone_for_output()
        };
        let (chain, chain_names, root) = self.chain_of(c.issuer.as_deref());
        let subject_der = subject_der(&der).map_err(gen_err)?;

        if let Some(issuer) = &c.issuer {
            let issuer = self.cross_of.get(issuer).unwrap_or(issuer).clone();
            if c.has(Defect::Revoked) {
                self.revoked
                    .entry(issuer.clone())
                    .or_default()
                    .push(serial.clone());
            }
            if c.has(Defect::CrlExpired) {
                self.crl_expired.insert(issuer.clone());
                self.revoked.entry(issuer.clone()).or_default();
            }
        }

        let issued = IssuedCert {
            name: c.name.clone(),
            role: c.role,
            subject: subject.clone(),
            subject_der,
            issuer: c.issuer.clone(),
            serial: hex(&serial.to_bytes()),
            key_type: c.key,
            der,
            key_pkcs8: output_pkcs8(&handed_key),
            chain,
            chain_names,
            root: root.or_else(|| self_signed.then(|| c.name.clone())),
            defects: c.defects.clone(),
            signs_client_certs: c.signs_client_certs,
            bulk: None,
        };
        self.pki.push(issued);

        if c.role.is_ca() {
            if let (true, Some(other)) = (c.has(Defect::CrossSigned), c.cross_signed_by.as_deref())
            {
                self.cross(c, &params, &key, other)?;
                // `<name>-cross` may be named as an issuer: same subject and
                // key, so it signs exactly as `<name>` does.
                self.cross_of.insert(cross_name(&c.name), c.name.clone());
                self.cas.insert(
                    cross_name(&c.name),
                    CaMaterial {
                        params: params.clone(),
                        key: key.clone_for_output(),
                    },
                );
            }
            self.cas.insert(c.name.clone(), CaMaterial { params, key });
        }
        Ok(())
    }

    fn issuer_constrained(&self, c: &CertSpec) -> bool {
        let Some(issuer) = &c.issuer else {
            return false;
        };
        self.cas
            .get(issuer)
            .is_some_and(|m| m.params.name_constraints.is_some())
    }

    /// The same subject and key as `c`, also certified by `other`.
    fn cross(
        &mut self,
        c: &CertSpec,
        params: &CertificateParams,
        key: &KeyPair,
        other: &str,
    ) -> Result<(), PkiError> {
        let name = cross_name(&c.name);
        let err_name = name.clone();
        let gen_err = |e: String| PkiError::Generate {
            name: err_name.clone(),
            message: e,
        };
        let mut p = params.clone();
        p.serial_number = Some(random_serial());
        p.use_authority_key_identifier_extension = true;
        let der = self.sign(&p, key, other).map_err(gen_err)?.der().clone();
        let (chain, chain_names, root) = self.chain_of(Some(other));
        let serial = hex(&p
            .serial_number
            .as_ref()
            .map(|s| s.to_bytes())
            .unwrap_or_default());
        self.pki.push(IssuedCert {
            name,
            role: Role::Intermediate,
            subject: c
                .subject
                .clone()
                .unwrap_or_else(|| format!("CN={}", c.name)),
            subject_der: subject_der(&der).map_err(gen_err)?,
            issuer: Some(other.to_string()),
            serial,
            key_type: c.key,
            der,
            key_pkcs8: output_pkcs8(key),
            chain,
            chain_names,
            root,
            defects: vec![Defect::CrossSigned],
            signs_client_certs: c.signs_client_certs,
            bulk: None,
        });
        Ok(())
    }

    fn sign(
        &self,
        params: &CertificateParams,
        key: &KeyPair,
        issuer_name: &str,
    ) -> Result<rcgen::Certificate, String> {
        if let Some(m) = self.cas.get(issuer_name) {
            let issuer = Issuer::from_params(&m.params, &m.key);
            return params.signed_by(key, &issuer).map_err(|e| e.to_string());
        }
        // A bulk-generated issuer: rebuild its issuer data from the DER.
        // Validation orders issuers first; never panic if that ever breaks.
        let not_ready =
            || format!("issuer `{issuer_name}` is not generated yet (internal ordering error)");
        let ca = self.pki.get(issuer_name).ok_or_else(not_ready)?;
        let prefix = ca.bulk.as_deref().ok_or_else(not_ready)?;
        let bulk_key = self.bulk_key(prefix).ok_or_else(not_ready)?;
        let issuer = Issuer::from_ca_cert_der(&ca.der, bulk_key).map_err(|e| e.to_string())?;
        params.signed_by(key, &issuer).map_err(|e| e.to_string())
    }

    fn bulk_key(&self, prefix: &str) -> Option<&KeyPair> {
        self.cas.get(&format!("\0bulk:{prefix}")).map(|m| &m.key)
    }

    fn chain_of(
        &self,
        issuer: Option<&str>,
    ) -> (Vec<CertificateDer<'static>>, Vec<String>, Option<String>) {
        let mut chain = Vec::new();
        let mut names = Vec::new();
        let mut root = None;
        let mut cur = issuer.map(str::to_string);
        let mut guard = 0;
        while let Some(name) = cur {
            let Some(c) = self.pki.get(&name) else { break };
            if c.issuer.is_none() {
                root = Some(c.name.clone());
                break;
            }
            chain.push(c.der.clone());
            names.push(c.name.clone());
            cur = c.issuer.clone();
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        (chain, names, root)
    }

    fn bulk(&mut self, b: usize) -> Result<(), PkiError> {
        let bulk = &self.spec.bulk[b];
        let gen_err = |e: String| PkiError::Generate {
            name: format!("{}-*", bulk.prefix),
            message: e,
        };
        // One key for every filler of a table: fillers are names in a trust
        // store, and keygen would dominate the cost of 10,000 of them.
        let key = make_key(KeyType::EcdsaP256).map_err(gen_err)?;
        let issuer_material = bulk.issuer.as_ref().map(|i| {
            self.cas
                .get(i)
                .map(|m| (m.params.clone(), m.key.clone_for_output()))
        });
        let template = bulk
            .subject
            .clone()
            .unwrap_or_else(|| format!("CN={}-{{n}}", bulk.prefix));
        let (nb, na) = (
            self.now - Duration::days(1),
            self.now + Duration::days(3650),
        );
        let make = |n: usize| -> Result<BulkOut, String> {
            let name = bulk_name(&bulk.prefix, n, bulk.count);
            let idx = name[bulk.prefix.len() + 1..].to_string();
            let subject = template.replace("{n}", &idx);
            let mut params = CertificateParams::default();
            params.distinguished_name = super::dn::parse_subject(&subject)?;
            params.not_before = nb;
            params.not_after = na;
            let serial = random_serial();
            params.serial_number = Some(serial.clone());
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = match &issuer_material {
                Some(Some((ip, ik))) => {
                    params.use_authority_key_identifier_extension = true;
                    params.signed_by(&key, &Issuer::from_params(ip, ik))
                }
                _ => params.self_signed(&key),
            }
            .map_err(|e| e.to_string())?;
            let der = cert.der().clone();
            // Parsed here, in the worker threads, not serially afterwards.
            let sdn = subject_der(&der)?;
            Ok((name, subject, der, serial, sdn))
        };
        if matches!(issuer_material, Some(None)) {
            return Err(gen_err(
                "bulk certificates can only be issued by named CAs".into(),
            ));
        }
        // Split the work over the cores: signing dominates.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        let chunk = bulk.count.div_ceil(threads).max(1);
        let results: Vec<Result<Vec<_>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let make = &make;
                    s.spawn(move || {
                        let start = t * chunk + 1;
                        let end = ((t + 1) * chunk).min(bulk.count);
                        (start..=end).map(make).collect::<Result<Vec<_>, String>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
                .collect()
        });
        let (chain, chain_names, root) = self.chain_of(bulk.issuer.as_deref());
        let start = self.pki.certs.len();
        let key_der = output_pkcs8(&key);
        for r in results {
            for (name, subject, der, serial, subject_der) in r.map_err(gen_err)? {
                let self_signed = bulk.issuer.is_none();
                self.pki.push(IssuedCert {
                    root: if self_signed {
                        Some(name.clone())
                    } else {
                        root.clone()
                    },
                    name,
                    role: bulk.role,
                    subject,
                    subject_der,
                    issuer: bulk.issuer.clone(),
                    serial: hex(&serial.to_bytes()),
                    key_type: KeyType::EcdsaP256,
                    der,
                    key_pkcs8: key_der.clone(),
                    chain: chain.clone(),
                    chain_names: chain_names.clone(),
                    defects: vec![],
                    signs_client_certs: bulk.signs_client_certs,
                    bulk: Some(bulk.prefix.clone()),
                });
            }
        }
        self.pki
            .bulk
            .insert(bulk.prefix.clone(), start..self.pki.certs.len());
        self.cas.insert(
            format!("\0bulk:{}", bulk.prefix),
            CaMaterial {
                params: CertificateParams::default(),
                key,
            },
        );
        Ok(())
    }

    fn crls(&mut self) -> Result<(), PkiError> {
        let names: Vec<String> = self
            .cas
            .keys()
            .filter(|n| !n.starts_with('\0') && !self.cross_of.contains_key(*n))
            .cloned()
            .collect();
        for issuer in names {
            let m = &self.cas[&issuer];
            let listed = self.revoked.get(&issuer);
            let expired = self.crl_expired.contains(&issuer);
            let serials: &[SerialNumber] = listed.map(Vec::as_slice).unwrap_or_default();
            let params = crl_params(self.now, expired, serials);
            let crl = params
                .signed_by(&Issuer::from_params(&m.params, &m.key))
                .map_err(|e| PkiError::Generate {
                    name: format!("{issuer}.crl"),
                    message: e.to_string(),
                })?;
            let der = crl.der().clone();
            if listed.is_some() {
                self.pki.crls.insert(issuer, der);
            } else {
                self.pki.empty_crls.insert(issuer, der);
            }
        }
        Ok(())
    }
}

/// CRL parameters: current (or, `expired`, past its nextUpdate), listing `serials`.
fn crl_params(
    now: OffsetDateTime,
    expired: bool,
    serials: &[SerialNumber],
) -> CertificateRevocationListParams {
    let (this_update, next_update) = if expired {
        (now - Duration::days(30), now - Duration::days(1))
    } else {
        (now - Duration::hours(1), now + Duration::days(7))
    };
    CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: s.clone(),
                revocation_time: now - Duration::hours(2),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

/// An empty, current CRL of the CA `cert_der`, signed with `key_pkcs8` (used
/// by `load_dir`, so that every loaded CA can publish a CRL as a generated one can).
pub(super) fn empty_crl(
    cert_der: &CertificateDer<'_>,
    key_pkcs8: &[u8],
) -> Result<rustls_pki_types::CertificateRevocationListDer<'static>, String> {
    let key = KeyPair::try_from(key_pkcs8).map_err(|e| e.to_string())?;
    let issuer = Issuer::from_ca_cert_der(cert_der, key).map_err(|e| e.to_string())?;
    let crl = crl_params(OffsetDateTime::now_utc(), false, &[])
        .signed_by(&issuer)
        .map_err(|e| e.to_string())?;
    Ok(crl.der().clone())
}

trait CloneKey {
    fn clone_for_output(&self) -> KeyPair;
}

impl CloneKey for KeyPair {
    fn clone_for_output(&self) -> KeyPair {
        let der = PrivatePkcs8KeyDer::from(self.serialize_der());
        KeyPair::from_pkcs8_der_and_sign_algo(&der, self.algorithm())
            .expect("a key we generated parses back")
    }
}

/// The PKCS#8 DER handed out (and written to `<name>.key`) for a key.
///
/// ring serialises Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key),
/// which OpenSSL 3.0 refuses to load ("unsupported"), so nginx/HAProxy/Apache
/// could not use them. Hand out the RFC 8410 v1 form instead (version 0, the
/// seed only), which OpenSSL, rustls and rcgen all accept.
fn output_pkcs8(key: &KeyPair) -> Vec<u8> {
    let der = key.serialize_der();
    if key.algorithm() != &rcgen::PKCS_ED25519 {
        return der;
    }
    // v2 layout: 30 51 | 02 01 01 | 30 05 06 03 2b 65 70 | 04 22 04 20 <seed:32> | [1] public key
    const V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    if der.len() < 48 || der[..16] != V2_PREFIX {
        return der;
    }
    let mut v1 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    v1.extend_from_slice(&der[16..48]);
    v1
}

fn make_key(kind: KeyType) -> Result<KeyPair, String> {
    let rsa_bits = match kind {
        KeyType::EcdsaP256 => {
            return KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())
        }
        KeyType::EcdsaP384 => {
            return KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(|e| e.to_string())
        }
        KeyType::Ed25519 => {
            return KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(|e| e.to_string())
        }
        KeyType::Rsa2048 => 2048,
        KeyType::Rsa3072 => 3072,
        KeyType::Rsa4096 => 4096,
    };
    // ring cannot generate RSA keys; the RustCrypto `rsa` crate can.
    use rsa::pkcs8::EncodePrivateKey;
    let key =
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, rsa_bits).map_err(|e| e.to_string())?;
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let der = PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256).map_err(|e| e.to_string())
}

fn random_serial() -> SerialNumber {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("system RNG");
    bytes[0] = (bytes[0] & 0x7f) | 0x10; // positive, no leading zero
    SerialNumber::from_slice(&bytes)
}

fn san(s: &str) -> Result<SanType, String> {
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let ia5 = |v: &str| {
        v.to_string()
            .try_into()
            .map_err(|_| format!("SAN `{v}` is not ASCII"))
    };
    if s.contains('@') {
        Ok(SanType::Rfc822Name(ia5(s)?))
    } else if s.contains("://") {
        Ok(SanType::URI(ia5(s)?))
    } else {
        Ok(SanType::DnsName(ia5(s)?))
    }
}

/// DER of the subject Name of a certificate (a full SEQUENCE).
pub fn subject_der(der: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    Ok(cert.tbs_certificate.subject.as_raw().to_vec())
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
