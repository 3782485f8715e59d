//! The `mtls-harness` command. Exit codes: 0 all passed, 1 a scenario failed,
//! 2 bad input or setup error, 3 no scenario selected.

mod cli;

use clap::Parser;
use cli::{Cli, Command, PkiCommand};
use mtls_harness::exit_codes;

fn main() {
    let parsed = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit_codes::BAD_INPUT
            } else {
                exit_codes::SUCCESS
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MTLS_HARNESS_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let result: anyhow::Result<i32> = match parsed.command {
        Command::Run(args) => cli::run(args),
        Command::List { dir } => cli::list(dir),
        Command::Explain { id, catalog } => cli::explain(&id, catalog),
        Command::Pki {
            command: PkiCommand::Generate { spec, out },
        } => cli::pki_generate(&spec, &out),
        Command::Serve(args) => cli::serve(args),
        Command::GatewayConfig(args) => cli::gateway_config(args),
        Command::Probe(args) => cli::probe(args),
        Command::Bench(args) => cli::bench(args),
        Command::Fidelity(args) => cli::fidelity(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(exit_codes::BAD_INPUT);
        }
    }
}
