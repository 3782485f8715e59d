//! Key pairs: generating each [`KeyType`], and the PKCS#8 form handed out.

use super::spec::KeyType;
use rcgen::KeyPair;
use rustls_pki_types::PrivatePkcs8KeyDer;

/// Why a key pair could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("generating a {key_type} key: {source}")]
    Generate {
        key_type: KeyType,
        #[source]
        source: rcgen::Error,
    },
    #[error("generating an RSA key of {bits} bits: {source}")]
    Rsa {
        bits: usize,
        #[source]
        source: rsa::Error,
    },
    #[error("encoding the RSA key as PKCS#8: {0}")]
    RsaPkcs8(#[source] rsa::pkcs8::Error),
    #[error("loading the RSA key for signing: {0}")]
    RsaLoad(#[source] rcgen::Error),
}

impl KeyType {
    /// The RSA modulus size, for the RSA key types.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::Ed25519 => None,
        }
    }
}

/// A fresh key pair of `key_type`. RSA keys sign with SHA-256 (PKCS#1 v1.5).
pub fn generate(key_type: KeyType) -> Result<KeyPair, KeyError> {
    let algorithm = match key_type {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
            return generate_rsa(key_type.rsa_bits().unwrap_or(2048))
        }
    };
    KeyPair::generate_for(algorithm).map_err(|source| KeyError::Generate { key_type, source })
}

/// ring cannot generate RSA keys; the RustCrypto `rsa` crate can.
fn generate_rsa(bits: usize) -> Result<KeyPair, KeyError> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
        .map_err(|source| KeyError::Rsa { bits, source })?;
    let der = key.to_pkcs8_der().map_err(KeyError::RsaPkcs8)?;
    let der = PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256).map_err(KeyError::RsaLoad)
}

/// A second handle on the same key (rcgen's `KeyPair` is not `Clone`).
pub fn duplicate(key: &KeyPair) -> KeyPair {
    let der = PrivatePkcs8KeyDer::from(key.serialize_der());
    KeyPair::from_pkcs8_der_and_sign_algo(&der, key.algorithm())
        .expect("a key rcgen serialised parses back")
}

/// The PKCS#8 DER handed out (and written to `<name>.key`) for a key.
///
/// ring serialises Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key),
/// which OpenSSL 3.0 refuses to load ("unsupported"), so nginx/HAProxy/Apache
/// could not use them. Hand out the RFC 8410 v1 form instead (version 0, the
/// seed only), which OpenSSL, rustls and rcgen all accept.
pub fn output_pkcs8(key: &KeyPair) -> Vec<u8> {
    let der = key.serialize_der();
    if key.algorithm() != &rcgen::PKCS_ED25519 {
        return der;
    }
    // v2 layout: 30 51 | 02 01 01 | 30 05 06 03 2b 65 70 | 04 22 04 20 <seed:32> | [1] public key
    const V2_PREFIX: [u8; 16] = [
        0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    if der.len() < 48 || der[..16] != V2_PREFIX {
        return der;
    }
    let mut v1 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    v1.extend_from_slice(&der[16..48]);
    v1
}

/// The algorithm keys of `key_type` sign with (RSA: SHA-256, PKCS#1 v1.5).
pub fn signature_algorithm(key_type: KeyType) -> &'static rcgen::SignatureAlgorithm {
    match key_type {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_keys_are_handed_out_as_pkcs8_v1() {
        let key = generate(KeyType::Ed25519).unwrap();
        let der = output_pkcs8(&key);
        assert_eq!(der.len(), 48);
        assert_eq!(&der[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
        // rcgen reads the v1 form back as the same key.
        let back = KeyPair::try_from(der.as_slice()).unwrap();
        assert_eq!(back.public_key_raw(), key.public_key_raw());
    }

    #[test]
    fn duplicate_is_the_same_key() {
        let key = generate(KeyType::EcdsaP256).unwrap();
        assert_eq!(duplicate(&key).public_key_raw(), key.public_key_raw());
    }
}
