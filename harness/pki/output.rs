//! Writing a [`Pki`] to a directory (the files DESIGN.md promises) and loading
//! it back.

use super::spec::{Defect, KeyType, Role};
use super::{IssuedCert, Pki, PkiError};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(super) fn pem_block(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der.to_vec()), config)
}

/// `manifest.json`: what was generated and where it is.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
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
    pub key: String,
    pub chain: String,
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(contents).map_err(io_err(path))?;
    Ok(())
}

pub(super) fn write_dir(pki: &Pki, dir: &Path) -> Result<(), PkiError> {
    let existed = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(PkiError::OutDirNotEmpty {
                    path: dir.to_path_buf(),
                });
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(PkiError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    // Build everything in a sibling temp dir, then rename: an error (or a
    // crash) never leaves a half-written DIR behind.
    let staging = tempfile::Builder::new()
        .prefix(".mtls-harness-pki-")
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    write_files(pki, staging.path())?;
    if existed {
        std::fs::remove_dir(dir).map_err(io_err(dir))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, dir).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        PkiError::Io {
            path: dir.to_path_buf(),
            source: e,
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    }
    Ok(())
}

fn write_files(pki: &Pki, dir: &Path) -> Result<(), PkiError> {
    let mut manifest = Manifest {
        certs: Vec::new(),
        crls: BTreeMap::new(),
        bulk: Vec::new(),
    };
    for c in pki.certs().iter().filter(|c| c.bulk.is_none()) {
        let files = ManifestFiles {
            cert: format!("{}.crt", c.name),
            key: format!("{}.key", c.name),
            chain: format!("{}.chain.pem", c.name),
        };
        write_file(&dir.join(&files.cert), c.cert_pem().as_bytes(), false)?;
        write_file(&dir.join(&files.key), c.key_pem().as_bytes(), true)?;
        write_file(&dir.join(&files.chain), c.chain_pem().as_bytes(), false)?;
        manifest.certs.push(ManifestCert {
            name: c.name.clone(),
            role: c.role,
            subject: c.subject.clone(),
            serial: c.serial.clone(),
            issuer: c.issuer.clone(),
            key_type: c.key_type,
            defects: c.defects.clone(),
            signs_client_certs: c.signs_client_certs,
            files,
        });
    }
    for issuer in pki.crl_issuers() {
        let file = format!("{issuer}.crl");
        let der = pki.crl(issuer).expect("listed issuer has a CRL");
        write_file(
            &dir.join(&file),
            pem_block("X509 CRL", der).as_bytes(),
            false,
        )?;
        manifest.crls.insert(issuer.to_string(), file);
    }
    for (prefix, range) in &pki.bulk {
        let certs = &pki.certs()[range.clone()];
        let bundle = format!("{prefix}.bundle.pem");
        let key = format!("{prefix}.key");
        let text: String = certs.iter().map(IssuedCert::cert_pem).collect();
        write_file(&dir.join(&bundle), text.as_bytes(), false)?;
        write_file(&dir.join(&key), certs[0].key_pem().as_bytes(), true)?;
        manifest.bulk.push(ManifestBulk {
            prefix: prefix.clone(),
            role: certs[0].role,
            count: certs.len(),
            issuer: certs[0].issuer.clone(),
            signs_client_certs: certs[0].signs_client_certs,
            bundle,
            key,
            names: certs.iter().map(|c| c.name.clone()).collect(),
            subjects: certs.iter().map(|c| c.subject.clone()).collect(),
            serials: certs.iter().map(|c| c.serial.clone()).collect(),
        });
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    write_file(&dir.join("manifest.json"), &json, false)
}

pub(super) fn load_dir(dir: &Path) -> Result<Pki, PkiError> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(|e| PkiError::Load {
        path: manifest_path.clone(),
        message: format!("{e} (is this a directory written by `mtls-harness pki generate`?)"),
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| PkiError::Load {
        path: manifest_path.clone(),
        message: format!("not a manifest: {e}"),
    })?;
    let load_err = |path: &Path, message: String| PkiError::Load {
        path: path.to_path_buf(),
        message,
    };
    let read_certs = |file: &str| -> Result<Vec<CertificateDer<'static>>, PkiError> {
        let path = dir.join(file);
        let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(&path)
            .map_err(|e| load_err(&path, e.to_string()))?
            .collect();
        let certs = certs.map_err(|e| load_err(&path, e.to_string()))?;
        if certs.is_empty() {
            return Err(load_err(&path, "no CERTIFICATE block".into()));
        }
        Ok(certs)
    };
    let read_key = |file: &str| -> Result<PrivatePkcs8KeyDer<'static>, PkiError> {
        let path = dir.join(file);
        PrivatePkcs8KeyDer::from_pem_file(&path)
            .map_err(|e| load_err(&path, format!("no PKCS#8 PRIVATE KEY: {e}")))
    };
    let mut pki = Pki::default();
    for m in &manifest.certs {
        let chain = read_certs(&m.files.chain)?;
        let der = read_certs(&m.files.cert)?.remove(0);
        let key = read_key(&m.files.key)?;
        let subject_der = super::generate::subject_der(&der)
            .map_err(|e| load_err(&dir.join(&m.files.cert), e))?;
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
        });
    }
    for b in &manifest.bulk {
        let certs = read_certs(&b.bundle)?;
        let key = read_key(&b.key)?;
        if certs.len() != b.names.len() {
            return Err(load_err(
                &dir.join(&b.bundle),
                format!(
                    "{} certificates, manifest says {}",
                    certs.len(),
                    b.names.len()
                ),
            ));
        }
        let start = pki.certs.len();
        for (i, der) in certs.into_iter().enumerate() {
            let subject_der = super::generate::subject_der(&der)
                .map_err(|e| load_err(&dir.join(&b.bundle), e))?;
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
            });
        }
        pki.bulk.insert(b.prefix.clone(), start..pki.certs.len());
    }
    // Chain names, roots (and the chains of bulk certs) follow from the issuer links.
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
    for (issuer, file) in &manifest.crls {
        let path = dir.join(file);
        let crl = CertificateRevocationListDer::from_pem_file(&path)
            .map_err(|e| load_err(&path, format!("no X509 CRL: {e}")))?;
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
        let crl = super::generate::empty_crl(&c.der, &c.key_pkcs8)
            .map_err(|e| load_err(&dir.join(format!("{}.key", c.name)), e))?;
        empty.insert(c.name.clone(), crl);
    }
    pki.empty_crls = empty;
    Ok(pki)
}
