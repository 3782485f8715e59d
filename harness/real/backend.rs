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

    fn refuses(&self, case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        crate::backend::builtin_client_refusal(case.file, case.tls)
    }

    fn runs_steps(&self) -> bool {
        true
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        if !case.file.steps.is_empty() {
            return Box::pin(crate::real::steps::run(
                case.pki,
                case.file,
                self.0,
                case.tls,
                case.timeouts,
            ));
        }
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
        if super::after_request::scenario::asks_after_request(case.file, case.profile) {
            return Some(format!(
                "the built-in gateway cannot ask {} for its certificate after the request (rustls has neither renegotiation nor post-handshake auth): run it with --gateway real:apache",
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

/// A real client program against a real gateway: the scenarios whose
/// certificate is asked for after the request, on real Apache, with the
/// clients that answer as the scenario's client does
/// ([`super::after_request::scenario`]); every other case is SKIP with the
/// reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealClientOnRealGateway {
    pub gateway: RealKind,
    pub client: RealClientKind,
}

impl Backend for RealClientOnRealGateway {
    fn label(&self, profile: ProfileKind) -> String {
        format!("{} ({profile}) + {}", self.gateway, self.client)
    }

    fn judged_by(&self) -> Option<(String, ProfileKind)> {
        Some((
            format!("{} + {}", self.gateway, self.client),
            self.gateway.profile(),
        ))
    }

    fn refuses(&self, case: &CaseInput<'_>, _expected: &Expectation) -> Option<String> {
        super::after_request::scenario::refusal(
            case.file,
            case.profile,
            self.gateway,
            self.client,
            case.tls,
        )
    }

    fn extra_time(&self, case: &CaseInput<'_>) -> Duration {
        client_timeout(self.client, case.timeouts)
            + super::START_TIMEOUT
            + super::LOG_TIMEOUT
            + STOP_SLACK
    }

    fn observe<'a>(&'a self, case: CaseInput<'a>) -> Observing<'a> {
        Box::pin(super::after_request::scenario::observe(
            case.pki,
            case.file,
            self.gateway,
            self.client,
            case.tls,
            case.timeouts,
        ))
    }

    fn adjust(&self, _case: &CaseInput<'_>, expected: &mut Expectation) -> Vec<Adjustment> {
        let mut out = Vec::new();
        // Who ended the connection is what the client read, and clients
        // differ (Go sends no_renegotiation itself, JSSE often finds the
        // connection closed before Apache's alert): docs/after-request.md.
        if expected.alert.take().is_some() | expected.alert_sent_by.take().is_some() {
            out.push(Adjustment {
                field: "alert",
                reason: "a real client reads Apache's alert, sends its own, or finds the connection closed (docs/after-request.md): judged by Apache's log",
            });
        }
        for (field, taken) in [
            ("handshake", expected.handshake.take().is_some()),
            (
                "certificate_requested",
                expected.certificate_requested.take().is_some(),
            ),
            ("client_error", expected.client_error.take().is_some()),
            ("body_contains", expected.body_contains.take().is_some()),
        ] {
            if taken {
                out.push(Adjustment {
                    field,
                    reason: "known to the built-in client only: a real program against a real gateway is judged by its status and Apache's log",
                });
            }
        }
        out
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
