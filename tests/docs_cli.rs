//! docs/cli.md is what the binary's clap definitions generate: every command
//! with its long help, and the exit codes. `UPDATE_DOCS=1` rewrites it.

use std::path::Path;
use std::process::Command;

fn generated() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mtls-harness"))
        .args(["__docs", "cli"])
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "__docs cli failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn docs_cli_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let fresh = generated();
    if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("docs/cli.md written");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/cli.md is stale (the CLI's clap definitions changed): \
         regenerate it with `UPDATE_DOCS=1 cargo test --test docs_cli` and commit it"
    );
}

#[test]
fn the_docs_cover_every_command_and_exit_code() {
    let md = generated();
    for command in [
        "run",
        "list",
        "explain",
        "pki",
        "pki generate",
        "serve",
        "gateway-config",
        "probe",
        "bench",
        "fidelity",
    ] {
        let heading = format!("\n## `mtls-harness {command}`\n");
        assert!(md.contains(&heading), "no section for `{command}`");
    }
    // Options with their long help and the values the registries give.
    assert!(md.contains("--trust-anchors <TRUST_ANCHORS>"), "{md}");
    assert!(md.contains("real:openssl"), "{md}");
    assert!(
        !md.contains("## `mtls-harness __docs`"),
        "the hidden command is documented"
    );
    for code in 0..=3 {
        assert!(md.contains(&format!("\n| {code} | ")), "exit code {code}");
    }
}
