//! docs/cli.md is what the binary's clap definitions generate: every command
//! with its long help, and the exit codes; so is the README's synopsis (the
//! block between its `synopsis:start` and `synopsis:end` markers).
//! `UPDATE_DOCS=1` rewrites both.

mod support;

use std::path::Path;

fn generated() -> String {
    docs("cli")
}

/// `mtls-harness __docs TOPIC`.
fn docs(topic: &str) -> String {
    let out = support::run(&["__docs", topic]);
    assert_eq!(out.code, 0, "__docs {topic} failed: {}", out.stderr);
    out.stdout
}

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1")
}

const SYNOPSIS_START: &str = "<!-- synopsis:start";
const SYNOPSIS_END: &str = "<!-- synopsis:end -->";

/// README.md with its synopsis block replaced by `synopsis` (a shell code
/// block); the markers themselves stay.
fn with_synopsis(readme: &str, synopsis: &str) -> String {
    let start = readme
        .find(SYNOPSIS_START)
        .expect("README.md has a `<!-- synopsis:start` marker");
    let body = start + readme[start..].find("-->\n").expect("marker closed") + 4;
    let end = readme[body..]
        .find(SYNOPSIS_END)
        .map(|i| body + i)
        .expect("README.md has a `<!-- synopsis:end -->` marker");
    format!(
        "{}```sh\n{synopsis}```\n{}",
        &readme[..body],
        &readme[end..]
    )
}

#[test]
fn readme_synopsis_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let committed = std::fs::read_to_string(&path).expect("README.md");
    let fresh = with_synopsis(&committed, &docs("synopsis"));
    if updating() {
        std::fs::write(&path, &fresh).expect("README.md written");
        return;
    }
    assert!(
        committed == fresh,
        "README.md's synopsis is stale (the CLI's clap definitions changed): \
         regenerate it with `UPDATE_DOCS=1 cargo test --test docs_cli` and commit it"
    );
}

#[test]
fn the_synopsis_has_every_command_and_the_registries_values() {
    let synopsis = docs("synopsis");
    for command in [
        "run",
        "list",
        "explain",
        "pki generate",
        "serve",
        "gateway-config",
        "target-kit",
        "probe",
        "bench",
        "report merge",
        "fidelity",
    ] {
        assert!(
            synopsis.contains(&format!("mtls-harness {command} ")),
            "no line for `{command}`:\n{synopsis}"
        );
    }
    assert!(!synopsis.contains("__docs"), "a hidden command is listed");
    // --gateway, --client and --middlebox list what the registries hold.
    use mtls_harness::real::client::RealClientKind;
    use mtls_harness::real::middlebox::RealMiddlebox;
    use mtls_harness::real::RealKind;
    let names = RealKind::ALL
        .iter()
        .map(ToString::to_string)
        .chain(RealClientKind::ALL.iter().map(ToString::to_string))
        .chain(RealMiddlebox::ALL.iter().map(ToString::to_string));
    for name in names {
        assert!(synopsis.contains(&name), "`{name}` missing:\n{synopsis}");
    }
    assert!(synopsis.contains("real:gnutls-lib"), "{synopsis}");
    assert!(synopsis.contains("[--middlebox builtin|"), "{synopsis}");
}

#[test]
fn docs_cli_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cli.md");
    let fresh = generated();
    if updating() {
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
