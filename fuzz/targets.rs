//! The bodies of the fuzz targets, shared by `cargo fuzz` (fuzz_targets/) and
//! the stable replay of the corpora (tests/fuzz_corpus.rs). Each takes any
//! bytes and must return (a value or a typed error), never panic or hang.

use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::probe::wire;
use mtls_harness::scenario::Scenario;
use mtls_harness::tls::client::{name_to_string, WalletEntry};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A scenario file: TOML parsing and every validation rule.
pub fn scenario_loader(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = Scenario::from_source("fuzz::case", Path::new("fuzz/case.toml"), text);
}

/// A policy file (`run --policy`): TOML parsing and every validation rule.
pub fn policy_loader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = mtls_harness::policy::Policy::from_toml(&text, Path::new("fuzz/policy.toml"));
}

/// A PKI spec for `pki generate`: parsing and validation (not generation:
/// a valid spec may ask for 100,000 RSA keys).
pub fn pki_spec(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(spec) = PkiSpec::from_toml(&text, "fuzz.toml") {
        let _ = Pki::validate_spec(&spec, "fuzz.toml", &text);
    }
}

/// Splits the input at the first 0xff byte: certificate file, key file.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

const MANIFEST: &str = r#"{"certs":[{"name":"a","role":"client","subject":"CN=a","serial":"01","issuer":null,"key_type":"ecdsa-p256","defects":[],"signs_client_certs":false,"files":{"cert":"a.crt","key":"a.key","chain":"a.chain.pem"}}],"crls":{},"bulk":[]}"#;

thread_local! {
    /// This thread's `--pki` directory (tests replay on several threads).
    static PKI_DIR: OnceLock<PathBuf> = const { OnceLock::new() };
}

/// A `--pki` directory whose manifest names one certificate, `a`; its files
/// are rewritten with the input on every call. [`remove_pki_dir`] removes it.
pub fn pki_dir() -> PathBuf {
    PKI_DIR.with(|d| {
        d.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!(
                "mtls-harness-fuzz-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::create_dir_all(&dir).expect("fuzz dir");
            std::fs::write(dir.join("manifest.json"), MANIFEST).expect("manifest");
            dir
        })
        .clone()
    })
}

/// Remove this thread's `--pki` directory.
pub fn remove_pki_dir() {
    PKI_DIR.with(|d| {
        if let Some(dir) = d.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    });
}

/// PEM and DER as `--cert`/`--key` (probe) and a `--pki` directory (run,
/// bench, serve) read them: the certificate file, then the key file.
pub fn pem_der(data: &[u8]) {
    let (cert, key) = split(data);
    // --cert / --key: PEM blocks, each certificate parsed as X.509, the key loaded.
    let chain: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(cert).collect();
    if let (Ok(chain), Ok(key)) = (chain, PrivateKeyDer::from_pem_slice(key)) {
        if !chain.is_empty() {
            let _ = WalletEntry::new("fuzz", chain, key);
        }
    }
    // The same bytes as raw DER, as a client's chain carries them.
    if let Ok(key) = PrivateKeyDer::try_from(key.to_vec()) {
        let _ = WalletEntry::new("fuzz", vec![CertificateDer::from(cert.to_vec())], key);
    }
    // --pki DIR.
    let dir = pki_dir();
    let dir = dir.as_path();
    let written = std::fs::write(dir.join("a.crt"), cert)
        .and_then(|_| std::fs::write(dir.join("a.chain.pem"), cert))
        .and_then(|_| std::fs::write(dir.join("a.key"), key));
    if written.is_ok() {
        let _ = Pki::load_dir(dir);
    }
}

/// The CA names of a CertificateRequest read from a raw TLS 1.2 flight (the
/// probe's decoder for lists rustls refuses), each shown as a readable name.
pub fn ca_names(data: &[u8]) {
    if let Ok(Some(list)) = wire::ca_names_in_flight(data) {
        for n in &list.names {
            let _ = name_to_string(n);
        }
    }
    if let Ok(names) = wire::decode_ca_name_list(data) {
        for n in &names {
            let _ = name_to_string(n);
        }
    }
    let _ = wire::tls12_certificate_request(data);
}
