//! PKI generation: a [`PkiSpec`] becomes an in-memory [`Pki`] (certificates,
//! keys, CRLs), which can be written to a directory and loaded back. The spec
//! format and the directory layout are a contract: docs/pki-spec.md.
//!
//! Pipeline: `parse` (TOML -> spec, the schema errors of every entry) ->
//! `validate` (every semantic error, with file, line and field; the issuer
//! order) -> `generate` (`params` per certificate, `keys`, `bulk` fillers,
//! `crl`s) -> `write` / `load` (the directory and its `manifest.json`).

pub mod adopt;
mod builder;
mod bulk;
mod crl;
mod dn;
mod error;
mod generate;
mod graph;
mod key_file;
mod keys;
mod load;
mod locate;
mod manifest;
pub mod names;
mod params;
mod parse;
pub mod spec;
pub mod urls;
mod validate;
mod write;
mod x509;

use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};
use std::collections::{BTreeMap, HashMap};

pub use builder::{PkiBuilder, LOOPBACK_SANS};
pub use crl::sign_for as sign_crl;
pub use dn::{parse_subject, SubjectError};
pub use error::{GenerateError, PkiError};
pub use keys::signature_algorithm as signature_algorithm_of;
pub use keys::KeyError;
pub use load::LoadError;
pub use params::{FORBIDDEN_SUFFIX, PERMITTED_SUBTREE};
pub use spec::{
    BulkSpec, CertSpec, ChainOrder, CredentialFiles, Defect, KeyEncryption, KeyFileFormat, KeyType,
    Pkcs12File, PkiSpec, Role, Validity,
};
pub use write::PkiFiles;
pub use x509::SanError;

/// One generated certificate with its key and chain.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub name: String,
    pub role: Role,
    /// Subject as written (`CN=..,O=..`).
    pub subject: String,
    /// DER of the subject Name (a SEQUENCE): what goes into a CA-names list.
    pub subject_der: Vec<u8>,
    /// Name of the issuing cert in the PKI (`None`: self-signed).
    pub issuer: Option<String>,
    /// Serial number, lower-case hex.
    pub serial: String,
    pub key_type: KeyType,
    pub der: CertificateDer<'static>,
    /// The private key handed out with this cert. With `key-mismatch` it does
    /// not match the certificate's public key.
    pub key_pkcs8: Vec<u8>,
    /// Intermediates from the issuer up, the root excluded (what a client or
    /// server sends after its leaf).
    pub chain: Vec<CertificateDer<'static>>,
    /// Names of the certs in `chain`, in order.
    pub chain_names: Vec<String>,
    /// The self-signed anchor at the top of this cert's issuer chain.
    pub root: Option<String>,
    pub defects: Vec<Defect>,
    pub signs_client_certs: bool,
    /// The `[[bulk]]` prefix that generated it.
    pub bulk: Option<String>,
    /// How its files are written (`key_format`, `key_encryption`,
    /// `pkcs12`, `chain_in_file`, `chain_order`).
    pub files: spec::CredentialFiles,
}

impl IssuedCert {
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.pkcs8())
    }

    /// The handed-out private key (PKCS#8).
    pub fn pkcs8(&self) -> PrivatePkcs8KeyDer<'static> {
        PrivatePkcs8KeyDer::from(self.key_pkcs8.clone())
    }

    pub fn has(&self, defect: Defect) -> bool {
        self.defects.contains(&defect)
    }

    /// The leaf followed by its intermediates.
    pub fn chain_with_leaf(&self) -> Vec<CertificateDer<'static>> {
        std::iter::once(self.der.clone())
            .chain(self.chain.iter().cloned())
            .collect()
    }

    /// PEM of any certificate.
    pub fn pem_of(der: &[u8]) -> String {
        x509::pem_block("CERTIFICATE", der)
    }

    pub fn cert_pem(&self) -> String {
        x509::pem_block("CERTIFICATE", &self.der)
    }

    pub fn key_pem(&self) -> String {
        x509::pem_block("PRIVATE KEY", &self.key_pkcs8)
    }

    /// The certificates of its chain file: the cert and its intermediates
    /// (root excluded), or the cert alone (`chain_in_file = false`), issuers
    /// first with `chain_order = "reversed"`.
    pub fn chain_file_certs(&self) -> Vec<CertificateDer<'static>> {
        let mut certs = if self.files.chain_in_file {
            self.chain_with_leaf()
        } else {
            vec![self.der.clone()]
        };
        if self.files.chain_order == spec::ChainOrder::Reversed {
            certs.reverse();
        }
        certs
    }

    /// PEM of the chain file ([`IssuedCert::chain_file_certs`]).
    pub fn chain_pem(&self) -> String {
        self.chain_file_certs()
            .iter()
            .map(|c| x509::pem_block("CERTIFICATE", c))
            .collect()
    }
}

/// A generated PKI, in memory.
#[derive(Debug, Clone, Default)]
pub struct Pki {
    certs: Vec<IssuedCert>,
    by_name: HashMap<String, usize>,
    /// CRL of each issuer that has a revoked or `crl-expired` subject
    /// (written to `<issuer>.crl`).
    crls: BTreeMap<String, CertificateRevocationListDer<'static>>,
    /// An empty, current CRL for every other named CA, for servers that load one.
    empty_crls: BTreeMap<String, CertificateRevocationListDer<'static>>,
    bulk: BTreeMap<String, std::ops::Range<usize>>,
}

impl Pki {
    /// Generate every certificate, key and CRL of `spec`.
    pub fn generate(spec: &PkiSpec) -> Result<Pki, PkiError> {
        Self::generate_located(spec, "<spec>", None)
    }

    /// Parse and generate a spec read from `path` (errors name the file and line).
    pub fn generate_from_file(path: &std::path::Path) -> Result<(PkiSpec, Pki), PkiError> {
        let source = std::fs::read_to_string(path).map_err(|source| PkiError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path.display().to_string();
        let spec = PkiSpec::from_toml(&source, &name)?;
        let pki = Self::generate_located(&spec, &name, Some(&source))?;
        Ok((spec, pki))
    }

    /// Generate with errors that name `path` and lines of `source`.
    pub fn generate_with_source(spec: &PkiSpec, path: &str, source: &str) -> Result<Pki, PkiError> {
        Self::generate_located(spec, path, Some(source))
    }

    /// Validate `spec` (all errors at once, naming `path` and lines of
    /// `source`) without generating anything: what `pki generate` checks
    /// first (the fuzz targets call it on arbitrary specs).
    pub fn validate_spec(spec: &PkiSpec, path: &str, source: &str) -> Result<(), PkiError> {
        validate::validate(spec, &locate::Locator::new(path, Some(source))).map(|_| ())
    }

    /// Validate (all errors at once), then generate.
    fn generate_located(spec: &PkiSpec, path: &str, source: Option<&str>) -> Result<Pki, PkiError> {
        let plan = validate::validate(spec, &locate::Locator::new(path, source))?;
        generate::generate(spec, &plan)
    }

    /// Generate `spec` with the CAs of `adopted` (spec name -> a CA with its
    /// key, e.g. loaded from a directory) taken as they are: the spec's
    /// subjects of those CAs are signed by their keys (see [`adopt`]).
    pub fn generate_adopting(
        spec: &PkiSpec,
        adopted: HashMap<String, IssuedCert>,
    ) -> Result<Pki, PkiError> {
        let plan = validate::validate(spec, &locate::Locator::new("<spec>", None))?;
        generate::generate_adopting(spec, &plan, adopted)
    }

    /// Every certificate, in generation order (issuers before subjects).
    pub fn certs(&self) -> &[IssuedCert] {
        &self.certs
    }

    pub fn get(&self, name: &str) -> Option<&IssuedCert> {
        self.by_name.get(name).map(|&i| &self.certs[i])
    }

    pub fn cert(&self, name: &str) -> Result<&IssuedCert, PkiError> {
        self.get(name).ok_or_else(|| PkiError::UnknownCert {
            name: name.to_string(),
            hint: self.suggest(name),
        })
    }

    fn suggest(&self, name: &str) -> Option<String> {
        let names: Vec<&str> = self
            .certs
            .iter()
            .filter(|c| c.bulk.is_none())
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            return None;
        }
        let close = names
            .iter()
            .find(|n| n.contains(name) || name.contains(**n));
        Some(match close {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("known: {}", names.join(", ")),
        })
    }

    /// Resolve a list of names; `<prefix>-*` expands to every cert of that
    /// `[[bulk]]` table, in order.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<&IssuedCert>, PkiError> {
        let mut out = Vec::new();
        for name in names {
            if let Some(prefix) = name.strip_suffix("-*") {
                let range = self.bulk.get(prefix).ok_or_else(|| PkiError::UnknownCert {
                    name: name.clone(),
                    hint: Some(format!("no [[bulk]] table with prefix `{prefix}`")),
                })?;
                out.extend(self.certs[range.clone()].iter());
            } else {
                out.push(self.cert(name)?);
            }
        }
        Ok(out)
    }

    /// The CRL `issuer` publishes. Issuers without revoked certs get an empty,
    /// current CRL, so a server can always load one.
    pub fn crl(&self, issuer: &str) -> Option<&CertificateRevocationListDer<'static>> {
        self.crls
            .get(issuer)
            .or_else(|| self.empty_crls.get(issuer))
    }

    /// This PKI with `issuer`'s CRL replaced by `crl`: what the CA
    /// publishes anew (a `[[step]]` that revokes, or lets a CRL expire).
    pub fn with_crl(&self, issuer: &str, crl: CertificateRevocationListDer<'static>) -> Pki {
        let mut next = self.clone();
        next.crls.insert(issuer.to_string(), crl);
        next
    }

    /// Issuers whose CRL lists something (the `<issuer>.crl` files).
    pub fn crl_issuers(&self) -> impl Iterator<Item = &str> {
        self.crls.keys().map(String::as_str)
    }

    pub fn bulk_prefixes(&self) -> impl Iterator<Item = &str> {
        self.bulk.keys().map(String::as_str)
    }

    /// Write the files `pki generate` promises (docs/pki-spec.md) into `dir`,
    /// which must not exist or be empty. On error nothing is left behind.
    pub fn write_dir(&self, dir: &std::path::Path) -> Result<(), PkiError> {
        write::write_dir(self, dir)
    }

    /// Write every certificate, key (mode 0600) and chain, and a CRL for
    /// every named CA (an empty, current one where nothing is revoked) into
    /// `dir` (which must not exist or be empty); where each file went.
    ///
    /// Unlike [`Pki::write_dir`] (the layout `pki generate` promises, with
    /// CRL files only for CAs that list something), what is on disk here is
    /// what [`Pki::crl`] returns: a server loading `<ca>.crl` for every CA
    /// of a chain finds one.
    ///
    /// ```
    /// use mtls_harness::prelude::*;
    /// let pki = Pki::builder().root("root").client("alice", "root").build()?;
    /// let tmp = tempfile::tempdir()?;
    /// let files = pki.write_to(tmp.path().join("pki"))?;
    /// assert!(files.cert("alice").is_file() && files.key("alice").is_file());
    /// assert!(files.crl("root").is_file()); // empty, but there
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_to(&self, dir: impl AsRef<std::path::Path>) -> Result<PkiFiles, PkiError> {
        write::write_to(self, dir.as_ref())
    }

    /// Named CAs (not bulk fillers) in generation order.
    pub fn ca_cert_names(&self) -> impl Iterator<Item = &str> {
        self.certs
            .iter()
            .filter(|c| c.role.is_ca() && c.bulk.is_none())
            .map(|c| c.name.as_str())
    }

    /// Load a directory written by [`Pki::write_dir`].
    pub fn load_dir(dir: &std::path::Path) -> Result<Pki, PkiError> {
        load::load_dir(dir)
    }

    fn push(&mut self, cert: IssuedCert) {
        self.by_name.insert(cert.name.clone(), self.certs.len());
        self.certs.push(cert);
    }
}
