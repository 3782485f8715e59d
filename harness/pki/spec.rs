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
    /// How `pki generate` writes the key file `<name>.key`: `pkcs8`
    /// (default), `pkcs1` (RSA keys) or `sec1` (ECDSA keys).
    #[serde(default, skip_serializing_if = "KeyFileFormat::is_default")]
    pub key_format: KeyFileFormat,
    /// Encrypt the key file with a password: `{ password = "..." }`
    /// (PKCS#8, PBES2 with AES-256-CBC and PBKDF2-SHA256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_encryption: Option<KeyEncryption>,
    /// Also write `<name>.p12`: `{ password = "...", legacy = false }`
    /// (`legacy`: RC2-40 and 3DES, what OpenSSL 1.x wrote, which OpenSSL 3
    /// reads only with its legacy provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<Pkcs12File>,
    /// `false`: `<name>.chain.pem` and `<name>.p12` hold the certificate
    /// without its intermediates, and the harness's client sends it alone
    /// (a client sends what its file holds).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub chain_in_file: bool,
    /// `reversed`: `<name>.chain.pem` lists the issuers before the
    /// certificate.
    #[serde(default, skip_serializing_if = "ChainOrder::is_default")]
    pub chain_order: ChainOrder,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// How a private key file is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFileFormat {
    /// `BEGIN PRIVATE KEY`.
    #[default]
    Pkcs8,
    /// `BEGIN RSA PRIVATE KEY`.
    Pkcs1,
    /// `BEGIN EC PRIVATE KEY`.
    Sec1,
}

impl KeyFileFormat {
    fn is_default(&self) -> bool {
        *self == KeyFileFormat::Pkcs8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyFileFormat::Pkcs8 => "pkcs8",
            KeyFileFormat::Pkcs1 => "pkcs1",
            KeyFileFormat::Sec1 => "sec1",
        }
    }
}

/// `key_encryption`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEncryption {
    pub password: String,
}

/// `pkcs12`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs12File {
    pub password: String,
    #[serde(default)]
    pub legacy: bool,
}

/// The order of a chain file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChainOrder {
    /// The certificate, then each issuer in turn.
    #[default]
    LeafFirst,
    /// The issuers first, the certificate last.
    Reversed,
}

impl ChainOrder {
    fn is_default(&self) -> bool {
        *self == ChainOrder::LeafFirst
    }
}

/// How a certificate's files are written (the `[[cert]]` knobs
/// `key_format`, `key_encryption`, `pkcs12`, `chain_in_file`,
/// `chain_order`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialFiles {
    pub key_format: KeyFileFormat,
    pub key_encryption: Option<KeyEncryption>,
    pub pkcs12: Option<Pkcs12File>,
    pub chain_in_file: bool,
    pub chain_order: ChainOrder,
}

impl Default for CredentialFiles {
    fn default() -> Self {
        CredentialFiles {
            key_format: KeyFileFormat::Pkcs8,
            key_encryption: None,
            pkcs12: None,
            chain_in_file: true,
            chain_order: ChainOrder::LeafFirst,
        }
    }
}

impl CertSpec {
    /// Its file knobs.
    pub fn files(&self) -> CredentialFiles {
        CredentialFiles {
            key_format: self.key_format,
            key_encryption: self.key_encryption.clone(),
            pkcs12: self.pkcs12.clone(),
            chain_in_file: self.chain_in_file,
            chain_order: self.chain_order,
        }
    }
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
            key_format: KeyFileFormat::Pkcs8,
            key_encryption: None,
            pkcs12: None,
            chain_in_file: true,
            chain_order: ChainOrder::LeafFirst,
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
