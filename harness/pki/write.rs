//! Writing a [`Pki`] to a directory: staged in a sibling temporary directory,
//! then renamed into place, so an error never leaves a half-written one.

use super::manifest::{Manifest, ManifestBulk, ManifestCert, ManifestFiles};
use super::x509::pem_block;
use super::{IssuedCert, Pki, PkiError};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Create `path` (it must not exist) with `contents`; `private`: mode 0600.
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

/// Where [`Pki::write_to`] put each file.
#[derive(Debug, Clone)]
pub struct PkiFiles {
    dir: PathBuf,
}

impl PkiFiles {
    /// The files of a PKI directory written before (by [`Pki::write_dir`] too).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        PkiFiles { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<name>.crt`: the certificate (PEM).
    pub fn cert(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.crt"))
    }

    /// `<name>.key`: its private key (PKCS#8 PEM, mode 0600).
    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// `<name>.chain.pem`: the certificate, then its intermediates (root excluded).
    pub fn chain(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.chain.pem"))
    }

    /// `<ca>.crl`: the CRL that CA publishes (PEM).
    pub fn crl(&self, ca: &str) -> PathBuf {
        self.dir.join(format!("{ca}.crl"))
    }

    /// `<prefix>.bundle.pem`: every filler of a `[[bulk]]` table.
    pub fn bundle(&self, prefix: &str) -> PathBuf {
        self.dir.join(format!("{prefix}.bundle.pem"))
    }

    /// `manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }
}

pub(super) fn write_to(pki: &Pki, dir: &Path) -> Result<PkiFiles, PkiError> {
    write_staged(pki, dir, true)?;
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(PkiFiles { dir })
}

pub(super) fn write_dir(pki: &Pki, dir: &Path) -> Result<(), PkiError> {
    write_staged(pki, dir, false)
}

/// `every_crl`: a CRL file for every named CA, not only those listing something.
fn write_staged(pki: &Pki, dir: &Path, every_crl: bool) -> Result<(), PkiError> {
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
    // Private keys: a Ctrl-C before the rename must not leave them behind.
    let _registered = crate::interrupt::register_temp_dir(staging.path());
    write_files(pki, staging.path(), every_crl)?;
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

fn write_files(pki: &Pki, dir: &Path, every_crl: bool) -> Result<(), PkiError> {
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
            pkcs12: None,
        };
        write_file(&dir.join(&files.cert), c.cert_pem().as_bytes(), false)?;
        write_file(
            &dir.join(&files.key),
            super::key_file::key_file_pem(c)?.as_bytes(),
            true,
        )?;
        write_file(&dir.join(&files.chain), c.chain_pem().as_bytes(), false)?;
        // `pkcs12`: the key and the chain file's certificates, 0600 (it
        // holds the key).
        let mut files = files;
        if let Some(der) = super::key_file::pkcs12_der(c)? {
            let file = format!("{}.p12", c.name);
            write_file(&dir.join(&file), &der, true)?;
            files.pkcs12 = Some(file);
        }
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
    let issuers: Vec<&str> = if every_crl {
        pki.ca_cert_names()
            .filter(|ca| pki.crl(ca).is_some())
            .collect()
    } else {
        pki.crl_issuers().collect()
    };
    for issuer in issuers {
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
