#![no_main]
//! `cargo +nightly fuzz run ca_names`: see fuzz/README.md.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::ca_names(data));
