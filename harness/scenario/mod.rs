//! Scenario files: schema, loading, validation, expectation resolution.

mod expect;
pub mod load;
pub mod schema;
mod validate;

use std::path::PathBuf;

pub use load::{load_catalog, load_file, Scenario};

use crate::gateway::ProfileKind;

/// The gateway profiles, in report order (the names of [`ProfileKind::ALL`]).
pub const PROFILES: [&str; 7] = [
    ProfileKind::Strict.name(),
    ProfileKind::Nginx.name(),
    ProfileKind::Layer7.name(),
    ProfileKind::Iis.name(),
    ProfileKind::Apache.name(),
    ProfileKind::Haproxy.name(),
    ProfileKind::Envoy.name(),
];

/// The `[server.mode]` values `profile` accepts (empty: the profile has no
/// modes), or `None` for an unknown profile. The gateway module owns the list.
pub fn modes_of(profile: &str) -> Option<&'static [&'static str]> {
    ProfileKind::from_name(profile).map(ProfileKind::modes)
}

/// Alert names an expectation may use, with their codes: RFC 8446 §6 plus the
/// rest of rustls's `AlertDescription`, except the SSLv3-era `no_certificate`
/// and `export_restriction`, which no TLS 1.2/1.3 peer sends.
pub const ALERTS: [(&str, u8); 33] = [
    ("close_notify", 0),
    ("unexpected_message", 10),
    ("bad_record_mac", 20),
    ("decryption_failed", 21),
    ("record_overflow", 22),
    ("decompression_failure", 30),
    ("handshake_failure", 40),
    ("bad_certificate", 42),
    ("unsupported_certificate", 43),
    ("certificate_revoked", 44),
    ("certificate_expired", 45),
    ("certificate_unknown", 46),
    ("illegal_parameter", 47),
    ("unknown_ca", 48),
    ("access_denied", 49),
    ("decode_error", 50),
    ("decrypt_error", 51),
    ("protocol_version", 70),
    ("insufficient_security", 71),
    ("internal_error", 80),
    ("inappropriate_fallback", 86),
    ("user_canceled", 90),
    ("no_renegotiation", 100),
    ("missing_extension", 109),
    ("unsupported_extension", 110),
    ("certificate_unobtainable", 111),
    ("unrecognized_name", 112),
    ("bad_certificate_status_response", 113),
    ("bad_certificate_hash_value", 114),
    ("unknown_psk_identity", 115),
    ("certificate_required", 116),
    ("no_application_protocol", 120),
    ("encrypted_client_hello_required", 121),
];

/// Whether `name` is a known alert name (exact snake_case).
pub fn is_known_alert(name: &str) -> bool {
    ALERTS.iter().any(|(n, _)| *n == name)
}

/// The snake_case name of an alert code, if known.
pub fn alert_name(code: u8) -> Option<&'static str> {
    ALERTS.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
}

/// The field reports a scenario can reproduce (`seed = "..."`).
pub const SEEDS: [&str; 4] = ["000", "001", "002", "003"];

/// A scenario file or catalog that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, a wrong type or an unknown key; `rendered` is `PATH:LINE:COL: message`.
    #[error("{rendered}")]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        rendered: String,
    },
    /// The file parsed but says something impossible (unknown cert, bad alert, ...).
    #[error("{}{}: `{key}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        /// Dotted key path, e.g. `server.trust` or `expect.gateway.nginx`.
        key: String,
        message: String,
    },
    /// The path does not give a usable `<namespace>::<name>` id.
    #[error("{}: {message}", path.display())]
    BadPath { path: PathBuf, message: String },
    /// Two files map to the same id.
    #[error("{}: duplicate scenario id `{id}` (also {})", path.display(), first.display())]
    DuplicateId {
        id: String,
        path: PathBuf,
        first: PathBuf,
    },
    /// Several errors, each listed on its own line.
    #[error("{} errors:\n{}", errors.len(), list_errors(errors))]
    Many { errors: Vec<ScenarioError> },
}

fn list_errors(errors: &[ScenarioError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ScenarioError {
    /// One error as itself, several as [`ScenarioError::Many`] (flattened).
    pub(crate) fn collect(errors: Vec<ScenarioError>) -> Option<ScenarioError> {
        let mut flat = Vec::with_capacity(errors.len());
        for e in errors {
            match e {
                ScenarioError::Many { errors } => flat.extend(errors),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(ScenarioError::Many { errors: flat }),
        }
    }

    /// The individual errors (one, or each of a `Many`).
    pub fn errors(&self) -> Vec<&ScenarioError> {
        match self {
            ScenarioError::Many { errors } => errors.iter().collect(),
            other => vec![other],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_has_a_mode_entry() {
        for p in PROFILES {
            assert!(modes_of(p).is_some(), "{p} has no PROFILE_MODES entry");
        }
        assert_eq!(
            modes_of("nginx"),
            Some(&["on", "optional", "optional_no_ca"][..])
        );
        assert_eq!(modes_of("squid"), None);
    }

    #[test]
    fn alert_names_and_codes() {
        assert!(is_known_alert("certificate_required"));
        assert!(is_known_alert("unknown_ca"));
        assert!(!is_known_alert("no_certificate"));
        assert!(!is_known_alert("UnknownCA"));
        assert_eq!(alert_name(116), Some("certificate_required"));
        assert_eq!(alert_name(41), None);
    }

    #[test]
    fn many_errors_flatten_and_list_each() {
        let e = |k: &str| ScenarioError::Invalid {
            path: "a.toml".into(),
            line: Some(3),
            key: k.into(),
            message: "bad".into(),
        };
        assert!(ScenarioError::collect(vec![]).is_none());
        let one = ScenarioError::collect(vec![e("x")]).expect("one error");
        assert_eq!(one.to_string(), "a.toml:3: `x`: bad");
        let inner = ScenarioError::Many {
            errors: vec![e("y"), e("z")],
        };
        let many = ScenarioError::collect(vec![e("x"), inner]).expect("errors");
        assert_eq!(many.errors().len(), 3);
        assert_eq!(
            many.to_string(),
            "3 errors:\n  a.toml:3: `x`: bad\n  a.toml:3: `y`: bad\n  a.toml:3: `z`: bad"
        );
    }
}
