//! Reading a user's credential files as a client stack would: a PEM
//! certificate or chain and a PEM key (PKCS#8, PKCS#1 or SEC1; PKCS#8
//! encrypted with a password; PKCS#1 and SEC1 with OpenSSL's traditional
//! `Proc-Type: 4,ENCRYPTED`), a PKCS#12 file (modern PBES2 or legacy RC2/3DES
//! encryption). What the file is (its [`Container`]) is kept: some stacks
//! cannot read some containers, and that is a finding of its own.

use super::CredentialError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How a PEM private key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFormat {
    /// `BEGIN PRIVATE KEY`.
    Pkcs8,
    /// `BEGIN ENCRYPTED PRIVATE KEY` (PBES2 or PBES1).
    EncryptedPkcs8,
    /// `BEGIN RSA PRIVATE KEY`.
    Pkcs1,
    /// `BEGIN EC PRIVATE KEY`.
    Sec1,
    /// `BEGIN RSA PRIVATE KEY` / `BEGIN EC PRIVATE KEY` with
    /// `Proc-Type: 4,ENCRYPTED` (OpenSSL's traditional encryption,
    /// AES-CBC or DES-EDE3-CBC: decrypted with the password).
    TraditionalEncrypted,
}

impl KeyFormat {
    pub fn describe(self) -> &'static str {
        match self {
            KeyFormat::Pkcs8 => "a PKCS#8 PEM key",
            KeyFormat::EncryptedPkcs8 => "an encrypted PKCS#8 PEM key",
            KeyFormat::Pkcs1 => "a PKCS#1 (RSA PRIVATE KEY) PEM key",
            KeyFormat::Sec1 => "a SEC1 (EC PRIVATE KEY) PEM key",
            KeyFormat::TraditionalEncrypted => {
                "a PEM key with OpenSSL's traditional encryption (Proc-Type: 4,ENCRYPTED)"
            }
        }
    }
}

/// How a PKCS#12 file's bags are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pkcs12Encryption {
    /// PBES2 (AES with PBKDF2), what OpenSSL 3 writes by default.
    Modern,
    /// PKCS#12 PBE with RC2-40 or 3DES, what OpenSSL 1.x (`-legacy` in 3)
    /// and older Windows write.
    Legacy,
}

/// What the credential came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Container {
    /// PEM certificate(s) and a PEM key (in the same file or another).
    Pem { key: Option<KeyFormat> },
    Pkcs12 {
        encryption: Pkcs12Encryption,
        /// The legacy cipher's name, e.g. `RC2-40-CBC`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cipher: Option<String>,
    },
    /// A Java keystore in Sun's own JKS format, read through the JDK's
    /// `keytool` (converted to PKCS#12 in a temporary directory).
    Jks,
}

impl Container {
    pub fn describe(&self) -> String {
        match self {
            Container::Pem { key: Some(k) } => format!("PEM certificates with {}", k.describe()),
            Container::Pem { key: None } => "PEM certificates without a key".into(),
            Container::Pkcs12 {
                encryption: Pkcs12Encryption::Modern,
                ..
            } => "a PKCS#12 file (PBES2/AES)".into(),
            Container::Pkcs12 {
                encryption: Pkcs12Encryption::Legacy,
                cipher,
            } => format!(
                "a PKCS#12 file with legacy encryption ({})",
                cipher.as_deref().unwrap_or("PKCS#12 PBE")
            ),
            Container::Jks => "a Java keystore (JKS)".into(),
        }
    }
}

/// A credential as read: its certificates in file order and its key.
#[derive(Debug)]
pub struct Credential {
    pub cert_file: PathBuf,
    pub key_file: Option<PathBuf>,
    pub container: Container,
    /// In the order the file has them.
    pub certs: Vec<CertificateDer<'static>>,
    /// `None`: no key given, or one that could not be decrypted here
    /// (traditional encryption).
    pub key: Option<PrivateKeyDer<'static>>,
}

/// The password from `--password-env VAR`, if given.
pub fn password_from_env(var: Option<&str>) -> Result<Option<String>, CredentialError> {
    let Some(var) = var else { return Ok(None) };
    std::env::var(var)
        .map(Some)
        .map_err(|_| CredentialError::PasswordEnv(var.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, CredentialError> {
    std::fs::read(path).map_err(|source| CredentialError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Read `--cert` (and `--key`): PEM or PKCS#12, told apart by content.
pub fn read_credential(
    cert_file: &Path,
    key_file: Option<&Path>,
    password: Option<&str>,
) -> Result<Credential, CredentialError> {
    let bytes = read(cert_file)?;
    if !is_pem(&bytes) {
        if key_file.is_some() {
            return Err(CredentialError::Unreadable {
                path: cert_file.to_path_buf(),
                reason: "not PEM; a PKCS#12 file holds its own key, so --key does not go with it"
                    .into(),
            });
        }
        return read_pkcs12(cert_file, &bytes, password);
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| CredentialError::Unreadable {
            path: cert_file.to_path_buf(),
            reason: format!("a PEM certificate does not decode: {e}"),
        })?;
    if certs.is_empty() {
        return Err(CredentialError::Unreadable {
            path: cert_file.to_path_buf(),
            reason: "no CERTIFICATE block".into(),
        });
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(c) {
            return Err(CredentialError::Unreadable {
                path: cert_file.to_path_buf(),
                reason: format!("certificate {} is not X.509: {e}", i + 1),
            });
        }
    }
    // The key: in --key, or beside the certificates in the same file.
    let (key_path, key_bytes) = match key_file {
        Some(p) => (p.to_path_buf(), read(p)?),
        None => (cert_file.to_path_buf(), bytes.clone()),
    };
    let key = read_pem_key(&key_path, &key_bytes, password)?;
    if key.is_none() && key_file.is_some() {
        return Err(CredentialError::Unreadable {
            path: key_path,
            reason: "no PRIVATE KEY block".into(),
        });
    }
    let (format, key) = match key {
        Some((f, k)) => (Some(f), k),
        None => (None, None),
    };
    Ok(Credential {
        cert_file: cert_file.to_path_buf(),
        key_file: format.map(|_| key_path),
        container: Container::Pem { key: format },
        certs,
        key,
    })
}

/// The first private key block of `bytes`: its format and the key (`None`
/// when its encryption is one read here only to name it).
#[allow(clippy::type_complexity)]
fn read_pem_key(
    path: &Path,
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Option<(KeyFormat, Option<PrivateKeyDer<'static>>)>, CredentialError> {
    let unreadable = |reason: String| CredentialError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let blocks = pem::parse_many(bytes)
        .map_err(|e| unreadable(format!("a PEM block does not decode: {e}")))?;
    for block in blocks {
        let der = block.contents().to_vec();
        let traditional = block
            .headers()
            .get("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"));
        let key = match block.tag() {
            "PRIVATE KEY" => (
                KeyFormat::Pkcs8,
                Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))),
            ),
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" if traditional => {
                let Some(password) = password else {
                    return Err(CredentialError::PasswordNeeded {
                        path: path.to_path_buf(),
                        what: "a key with OpenSSL's traditional encryption",
                    });
                };
                let dek = block.headers().get("DEK-Info").unwrap_or("");
                let plain = decrypt_traditional(dek, &der, password).map_err(unreadable)?;
                let key = if block.tag() == "RSA PRIVATE KEY" {
                    PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(plain))
                } else {
                    PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(plain))
                };
                // A wrong password can pass the padding check by chance:
                // the key then does not load.
                if rustls::crypto::ring::default_provider()
                    .key_provider
                    .load_private_key(key.clone_key())
                    .is_err()
                {
                    return Err(unreadable(
                        "the key does not decrypt with the password (no key comes out)".into(),
                    ));
                }
                (KeyFormat::TraditionalEncrypted, Some(key))
            }
            "RSA PRIVATE KEY" => (
                KeyFormat::Pkcs1,
                Some(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))),
            ),
            "EC PRIVATE KEY" => (
                KeyFormat::Sec1,
                Some(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))),
            ),
            "ENCRYPTED PRIVATE KEY" => {
                let Some(password) = password else {
                    return Err(CredentialError::PasswordNeeded {
                        path: path.to_path_buf(),
                        what: "an encrypted PKCS#8 key",
                    });
                };
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
                    .map_err(|e| unreadable(format!("encrypted PKCS#8 key: {e}")))?;
                let doc = info.decrypt(password).map_err(|e| {
                    unreadable(format!(
                        "the encrypted PKCS#8 key does not decrypt with the password ({e})"
                    ))
                })?;
                (
                    KeyFormat::EncryptedPkcs8,
                    Some(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                        doc.as_bytes().to_vec(),
                    ))),
                )
            }
            _ => continue,
        };
        return Ok(Some(key));
    }
    Ok(None)
}

/// OpenSSL's traditional PEM encryption undone: `DEK-Info: CIPHER,IV`,
/// the key from `EVP_BytesToKey(MD5, password, IV[..8], 1)`, CBC with
/// PKCS#7 padding. A wrong password shows as bad padding or a key that does
/// not parse.
fn decrypt_traditional(dek: &str, data: &[u8], password: &str) -> Result<Vec<u8>, String> {
    use md5::Digest;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or_else(|| format!("DEK-Info `{dek}` is not CIPHER,IV"))?;
    let iv: Vec<u8> = (0..iv_hex.trim().len() / 2)
        .map(|i| u8::from_str_radix(&iv_hex.trim()[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("DEK-Info IV: {e}"))?;
    type Decrypt = fn(&[u8], &[u8], &[u8]) -> Result<Vec<u8>, String>;
    let (key_len, decrypt): (usize, Decrypt) = match cipher.trim() {
        "AES-128-CBC" => (16, cbc_decrypt::<cbc::Decryptor<aes::Aes128>>),
        "AES-192-CBC" => (24, cbc_decrypt::<cbc::Decryptor<aes::Aes192>>),
        "AES-256-CBC" => (32, cbc_decrypt::<cbc::Decryptor<aes::Aes256>>),
        "DES-EDE3-CBC" => (24, cbc_decrypt::<cbc::Decryptor<des::TdesEde3>>),
        other => {
            return Err(format!(
                "the traditional encryption {other} is not read here (AES-CBC and DES-EDE3-CBC are)"
            ))
        }
    };
    if iv.len() < 8 {
        return Err("DEK-Info IV is shorter than 8 bytes".into());
    }
    let mut key = Vec::with_capacity(key_len + 16);
    let mut last: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut h = md5::Md5::new();
        h.update(&last);
        h.update(password.as_bytes());
        h.update(&iv[..8]);
        last = h.finalize().to_vec();
        key.extend_from_slice(&last);
    }
    key.truncate(key_len);
    decrypt(&key, &iv, data)
}

/// `data` decrypted by the CBC decryptor `D` with PKCS#7 padding.
fn cbc_decrypt<D>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, String>
where
    D: cbc::cipher::KeyIvInit + cbc::cipher::BlockModeDecrypt,
{
    let mut buf = data.to_vec();
    D::new_from_slices(key, iv)
        .map_err(|_| "the DEK-Info IV does not fit the cipher".to_string())?
        .decrypt_padded::<cbc::cipher::block_padding::Pkcs7>(&mut buf)
        .map(<[u8]>::to_vec)
        .map_err(|_| "the key does not decrypt with the password (bad padding)".to_string())
}

/// The legacy PKCS#12 PBE algorithms (1.2.840.113549.1.12.1.x) by the last
/// arc of their OID.
fn legacy_cipher(last_arc: u32) -> &'static str {
    match last_arc {
        1 => "RC4-128",
        2 => "RC4-40",
        3 => "3DES-CBC",
        4 => "2DES-CBC",
        5 => "RC2-128-CBC",
        6 => "RC2-40-CBC",
        _ => "PKCS#12 PBE",
    }
}

/// The encryption a PKCS#12 file uses: the content-encryption algorithm of
/// each encrypted bag, found by its OID (`1.2.840.113549.1.12.1.x` legacy,
/// `1.2.840.113549.1.5.13` PBES2). The weakest one names the file.
fn pkcs12_encryption(bytes: &[u8]) -> (Pkcs12Encryption, Option<String>) {
    // DER of the OID prefix 1.2.840.113549.1.12.1 (the PKCS#12 PBE ids).
    const PKCS12_PBE: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x00];
    let mut legacy: Option<&str> = None;
    // An OID is `06 0a` + these ten bytes with the last replaced by x; the
    // encrypted bags sit in the outer DER as OCTET STRINGs of inner DER, so
    // a scan finds them where a parse would need every bag type.
    for w in bytes.windows(12) {
        if w[0] == 0x06 && w[1] == 0x0a && w[2..11] == PKCS12_PBE[..9] {
            let cipher = legacy_cipher(u32::from(w[11]));
            // RC2-40 is the one OpenSSL 3 reads only with its legacy
            // provider: prefer naming it.
            if legacy.is_none() || cipher == "RC2-40-CBC" {
                legacy = Some(cipher);
            }
        }
    }
    match legacy {
        Some(c) => (Pkcs12Encryption::Legacy, Some(c.to_string())),
        None => (Pkcs12Encryption::Modern, None),
    }
}

fn read_pkcs12(
    path: &Path,
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Credential, CredentialError> {
    let unreadable = |reason: String| CredentialError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    // JKS's magic number (JCEKS: 0xCECECECE is refused below as neither).
    if bytes.starts_with(&[0xfe, 0xed, 0xfe, 0xed]) {
        return read_jks(path, bytes, password);
    }
    // A DER SEQUENCE first: PKCS#12 (or a DER certificate, which clients
    // read as neither a chain nor a key file).
    if bytes.first() != Some(&0x30) {
        return Err(unreadable(
            "neither PEM nor PKCS#12 (DER): not a credential file".into(),
        ));
    }
    if x509_parser::parse_x509_certificate(bytes).is_ok() {
        return Err(unreadable(
            "a DER certificate: clients load a PEM chain and key or a PKCS#12 file; convert with `openssl x509 -inform der -in F -out F.pem`".into(),
        ));
    }
    let (encryption, cipher) = pkcs12_encryption(bytes);
    let archive =
        p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password.unwrap_or("")).map_err(|e| {
            match password {
                None => CredentialError::PasswordNeeded {
                    path: path.to_path_buf(),
                    what: "a PKCS#12 file (it did not open with an empty password)",
                },
                Some(_) => unreadable(format!(
                    "the PKCS#12 file does not open with the password: {e}"
                )),
            }
        })?;
    let key = archive
        .keys
        .first()
        .map(|k| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(k.key.as_der().to_vec())));
    // The key's certificates first (by local key id), in file order.
    let key_id = archive
        .keys
        .first()
        .and_then(|k| k.local_key_id.as_ref())
        .map(|id| id.0.clone());
    let mut certs: Vec<CertificateDer<'static>> = Vec::new();
    for bag in &archive.certs {
        let der = CertificateDer::from(bag.cert.as_der().to_vec());
        if key_id.is_some() && bag.local_key_id.as_deref() == key_id.as_deref() {
            certs.insert(0, der);
        } else {
            certs.push(der);
        }
    }
    if certs.is_empty() {
        return Err(unreadable("the PKCS#12 file holds no certificate".into()));
    }
    Ok(Credential {
        cert_file: path.to_path_buf(),
        key_file: key.as_ref().map(|_| path.to_path_buf()),
        container: Container::Pkcs12 { encryption, cipher },
        certs,
        key,
    })
}

/// A JKS keystore, converted by the JDK's `keytool` into a PKCS#12 file
/// in a temporary directory (removed on return) and read from there.
fn read_jks(
    path: &Path,
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Credential, CredentialError> {
    let unreadable = |reason: String| CredentialError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let Some(password) = password else {
        return Err(CredentialError::PasswordNeeded {
            path: path.to_path_buf(),
            what: "a Java keystore (JKS)",
        });
    };
    let keytool = crate::real::find_installed("keytool", "openjdk-17-jdk-headless")
        .map_err(|_| {
            unreadable(
                "a Java keystore (JKS): reading it needs a JDK's keytool, which is not installed (apt-get install openjdk-17-jdk-headless), or convert it where one is: `keytool -importkeystore -srckeystore F.jks -destkeystore F.p12 -deststoretype PKCS12`".into(),
            )
        })?;
    let tmp = tempfile::tempdir().map_err(|source| CredentialError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let _registered = crate::interrupt::register_temp_dir(tmp.path());
    let source = tmp.path().join("in.jks");
    std::fs::write(&source, bytes).map_err(|e| CredentialError::Io {
        path: source.clone(),
        source: e,
    })?;
    let converted = tmp.path().join("out.p12");
    let out = crate::real::bounded::output_within(
        std::process::Command::new(keytool)
            .args(["-importkeystore", "-noprompt", "-srcstoretype", "JKS"])
            .arg("-srckeystore")
            .arg(&source)
            .args(["-deststoretype", "PKCS12"])
            .arg("-destkeystore")
            .arg(&converted)
            // keytool takes passwords from the environment by name.
            .args(["-srcstorepass:env", "MTLS_JKS_PASSWORD"])
            .args(["-deststorepass:env", "MTLS_JKS_PASSWORD"])
            .env("MTLS_JKS_PASSWORD", password)
            .env("JAVA_TOOL_OPTIONS", "-XX:-UsePerfData"),
        crate::real::bounded::SETUP_LIMIT,
    )
    .map_err(|e| unreadable(format!("keytool: {e}")))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        return Err(unreadable(format!(
            "keytool could not read the JKS keystore: {}",
            said.lines()
                .find(|l| l.contains("keytool error") || l.contains("Exception"))
                .unwrap_or(said.trim())
        )));
    }
    let p12 = std::fs::read(&converted).map_err(|source| CredentialError::Io {
        path: converted.clone(),
        source,
    })?;
    let mut cred = read_pkcs12(path, &p12, Some(password))?;
    cred.container = Container::Jks;
    Ok(cred)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An encrypted bag's AlgorithmIdentifier OID, DER.
    fn pbe_oid(last: u8) -> Vec<u8> {
        vec![
            0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, last,
        ]
    }

    #[test]
    fn pkcs12_encryption_is_named_by_its_weakest_bag() {
        assert_eq!(
            pkcs12_encryption(&[0x30, 0x03, 0x02, 0x01, 0x03]).0,
            Pkcs12Encryption::Modern
        );
        let mut both = pbe_oid(3);
        both.extend(pbe_oid(6));
        let (enc, cipher) = pkcs12_encryption(&both);
        assert_eq!(enc, Pkcs12Encryption::Legacy);
        assert_eq!(cipher.as_deref(), Some("RC2-40-CBC"));
        assert_eq!(
            pkcs12_encryption(&pbe_oid(3)).1.as_deref(),
            Some("3DES-CBC")
        );
    }
}
