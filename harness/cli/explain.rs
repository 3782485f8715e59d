//! `explain`: a scenario, its PKI and what each profile is expected to do.

use super::catalog;
use super::output::runtime;
use anyhow::{bail, Result};
use clap::Args;
use mtls_harness::exit_codes;
use mtls_harness::runner::{execute, trace, RunOptions};
use mtls_harness::scenario::Scenario;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Scenario id, e.g. `seeds::flagged_ca_names_401`.
    pub id: String,
    /// Catalog directory (default: ./scenarios).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Also run the scenario on the built-in gateways and print each case's
    /// handshake transcript (decrypted with the client's keys) and gateway log.
    #[arg(long)]
    pub trace: bool,
}

/// Up to five ids that look like `id` (share its last segment or contain it).
fn similar_ids<'a>(scenarios: &'a [Scenario], id: &str) -> Vec<&'a str> {
    scenarios
        .iter()
        .filter(|s| s.id.contains(id) || id.contains(s.id.split("::").last().unwrap_or("")))
        .map(|s| s.id.as_str())
        .take(5)
        .collect()
}

pub fn explain(args: ExplainArgs) -> Result<i32> {
    let id = args.id.as_str();
    let scenarios = catalog::load_catalog_or_default(args.catalog)?;
    let Some(s) = scenarios.iter().find(|s| s.id == id) else {
        let close = similar_ids(&scenarios, id);
        bail!(
            "no scenario `{id}`{}",
            if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean: {})", close.join(", "))
            }
        );
    };
    println!("{}  ({})", s.id, s.path.display());
    println!("  {}", s.file.description);
    if let Some(seed) = &s.file.seed {
        println!("  reproduces field report {seed}");
    }
    println!("\nPKI:");
    for c in &s.file.pki.cert {
        let issuer = c
            .issuer
            .as_deref()
            .map(|i| format!(" issued by {i}"))
            .unwrap_or_else(|| " self-signed".into());
        let defects = if c.defects.is_empty() {
            String::new()
        } else {
            format!(
                "  defects: {}",
                c.defects
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let validity = c
            .validity
            .map(|v| format!("  validity: {v:?}"))
            .unwrap_or_default();
        println!(
            "  {:<20} {:<12}{issuer}{defects}{validity}",
            c.name,
            c.role.as_str()
        );
    }
    for b in &s.file.pki.bulk {
        println!("  {}-* ({} filler {}s)", b.prefix, b.count, b.role.as_str());
    }
    let srv = &s.file.server;
    println!(
        "\nServer: cert {}, client_auth {:?}, trust [{}], ca_names {:?}, TLS {}",
        srv.cert,
        srv.client_auth,
        srv.trust.join(", "),
        srv.ca_names,
        srv.tls
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join("+")
    );
    let cl = &s.file.client;
    println!(
        "Client: wallet [{}], selection {}",
        cl.certs.join(", "),
        cl.selection.as_str()
    );
    println!("\nExpected per profile:");
    let (run, not_run) = s.profiles_to_run();
    for p in run {
        for v in &srv.tls {
            let e = s.expectation(p, *v);
            println!("  {p:<8} TLS {v}: {}", serde_json::to_string(&e)?);
        }
    }
    if !not_run.is_empty() {
        println!("  not run on: {}", not_run.join(", "));
    }
    if args.trace {
        println!("\nOn the wire (built-in gateways):\n");
        let selected = [s];
        let pkis = execute::generate_pkis(&selected)?;
        let report = runtime()?.block_on(execute::run_all(
            &selected,
            &pkis,
            &RunOptions::default(),
            |_, _, _| {},
        ));
        print!("{}", trace::render_traces(&report));
    }
    Ok(exit_codes::SUCCESS)
}
