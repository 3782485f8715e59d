//! Every scenario of the catalog (`scenarios/`) as a test: one trial per
//! scenario x gateway profile x TLS version, named `<id> [<profile> TLS<v>]`.
//!
//! A trial passes only on a PASS verdict. A SKIP is a failure under CI
//! (`support::in_ci`) and an `ignored` trial (reason printed) otherwise:
//! never a silent pass.

mod support;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mtls_harness::backend::BuiltinGateway;
use mtls_harness::observation::TlsVersion;
use mtls_harness::oracle::Verdict;
use mtls_harness::runner::execute::{generate_pkis, plan, run_case, RunOptions};
use mtls_harness::scenario::{load_catalog, Scenario};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// The catalog must keep at least this many scenarios.
const MIN_SCENARIOS: usize = 40;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");

    let scenarios = match load_catalog(&root) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "error: cannot load the scenario catalog {}:\n{e}",
                root.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let selected: Vec<&Scenario> = scenarios.iter().collect();
    let pkis = match generate_pkis(&selected) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot generate a scenario PKI:\n{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    let opts = RunOptions::default();
    let ci = support::in_ci();
    let mut trials = Vec::new();
    let mut versions_seen = Vec::new();
    for (scenario, pki) in scenarios.iter().zip(pkis) {
        let cases = plan(scenario, &opts).cases;
        for (profile, tls) in cases {
            if !versions_seen.contains(&tls) {
                versions_seen.push(tls);
            }
            let name = format!("{} [{} TLS{}]", scenario.id, profile.name(), tls);
            let scenario = scenario.clone();
            let pki = Arc::clone(&pki);
            let runtime = Arc::clone(&runtime);
            let timeouts = opts.timeouts;
            trials.push(Trial::ignorable_test(name, move || {
                let result = runtime.block_on(run_case(
                    &BuiltinGateway,
                    &scenario,
                    &pki,
                    profile,
                    tls,
                    timeouts,
                ));
                match result.verdict {
                    Verdict::Pass => Ok(Completion::Completed),
                    Verdict::Skip { ref reason } if !ci => {
                        println!("SKIP {}: {reason}", result.case_name());
                        Ok(Completion::ignored_with(result.verdict.to_string()))
                    }
                    ref other => Err(Failed::from(other.to_string())),
                }
            }));
        }
    }

    let count = scenarios.len();
    trials.push(Trial::test("catalog::size_and_tls_versions", move || {
        if count < MIN_SCENARIOS {
            return Err(
                format!("catalog has {count} scenarios, want at least {MIN_SCENARIOS}").into(),
            );
        }
        for v in TlsVersion::ALL {
            if !versions_seen.contains(&v) {
                return Err(format!("no scenario runs on TLS {v}").into());
            }
        }
        Ok(())
    }));

    libtest_mimic::run(&args, trials).exit_code()
}
