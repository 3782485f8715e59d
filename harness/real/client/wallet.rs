//! A scenario's wallet as files a real client can load: per certificate its
//! leaf, the chain it sends, its key (PKCS#8 PEM) and, made on demand with
//! `openssl pkcs12`, a PKCS#12 file (Node, Java, the browsers' NSS import).

use super::RealClientError;
use crate::pki::IssuedCert;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The password of every PKCS#12 file the harness writes (a throwaway
/// wallet: the files live only in the run's private directory).
pub const WALLET_PASSWORD: &str = "mtls-harness";

/// One wallet certificate's files.
#[derive(Debug, Clone)]
pub struct WalletFiles {
    /// The PKI name (`alice`).
    pub name: String,
    /// The leaf's subject as the gateway records it.
    pub subject: String,
    /// The leaf alone (PEM).
    pub leaf: PathBuf,
    /// The leaf and the intermediates the scenario sends (PEM).
    pub chain: PathBuf,
    /// The private key (PKCS#8 PEM).
    pub key: PathBuf,
    /// The intermediates it sends, when there are any (PEM).
    pub intermediates: Option<PathBuf>,
    /// Where [`Self::p12`] writes the PKCS#12 file.
    p12: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RealClientError + '_ {
    move |source| RealClientError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl WalletFiles {
    /// Write `cert`'s files into `dir` (file stems `<index>-<name>`).
    pub fn write(
        dir: &Path,
        index: usize,
        cert: &IssuedCert,
        send_intermediates: bool,
    ) -> Result<Self, RealClientError> {
        let stem = format!("{index}-{}", cert.name);
        let leaf = dir.join(format!("{stem}.crt"));
        let chain = dir.join(format!("{stem}.chain.pem"));
        let key = dir.join(format!("{stem}.key"));
        std::fs::write(&leaf, cert.cert_pem()).map_err(io(&leaf))?;
        let mut sent = String::new();
        // A chain file that holds the leaf alone (`chain_in_file = false`)
        // is what the client has: it sends no intermediate.
        if send_intermediates && cert.files.chain_in_file {
            for der in &cert.chain {
                sent.push_str(&IssuedCert::pem_of(der));
            }
        }
        std::fs::write(&chain, format!("{}{sent}", cert.cert_pem())).map_err(io(&chain))?;
        let intermediates = if sent.is_empty() {
            None
        } else {
            let p = dir.join(format!("{stem}.intermediates.pem"));
            std::fs::write(&p, sent).map_err(io(&p))?;
            Some(p)
        };
        std::fs::write(&key, cert.key_pem()).map_err(io(&key))?;
        let subject = x509_parser::parse_x509_certificate(&cert.der)
            .map(|(_, c)| c.subject().to_string())
            .unwrap_or_default();
        Ok(WalletFiles {
            name: cert.name.clone(),
            subject,
            leaf,
            chain,
            key,
            intermediates,
            p12: dir.join(format!("{stem}.p12")),
        })
    }

    /// Files written elsewhere (the credential grid's): `p12`, a PKCS#12
    /// file with the password [`WALLET_PASSWORD`], is used as it is.
    pub fn existing(
        name: &str,
        subject: &str,
        leaf: PathBuf,
        chain: PathBuf,
        key: PathBuf,
        p12: PathBuf,
    ) -> WalletFiles {
        WalletFiles {
            name: name.to_string(),
            subject: subject.to_string(),
            leaf,
            chain,
            key,
            intermediates: None,
            p12,
        }
    }

    /// The PKCS#12 file of this certificate, its chain and key (friendly
    /// name = the PKI name, password [`WALLET_PASSWORD`]), made once.
    pub fn p12(&self) -> Result<PathBuf, RealClientError> {
        if self.p12.is_file() {
            return Ok(self.p12.clone());
        }
        let openssl = crate::real::kind::find_installed("openssl", "openssl")
            .map_err(RealClientError::Missing)?;
        let out = crate::real::bounded::output_within(
            Command::new(&openssl)
                .args(["pkcs12", "-export", "-in"])
                .arg(&self.chain)
                .arg("-inkey")
                .arg(&self.key)
                .arg("-out")
                .arg(&self.p12)
                .args(["-name", &self.name, "-passout"])
                .arg(format!("pass:{WALLET_PASSWORD}")),
            crate::real::bounded::SETUP_LIMIT,
        )?;
        if !out.status.success() {
            return Err(RealClientError::Prepare {
                what: format!("PKCS#12 of `{}`", self.name),
                log: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(self.p12.clone())
    }
}
