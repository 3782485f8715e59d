//! An NSS database holding the wallet (the browsers' certificate store):
//! made with `certutil -N` (empty password), each certificate imported with
//! `pk12util` in wallet order, and the server's CA added trusted for TLS
//! servers (`-t C,,`) so the browser verifies the gateway as usual.

use super::{ClientJob, RealClientError, WALLET_PASSWORD};
use std::path::Path;
use std::process::Command;

fn tool(name: &str) -> Result<std::path::PathBuf, RealClientError> {
    crate::real::kind::find_installed(name, "libnss3-tools").map_err(RealClientError::Missing)
}

fn run(program: &Path, args: &[String], what: &str) -> Result<(), RealClientError> {
    let out = crate::real::bounded::output_within(
        Command::new(program).args(args),
        crate::real::bounded::SETUP_LIMIT,
    )?;
    if out.status.success() {
        Ok(())
    } else {
        Err(RealClientError::Prepare {
            what: what.into(),
            log: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

/// Make the database in `db` (a directory) for `job`'s wallet.
pub(crate) fn make_db(db: &Path, job: &ClientJob<'_>) -> Result<(), RealClientError> {
    std::fs::create_dir_all(db).map_err(|source| RealClientError::Io {
        path: db.to_path_buf(),
        source,
    })?;
    let certutil = tool("certutil")?;
    let pk12util = tool("pk12util")?;
    let dbarg = format!("sql:{}", db.display());
    run(
        &certutil,
        &[
            "-N".into(),
            "-d".into(),
            dbarg.clone(),
            "--empty-password".into(),
        ],
        "an NSS database",
    )?;
    for w in job.wallet {
        let p12 = w.p12()?;
        run(
            &pk12util,
            &[
                "-d".into(),
                dbarg.clone(),
                "-i".into(),
                p12.display().to_string(),
                "-W".into(),
                WALLET_PASSWORD.into(),
            ],
            &format!("importing `{}` into the NSS database", w.name),
        )?;
    }
    run(
        &certutil,
        &[
            "-A".into(),
            "-d".into(),
            dbarg,
            "-n".into(),
            "mtls-harness server CA".into(),
            "-t".into(),
            "C,,".into(),
            "-i".into(),
            job.server_ca.display().to_string(),
        ],
        "trusting the server's CA in the NSS database",
    )
}
