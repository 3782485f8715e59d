//! Command-line interface: clap parses, one module per command calls the
//! library and prints. Handlers return the process exit code; errors become
//! exit code 2 in `main`.

mod args;
mod bench;
mod bench_args;
mod bench_plot;
mod bench_target;
mod catalog;
mod check_client;
mod docs;
mod explain;
mod fidelity;
mod flake;
mod gateway_config;
mod gateway_under_test;
mod list;
mod output;
mod pki;
mod probe;
mod report;
mod run;
mod serve;
mod target_kit;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "mtls-harness",
    version,
    about = "Test harness and conformance suite for mutual TLS (client-certificate) authentication"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the scenario catalog against the built-in gateways.
    Run(run::RunArgs),
    /// List scenario ids with their descriptions.
    List(list::ListArgs),
    /// Show a scenario, its PKI and what each profile is expected to do.
    Explain(explain::ExplainArgs),
    /// PKI tools.
    Pki(pki::PkiArgs),
    /// Run one built-in gateway for your own client to connect to.
    Serve(serve::ServeArgs),
    /// Write the config (and PKI files) a real gateway gets for a scenario:
    /// what `run --gateway real:X` starts, for you to diff against yours.
    GatewayConfig(gateway_config::GatewayConfigArgs),
    /// Write a PKI, its CRL and the lines to paste into your gateway's
    /// config, ready for `run --target`.
    TargetKit(target_kit::TargetKitArgs),
    /// Diagnose a target: does it ask for a certificate, which CA names, why
    /// yours would not be sent.
    Probe(probe::ProbeArgs),
    /// Check your own client credential (PEM, PKCS#12): does the key match,
    /// is it valid, is the chain complete and in order, would a client send
    /// it and the target accept it.
    CheckClient(check_client::CheckClientArgs),
    /// Handshake throughput and CPU against the built-in gateway or real
    /// ones with large trust stores, with ratios against the first
    /// (baseline) point.
    Bench(bench_args::BenchArgs),
    /// Work with reports: `report merge` joins those of several machines.
    Report(report::ReportArgs),
    /// Run each scenario on the built-in profile and on the real gateway it
    /// models and tabulate agreement.
    Fidelity(fidelity::FidelityArgs),
    /// Print generated documentation (docs/cli.md).
    #[command(name = "__docs", hide = true)]
    Docs(docs::DocsArgs),
    /// Compare JSON run reports and print every case whose outcome changed
    /// (`ci/flake`).
    #[command(name = "__flake", hide = true)]
    Flake(flake::FlakeArgs),
}

impl Command {
    /// Run the command; the exit code it asks for.
    pub fn run(self) -> Result<i32> {
        match self {
            Command::Run(args) => run::run(args),
            Command::List(args) => list::list(args),
            Command::Explain(args) => explain::explain(args),
            Command::Pki(args) => pki::pki(args),
            Command::Serve(args) => serve::serve(args),
            Command::GatewayConfig(args) => gateway_config::gateway_config(args),
            Command::Probe(args) => probe::probe(args),
            Command::CheckClient(args) => check_client::check_client(args),
            Command::TargetKit(args) => target_kit::target_kit(args),
            Command::Bench(args) => bench::bench(args),
            Command::Report(args) => report::report(args),
            Command::Fidelity(args) => fidelity::fidelity(args),
            Command::Docs(args) => docs::docs(args),
            Command::Flake(args) => flake::flake(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definition_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
