//! A policy (`--policy FILE`, docs/policy-format.md): what a gateway
//! configuration must do, route by route, for the clients a team has, as
//! opposed to what a gateway profile does by default. The harness mints a
//! certificate for each `[[identity]]` and derives its cases from the
//! routes ([`plan`]). A contract: extend, never rename.

mod plan;

pub use plan::{plan, CaseClass, ListenerRef, PolicyCase};

use crate::knobs::ForwardHeader;
use crate::scenario::locate::{Locator, Seg};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A whole policy file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// The clients the harness mints certificates for.
    #[serde(default)]
    pub identity: Vec<Identity>,
    /// What each path must do.
    #[serde(default)]
    pub route: Vec<Route>,
}

/// A client of the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Identity {
    pub name: String,
    /// The subject, as nginx's `$ssl_client_s_dn` and RFC 4514 print it:
    /// `CN=ops-laptop-17,OU=SRE,O=Example Corp,C=DE`.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_uri: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_dns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub san_email: Vec<String>,
    #[serde(default)]
    pub issuer: IdentityIssuer,
}

/// Which CA issues an identity's certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityIssuer {
    /// A CA of the config's CA file.
    #[default]
    Root,
    /// An intermediate below it (the client sends it in its chain).
    Intermediate,
}

/// One path (and host) of the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Route {
    /// The request path; a route matches it and everything below.
    pub path: String,
    /// SNI and Host; default: the listener's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Served with or without a certificate.
    #[serde(default)]
    pub public: bool,
    /// Identity names allowed here; `"*"`: any certificate the trusted CA
    /// issued.
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub expect: RouteExpect,
    /// What the upstream must receive for an allowed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamCheck>,
}

/// The outcome each kind of client must get on a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteExpect {
    /// An allowed identity (also from an intermediate).
    #[serde(default = "Outcome::ok")]
    pub allowed: Outcome,
    /// A valid certificate whose identity is not allowed.
    #[serde(default = "Outcome::refused")]
    pub denied: Outcome,
    /// No certificate at all.
    #[serde(default = "Outcome::refused")]
    pub no_certificate: Outcome,
    /// A certificate that must not authenticate: expired, not yet valid,
    /// untrusted, revoked, wrong EKU.
    #[serde(default = "Outcome::refused")]
    pub rejected: Outcome,
}

impl Default for RouteExpect {
    fn default() -> Self {
        RouteExpect {
            allowed: Outcome::ok(),
            denied: Outcome::refused(),
            no_certificate: Outcome::refused(),
            rejected: Outcome::refused(),
        }
    }
}

/// An expected outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    /// `"refused"`: a TLS alert, a close without a response, or a 4xx.
    Word(OutcomeWord),
    /// `{ status = 403 [, body_contains = "..."] }`.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body_contains: Option<String>,
    },
    /// `{ alert = "certificate_required" }`.
    Alert { alert: String },
}

/// The outcomes a word names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeWord {
    Refused,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome::Status {
            status: 200,
            body_contains: None,
        }
    }

    pub fn refused() -> Self {
        Outcome::Word(OutcomeWord::Refused)
    }
}

/// What the upstream receives for an allowed identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UpstreamCheck {
    /// The header's name, e.g. `X-SSL-Client-Cert`.
    pub header: String,
    /// How its value encodes the certificate: one of the `[middlebox]`
    /// header formats.
    pub format: ForwardHeader,
}

/// Why a policy cannot be used: each names the file and, where it can, the
/// line and field.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown key: `PATH:LINE:COL: message`.
    #[error("{rendered}")]
    Parse { path: PathBuf, rendered: String },
    /// The file parsed but says something impossible.
    #[error("{}{}: `{field}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        field: String,
        message: String,
    },
}

impl Policy {
    /// Read and check the policy at `path`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let source = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&source, path)
    }

    /// Parse and check `source`, naming `path` in errors.
    pub fn from_toml(source: &str, path: &Path) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(source).map_err(|e| PolicyError::Parse {
            path: path.to_path_buf(),
            rendered: crate::source::describe_toml_error(&path.display().to_string(), source, &e).1,
        })?;
        policy.validate(source, path)?;
        Ok(policy)
    }

    /// The identity called `name`.
    pub fn identity(&self, name: &str) -> Option<&Identity> {
        self.identity.iter().find(|i| i.name == name)
    }

    fn validate(&self, source: &str, path: &Path) -> Result<(), PolicyError> {
        let locator = Locator::new(source);
        let invalid = |segs: &[Seg<'_>], field: String, message: String| PolicyError::Invalid {
            path: path.to_path_buf(),
            line: locator.line(segs),
            field,
            message,
        };
        if self.route.is_empty() {
            return Err(invalid(
                &[],
                "route".into(),
                "no [[route]]: the policy checks nothing".into(),
            ));
        }
        for (i, id) in self.identity.iter().enumerate() {
            let at = |key: &'static str| [Seg::Key("identity"), Seg::Index(i), Seg::Key(key)];
            if id.name.is_empty() || id.name == "*" {
                return Err(invalid(
                    &at("name"),
                    format!("identity[{i}].name"),
                    format!("`{}` cannot name an identity", id.name),
                ));
            }
            if self.identity[..i].iter().any(|o| o.name == id.name) {
                return Err(invalid(
                    &at("name"),
                    format!("identity[{i}].name"),
                    format!("`{}` is named twice", id.name),
                ));
            }
            if let Err(e) = crate::pki::parse_subject(&id.subject) {
                return Err(invalid(
                    &at("subject"),
                    format!("identity[{i}].subject"),
                    e.to_string(),
                ));
            }
        }
        for (i, route) in self.route.iter().enumerate() {
            let at = |key: &'static str| [Seg::Key("route"), Seg::Index(i), Seg::Key(key)];
            if !route.path.starts_with('/') {
                return Err(invalid(
                    &at("path"),
                    format!("route[{i}].path"),
                    format!("`{}` does not start with `/`", route.path),
                ));
            }
            for (j, name) in route.allow.iter().enumerate() {
                if name != "*" && self.identity(name).is_none() {
                    return Err(invalid(
                        &[
                            Seg::Key("route"),
                            Seg::Index(i),
                            Seg::Key("allow"),
                            Seg::Index(j),
                        ],
                        format!("route[{i}].allow[{j}]"),
                        format!("no [[identity]] is named `{name}`"),
                    ));
                }
            }
            if !route.public && route.allow.is_empty() {
                return Err(invalid(
                    &at("allow"),
                    format!("route[{i}].allow"),
                    "a route that is not public allows nobody: name identities, or \"*\"".into(),
                ));
            }
            let e = &route.expect;
            for (key, outcome) in [
                ("allowed", &e.allowed),
                ("denied", &e.denied),
                ("no_certificate", &e.no_certificate),
                ("rejected", &e.rejected),
            ] {
                let segs = [
                    Seg::Key("route"),
                    Seg::Index(i),
                    Seg::Key("expect"),
                    Seg::Key(key),
                ];
                let field = format!("route[{i}].expect.{key}");
                match outcome {
                    Outcome::Status { status, .. } if !(100..=599).contains(status) => {
                        return Err(invalid(
                            &segs,
                            field,
                            format!("{status} is not an HTTP status"),
                        ));
                    }
                    Outcome::Alert { alert } if crate::alert::by_name(alert).is_none() => {
                        return Err(invalid(
                            &segs,
                            field,
                            format!("`{alert}` is not a TLS alert name (e.g. certificate_required, handshake_failure)"),
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[identity]]
name = "ops"
subject = "CN=ops-laptop-17,OU=SRE,O=Example Corp,C=DE"

[[identity]]
name = "ci"
subject = "CN=ci-runner,O=Example Corp,C=DE"
issuer = "intermediate"

[[route]]
path = "/healthz"
public = true

[[route]]
path = "/"
allow = ["ops", "ci"]
[route.expect]
allowed = { status = 200 }
denied = { status = 403 }
no_certificate = { status = 403, body_contains = "Forbidden" }
rejected = "refused"
[route.upstream]
header = "X-SSL-Client-Cert"
format = "nginx-escaped-pem"
"#;

    fn load(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_toml(text, Path::new("p.toml"))
    }

    #[test]
    fn the_documented_shape_loads_with_its_defaults() {
        let p = load(GOOD).expect("loads");
        assert_eq!(p.identity[1].issuer, IdentityIssuer::Intermediate);
        assert_eq!(p.route[0].expect.allowed, Outcome::ok());
        assert_eq!(p.route[0].expect.rejected, Outcome::refused());
        assert_eq!(
            p.route[1].expect.no_certificate,
            Outcome::Status {
                status: 403,
                body_contains: Some("Forbidden".into())
            }
        );
        assert_eq!(
            p.route[1].upstream.as_ref().map(|u| u.format),
            Some(ForwardHeader::XSslClientCert)
        );
    }

    #[test]
    fn mistakes_name_the_file_line_and_field() {
        let cases = [
            (
                GOOD.replace("allow = [\"ops\", \"ci\"]", "allow = [\"ops\", \"dev\"]"),
                "p.toml:17: `route[1].allow[1]`: no [[identity]] is named `dev`",
            ),
            (
                GOOD.replace("denied = { status = 403 }", "denied = { alert = \"nope\" }"),
                "p.toml:20: `route[1].expect.denied`: `nope` is not a TLS alert name",
            ),
            (
                GOOD.replace("path = \"/healthz\"", "path = \"healthz\""),
                "p.toml:12: `route[0].path`: `healthz` does not start with `/`",
            ),
            (
                GOOD.replace("name = \"ci\"", "name = \"ops\""),
                "p.toml:7: `identity[1].name`: `ops` is named twice",
            ),
            (
                GOOD.replace("public = true", "publik = true"),
                "p.toml:13:1: field `route[0].publik`: unknown field `publik`",
            ),
        ];
        for (text, want) in cases {
            let err = load(&text).expect_err(want).to_string();
            assert!(err.starts_with(want), "got {err}\nwant {want}");
        }
    }

    #[test]
    fn a_policy_without_routes_checks_nothing_and_says_so() {
        let err = load("[[identity]]\nname = \"a\"\nsubject = \"CN=a\"\n").unwrap_err();
        assert!(err.to_string().contains("no [[route]]"), "{err}");
    }
}
