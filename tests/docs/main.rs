//! The documentation is part of the contract: the examples of
//! `docs/scenario-format.md` are real, every link stays in the repository and
//! resolves, and the README's fidelity line matches `docs/fidelity.md`.

mod fidelity_doc;
mod fidelity_summary;
mod links;
mod markdown;
mod policy_format;
mod scenario_format;
#[path = "../support/mod.rs"]
mod support;
