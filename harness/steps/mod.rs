//! Scenarios with `[[step]]`: connections and changes run in order against
//! one running gateway (issue 25).
//!
//! - [`disk`]: the trust material as it is on disk, changed by each step
//!   (a CRL published anew, the server certificate replaced, a CA added or
//!   removed), and the change described.
//! - [`builtin`]: the built-in gateways' model: a gateway serves what it
//!   loaded and takes what is on disk only on a `reload` step (nginx,
//!   Apache and HAProxy read their files at start and on reload alone;
//!   HAProxy's runtime API applies the changed files at once). Checked
//!   against the real programs by `fidelity`.
//! - `real::steps`: the real programs: files rewritten in the program's prefix,
//!   then its own mechanism (nginx SIGHUP, Apache SIGUSR1 = `-k graceful`,
//!   HAProxy's runtime API), waited for until it took effect.

pub mod builtin;
pub mod disk;

use crate::case::{client_spec, CaseError};
use crate::observation::{Observation, StepSeen, TlsVersion};
use crate::pki::Pki;
use crate::scenario::schema::{ScenarioFile, StepSpec};
use crate::tls::client::ClientSpec;
use crate::tls::Timeouts;

/// The client of a `connect` step: the scenario's, with the step's wallet
/// when it names one.
pub(crate) fn connect_client(
    pki: &Pki,
    file: &ScenarioFile,
    step: &StepSpec,
    version: TlsVersion,
    timeouts: Timeouts,
) -> Result<ClientSpec, CaseError> {
    match &step.certs {
        None => client_spec(pki, file, version, timeouts),
        Some(certs) => {
            let mut this = file.clone();
            this.client.certs = certs.clone();
            client_spec(pki, &this, version, timeouts)
        }
    }
}

/// The case's observation: the last connection's, with every step's.
pub(crate) fn observation(steps: Vec<StepSeen>) -> Observation {
    let mut obs = steps
        .iter()
        .rev()
        .find_map(|s| s.observation.as_deref().cloned())
        .unwrap_or_default();
    obs.steps = steps;
    obs
}
