//! `check-client`: a user's own client credential, checked for what makes
//! a client send no certificate or one the server refuses (seeds 001-003:
//! "the certificate is not installed, expired, or revoked", "the client's
//! certificate chain is correctly set up"). The files are read as clients
//! read them ([`read`]), judged offline ([`check`]), and with `--target` the
//! probe runs with them; with `--policy` the subject and SANs are held
//! against the policy's identities.

pub mod check;
pub mod online;
pub mod read;

pub use check::CheckInputs;
pub use read::{read_credential, Container, Credential, KeyFormat, Pkcs12Encryption};

use serde::Serialize;
use std::path::PathBuf;

/// Why a credential could not be read at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: {what} needs a password: give --password-env VAR", path.display())]
    PasswordNeeded { path: PathBuf, what: &'static str },
    #[error("--password-env {0}: the variable is not set (or not UTF-8)")]
    PasswordEnv(String),
    #[error("--crl {}: {reason}", path.display())]
    Crl { path: PathBuf, reason: String },
    #[error("--ca {}: {reason}", path.display())]
    Ca { path: PathBuf, reason: String },
    #[error("--policy: {0}")]
    Policy(String),
    #[error("--target: {0}")]
    Target(String),
}

/// The kinds of finding, each a stable id in the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    KeyMismatch,
    KeyUnusable,
    Expired,
    NotYetValid,
    Revoked,
    NoClientAuthEku,
    ChainIncomplete,
    ChainOutOfOrder,
    /// `--target`: the issuer is not among the CA names the target sends.
    IssuerNotInCaNames,
    /// `--target`: the target refuses the credential.
    TargetRefuses,
    /// `--policy`: the subject or SANs match none of its identities.
    PolicyMismatch,
    /// The file's format or encryption is one some client stacks cannot
    /// read (measured: docs/client-credentials.md).
    UnreadableBy,
}

impl FindingKind {
    pub fn id(self) -> &'static str {
        match self {
            FindingKind::KeyMismatch => "key-mismatch",
            FindingKind::KeyUnusable => "key-unusable",
            FindingKind::Expired => "expired",
            FindingKind::NotYetValid => "not-yet-valid",
            FindingKind::Revoked => "revoked",
            FindingKind::NoClientAuthEku => "no-client-auth-eku",
            FindingKind::ChainIncomplete => "chain-incomplete",
            FindingKind::ChainOutOfOrder => "chain-out-of-order",
            FindingKind::IssuerNotInCaNames => "issuer-not-in-ca-names",
            FindingKind::TargetRefuses => "target-refuses",
            FindingKind::PolicyMismatch => "policy-mismatch",
            FindingKind::UnreadableBy => "unreadable-by",
        }
    }
}

/// One thing wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn new(kind: FindingKind, message: String, fix: impl Into<String>) -> Finding {
        Finding {
            kind,
            message,
            fix: fix.into(),
        }
    }

    /// One line: `FINDING id: message. Fix: fix`.
    pub fn line(&self) -> String {
        format!(
            "FINDING {}: {}. Fix: {}",
            self.kind.id(),
            self.message,
            self.fix
        )
    }
}

/// What `check-client` found.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialReport {
    pub cert_file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    pub container: Container,
    /// Subject of each certificate, in file order.
    pub certificates: Vec<String>,
    /// Which of them (from 0) is the key's certificate, the leaf.
    pub leaf: usize,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub notes: Vec<String>,
}

impl CredentialReport {
    /// Exit 0 without findings, 1 with.
    pub fn exit_code(&self) -> i32 {
        if self.findings.is_empty() {
            crate::exit_codes::CHECK_CLIENT_OK
        } else {
            crate::exit_codes::CHECK_CLIENT_FINDING
        }
    }

    /// The leaf's subject.
    pub fn leaf_subject(&self) -> Option<String> {
        self.certificates.get(self.leaf).cloned()
    }

    pub fn render(&self) -> String {
        let mut s = format!(
            "{}: {}\n",
            self.cert_file.display(),
            self.container.describe()
        );
        for (i, c) in self.certificates.iter().enumerate() {
            s.push_str(&format!("  certificate {}: {c}\n", i + 1));
        }
        for f in &self.findings {
            s.push_str(&f.line());
            s.push('\n');
        }
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        if self.findings.is_empty() {
            s.push_str("OK: no finding\n");
        }
        s
    }
}

/// The grid's row for a container, when it was measured.
fn grid_variant(container: &Container) -> Option<crate::real::credential_grid::Variant> {
    use crate::real::credential_grid::Variant;
    Some(match container {
        Container::Pem {
            key: Some(KeyFormat::Pkcs8) | None,
        } => Variant::PemPkcs8,
        Container::Pem {
            key: Some(KeyFormat::Pkcs1),
        } => Variant::PemPkcs1,
        Container::Pem {
            key: Some(KeyFormat::Sec1),
        } => Variant::PemSec1,
        Container::Pem {
            key: Some(KeyFormat::EncryptedPkcs8),
        } => Variant::PemEncryptedPkcs8,
        Container::Pem {
            key: Some(KeyFormat::TraditionalEncrypted),
        } => return None,
        Container::Pkcs12 {
            encryption: Pkcs12Encryption::Modern,
            ..
        } => Variant::Pkcs12Modern,
        Container::Pkcs12 {
            encryption: Pkcs12Encryption::Legacy,
            ..
        } => Variant::Pkcs12Legacy,
        Container::Jks => return None,
    })
}

/// What the measured grid says of the container: a finding when stacks
/// that take the format fail to read this one (its encryption), a note for
/// stacks that take no such format at all.
pub fn stack_findings(container: &Container) -> (Vec<Finding>, Vec<String>) {
    use crate::real::credential_grid::{declared, no_loader_reason, Class, Stack, Variant};
    let Some(variant) = grid_variant(container) else {
        let note = match container {
            Container::Jks => "only Java reads a JKS keystore; for any other client convert it: `keytool -importkeystore -srckeystore F.jks -destkeystore F.p12 -deststoretype PKCS12` (then `openssl pkcs12 -in F.p12 -nodes -out F.pem` for PEM)",
            _ => "not measured: which stacks read OpenSSL's traditional key encryption (docs/client-credentials.md); convert with `openssl pkcs8 -topk8 -in KEY -out KEY.pk8`",
        };
        return (Vec::new(), vec![note.into()]);
    };
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let failing: Vec<Stack> = Stack::ALL
        .into_iter()
        .filter(|s| declared(*s, variant) == Some(Class::NotLoaded))
        .collect();
    // A file OpenSSL 3 cannot read is a defect (curl, Python, Node and
    // most tools read files with it); one stack's own limit is a note.
    if !failing.iter().any(|s| s.is_openssl3()) {
        for s in &failing {
            notes.push(format!(
                "{} cannot read {} (measured: docs/client-credentials.md)",
                s.name(),
                container.describe()
            ));
        }
    } else {
        let failing: Vec<&str> = failing.iter().map(|s| s.name()).collect();
        let fix = match variant {
            Variant::Pkcs12Legacy => "re-encrypt it: `openssl pkcs12 -legacy -in F.p12 -nodes -out F.pem`, then `openssl pkcs12 -export -in F.pem -out F-modern.p12` (PBES2/AES, what OpenSSL 3 reads)",
            _ => "convert it to a PEM chain and a PKCS#8 key (`openssl pkcs8 -topk8`)",
        };
        findings.push(Finding::new(
            FindingKind::UnreadableBy,
            format!(
                "{} cannot read {} (measured: docs/client-credentials.md)",
                failing.join(" and "),
                container.describe()
            ),
            fix,
        ));
    }
    for stack in Stack::ALL {
        if let Some(why) = no_loader_reason(stack, variant) {
            notes.push(format!("{}: {why}", stack.name()));
        }
    }
    if matches!(container, Container::Pem { .. }) {
        notes.push("openssl s_client: `-cert` loads the first certificate only and sends the leaf alone; give the intermediates with `-cert_chain FILE` (measured)".into());
    }
    (findings, notes)
}

/// The report of `cred` checked with `inputs` (offline part).
pub fn report(cred: &Credential, inputs: &CheckInputs) -> CredentialReport {
    let mut checked = check::check(cred, inputs);
    let (findings, notes) = stack_findings(&cred.container);
    checked.findings.extend(findings);
    checked.notes.extend(notes);
    CredentialReport {
        leaf: checked.leaf,
        findings: checked.findings,
        notes: checked.notes,
        cert_file: cred.cert_file.clone(),
        key_file: cred.key_file.clone(),
        container: cred.container.clone(),
        certificates: cred
            .certs
            .iter()
            .map(|c| {
                x509_parser::parse_x509_certificate(c)
                    .map(|(_, p)| p.subject().to_string())
                    .unwrap_or_else(|_| "(not X.509)".into())
            })
            .collect(),
    }
}

/// `cred`'s certificates with the leaf first and the others after it in
/// file order: what the probe sends for it.
pub fn leaf_first(
    cred: &Credential,
    leaf: usize,
) -> Vec<rustls_pki_types::CertificateDer<'static>> {
    let mut chain = cred.certs.clone();
    if leaf < chain.len() {
        let l = chain.remove(leaf);
        chain.insert(0, l);
    }
    chain
}

/// The RDNs of an RFC 4514 / OpenSSL-printed DN as a set of
/// `(attribute, value)` pairs (order and spacing aside: nginx prints
/// `CN=a,O=b`, x509-parser `CN=a, O=b`, OpenSSL `/O=b/CN=a`).
fn dn_pairs(dn: &str) -> std::collections::BTreeSet<(String, String)> {
    dn.split([',', '/'])
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_uppercase(), v.trim().to_string()))
        })
        .collect()
}

/// `--policy`: a finding when the leaf's subject is none of the policy's
/// identities, or its SANs miss one the matching identity has.
pub fn policy_findings(
    cred: &Credential,
    leaf_subject: &str,
    policy: &crate::policy::Policy,
) -> Vec<Finding> {
    let mine = dn_pairs(leaf_subject);
    let Some(identity) = policy
        .identity
        .iter()
        .find(|i| dn_pairs(&i.subject) == mine)
    else {
        let known: Vec<&str> = policy.identity.iter().map(|i| i.subject.as_str()).collect();
        return vec![Finding::new(
            FindingKind::PolicyMismatch,
            format!(
                "the subject {leaf_subject} is none of the policy's identities ({})",
                known.join("; ")
            ),
            "use the certificate issued for your identity, or add it to the policy's [[identity]] and allow-lists",
        )];
    };
    // The SANs the certificate has.
    let mut sans: Vec<String> = Vec::new();
    if let Some(leaf) = cred.certs.iter().find_map(|c| {
        x509_parser::parse_x509_certificate(c)
            .ok()
            .filter(|(_, p)| p.subject().to_string() == leaf_subject)
            .map(|(_, p)| p)
    }) {
        if let Ok(Some(ext)) = leaf.subject_alternative_name() {
            for n in &ext.value.general_names {
                use x509_parser::extensions::GeneralName;
                match n {
                    GeneralName::DNSName(d) => sans.push(d.to_string()),
                    GeneralName::RFC822Name(e) => sans.push(e.to_string()),
                    GeneralName::URI(u) => sans.push(u.to_string()),
                    _ => {}
                }
            }
        }
    }
    let wanted = identity
        .san_uri
        .iter()
        .chain(&identity.san_dns)
        .chain(&identity.san_email);
    let missing: Vec<&String> = wanted.filter(|w| !sans.contains(w)).collect();
    if missing.is_empty() {
        return Vec::new();
    }
    vec![Finding::new(
        FindingKind::PolicyMismatch,
        format!(
            "the certificate of identity `{}` lacks the SANs the policy expects: {}",
            identity.name,
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "have it reissued with those subjectAltNames (routes that allow by SAN refuse it)",
    )]
}

/// `--target`: findings from the probe run with the credential.
pub fn target_findings(report: &crate::probe::ProbeReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let not_sent: Vec<String> = report
        .versions
        .iter()
        .filter(|v| v.browser_would_send == Some(false))
        .map(|v| {
            format!(
                "TLS {}: {}",
                v.tls.as_str(),
                v.browser_reason.clone().unwrap_or_default()
            )
        })
        .collect();
    if !not_sent.is_empty() {
        out.push(Finding::new(
            FindingKind::IssuerNotInCaNames,
            format!(
                "{}: the certificate's issuer is not among the CA names the target sends, so clients that choose by them (browsers, Java, Go, Windows) would not send it ({})",
                report.target,
                not_sent.join("; ")
            ),
            "use a certificate issued under a CA the target lists, or have the target list your issuing CA (its client CA file)",
        ));
    }
    if report.exit_code == crate::exit_codes::PROBE_NOT_ACCEPTED && not_sent.is_empty() {
        out.push(Finding::new(
            FindingKind::TargetRefuses,
            format!("{}: {}", report.target, report.cause),
            "see the probe's report (`mtls-harness probe URL --cert ... --key ...`) for each TLS version",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_as_sets_of_attributes_whatever_the_printing() {
        assert_eq!(dn_pairs("CN=a,O=b"), dn_pairs("O=b, CN=a"));
        assert_eq!(dn_pairs("/O=b/CN=a"), dn_pairs("CN=a, O=b"));
        assert_ne!(dn_pairs("CN=a,O=b"), dn_pairs("CN=a,O=c"));
        assert_eq!(dn_pairs("cn=a"), dn_pairs("CN=a"));
    }

    #[test]
    fn a_finding_is_one_line_with_its_fix() {
        let f = Finding::new(FindingKind::Expired, "it expired".into(), "renew it");
        assert_eq!(f.line(), "FINDING expired: it expired. Fix: renew it");
    }
}
