//! `pki generate`: the certificates, keys and CRLs of a PKI spec.

use anyhow::Result;
use clap::{Args, Subcommand};
use mtls_harness::exit_codes;
use mtls_harness::pki::Pki;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct PkiArgs {
    #[command(subcommand)]
    pub command: PkiCommand,
}

#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Generate the certificates, keys and CRLs of a PKI spec into DIR.
    Generate {
        /// The PKI spec (TOML: `[[cert]]` and `[[bulk]]` tables).
        spec: PathBuf,
        /// Output directory; must not exist or be empty.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn pki(args: PkiArgs) -> Result<i32> {
    match args.command {
        PkiCommand::Generate { spec, out } => generate(&spec, &out),
    }
}

fn generate(spec: &Path, out: &Path) -> Result<i32> {
    let started = std::time::Instant::now();
    let (_, pki) = Pki::generate_from_file(spec)?;
    pki.write_dir(out)?;
    let named = pki.certs().iter().filter(|c| c.bulk.is_none()).count();
    println!(
        "wrote {} certificates ({} named, {} bulk) to {} in {:.0} ms",
        pki.certs().len(),
        named,
        pki.certs().len() - named,
        out.display(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(exit_codes::SUCCESS)
}
