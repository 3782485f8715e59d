//! `Conformance::trials()`: the catalog as one test per case of a
//! `harness = false` test, the way a team adds it to its own `cargo test`.

use mtls_harness::prelude::*;

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let trials = Conformance::builtin(Profile::Nginx)
        .only(["validity::*", "seeds::002_*"])
        .trials()
        .expect("trials");
    assert!(
        trials.len() >= 4,
        "one trial per case: {} trials",
        trials.len()
    );
    libtest_mimic::run(&args, trials).exit_code()
}
