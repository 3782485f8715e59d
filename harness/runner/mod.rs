//! Running scenarios: selection, concurrency, timeouts, reports.

pub mod report;
