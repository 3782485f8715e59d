//! What every real gateway needs from the PKI: the server chain and key,
//! which trusted CAs are sent as names and which only verify, and the CRLs,
//! written to the same files for every program.

use crate::pki::{IssuedCert, Pki};
use crate::real::{FillerCaError, RealError, Unsupported};
use crate::scenario::schema::ServerSpec;
use crate::tls::ca_names::AcceptableCaList;

/// The server certificate and its chain (as `send_chain` asks).
pub const SERVER_CHAIN: &str = "server.crt";
pub const SERVER_KEY: &str = "server.key";
/// Every trusted CA certificate.
pub const TRUST: &str = "trust.pem";
/// The CA certificates whose names are sent, in the order sent.
pub const CA_NAMES: &str = "ca-names.pem";
/// The trusted CA certificates whose names are not sent.
pub const CA_VERIFY: &str = "ca-verify.pem";
pub const CRL: &str = "crl.pem";

/// Subjects of the filler names `ca_names` policies add.
pub const FILLER_PREFIX: &str = "CN=mtls-harness filler CA ";

/// The PKI side of one real gateway's config.
pub struct Material<'a> {
    pub server: &'a IssuedCert,
    pub chain_pem: String,
    /// The chain without the leaf.
    pub intermediates_pem: String,
    pub trusted: Vec<&'a IssuedCert>,
    /// PEM of each CA whose name is sent, in the order sent.
    named: Vec<String>,
    pub named_subjects: Vec<String>,
    verify_only: Vec<&'a IssuedCert>,
    /// PEM of the filler CA certificates among the names, in order.
    filler: Vec<String>,
    pub crls_pem: String,
    /// The names list was cut to fit a byte budget.
    pub truncated: bool,
    /// The subject of every client certificate of the PKI (`CN=..,O=..`):
    /// the users of a realm that maps certificates to users (Tomcat
    /// `CLIENT-CERT`).
    pub client_subjects: Vec<String>,
}

impl<'a> Material<'a> {
    pub fn from_pki(pki: &'a Pki, server: &ServerSpec) -> Result<Self, RealError> {
        let cert = pki.cert(&server.cert).map_err(RealError::ServerCert)?;
        let chain: Vec<_> = if server.send_chain.unwrap_or(true) {
            cert.chain_with_leaf()
        } else {
            vec![cert.der.clone()]
        };
        let chain_pem: String = chain.iter().map(|c| IssuedCert::pem_of(c)).collect();
        let intermediates_pem: String = chain[1..].iter().map(|c| IssuedCert::pem_of(c)).collect();
        let trusted = pki.resolve(&server.trust).map_err(RealError::Trust)?;
        let list = AcceptableCaList::from_policy(&server.ca_names, &trusted, pki)
            .map_err(RealError::CaNames)?;
        // A real server sends the subjects of the CA certificates in its
        // names file: map each name back to a trusted certificate, or, for
        // the filler names of `extra-filler` / `fill-to-bytes`, make a
        // self-signed CA certificate with exactly that subject (nobody holds
        // a cert it issued).
        let mut named_certs: Vec<&IssuedCert> = Vec::new();
        let mut named = Vec::new();
        let mut filler_key = None;
        let mut filler = Vec::new();
        for (der, subject) in list.names.iter().zip(&list.subjects) {
            let found = trusted
                .iter()
                .find(|c| &c.subject_der == der && !named_certs.iter().any(|n| n.name == c.name));
            match found {
                Some(c) => {
                    named_certs.push(c);
                    named.push(c.cert_pem());
                }
                None if subject.starts_with(FILLER_PREFIX) => {
                    let key = match &filler_key {
                        Some(k) => k,
                        None => filler_key.insert(
                            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
                                .map_err(RealError::FillerKey)?,
                        ),
                    };
                    let pem =
                        filler_ca_pem(subject, der, key).map_err(|source| RealError::FillerCa {
                            subject: subject.clone(),
                            source,
                        })?;
                    named.push(pem.clone());
                    filler.push(pem);
                }
                None => {
                    return Err(Unsupported::UntrustedCaName {
                        subject: subject.clone(),
                    }
                    .into())
                }
            }
        }
        let verify_only: Vec<&IssuedCert> = trusted
            .iter()
            .copied()
            .filter(|c| !named_certs.iter().any(|n| n.name == c.name))
            .collect();
        let mut crls_pem = String::new();
        for issuer in &server.crls {
            let crl = pki.crl(issuer).ok_or_else(|| RealError::NoCrl {
                issuer: issuer.clone(),
            })?;
            crls_pem.push_str(&pem_crl(crl));
        }
        Ok(Material {
            server: cert,
            chain_pem,
            intermediates_pem,
            trusted,
            named,
            named_subjects: list.subjects.clone(),
            verify_only,
            filler,
            crls_pem,
            truncated: list.truncated,
            client_subjects: pki
                .certs()
                .iter()
                .filter(|c| c.role == crate::pki::spec::Role::Client)
                .map(|c| c.subject.clone())
                .collect(),
        })
    }

    /// Every CA certificate the gateway loads, for gateways whose one pool
    /// both verifies and names (Go, JSSE): the trusted CAs in trust order,
    /// then the filler CAs (the order the built-in profile names them in).
    pub fn whole_pool_pem(&self) -> String {
        let mut pem = pems(&self.trusted);
        pem.push_str(&self.filler.concat());
        pem
    }

    /// The names sent are exactly the trusted CAs (no filler, none left
    /// out).
    pub fn names_are_the_trust_store(&self) -> bool {
        self.verify_only.is_empty() && self.named.len() == self.trusted.len()
    }

    pub fn has_names(&self) -> bool {
        !self.named.is_empty()
    }

    pub fn has_verify_only(&self) -> bool {
        !self.verify_only.is_empty()
    }

    pub fn has_crls(&self) -> bool {
        !self.crls_pem.is_empty()
    }

    /// The files every gateway gets: (path relative to the prefix, contents,
    /// private).
    pub fn files(&self) -> Vec<(String, String, bool)> {
        let mut files = vec![
            (SERVER_CHAIN.into(), self.chain_pem.clone(), false),
            (SERVER_KEY.into(), self.server.key_pem(), true),
        ];
        if !self.trusted.is_empty() {
            files.push((TRUST.into(), pems(&self.trusted), false));
        }
        if self.has_names() {
            files.push((CA_NAMES.into(), self.named.concat(), false));
        }
        if self.has_verify_only() {
            files.push((CA_VERIFY.into(), pems(&self.verify_only), false));
        }
        if self.has_crls() {
            files.push((CRL.into(), self.crls_pem.clone(), false));
        }
        files
    }
}

/// The certificates as one PEM file.
pub fn pems(certs: &[&IssuedCert]) -> String {
    certs.iter().map(|c| c.cert_pem()).collect()
}

fn pem_crl(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("X509 CRL", der.to_vec()), config)
}

/// A self-signed CA certificate whose subject Name is exactly `der` (a
/// single UTF8String CN, as the filler names are built).
fn filler_ca_pem(subject: &str, der: &[u8], key: &rcgen::KeyPair) -> Result<String, FillerCaError> {
    let cn = subject.strip_prefix("CN=").unwrap_or(subject);
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        rcgen::DnType::CommonName,
        rcgen::DnValue::Utf8String(cn.to_string()),
    );
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(key)?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.der())?;
    if parsed.tbs_certificate.subject.as_raw() != der {
        return Err(FillerCaError::SubjectMismatch);
    }
    Ok(cert.pem())
}
