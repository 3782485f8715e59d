#![no_main]
//! `cargo +nightly fuzz run policy_loader`: see fuzz/README.md.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::policy_loader(data));
