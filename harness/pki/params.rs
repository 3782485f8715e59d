//! What a `[[cert]]` entry becomes on the wire: subject, validity window,
//! basicConstraints, keyUsage, extendedKeyUsage, SANs and name constraints,
//! with each defect applied. Signing is [`super::generate`]'s job.

use super::dn::parse_subject;
use super::error::GenerateError;
use super::spec::{CertSpec, Defect, Role, Validity};
use super::x509::san;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    KeyIdMethod, KeyUsagePurpose, NameConstraints, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// The DNS subtree a `name-constraints-violated` leaf's issuer permits.
pub const PERMITTED_SUBTREE: &str = "permitted.test";
/// Suffix of the name a `name-constraints-violated` leaf carries instead.
pub const FORBIDDEN_SUFFIX: &str = "forbidden.test";

/// Lifetime of a `valid` CA certificate.
const CA_LIFETIME: Duration = Duration::days(3650);
/// Lifetime of a `valid` leaf certificate.
const LEAF_LIFETIME: Duration = Duration::days(365);

/// `not_before` / `not_after` as parsed by validation (each optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExplicitDates {
    pub not_before: Option<OffsetDateTime>,
    pub not_after: Option<OffsetDateTime>,
}

/// What a certificate's extensions depend on besides its own entry.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub now: OffsetDateTime,
    pub dates: ExplicitDates,
    /// A subject of this CA is `path-len-exceeded`: pathLenConstraint 0
    /// (unless `path_len` is given, which validation forbids together).
    pub force_path_len_zero: bool,
    /// A subject of this CA is `name-constraints-violated`: permit only
    /// [`PERMITTED_SUBTREE`] (unless `permitted_dns` is given).
    pub force_permitted_subtree: bool,
    /// The issuer carries name constraints: a leaf without SANs gets one
    /// inside [`PERMITTED_SUBTREE`], so it does not violate them by accident.
    pub issuer_has_name_constraints: bool,
}

/// The subject as written, or `CN=<name>`.
pub fn subject_of(c: &CertSpec) -> String {
    c.subject
        .clone()
        .unwrap_or_else(|| format!("CN={}", c.name))
}

/// The parameters of `c`'s certificate, with `serial`.
pub fn cert_params(
    c: &CertSpec,
    serial: SerialNumber,
    ctx: &Context,
) -> Result<CertificateParams, GenerateError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = parse_subject(&subject_of(c))?;
    (params.not_before, params.not_after) = window(c, ctx.now, ctx.dates);
    params.serial_number = Some(serial);
    params.key_identifier_method = KeyIdMethod::Sha256;
    if c.role.is_ca() {
        ca_extensions(&mut params, c, ctx);
    } else {
        leaf_extensions(&mut params, c, ctx)?;
    }
    if let Some(url) = &c.ocsp_url {
        params
            .custom_extensions
            .push(super::urls::ocsp_extension(url));
    }
    params.crl_distribution_points = c
        .crl_distribution_points
        .iter()
        .map(|url| rcgen::CrlDistributionPoint {
            uris: vec![url.clone()],
        })
        .collect();
    Ok(params)
}

/// The validity window: explicit dates win (a missing one is the lifetime
/// away, at least a day); else `validity`: valid from yesterday for the
/// lifetime (CA 10 years, leaf 1 year), expired a year ago after a year,
/// not yet valid for another year.
pub fn window(
    c: &CertSpec,
    now: OffsetDateTime,
    dates: ExplicitDates,
) -> (OffsetDateTime, OffsetDateTime) {
    let lifetime = if c.role.is_ca() {
        CA_LIFETIME
    } else {
        LEAF_LIFETIME
    };
    match (dates.not_before, dates.not_after) {
        (Some(b), Some(a)) => (b, a),
        (Some(b), None) => (b, (b + lifetime).max(b + Duration::days(1))),
        (None, Some(a)) => ((a - lifetime).min(a - Duration::days(1)), a),
        (None, None) => match c.validity.unwrap_or_default() {
            Validity::Valid => (now - Duration::days(1), now + lifetime),
            Validity::Expired => (now - Duration::days(730), now - Duration::days(365)),
            Validity::NotYetValid => (now + Duration::days(365), now + Duration::days(730)),
        },
    }
}

fn ca_extensions(params: &mut CertificateParams, c: &CertSpec, ctx: &Context) {
    let path_len = c.path_len.or_else(|| ctx.force_path_len_zero.then_some(0));
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
    if permitted.is_empty() && ctx.force_permitted_subtree {
        permitted.push(GeneralSubtree::DnsName(PERMITTED_SUBTREE.into()));
    }
    if !permitted.is_empty() {
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: vec![],
        });
    }
}

fn leaf_extensions(
    params: &mut CertificateParams,
    c: &CertSpec,
    ctx: &Context,
) -> Result<(), GenerateError> {
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if c.key.rsa_bits().is_some() {
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
    } else if ctx.issuer_has_name_constraints && sans.is_empty() {
        sans.push(format!(
            "{}.{PERMITTED_SUBTREE}",
            c.name.to_ascii_lowercase()
        ));
    }
    params.subject_alt_names = sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
    Ok(())
}
