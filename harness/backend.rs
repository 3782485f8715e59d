//! The one seam for running a case: a [`Backend`] takes a planned case (a
//! scenario file, its PKI, the profile whose expectations judge it, the TLS
//! version) and returns what was observed. Every place a case can run is one
//! implementation: the built-in gateways ([`BuiltinGateway`]), a real gateway
//! program (`real::RealGateway`), a real client (`real::client::RealClient`),
//! a real middlebox (`real::middlebox::RealMiddleboxBackend`), an external
//! target and a user's own configuration (`runner::target`). The runner
//! (`runner::run_case`) judges the observation and builds the result in one
//! place; a backend only says what differs where it runs: how reports name
//! it, which profile judges it, what it cannot run (SKIP with the reason),
//! how much longer it takes, and which expectations it adjusts, each with
//! its reason.

use crate::case::CaseError;
use crate::gateway::ProfileKind;
use crate::observation::{Observation, TlsVersion};
use crate::oracle::Diff;
use crate::pki::Pki;
use crate::scenario::schema::{Expectation, ScenarioFile};
use crate::tls::Timeouts;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One planned case, as a backend sees it.
#[derive(Debug, Clone, Copy)]
pub struct CaseInput<'a> {
    pub file: &'a ScenarioFile,
    pub pki: &'a Pki,
    /// The profile whose expectations judge the case (and, on the built-in
    /// gateways, the one that answers).
    pub profile: ProfileKind,
    pub tls: TlsVersion,
    pub timeouts: Timeouts,
}

impl<'a> CaseInput<'a> {
    pub fn new(
        file: &'a ScenarioFile,
        pki: &'a Pki,
        profile: ProfileKind,
        tls: TlsVersion,
        timeouts: Timeouts,
    ) -> Self {
        CaseInput {
            file,
            pki,
            profile,
            tls,
            timeouts,
        }
    }
}

/// What [`Backend::observe`] returns.
pub type Observing<'a> = Pin<Box<dyn Future<Output = Result<Observation, CaseError>> + Send + 'a>>;

/// An expectation field a backend does not judge, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub field: &'static str,
    pub reason: &'static str,
}

/// Where a case runs. See the module documentation.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// How reports name where a case of `profile` ran: `nginx`,
    /// `real:nginx (nginx)`, `https://host:443 (strict)`.
    fn label(&self, profile: ProfileKind) -> String;

    /// The one profile whose expectations apply and how reports name the
    /// backend, when not every built-in profile runs (a real gateway, a
    /// target); `None`: each profile the scenario expects.
    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        None
    }

    /// Why this case cannot run here, decided before anything starts: the
    /// case is SKIP with this reason. `expected` is the scenario's
    /// expectation for the case.
    fn refuses(&self, _case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        None
    }

    /// Time beyond the scenario's connect, handshake and response stages:
    /// starting and stopping programs.
    fn extra_time(&self, _case: &CaseInput<'_>) -> Duration {
        Duration::ZERO
    }

    /// Run the case and return what was observed. `CaseError::Unsupported`
    /// is a SKIP with its reason; any other error a setup FAIL.
    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a>;

    /// Expectation fields this backend cannot judge, removed from
    /// `expected`, each with the reason.
    fn adjust(&self, _case: &CaseInput<'_>, _expected: &mut Expectation) -> Vec<Adjustment> {
        Vec::new()
    }

    /// Whether a scenario's `[expect.performance]` bounds are measured here
    /// (in process, on the built-in gateway; a real program or a target is
    /// loaded with `bench` instead).
    fn measures_performance(&self) -> bool {
        false
    }

    /// Whether a scenario's `[[step]]` (changes to the gateway's files and
    /// reloads between connections) runs here: on the built-in gateways and
    /// the real ones the harness starts.
    fn runs_steps(&self) -> bool {
        false
    }

    /// Differences beyond the expectation's fields (the CA names a target
    /// was seen to send).
    fn judge_more(
        &self,
        _case: &CaseInput<'_>,
        _expected: &Expectation,
        _observation: &Observation,
    ) -> Vec<Diff> {
        Vec::new()
    }
}

/// The built-in gateway of the case's profile, in this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinGateway;

/// Why the built-in client cannot be the scenario's client on `version`;
/// `None`: it can.
pub fn builtin_client_refusal(file: &ScenarioFile, version: TlsVersion) -> Option<String> {
    if file.client.offers_h2() {
        return Some(
            "the built-in client speaks HTTP/1.1 only (`[client] alpn` offers h2): run it with a real client (`--client real:curl`)"
                .into(),
        );
    }
    None.or_else(|| {
        file.client.answers_after_request(version).then(|| {
            format!(
                "the built-in client (rustls) implements neither renegotiation nor post-handshake auth; the scenario's client answers on TLS {version}: run it with a real client that does (docs/after-request.md)"
            )
        })
    })
}

impl Backend for BuiltinGateway {
    fn label(&self, profile: ProfileKind) -> String {
        profile.name().to_string()
    }

    fn refuses(&self, case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        // The built-in gateway models a client that answers after the
        // request (`GatewayProfile::answering_after_request`); h2 it does
        // not speak.
        builtin_client_refusal(case.file, case.tls).filter(|_| case.file.client.offers_h2())
    }

    fn measures_performance(&self) -> bool {
        true
    }

    fn runs_steps(&self) -> bool {
        true
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        if !case.file.steps.is_empty() {
            return Box::pin(crate::steps::builtin::run(
                case.pki,
                case.file,
                case.profile,
                case.tls,
                case.timeouts,
            ));
        }
        Box::pin(crate::case::run_case(
            case.pki,
            case.file,
            case.profile,
            case.tls,
            case.timeouts,
        ))
    }
}
