//! From a policy to its cases: every TLS listener × route × TLS version the
//! listener speaks × case class, each with the identity whose subject its
//! certificate carries and the outcome the route expects.

use super::{IdentityIssuer, Outcome, Policy, Route};
use crate::observation::TlsVersion;
use serde::Serialize;

/// What kind of client a case is; the names are the report's (a contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseClass {
    /// An allowed identity, its certificate issued by the trusted root.
    Allowed,
    /// An allowed identity whose certificate an intermediate issued.
    AllowedViaIntermediate,
    /// A valid certificate whose identity the route does not allow.
    Denied,
    NoCertificate,
    /// An allowed subject, expired.
    Expired,
    NotYetValid,
    /// An allowed subject from a CA the configuration does not trust.
    Untrusted,
    /// An allowed subject, revoked in the CRL the configuration loads.
    Revoked,
    /// An allowed subject whose EKU lacks clientAuth.
    WrongEku,
    /// An allowed identity that also sends the upstream's certificate
    /// header itself: the upstream must not receive the forged value.
    ForgedHeader,
}

impl CaseClass {
    pub const ALL: [CaseClass; 10] = [
        CaseClass::Allowed,
        CaseClass::AllowedViaIntermediate,
        CaseClass::Denied,
        CaseClass::NoCertificate,
        CaseClass::Expired,
        CaseClass::NotYetValid,
        CaseClass::Untrusted,
        CaseClass::Revoked,
        CaseClass::WrongEku,
        CaseClass::ForgedHeader,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CaseClass::Allowed => "allowed",
            CaseClass::AllowedViaIntermediate => "allowed_via_intermediate",
            CaseClass::Denied => "denied",
            CaseClass::NoCertificate => "no_certificate",
            CaseClass::Expired => "expired",
            CaseClass::NotYetValid => "not_yet_valid",
            CaseClass::Untrusted => "untrusted",
            CaseClass::Revoked => "revoked",
            CaseClass::WrongEku => "wrong_eku",
            CaseClass::ForgedHeader => "forged_header",
        }
    }

    /// The client of this class, as a finding names it.
    pub fn client(self) -> &'static str {
        match self {
            CaseClass::Allowed => "an allowed identity",
            CaseClass::AllowedViaIntermediate => {
                "an allowed identity issued by the intermediate CA"
            }
            CaseClass::Denied => "a valid certificate of an identity the route does not allow",
            CaseClass::NoCertificate => "a client without a certificate",
            CaseClass::Expired => "an expired certificate with an allowed subject",
            CaseClass::NotYetValid => "a not-yet-valid certificate with an allowed subject",
            CaseClass::Untrusted => "an untrusted CA's certificate with an allowed subject",
            CaseClass::Revoked => "a revoked certificate with an allowed subject",
            CaseClass::WrongEku => "a certificate without clientAuth with an allowed subject",
            CaseClass::ForgedHeader => "an allowed identity sending the certificate header itself",
        }
    }

    /// The classes whose certificate must not authenticate.
    fn rejected() -> [CaseClass; 5] {
        [
            CaseClass::Expired,
            CaseClass::NotYetValid,
            CaseClass::Untrusted,
            CaseClass::Revoked,
            CaseClass::WrongEku,
        ]
    }
}

/// A TLS listener of the configuration, by the name the report gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRef {
    /// As the user wrote it (`443`, `*:8443`).
    pub name: String,
    /// The versions it speaks.
    pub versions: Vec<TlsVersion>,
}

/// One case a policy asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCase {
    pub listener: String,
    /// Index of the route in the file.
    pub route: usize,
    pub path: String,
    pub class: CaseClass,
    pub tls: TlsVersion,
    /// The identity whose subject the certificate carries; `None` with
    /// [`CaseClass::Denied`] is a subject no identity has, and with
    /// [`CaseClass::NoCertificate`] no certificate.
    pub identity: Option<String>,
    pub expected: Outcome,
}

/// The identities a route allows, in file order (`"*"`: every identity).
fn allowed<'p>(policy: &'p Policy, route: &Route) -> Vec<&'p super::Identity> {
    let any = route.allow.iter().any(|a| a == "*");
    policy
        .identity
        .iter()
        .filter(|i| any || route.allow.contains(&i.name))
        .collect()
}

/// Every case of `policy` on `listeners`.
pub fn plan(policy: &Policy, listeners: &[ListenerRef]) -> Vec<PolicyCase> {
    let mut out = Vec::new();
    for listener in listeners {
        for (index, route) in policy.route.iter().enumerate() {
            for &tls in &listener.versions {
                let mut case = |class: CaseClass, identity: Option<&str>, expected: &Outcome| {
                    out.push(PolicyCase {
                        listener: listener.name.clone(),
                        route: index,
                        path: route.path.clone(),
                        class,
                        tls,
                        identity: identity.map(str::to_string),
                        expected: expected.clone(),
                    });
                };
                let e = &route.expect;
                let allowed = allowed(policy, route);
                if route.public {
                    case(CaseClass::NoCertificate, None, &e.allowed);
                    for id in &allowed {
                        case(CaseClass::Allowed, Some(&id.name), &e.allowed);
                    }
                    continue;
                }
                for id in &allowed {
                    let class = match id.issuer {
                        IdentityIssuer::Root => CaseClass::Allowed,
                        IdentityIssuer::Intermediate => CaseClass::AllowedViaIntermediate,
                    };
                    case(class, Some(&id.name), &e.allowed);
                }
                if !route.allow.iter().any(|a| a == "*") {
                    let others: Vec<_> = policy
                        .identity
                        .iter()
                        .filter(|i| !route.allow.contains(&i.name))
                        .collect();
                    if others.is_empty() {
                        case(CaseClass::Denied, None, &e.denied);
                    }
                    for id in others {
                        case(CaseClass::Denied, Some(&id.name), &e.denied);
                    }
                }
                case(CaseClass::NoCertificate, None, &e.no_certificate);
                // The bad certificates carry an allowed subject, so only the
                // defect can refuse them.
                let subject = allowed.first().map(|i| i.name.as_str());
                for class in CaseClass::rejected() {
                    case(class, subject, &e.rejected);
                }
                if route.upstream.is_some() {
                    case(CaseClass::ForgedHeader, subject, &e.allowed);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn each_route_listener_and_version_gets_its_classes() {
        let policy = Policy::from_toml(
            r#"
[[identity]]
name = "ops"
subject = "CN=ops"
[[identity]]
name = "ci"
subject = "CN=ci"
issuer = "intermediate"
[[identity]]
name = "guest"
subject = "CN=guest"
[[route]]
path = "/healthz"
public = true
[[route]]
path = "/"
allow = ["ops", "ci"]
[route.expect]
denied = { status = 403 }
[route.upstream]
header = "X-SSL-Client-Cert"
format = "nginx-escaped-pem"
"#,
            Path::new("p.toml"),
        )
        .expect("policy");
        let listeners = [ListenerRef {
            name: "443".into(),
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
        }];
        let cases = plan(&policy, &listeners);
        let of = |tls: TlsVersion, route: usize| -> Vec<(&str, Option<&str>)> {
            cases
                .iter()
                .filter(|c| c.tls == tls && c.route == route)
                .map(|c| (c.class.name(), c.identity.as_deref()))
                .collect()
        };
        assert_eq!(of(TlsVersion::Tls13, 0), vec![("no_certificate", None)]);
        assert_eq!(
            of(TlsVersion::Tls12, 1),
            vec![
                ("allowed", Some("ops")),
                ("allowed_via_intermediate", Some("ci")),
                ("denied", Some("guest")),
                ("no_certificate", None),
                ("expired", Some("ops")),
                ("not_yet_valid", Some("ops")),
                ("untrusted", Some("ops")),
                ("revoked", Some("ops")),
                ("wrong_eku", Some("ops")),
                ("forged_header", Some("ops")),
            ]
        );
        let denied = cases.iter().find(|c| c.class == CaseClass::Denied).unwrap();
        assert_eq!(
            denied.expected,
            Outcome::Status {
                status: 403,
                body_contains: None
            }
        );
        assert_eq!(cases.len(), 2 * (1 + 10));
    }
}
