//! `docs/cli.md`, generated from the clap definitions: each command's long
//! help (usage, arguments, options) as `--help` prints it, and the exit codes;
//! and the README's synopsis, one entry per command. tests/docs_cli.rs
//! regenerates both through the hidden `__docs cli` and `__docs synopsis`
//! commands and fails when the committed text is stale.

use clap::{Args, ValueEnum};
use mtls_harness::exit_codes;
use std::fmt::Write;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    /// docs/cli.md
    Cli,
    /// The synopsis in README.md
    Synopsis,
}

#[derive(Args, Debug)]
pub struct DocsArgs {
    pub topic: Topic,
}

pub fn docs(args: DocsArgs) -> anyhow::Result<i32> {
    let cmd = <super::Cli as clap::CommandFactory>::command();
    match args.topic {
        Topic::Cli => print!("{}", cli_markdown(cmd)),
        Topic::Synopsis => print!("{}", synopsis(cmd)),
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

/// The width the synopsis wraps at (a word longer than the line gets a line
/// of its own).
const SYNOPSIS_WIDTH: usize = 100;

/// The README's synopsis: a line for each command that runs (not for the
/// groups `pki` and `report`), with its arguments and then its options in
/// the order `--help` lists them, optional ones in brackets; an option that
/// takes one of a fixed set of values (profiles, real gateways, clients,
/// middleboxes: the registries) shows them all. Wrapped at
/// [`SYNOPSIS_WIDTH`] columns with `\` continuations.
pub fn synopsis(cmd: clap::Command) -> String {
    let mut cmd = cmd;
    cmd.build();
    let mut commands = Vec::new();
    collect(&cmd, &mut commands);
    let mut out = String::new();
    for c in commands.iter().filter(|c| !c.has_subcommands()) {
        let name = full_name(c);
        let mut args: Vec<&clap::Arg> = c
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        // Arguments first, options after, each in declaration order.
        args.sort_by_key(|a| !a.is_positional());
        let mut line = name.clone();
        let indent = " ".repeat(name.len() + 1);
        for word in args.into_iter().map(synopsis_word) {
            // The first word stays on the command's line.
            if line.len() >= indent.len() && line.len() + 1 + word.len() > SYNOPSIS_WIDTH {
                let _ = writeln!(out, "{line} \\");
                line = format!("{indent}{word}");
            } else {
                line.push(' ');
                line.push_str(&word);
            }
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `--tls 1.2|1.3`, `[--trace]`, `[PATHS]...`.
fn synopsis_word(arg: &clap::Arg) -> String {
    let takes_value = arg.get_action().takes_values();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    let value = if !values.is_empty() {
        values.join("|")
    } else {
        arg.get_value_names()
            .map(|names| {
                names
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
    };
    let mut word = if arg.is_positional() {
        value
    } else {
        let flag = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => arg.get_id().to_string(),
        };
        if takes_value {
            format!("{flag} {value}")
        } else {
            flag
        }
    };
    if !arg.is_required_set() {
        word = format!("[{word}]");
    }
    let many = matches!(arg.get_action(), clap::ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1);
    if many && takes_value {
        word.push_str("...");
    }
    word
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
