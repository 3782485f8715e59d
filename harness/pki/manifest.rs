//! `manifest.json`: what `pki generate` wrote and where (see docs/pki-spec.md).

use super::spec::{Defect, KeyType, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `manifest.json`: what was generated and where it is.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Every `[[cert]]` (and `-cross` certificate), issuers first.
    pub certs: Vec<ManifestCert>,
    /// Issuer name -> CRL file.
    pub crls: BTreeMap<String, String>,
    pub bulk: Vec<ManifestBulk>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestCert {
    pub name: String,
    pub role: Role,
    pub subject: String,
    /// Lower-case hex.
    pub serial: String,
    pub issuer: Option<String>,
    pub key_type: KeyType,
    pub defects: Vec<Defect>,
    pub signs_client_certs: bool,
    pub files: ManifestFiles,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestFiles {
    pub cert: String,
    /// In the `[[cert]]`'s `key_format`, encrypted with `key_encryption`.
    pub key: String,
    pub chain: String,
    /// `<name>.p12`, when the `[[cert]]` has `pkcs12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestBulk {
    pub prefix: String,
    pub role: Role,
    pub count: usize,
    pub issuer: Option<String>,
    pub signs_client_certs: bool,
    /// All certificates of the table, in order.
    pub bundle: String,
    /// The one key every filler of the table shares.
    pub key: String,
    pub names: Vec<String>,
    pub subjects: Vec<String>,
    pub serials: Vec<String>,
}
