//! `docs/cli.md`, generated from the clap definitions: each command's long
//! help (usage, arguments, options) as `--help` prints it, and the exit codes.
//! tests/docs_cli.rs regenerates it through the hidden `__docs cli` command
//! and fails when the committed file is stale.

use clap::{Args, ValueEnum};
use mtls_harness::exit_codes;
use std::fmt::Write;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// docs/cli.md
    Cli,
}

#[derive(Args, Debug)]
pub struct DocsArgs {
    pub topic: Topic,
}

pub fn docs(args: DocsArgs) -> anyhow::Result<i32> {
    match args.topic {
        Topic::Cli => print!(
            "{}",
            cli_markdown(<super::Cli as clap::CommandFactory>::command())
        ),
    }
    Ok(exit_codes::SUCCESS)
}

/// The help as clap renders it, at a fixed width whatever the terminal.
const WIDTH: usize = 100;

/// The reference for `cmd` and every visible subcommand, depth first.
pub fn cli_markdown(cmd: clap::Command) -> String {
    let mut cmd = cmd.term_width(WIDTH);
    // Sets each subcommand's full name (`mtls-harness pki generate`) for its usage line.
    cmd.build();
    let mut commands = Vec::new();
    collect(&cmd, &mut commands);

    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        md,
        "# `{name}` command line\n\n\
         <!-- Generated from the clap definitions by `{name} __docs cli`; do not edit.\n     \
         `UPDATE_DOCS=1 cargo test --test docs_cli` rewrites it. -->\n\n",
        name = cmd.get_name()
    );
    for c in &commands {
        let name = full_name(c);
        let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
        let _ = writeln!(md, "- [`{name}`](#{}): {about}", anchor(&name));
    }
    let _ = writeln!(md, "- [Exit codes](#exit-codes)");
    for c in &commands {
        let help = c.clone().render_long_help().to_string();
        // clap indents blank lines inside a help text; keep the file free of
        // trailing whitespace.
        let help: Vec<&str> = help.trim_end().lines().map(str::trim_end).collect();
        let _ = write!(
            md,
            "\n## `{}`\n\n```text\n{}\n```\n",
            full_name(c),
            help.join("\n")
        );
    }
    md.push_str("\n## Exit codes\n\n| code | meaning |\n|---|---|\n");
    for (code, meaning) in exit_codes::ALL {
        let _ = writeln!(md, "| {code} | {meaning} |");
    }
    md.push_str("\n`probe` has its own:\n\n| code | meaning |\n|---|---|\n");
    for (code, meaning) in exit_codes::PROBE {
        let _ = writeln!(md, "| {code} | {meaning} |");
    }
    md
}

fn collect(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
    out.push(cmd.clone());
    for sub in cmd.get_subcommands() {
        // `help` is clap's own; hidden commands are not for users.
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        collect(sub, out);
    }
}

fn full_name(cmd: &clap::Command) -> String {
    cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string()
}

/// GitHub's heading anchor for a heading that is `name` in backticks.
fn anchor(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}
