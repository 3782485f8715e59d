//! `run --target`: a gateway someone else runs, configured with a PKI
//! written by `pki generate` or `target-kit`. Everything about it is here:
//! the facts the preflight learns ([`preflight`](mod@preflight)), the catalog adapted to
//! what it was seen to do ([`adapt`]), the verdict per behaviour heading its
//! report ([`verdicts`]), and the [`Backend`] that runs a case against it
//! ([`TargetBackend`]; also what `--gateway-config` runs, once it started
//! the user's own configuration).

pub mod adapt;
pub mod preflight;
pub mod verdicts;

pub use adapt::{choose_root, ensure_crl, Unmet};
pub use preflight::{preflight, preflight_with, TargetError};
pub use verdicts::{behaviours, render, render_facts, BehaviourVerdict};

use crate::backend::{Adjustment, Backend, CaseInput, Observing};
use crate::gateway::ProfileKind;
use crate::observation::{Observation, TlsVersion};
use crate::oracle::Diff;
use crate::pki::Pki;
use crate::real::middlebox::RealMiddlebox;
use crate::scenario::schema::Expectation;
use std::sync::Arc;

/// A gateway someone else runs, configured with a PKI written by `pki
/// generate`: scenarios take their client certificates from that PKI.
#[derive(Debug)]
pub struct ExternalTarget {
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// SNI and the name the server certificate must carry.
    pub server_name: String,
    /// The URL's path and query: what every case's request asks for.
    pub request_path: String,
    pub pki: Pki,
    /// Whose expectations the target is judged by.
    pub profile: ProfileKind,
    /// What the preflight learnt of its server-side configuration.
    pub facts: TargetFacts,
}

/// What the preflight of `run --target` learnt of a target's configuration:
/// the server-side facts each scenario's requirements are matched against.
#[derive(Debug, Clone, Default)]
pub struct TargetFacts {
    /// The versions it speaks (a certificate decision was reached).
    pub versions: Vec<TlsVersion>,
    /// The versions it does not speak, with what was seen.
    pub unsupported: Vec<(TlsVersion, String)>,
    /// It sends a CertificateRequest.
    pub asks: bool,
    /// It refuses a client that sends no certificate.
    pub requires: bool,
    /// The CA names of its CertificateRequest (readable), in order.
    pub ca_names: Vec<String>,
    /// Whether it accepted a valid certificate of the root, one of a fresh
    /// root, and one the root's CRL lists (None: not tried).
    pub accepts_valid: Option<bool>,
    pub accepts_untrusted: Option<bool>,
    pub accepts_revoked: Option<bool>,
    /// Whether it accepted a valid certificate under an intermediate minted
    /// by the run (`false` with a CRL loaded: it wants a CRL for every CA
    /// of the chain, as nginx's `ssl_crl` does).
    pub accepts_via_intermediate: Option<bool>,
    /// The root of the PKI directory that signs what scenarios present.
    pub root: Option<crate::pki::IssuedCert>,
    /// Its readable subject, as a CA-names list shows it.
    pub root_subject: String,
    /// The CRL file in the PKI directory that lists the reserved revoked
    /// serial, and whether this run wrote it (a gateway started before has
    /// not loaded it).
    pub crl_file: Option<std::path::PathBuf>,
    pub crl_written_now: bool,
    /// The profile mode the user says the target is configured with
    /// (`run --mode`), one of the profile's modes: scenarios of another mode
    /// are not run, and the posture is not guessed from outside.
    pub declared_mode: Option<&'static str>,
}

/// An external target as a [`Backend`]: each case's needs are matched
/// against what the preflight learnt ([`adapt::unmet_need`]: SKIP with the
/// mismatch), its certificates minted under the target's root.
#[derive(Debug, Clone)]
pub struct TargetBackend {
    pub target: Arc<ExternalTarget>,
    /// `run --middlebox real:*`: a real middlebox stands in front of a
    /// built-in or real gateway only, so a scenario with one is SKIP.
    pub middlebox: Option<RealMiddlebox>,
}

impl TargetBackend {
    pub fn new(target: Arc<ExternalTarget>) -> Self {
        TargetBackend {
            target,
            middlebox: None,
        }
    }
}

impl Backend for TargetBackend {
    fn label(&self, profile: ProfileKind) -> String {
        format!("{} ({profile})", self.target.url)
    }

    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        Some((self.target.url.clone(), self.target.profile))
    }

    fn refuses(&self, case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        match (self.middlebox, &case.file.middlebox) {
            (Some(mb), Some(_)) => Some(format!(
                "{mb} runs in front of a built-in or real gateway, not an external target"
            )),
            _ => None,
        }
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        Box::pin(adapt::observe(
            &self.target,
            case.file,
            case.profile,
            case.tls,
            case.timeouts,
        ))
    }

    fn adjust(&self, _case: &CaseInput<'_>, expected: &mut Expectation) -> Vec<Adjustment> {
        adapt::for_target(expected)
    }

    fn judge_more(
        &self,
        case: &CaseInput<'_>,
        expected: &Expectation,
        observation: &Observation,
    ) -> Vec<Diff> {
        adapt::ca_names_diff(case.file, expected, &self.target.facts, observation)
            .into_iter()
            .collect()
    }
}
