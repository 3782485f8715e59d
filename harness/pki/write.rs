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
    // Private keys: a Ctrl-C before the rename must not leave them behind.
    let _registered = crate::interrupt::register_temp_dir(staging.path());
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
