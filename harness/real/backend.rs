//! The real programs as [`Backend`]s: a real gateway per case, a real client
//! against the built-in gateways, a real middlebox in front of a built-in or
//! real gateway.

use super::client::{client_timeout, RealClientKind};
use super::middlebox::{Origin, RealMiddlebox};
use super::RealKind;
use crate::backend::{Adjustment, Backend, BuiltinGateway, CaseInput, Observing};
use crate::gateway::ProfileKind;
use crate::observation::Side;
use crate::scenario::schema::Expectation;
use std::time::Duration;

/// Slack for stopping a program and reading its last records.
const STOP_SLACK: Duration = Duration::from_secs(5);

/// A real gateway program started per case from the scenario's `[server]`,
/// judged by the expectations of [`RealKind::profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealGateway(pub RealKind);

impl Backend for RealGateway {
    fn label(&self, profile: ProfileKind) -> String {
        format!("{} ({profile})", self.0)
    }

    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        Some((self.0.to_string(), self.0.profile()))
    }

    fn extra_time(&self, _case: &CaseInput<'_>) -> Duration {
        super::START_TIMEOUT + super::LOG_TIMEOUT + STOP_SLACK
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        Box::pin(super::observe_real_gateway(
            case.pki,
            case.file,
            self.0,
            case.tls,
            case.timeouts,
            |_| {},
        ))
    }

    fn adjust(&self, _case: &CaseInput<'_>, expected: &mut Expectation) -> Vec<Adjustment> {
        if self.0.serves_own_page() && expected.body_contains.take().is_some() {
            return vec![Adjustment {
                field: "body_contains",
                reason: "the program answers with its own page",
            }];
        }
        Vec::new()
    }
}

/// A real client program against the built-in gateway of the case's
/// profile: only scenarios whose `[client] selection` it follows run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealClient(pub RealClientKind);

impl Backend for RealClient {
    fn label(&self, profile: ProfileKind) -> String {
        format!("{profile} + {}", self.0)
    }

    fn refuses(&self, case: &CaseInput<'_>, expected: &Expectation) -> Option<String> {
        // A failure of the built-in client's own TLS library (rustls's
        // 64 KiB message limit, say) says nothing of another library.
        if expected.client_error.is_some() || expected.alert_sent_by == Some(Side::Client) {
            return Some(format!(
                "the expectation is a failure of the built-in (rustls) client itself, not of {}",
                self.0
            ));
        }
        super::client::unfollowed_selection(case.file, self.0)
    }

    fn extra_time(&self, case: &CaseInput<'_>) -> Duration {
        // Starting the program (a browser) and the gateway's last records.
        client_timeout(self.0, case.timeouts) + STOP_SLACK
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        Box::pin(super::client::observe_real_client(
            case.pki,
            case.file,
            case.profile,
            case.tls,
            case.timeouts,
            self.0,
        ))
    }

    fn adjust(&self, _case: &CaseInput<'_>, expected: &mut Expectation) -> Vec<Adjustment> {
        if expected.client_error.take().is_some() {
            return vec![Adjustment {
                field: "client_error",
                reason: "the alert a real client received is known only from the gateway's record and the program's text",
            }];
        }
        Vec::new()
    }
}

/// A real middlebox program in place of the built-in middlebox of the
/// scenarios that have one, in front of a built-in or real gateway; a
/// scenario without `[middlebox]` runs on that gateway alone.
#[derive(Debug, Clone, Copy)]
pub struct RealMiddleboxBackend {
    pub middlebox: RealMiddlebox,
    /// `None`: the built-in gateway of the case's profile.
    pub gateway: Option<RealGateway>,
}

impl RealMiddleboxBackend {
    fn gateway(&self) -> &dyn Backend {
        match &self.gateway {
            None => &BuiltinGateway,
            Some(real) => real,
        }
    }
}

impl Backend for RealMiddleboxBackend {
    fn label(&self, profile: ProfileKind) -> String {
        self.gateway().label(profile)
    }

    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        self.gateway().judged_by()
    }

    fn refuses(&self, case: &CaseInput<'_>, expected: &Expectation) -> Option<String> {
        self.gateway().refuses(case, expected)
    }

    fn extra_time(&self, case: &CaseInput<'_>) -> Duration {
        let mut extra = self.gateway().extra_time(case);
        if case.file.middlebox.is_some() {
            extra += super::middlebox::START_TIMEOUT + STOP_SLACK;
        }
        extra
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        if case.file.middlebox.is_none() {
            return self.gateway().observe(case);
        }
        let origin = match self.gateway {
            None => Origin::Builtin(case.profile),
            Some(RealGateway(kind)) => Origin::Real(kind),
        };
        Box::pin(super::middlebox::observe_through_middlebox(
            case.pki,
            case.file,
            origin,
            self.middlebox,
            case.tls,
            case.timeouts,
            |_| {},
        ))
    }

    fn adjust(&self, case: &CaseInput<'_>, expected: &mut Expectation) -> Vec<Adjustment> {
        self.gateway().adjust(case, expected)
    }
}
