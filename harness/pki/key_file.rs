//! A certificate's key and PKCS#12 files as `[[cert]]` asks: the key as
//! PKCS#8, PKCS#1 (RSA) or SEC1 (ECDSA), PKCS#8 encrypted with a password,
//! and `<name>.p12` with modern (PBES2/AES-256) or legacy (RC2-40 for the
//! certificates, 3DES for the key, what OpenSSL 1.x wrote) encryption.

use super::spec::{KeyFileFormat, KeyType};
use super::x509::pem_block;
use super::IssuedCert;

/// Why a key or PKCS#12 file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{name}: key_format = \"{format}\" does not fit a {key} key")]
    Format {
        name: String,
        format: &'static str,
        key: KeyType,
    },
    #[error("{name}: {what}: {reason}")]
    Encode {
        name: String,
        what: &'static str,
        reason: String,
    },
}

/// Whether `format` can hold a key of `key`: PKCS#1 is RSA's, SEC1 is
/// ECDSA's; PKCS#8 holds all.
pub fn format_fits(format: KeyFileFormat, key: KeyType) -> bool {
    match format {
        KeyFileFormat::Pkcs8 => true,
        KeyFileFormat::Pkcs1 => {
            matches!(key, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
        }
        KeyFileFormat::Sec1 => matches!(key, KeyType::EcdsaP256 | KeyType::EcdsaP384),
    }
}

fn encode_err<'a>(name: &'a str, what: &'static str) -> impl FnOnce(String) -> KeyFileError + 'a {
    move |reason| KeyFileError::Encode {
        name: name.to_string(),
        what,
        reason,
    }
}

/// The PEM text of `cert`'s key file.
pub fn key_file_pem(cert: &IssuedCert) -> Result<String, KeyFileError> {
    let files = &cert.files;
    if !format_fits(files.key_format, cert.key_type) {
        return Err(KeyFileError::Format {
            name: cert.name.clone(),
            format: files.key_format.as_str(),
            key: cert.key_type,
        });
    }
    let err = |what| encode_err(&cert.name, what);
    let info = pkcs8::PrivateKeyInfoRef::try_from(cert.key_pkcs8.as_slice())
        .map_err(|e| err("the PKCS#8 key")(e.to_string()))?;
    match (files.key_format, &files.key_encryption) {
        (KeyFileFormat::Pkcs8, None) => Ok(cert.key_pem()),
        (KeyFileFormat::Pkcs8, Some(enc)) => {
            let mut salt = [0u8; 16];
            let mut iv = [0u8; 16];
            let rng = ring::rand::SystemRandom::new();
            ring::rand::SecureRandom::fill(&rng, &mut salt)
                .and_then(|()| ring::rand::SecureRandom::fill(&rng, &mut iv))
                .map_err(|_| err("random salt")("the system RNG failed".into()))?;
            // OpenSSL 3's default for `openssl pkcs8 -topk8 -v2 aes-256-cbc`.
            let params =
                pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2048, &salt, iv)
                    .map_err(|e| err("PBES2 parameters")(e.to_string()))?;
            let doc = info
                .encrypt_with_params(params, enc.password.as_bytes())
                .map_err(|e| err("encrypting the key")(e.to_string()))?;
            Ok(pem_block("ENCRYPTED PRIVATE KEY", doc.as_bytes()))
        }
        // A PKCS#8 RSA key's privateKey octets are the PKCS#1 RSAPrivateKey.
        (KeyFileFormat::Pkcs1, None) => {
            Ok(pem_block("RSA PRIVATE KEY", info.private_key.as_bytes()))
        }
        (KeyFileFormat::Sec1, None) => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| err("the EC curve")(e.to_string()))?;
            let sec1 = sec1_with_curve(info.private_key.as_bytes(), &curve.to_string())
                .map_err(err("the SEC1 key"))?;
            Ok(pem_block("EC PRIVATE KEY", &sec1))
        }
        (_, Some(_)) => Err(err("key_encryption")(
            "only a PKCS#8 key file is written encrypted".into(),
        )),
    }
}

/// The ECPrivateKey of a PKCS#8 key with its curve written in
/// (`parameters [0]`): PKCS#8 carries the curve in its AlgorithmIdentifier,
/// and OpenSSL refuses a SEC1 file without it ("missing parameters").
fn sec1_with_curve(ec_private_key: &[u8], curve_oid: &str) -> Result<Vec<u8>, String> {
    let arcs: Vec<u64> = curve_oid
        .split('.')
        .map(|a| a.parse::<u64>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let oid = yasna::models::ObjectIdentifier::from_slice(&arcs);
    let (version, key, public) = yasna::parse_der(ec_private_key, |r| {
        r.read_sequence(|r| {
            let version = r.next().read_u8()?;
            let key = r.next().read_bytes()?;
            // Skip parameters if present; keep the public key.
            let _ = r.read_optional(|r| r.read_tagged(yasna::Tag::context(0), |r| r.read_oid()))?;
            let public = r.read_optional(|r| {
                r.read_tagged(yasna::Tag::context(1), |r| r.read_bitvec_bytes())
            })?;
            Ok((version, key, public))
        })
    })
    .map_err(|e| e.to_string())?;
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(version);
            w.next().write_bytes(&key);
            w.next()
                .write_tagged(yasna::Tag::context(0), |w| w.write_oid(&oid));
            if let Some((bytes, bits)) = &public {
                w.next().write_tagged(yasna::Tag::context(1), |w| {
                    w.write_bitvec_bytes(bytes, *bits)
                });
            }
        })
    }))
}

/// The DER of `cert`'s PKCS#12 file, if it asks for one: its key and the
/// certificates of its chain file.
pub fn pkcs12_der(cert: &IssuedCert) -> Result<Option<Vec<u8>>, KeyFileError> {
    let Some(p12) = &cert.files.pkcs12 else {
        return Ok(None);
    };
    let err = |what| encode_err(&cert.name, what);
    let key = p12_keystore::PrivateKey::from_der(&cert.key_pkcs8)
        .map_err(|e| err("the PKCS#8 key")(e.to_string()))?;
    let certs = cert
        .chain_file_certs()
        .iter()
        .map(|c| p12_keystore::Certificate::from_der(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err("a certificate")(e.to_string()))?;
    let chain = p12_keystore::PrivateKeyChain::new(cert.serial.as_bytes(), key, certs);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        &cert.name,
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    let writer = store.writer(&p12.password);
    let writer = if p12.legacy {
        // OpenSSL 1.x's `pkcs12 -export` (OpenSSL 3's `-legacy`): RC2-40.
        writer
            .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithShaAnd40BitRc4Cbc)
            .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha1)
    } else {
        writer
            .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
    };
    writer
        .write()
        .map(Some)
        .map_err(|e| err("writing the PKCS#12 file")(e.to_string()))
}
