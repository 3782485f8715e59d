#![no_main]
//! `cargo +nightly fuzz run scenario_loader`: see fuzz/README.md.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::scenario_loader(data));
