//! Running scenarios: selection, concurrency, timeouts, reports.

pub mod captures;
pub mod execute;
pub mod fidelity;
pub mod flake;
pub mod html;
pub mod middlebox_fidelity;
pub mod report;
pub mod target;
pub mod trace;

pub use execute::{run_all, run_one, run_one_on, run_one_via, GatewaySelection, RunOptions};
