//! The `mtls-harness` command. Exit codes: 0 all passed, 1 a scenario failed,
//! 2 bad input or setup error, 3 no scenario selected, 128 + the signal
//! when SIGINT (130), SIGTERM (143) or SIGHUP (129) stopped it.

mod cli;

use clap::Parser;
use cli::Cli;
use mtls_harness::exit_codes;
use mtls_harness::interrupt::{self, CancelToken, Registry};
use std::time::Duration;

fn main() {
    limit_malloc_arenas();
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
    // First, before any thread starts: SIGINT, SIGTERM and SIGHUP are then
    // taken by one watcher thread (see `interrupt`).
    if let Err(e) = interrupt::install() {
        eprintln!("error: {e}");
        std::process::exit(exit_codes::BAD_INPUT);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("MTLS_HARNESS_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let code = match parsed.command.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            exit_codes::BAD_INPUT
        }
    };
    // An interrupted command stopped its children itself; anything still
    // registered goes now, and the exit code says which signal it was.
    Registry::global().clean_up(Duration::from_secs(2));
    match CancelToken::global().signal() {
        Some(signal) => std::process::exit(signal.exit_code()),
        None => std::process::exit(code),
    }
}

/// glibc gives every thread that allocates its own arena (up to 8 a core)
/// and keeps what is freed in each: the catalog's cases run on the async
/// workers and on blocking threads (PKI generation, revocation waits), so
/// the resident size grew with the length of a run, not with what it holds
/// (five copies of the catalog: 179 MB, of which 85 MB with two arenas).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists.
    // MALLOC_ARENA_MAX, when set, is glibc's own and wins.
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// The error and its causes on one line ([`mtls_harness::error_chain`]).
fn error_chain(e: &anyhow::Error) -> String {
    mtls_harness::error_chain::join(e.chain().map(ToString::to_string))
}
