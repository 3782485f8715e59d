//! Process exit codes, documented in the README and in docs/cli.md.

/// Every selected scenario passed (or the command succeeded).
pub const SUCCESS: i32 = 0;
/// At least one scenario failed or hung.
pub const SCENARIO_FAILED: i32 = 1;
/// Bad input (file, flag, PEM, URL) or a setup error.
pub const BAD_INPUT: i32 = 2;
/// The selection matched no scenario.
pub const NO_SCENARIO_SELECTED: i32 = 3;

/// Every exit code with what it means, for the generated documentation.
pub const ALL: [(i32, &str); 4] = [
    (
        SUCCESS,
        "every selected case passed (or the command succeeded)",
    ),
    (
        SCENARIO_FAILED,
        "a scenario failed or hung (`bench`: a point completed no handshake; `fidelity`: a built-in profile and its real gateway differ)",
    ),
    (
        BAD_INPUT,
        "bad input (scenario or spec file, flag, PEM, URL) or a setup error; the message names the file, line and field",
    ),
    (NO_SCENARIO_SELECTED, "no scenario selected"),
];
