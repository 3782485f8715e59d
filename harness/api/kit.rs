//! [`TargetKit`]: the PKI to configure your own server with before
//! [`super::Conformance`] judges it (what `mtls-harness target-kit` writes).

use super::Error;
use crate::pki::{IssuedCert, Pki, PkiError, PkiFiles, PkiSpec};
use rustls_pki_types::CertificateRevocationListDer;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The kit's PKI: `root` (trusted by the gateway, signs what the run
/// presents), `gw` (the gateway's certificate), `alice` (a client
/// certificate for your own curl), `other-root` (a CA the gateway must not
/// trust).
pub const KIT_PKI: &str = r#"
[[cert]]
name = "root"
role = "root"
signs_client_certs = true
[[cert]]
name = "other-root"
role = "root"
[[cert]]
name = "gw"
role = "server"
issuer = "root"
sans = ["localhost", "127.0.0.1", "::1"]
[[cert]]
name = "alice"
role = "client"
issuer = "root"
"#;

/// What a server under test is configured with: certificate `gw` (with its
/// key), trust in `root`, and `root`'s CRL, which lists the serial the
/// run's revoked certificates carry. Configure your server from memory
/// ([`TargetKit::pki`], [`TargetKit::root_crl`]) or from the files
/// [`TargetKit::write_to`] writes.
///
/// ```
/// use mtls_harness::prelude::*;
/// let kit = TargetKit::generate()?;
/// let tmp = tempfile::tempdir()?;
/// let files = kit.write_to(tmp.path().join("kit"))?;
/// assert!(files.chain("gw").is_file() && files.key("gw").is_file());
/// assert!(files.cert("root").is_file() && files.crl("root").is_file());
/// assert_eq!(std::fs::read(files.crl("root"))?, kit.root_crl_pem().into_bytes());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TargetKit {
    pki: Pki,
    root_crl: CertificateRevocationListDer<'static>,
    /// Where it was written (the first `write_to`, or a temporary
    /// directory a run made).
    written: Mutex<Option<PathBuf>>,
    temp: Mutex<Option<tempfile::TempDir>>,
}

/// Where [`TargetKit::write_to`] put each file.
#[derive(Debug, Clone)]
pub struct KitFiles {
    files: PkiFiles,
}

impl KitFiles {
    pub fn dir(&self) -> &Path {
        self.files.dir()
    }
    pub fn cert(&self, name: &str) -> PathBuf {
        self.files.cert(name)
    }
    pub fn key(&self, name: &str) -> PathBuf {
        self.files.key(name)
    }
    pub fn chain(&self, name: &str) -> PathBuf {
        self.files.chain(name)
    }
    /// `<ca>.crl`; `root.crl` lists the reserved revoked serial.
    pub fn crl(&self, ca: &str) -> PathBuf {
        self.files.crl(ca)
    }
    /// `gw.pem`: the gateway's chain and key in one file (HAProxy, Envoy).
    pub fn gateway_bundle(&self) -> PathBuf {
        self.files.dir().join("gw.pem")
    }
}

impl TargetKit {
    /// Generate the kit's PKI ([`KIT_PKI`]) and the root's CRL.
    pub fn generate() -> Result<TargetKit, Error> {
        let spec = PkiSpec::from_toml(KIT_PKI, "<target-kit>")?;
        let pki = Pki::generate(&spec)?;
        let root_crl = crate::pki::adopt::revocation_crl(pki.cert("root")?)?;
        Ok(TargetKit {
            pki,
            root_crl,
            written: Mutex::new(None),
            temp: Mutex::new(None),
        })
    }

    /// The PKI (`root`, `other-root`, `gw`, `alice`).
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The root the server trusts.
    pub fn root(&self) -> &IssuedCert {
        self.pki.cert("root").expect("the kit has a root")
    }

    /// The server's certificate.
    pub fn gateway_cert(&self) -> &IssuedCert {
        self.pki.cert("gw").expect("the kit has gw")
    }

    /// The root's CRL (DER): load it, or the revoked-certificate cases fail.
    pub fn root_crl(&self) -> &CertificateRevocationListDer<'static> {
        &self.root_crl
    }

    /// The root's CRL as PEM (what `root.crl` holds).
    pub fn root_crl_pem(&self) -> String {
        IssuedCert::pem_of(&self.root_crl).replace("CERTIFICATE", "X509 CRL")
    }

    /// Write the kit into `dir` (which must not exist or be empty): the
    /// PKI's files, `root.crl` and `gw.pem`. The first directory written is
    /// the one a [`super::Conformance`] run reads.
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<KitFiles, Error> {
        let dir = dir.as_ref();
        self.pki.write_dir(dir)?;
        let dir = dir.canonicalize().map_err(|source| Error::Io {
            what: dir.display().to_string(),
            source,
        })?;
        let write = |name: &str, contents: &[u8], private: bool| -> Result<(), Error> {
            let path = dir.join(name);
            let io = |source| {
                Error::Pki(PkiError::Io {
                    path: path.clone(),
                    source,
                })
            };
            std::fs::write(&path, contents).map_err(io)?;
            #[cfg(unix)]
            if private {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            #[cfg(not(unix))]
            let _ = private;
            Ok(())
        };
        write("root.crl", self.root_crl_pem().as_bytes(), false)?;
        for ca in ["other-root"] {
            if let Some(crl) = self.pki.crl(ca) {
                let pem = IssuedCert::pem_of(crl).replace("CERTIFICATE", "X509 CRL");
                write(&format!("{ca}.crl"), pem.as_bytes(), false)?;
            }
        }
        let gw = self.gateway_cert();
        write("gw.pem", (gw.chain_pem() + &gw.key_pem()).as_bytes(), true)?;
        self.written
            .lock()
            .expect("kit lock")
            .get_or_insert_with(|| dir.clone());
        Ok(KitFiles {
            files: PkiFiles::at(dir),
        })
    }

    /// The directory a run reads: where it was written, else a temporary
    /// one written now (kept as long as the kit).
    pub(crate) fn dir(&self) -> Result<PathBuf, Error> {
        if let Some(dir) = self.written.lock().expect("kit lock").clone() {
            return Ok(dir);
        }
        let temp = tempfile::tempdir()?;
        let dir = temp.path().join("kit");
        self.write_to(&dir)?;
        *self.temp.lock().expect("kit lock") = Some(temp);
        Ok(self
            .written
            .lock()
            .expect("kit lock")
            .clone()
            .unwrap_or(dir))
    }
}
