//! Running scenarios: selection, concurrency, timeouts, reports.

pub mod captures;
pub mod client_fidelity;
pub mod execute;
pub mod fidelity;
pub mod flake;
#[cfg(feature = "cli")]
pub mod html;
pub mod merge;
pub mod middlebox_fidelity;
pub mod performance;
pub mod policy;
pub mod report;
pub mod shard;
pub mod target;
pub mod trace;

pub use execute::{run_all, run_case, ClientSelection, GatewaySelection, RunOptions};
