//! Process exit codes, documented in the README.

/// Every selected scenario passed (or the command succeeded).
pub const SUCCESS: i32 = 0;
/// At least one scenario failed or hung.
pub const SCENARIO_FAILED: i32 = 1;
/// Bad input (file, flag, PEM, URL) or a setup error.
pub const BAD_INPUT: i32 = 2;
/// The selection matched no scenario.
pub const NO_SCENARIO_SELECTED: i32 = 3;
