//! Running scenarios: selection, concurrency, timeouts, reports.

pub mod execute;
pub mod fidelity;
pub mod flake;
pub mod report;
pub mod target;

pub use execute::{run_all, run_one, run_one_on, GatewaySelection, RunOptions};
