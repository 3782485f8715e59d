#![no_main]
//! `cargo +nightly fuzz run pem_der`: see fuzz/README.md.

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::pem_der(data));
