//! The PKI spec: the TOML format of `pki generate SPEC` and of a scenario's
//! `[pki]` table. This format is a contract (docs/pki-spec.md); extend, never rename.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A whole PKI: named certificates and bulk filler CAs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkiSpec {
    #[serde(default)]
    pub cert: Vec<CertSpec>,
    #[serde(default)]
    pub bulk: Vec<BulkSpec>,
}

/// One certificate of the spec. [`CertSpec::default`] is a client
/// certificate with an empty name: set the fields that matter (or use
/// [`crate::pki::PkiBuilder`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CertSpec {
    /// Reference name and file stem.
    pub name: String,
    pub role: Role,
    /// RFC 4514-style subject (`CN=Acme Root CA,O=Acme`); default `CN=<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Name of the issuing certificate; absent for roots (self-signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default)]
    pub key: KeyType,
    /// Marker used by the `flagged` CA-names policy ("sign client certificates").
    #[serde(default)]
    pub signs_client_certs: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defects: Vec<Defect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity: Option<Validity>,
    /// RFC 3339, e.g. `2020-01-01T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// DNS names, IPs or e-mail addresses. Server default: localhost, 127.0.0.1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
    /// CA certificates: basicConstraints pathLenConstraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_len: Option<u8>,
    /// CA certificates: permitted DNS subtrees of a nameConstraints extension.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permitted_dns: Vec<String>,
    /// `cross-signed`: the other issuer that also signs this CA's key and subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_signed_by: Option<String>,
    /// The OCSP responder's URL, written as an authorityInfoAccess
    /// extension (`http://...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_url: Option<String>,
    /// CRL distribution point URLs (`http://...`), one cRLDistributionPoints
    /// entry each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crl_distribution_points: Vec<String>,
}

/// Many filler CAs, named `<prefix>-00001` ... for large trust stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BulkSpec {
    pub prefix: String,
    #[serde(default = "BulkSpec::default_role")]
    pub role: Role,
    pub count: usize,
    /// Issuer of every filler (absent: self-signed roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default)]
    pub signs_client_certs: bool,
    /// Subject template; `{n}` is replaced by the zero-padded index.
    /// Default `CN=<prefix>-{n}`. Long templates make long DNs (large CA lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Default for CertSpec {
    fn default() -> Self {
        CertSpec {
            name: String::new(),
            role: Role::Client,
            subject: None,
            issuer: None,
            key: KeyType::default(),
            signs_client_certs: false,
            defects: Vec::new(),
            validity: None,
            not_before: None,
            not_after: None,
            sans: Vec::new(),
            path_len: None,
            permitted_dns: Vec::new(),
            cross_signed_by: None,
            ocsp_url: None,
            crl_distribution_points: Vec::new(),
        }
    }
}

impl Default for BulkSpec {
    /// An empty table of self-signed roots (set `prefix` and `count`).
    fn default() -> Self {
        BulkSpec {
            prefix: String::new(),
            role: Role::Root,
            count: 0,
            issuer: None,
            signs_client_certs: false,
            subject: None,
        }
    }
}

impl CertSpec {
    pub fn has(&self, defect: Defect) -> bool {
        self.defects.contains(&defect)
    }
}

impl BulkSpec {
    fn default_role() -> Role {
        Role::Root
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Root,
    Intermediate,
    Client,
    Server,
}

impl Role {
    pub fn is_ca(self) -> bool {
        matches!(self, Role::Root | Role::Intermediate)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Intermediate => "intermediate",
            Role::Client => "client",
            Role::Server => "server",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    #[default]
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    // kebab-case alone would spell these `rsa2048`; the contract says `rsa-2048`.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deliberate defect (see DESIGN.md, Knobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Defect {
    /// basicConstraints present with cA=FALSE on a CA.
    CaFlagFalse,
    /// No basicConstraints extension at all on a CA.
    BasicConstraintsAbsent,
    /// keyUsage without keyCertSign on a CA.
    NoKeyCertSign,
    /// extendedKeyUsage = serverAuth only on a client cert.
    EkuServerOnly,
    /// No extendedKeyUsage extension.
    NoEku,
    /// The issuing CA's pathLenConstraint is exceeded by this chain.
    PathLenExceeded,
    /// This leaf's name falls outside its issuer's permitted subtrees.
    NameConstraintsViolated,
    /// Listed in the issuer's CRL.
    Revoked,
    /// The issuer's CRL is past its nextUpdate.
    CrlExpired,
    /// The private key written for this cert does not match its public key.
    KeyMismatch,
    /// A leaf that is self-signed rather than issued.
    SelfSignedLeaf,
    /// A CA whose key and subject are also certified by `cross_signed_by`.
    CrossSigned,
}

impl Defect {
    pub fn as_str(self) -> &'static str {
        match self {
            Defect::CaFlagFalse => "ca-flag-false",
            Defect::BasicConstraintsAbsent => "basic-constraints-absent",
            Defect::NoKeyCertSign => "no-key-cert-sign",
            Defect::EkuServerOnly => "eku-server-only",
            Defect::NoEku => "no-eku",
            Defect::PathLenExceeded => "path-len-exceeded",
            Defect::NameConstraintsViolated => "name-constraints-violated",
            Defect::Revoked => "revoked",
            Defect::CrlExpired => "crl-expired",
            Defect::KeyMismatch => "key-mismatch",
            Defect::SelfSignedLeaf => "self-signed-leaf",
            Defect::CrossSigned => "cross-signed",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    #[default]
    Valid,
    Expired,
    NotYetValid,
}
