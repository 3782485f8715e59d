//! Replays every input under `fuzz/corpus/<target>/` through the body of
//! that fuzz target on stable Rust: the seeds, and every input the fuzzers
//! kept or that once crashed them, must end without a panic. `cargo +nightly
//! fuzz run <target>` explores further (fuzz/README.md).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 5] = [
    ("scenario_loader", targets::scenario_loader),
    ("policy_loader", targets::policy_loader),
    ("pki_spec", targets::pki_spec),
    ("pem_der", targets::pem_der),
    ("ca_names", targets::ca_names),
];

#[test]
fn every_corpus_input_ends_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failed = Vec::new();
    for (name, body) in TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{}: no corpus", dir.display());
        for input in &inputs {
            let data = std::fs::read(input).expect("corpus input");
            if std::panic::catch_unwind(|| body(&data)).is_err() {
                failed.push(input.display().to_string());
            }
        }
        eprintln!("{name}: {} inputs replayed", inputs.len());
    }
    targets::remove_pki_dir();
    assert!(failed.is_empty(), "panicked on: {failed:?}");
}

/// The seeds are meaningful: a valid input gets through each loader (so the
/// fuzzers start from inputs that reach the deep code, not only errors).
#[test]
fn the_seeds_load() {
    use mtls_harness::pki::{Pki, PkiSpec};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let text = std::fs::read_to_string(root.join("pki_spec/seed-example")).unwrap();
    let spec = PkiSpec::from_toml(&text, "seed").expect("the example spec parses");
    Pki::validate_spec(&spec, "seed", &text).expect("and validates");
    let policy = std::fs::read_to_string(root.join("policy_loader/seed-nginx")).unwrap();
    mtls_harness::policy::Policy::from_toml(&policy, Path::new("seed-nginx"))
        .expect("the nginx policy seed loads");
    let flight = std::fs::read(root.join("ca_names/seed-three")).unwrap();
    let names = mtls_harness::probe::wire::ca_names_in_flight(&flight)
        .expect("decodes")
        .expect("has a CertificateRequest");
    assert_eq!(names.count, 3);
    // A real certificate and key get through `--pki` loading.
    let seed = std::fs::read(root.join("pem_der/seed-pem-alice")).unwrap();
    targets::pem_der(&seed);
    let loaded = Pki::load_dir(&targets::pki_dir());
    targets::remove_pki_dir();
    let pki = loaded.expect("the seed loads as a --pki directory");
    assert_eq!(pki.certs().len(), 1);
}
