//! Loading a directory written by [`super::Pki::write_dir`] back into a [`Pki`].

use super::crl;
use super::manifest::Manifest;
use super::spec::{Defect, KeyType};
use super::x509::subject_der;
use super::{IssuedCert, Pki, PkiError};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivatePkcs8KeyDer};
use std::collections::BTreeMap;
use std::path::Path;

/// Why one file of a PKI directory could not be used (the path is in
/// [`PkiError::Load`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0} (is this a directory written by `mtls-harness pki generate`?)")]
    ManifestUnreadable(#[source] std::io::Error),
    #[error("not a manifest: {0}")]
    NotAManifest(#[source] serde_json::Error),
    #[error(transparent)]
    Pem(#[from] pem::Error),
    #[error("no CERTIFICATE block")]
    NoCertificate,
    #[error("not an X.509 certificate: {0}")]
    NotACertificate(#[source] x509_parser::error::X509Error),
    #[error("no PKCS#8 PRIVATE KEY: {0}")]
    NoKey(#[source] pem::Error),
    #[error("no X509 CRL: {0}")]
    NoCrl(#[source] pem::Error),
    #[error("{found} certificates, manifest says {expected}")]
    CountMismatch { found: usize, expected: usize },
    #[error("cannot sign an empty CRL with this CA's key: {0}")]
    EmptyCrl(#[source] rcgen::Error),
}

pub(super) fn load_dir(dir: &Path) -> Result<Pki, PkiError> {
    let failed = |file: &str| {
        let path = dir.join(file);
        move |source: LoadError| PkiError::Load { path, source }
    };
    let text = std::fs::read(dir.join("manifest.json"))
        .map_err(|e| failed("manifest.json")(LoadError::ManifestUnreadable(e)))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| failed("manifest.json")(LoadError::NotAManifest(e)))?;
    let read_certs = |file: &str| -> Result<Vec<CertificateDer<'static>>, PkiError> {
        let certs = CertificateDer::pem_file_iter(dir.join(file))
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| failed(file)(e.into()))?;
        if certs.is_empty() {
            return Err(failed(file)(LoadError::NoCertificate));
        }
        Ok(certs)
    };
    let read_key = |file: &str| -> Result<PrivatePkcs8KeyDer<'static>, PkiError> {
        PrivatePkcs8KeyDer::from_pem_file(dir.join(file))
            .map_err(|e| failed(file)(LoadError::NoKey(e)))
    };
    let subject_of = |file: &str, der: &CertificateDer<'_>| {
        subject_der(der).map_err(|e| failed(file)(LoadError::NotACertificate(e)))
    };

    let mut pki = Pki::default();
    for m in &manifest.certs {
        let chain = read_certs(&m.files.chain)?;
        let der = read_certs(&m.files.cert)?.remove(0);
        let key = read_key(&m.files.key)?;
        let subject_der = subject_of(&m.files.cert, &der)?;
        pki.push(IssuedCert {
            name: m.name.clone(),
            role: m.role,
            subject: m.subject.clone(),
            subject_der,
            issuer: m.issuer.clone(),
            serial: m.serial.clone(),
            key_type: m.key_type,
            der,
            key_pkcs8: key.secret_pkcs8_der().to_vec(),
            chain: chain.into_iter().skip(1).collect(),
            chain_names: Vec::new(),
            root: None,
            defects: m.defects.clone(),
            signs_client_certs: m.signs_client_certs,
            bulk: None,
            files: super::spec::CredentialFiles::default(),
        });
    }
    for b in &manifest.bulk {
        let certs = read_certs(&b.bundle)?;
        let key = read_key(&b.key)?;
        if certs.len() != b.names.len() {
            return Err(failed(&b.bundle)(LoadError::CountMismatch {
                found: certs.len(),
                expected: b.names.len(),
            }));
        }
        let start = pki.certs.len();
        for (i, der) in certs.into_iter().enumerate() {
            let subject_der = subject_of(&b.bundle, &der)?;
            pki.push(IssuedCert {
                name: b.names[i].clone(),
                role: b.role,
                subject: b.subjects.get(i).cloned().unwrap_or_default(),
                subject_der,
                issuer: b.issuer.clone(),
                serial: b.serials.get(i).cloned().unwrap_or_default(),
                key_type: KeyType::EcdsaP256,
                der,
                key_pkcs8: key.secret_pkcs8_der().to_vec(),
                chain: Vec::new(),
                chain_names: Vec::new(),
                root: b.issuer.is_none().then(|| b.names[i].clone()),
                defects: Vec::new(),
                signs_client_certs: b.signs_client_certs,
                bulk: Some(b.prefix.clone()),
                files: super::spec::CredentialFiles::default(),
            });
        }
        pki.bulk.insert(b.prefix.clone(), start..pki.certs.len());
    }
    link_chains(&mut pki);
    for (issuer, file) in &manifest.crls {
        let crl = CertificateRevocationListDer::from_pem_file(dir.join(file))
            .map_err(|e| failed(file)(LoadError::NoCrl(e)))?;
        pki.crls.insert(issuer.clone(), crl);
    }
    // Every other named CA publishes an empty, current CRL, as after `generate`
    // (not for a cross certificate, which shares its CA's CRL, nor for a CA
    // whose handed-out key is deliberately not its own).
    let mut empty = BTreeMap::new();
    for c in pki
        .certs
        .iter()
        .filter(|c| c.bulk.is_none() && c.role.is_ca())
    {
        let is_cross = c.has(Defect::CrossSigned)
            && c.name
                .strip_suffix("-cross")
                .is_some_and(|orig| pki.get(orig).is_some_and(|o| o.has(Defect::CrossSigned)));
        if pki.crls.contains_key(&c.name) || is_cross || c.has(Defect::KeyMismatch) {
            continue;
        }
        let crl = crl::empty(&c.der, &c.key_pkcs8)
            .map_err(|e| failed(&format!("{}.key", c.name))(LoadError::EmptyCrl(e)))?;
        empty.insert(c.name.clone(), crl);
    }
    pki.empty_crls = empty;
    Ok(pki)
}

/// Chain names, roots (and the chains of bulk certs) follow from the issuer links.
fn link_chains(pki: &mut Pki) {
    for i in 0..pki.certs.len() {
        let (mut names, mut root, mut cur) = (Vec::new(), None, pki.certs[i].issuer.clone());
        while let Some(n) = cur.take() {
            match pki.get(&n) {
                Some(c) if c.issuer.is_none() => root = Some(c.name.clone()),
                Some(c) if names.len() < 64 => {
                    names.push(c.name.clone());
                    cur = c.issuer.clone();
                }
                _ => {}
            }
        }
        if pki.certs[i].issuer.is_none() {
            root = Some(pki.certs[i].name.clone());
        }
        if pki.certs[i].bulk.is_some() {
            let chain = names
                .iter()
                .filter_map(|n| pki.get(n).map(|c| c.der.clone()))
                .collect();
            pki.certs[i].chain = chain;
        }
        pki.certs[i].chain_names = names;
        pki.certs[i].root = root;
    }
}
