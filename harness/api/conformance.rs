//! [`Conformance`]: the whole catalog judging a server (your own, configured
//! with a [`TargetKit`], or a built-in profile), as one report or as one
//! test per case of your own `cargo test`.

use super::{Error, TargetKit};
use crate::backend::BuiltinGateway;
use crate::gateway::ProfileKind;
use crate::observation::TlsVersion;
use crate::oracle::Verdict;
use crate::runner::execute::{self, RunOptions};
use crate::runner::report::{CaseResult, RunReport, Summary};
use crate::runner::target::{self, BehaviourVerdict, TargetBackend, TargetFacts};
use crate::scenario::Scenario;
use crate::tls::Timeouts;
use std::path::PathBuf;
use std::sync::Arc;

/// Runs the catalog (the built-in one, embedded in the crate, or a
/// directory) against a server and judges it by one profile's expectations.
///
/// Against your own server (here a built-in gateway stands in for it,
/// configured from the kit as yours would be):
///
/// ```
/// use mtls_harness::prelude::*;
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), mtls_harness::api::Error> {
/// let kit = TargetKit::generate()?;
/// let server = Gateway::builtin(Profile::Strict).pki(kit.pki()).cert("gw")
///     .trust(["root"]).crls(["root"]).start().await?;
/// let report = Conformance::target(&server.url(), &kit)
///     .profile(Profile::Strict)
///     .only(["validity::*", "seeds::001_*"])
///     .run().await?;
/// assert!(report.passed() > 0);
/// println!("{}", report.render());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Conformance;

/// One conformance run being set up ([`Conformance::target`],
/// [`Conformance::builtin`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct Scope<'k> {
    target: Option<(String, &'k TargetKit)>,
    profile: ProfileKind,
    catalog: Option<PathBuf>,
    only: Vec<String>,
    tls: Option<Vec<TlsVersion>>,
    timeouts: Timeouts,
    concurrency: Option<usize>,
    trust_store: Option<PathBuf>,
}

impl Conformance {
    /// Judge the server at `url`, configured with `kit` (its `gw`
    /// certificate, trust in its `root`, the root's CRL). The kit is read
    /// from where it was written ([`TargetKit::write_to`]), else written to
    /// a temporary directory. Default profile: strict.
    pub fn target<'k>(url: &str, kit: &'k TargetKit) -> Scope<'k> {
        Scope {
            target: Some((url.to_string(), kit)),
            ..Self::builtin(ProfileKind::Strict)
        }
    }

    /// Run the catalog on the built-in gateway of `profile`.
    pub fn builtin(profile: ProfileKind) -> Scope<'static> {
        Scope {
            target: None,
            profile,
            catalog: None,
            only: Vec::new(),
            tls: None,
            timeouts: Timeouts::default(),
            concurrency: None,
            trust_store: None,
        }
    }
}

impl<'k> Scope<'k> {
    /// Whose expectations judge the server.
    pub fn profile(mut self, profile: ProfileKind) -> Self {
        self.profile = profile;
        self
    }

    /// A catalog directory instead of the built-in catalog.
    pub fn catalog(mut self, dir: impl Into<PathBuf>) -> Self {
        self.catalog = Some(dir.into());
        self
    }

    /// Only scenarios whose id matches one of these patterns (`*` matches
    /// any run of characters: `validity::*`, `*revoked*`).
    pub fn only<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.only = super::names(patterns);
        self
    }

    /// Only these TLS versions.
    pub fn tls(mut self, versions: impl IntoIterator<Item = TlsVersion>) -> Self {
        self.tls = Some(versions.into_iter().collect());
        self
    }

    /// How long each stage of a connection may take.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Cases in flight at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// The CA certificates (a PEM bundle) the server trusts for client
    /// certificates: when its handshake breaks where the CA names were due,
    /// the error says how big the list they make is (over 65,535 bytes is a
    /// known cause).
    pub fn trust_store(mut self, pem_bundle: impl Into<PathBuf>) -> Self {
        self.trust_store = Some(pem_bundle.into());
        self
    }

    fn scenarios(&self) -> Result<Vec<Scenario>, Error> {
        let all = match &self.catalog {
            Some(dir) if dir.is_file() => vec![crate::scenario::load_file(dir, None)?],
            Some(dir) => crate::scenario::load_catalog(dir)?,
            None => crate::scenario::load_builtin()?,
        };
        Ok(all
            .into_iter()
            .filter(|s| self.only.is_empty() || self.only.iter().any(|p| glob_match(p, &s.id)))
            .collect())
    }

    async fn options(&self) -> Result<(RunOptions, Option<TargetFacts>), Error> {
        let mut opts = RunOptions {
            timeouts: self.timeouts,
            profiles: Some(vec![self.profile]),
            tls: self.tls.clone(),
            ..Default::default()
        };
        if let Some(n) = self.concurrency {
            opts.concurrency = n;
        }
        let mut facts = None;
        if let Some((url, kit)) = &self.target {
            let dir = kit.dir()?;
            let url = reachable(url, self.timeouts).await;
            let trust_store = match &self.trust_store {
                Some(path) => Some(
                    crate::probe::TrustStoreSize::from_pem_file(path)
                        .map_err(|e| Error::Usage(format!("Conformance::trust_store: {e}")))?,
                ),
                None => None,
            };
            let found =
                target::preflight_with(&url, &dir, self.profile, self.timeouts, trust_store)
                    .await?;
            facts = Some(found.facts.clone());
            opts.backend = Some(Arc::new(TargetBackend::new(Arc::new(found))));
        } else {
            opts.backend = Some(Arc::new(BuiltinGateway));
        }
        Ok((opts, facts))
    }

    /// Run every selected case; the report of all of them.
    pub async fn run(self) -> Result<ConformanceReport, Error> {
        let scenarios = self.scenarios()?;
        let (opts, facts) = self.options().await?;
        let selected: Vec<&Scenario> = scenarios.iter().collect();
        let report = execute::run_catalog(&selected, &opts, |_, _, _| {}).await?;
        let behaviours = facts
            .as_ref()
            .map(|f| target::behaviours(&report, f))
            .unwrap_or_default();
        Ok(ConformanceReport {
            report,
            behaviours,
            facts,
            profile: self.profile,
        })
    }

    /// One libtest-mimic trial per case, for a `harness = false` test of
    /// your own: `libtest_mimic::run(&Arguments::from_args(),
    /// Conformance::target(..).trials()?).exit()`. A case the server cannot
    /// be judged on is ignored with its reason. Call it outside an async
    /// runtime (each trial runs its case on a runtime of its own).
    #[cfg(feature = "trials")]
    pub fn trials(self) -> Result<Vec<libtest_mimic::Trial>, Error> {
        use crate::backend::Backend;
        use libtest_mimic::{Completion, Failed, Trial};
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?,
        );
        let scenarios = self.scenarios()?;
        let (opts, _) = runtime.block_on(self.options())?;
        let backend: Arc<dyn Backend> = opts.backend();
        let mut trials = Vec::new();
        for scenario in scenarios {
            let scenario = Arc::new(scenario);
            let pki = Arc::new(std::sync::OnceLock::new());
            for (profile, tls) in execute::plan(&scenario, &opts).cases {
                let name = format!("{} [{} TLS{}]", scenario.id, profile.name(), tls);
                let (scenario, pki, runtime, backend) = (
                    scenario.clone(),
                    pki.clone(),
                    runtime.clone(),
                    backend.clone(),
                );
                let timeouts = opts.timeouts;
                trials.push(Trial::ignorable_test(name, move || {
                    let pki: &Result<crate::pki::Pki, String> = pki.get_or_init(|| {
                        crate::pki::Pki::generate_with_source(
                            &scenario.file.pki,
                            &scenario.path.display().to_string(),
                            &scenario.source,
                        )
                        .map_err(|e| crate::error_chain::of(&e))
                    });
                    let pki = pki.as_ref().map_err(|e| Failed::from(e.clone()))?;
                    let result = runtime.block_on(execute::run_case(
                        backend.as_ref(),
                        &scenario,
                        pki,
                        profile,
                        tls,
                        timeouts,
                    ));
                    match &result.verdict {
                        Verdict::Pass => Ok(Completion::Completed),
                        Verdict::Skip { reason } => Ok(Completion::ignored_with(reason.clone())),
                        other => Err(Failed::from(format!(
                            "{other}\n{}",
                            result
                                .observation
                                .as_ref()
                                .map(|o| o.explain())
                                .unwrap_or_default()
                        ))),
                    }
                }));
            }
        }
        Ok(trials)
    }
}

/// `https://localhost:<port>` with the address that accepts a connection
/// (`localhost` is ::1 and 127.0.0.1, a server often listens on one);
/// any other URL as it is.
async fn reachable(url: &str, timeouts: Timeouts) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.host_str() != Some("localhost") {
        return url.to_string();
    }
    let Ok((addrs, _)) = super::client::resolve_all(url, timeouts).await else {
        return url.to_string();
    };
    for addr in &addrs {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(_)) = tokio::time::timeout(timeouts.connect, connect).await {
            let host = match addr.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            };
            let mut url = parsed.clone();
            if url.set_host(Some(&host)).is_ok() {
                return url.to_string();
            }
        }
    }
    url.to_string()
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// What a [`Conformance`] run found.
#[derive(Debug, Clone)]
pub struct ConformanceReport {
    report: RunReport,
    behaviours: Vec<BehaviourVerdict>,
    facts: Option<TargetFacts>,
    profile: ProfileKind,
}

impl ConformanceReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.summary().passed
    }

    /// How many cases failed (a difference from the profile's expectations).
    pub fn failed(&self) -> usize {
        self.summary().failed
    }

    /// How many cases were not judged (with their reasons in the results).
    pub fn skipped(&self) -> usize {
        self.summary().skipped
    }

    /// How many cases timed out.
    pub fn hung(&self) -> usize {
        self.summary().hung
    }

    pub fn summary(&self) -> Summary {
        self.report.summary()
    }

    /// Every case's result.
    pub fn results(&self) -> &[CaseResult] {
        &self.report.results
    }

    /// The cases that failed or hung.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.report
            .sorted_results()
            .into_iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail { .. } | Verdict::Hang { .. }))
            .collect()
    }

    /// The verdict per behaviour (valid certificate, none, revoked, ...)
    /// for a target; empty for a built-in profile.
    pub fn behaviours(&self) -> &[BehaviourVerdict] {
        &self.behaviours
    }

    /// The whole report: for a target, what the preflight learnt and the
    /// verdict per behaviour first; then every case.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Some(facts) = &self.facts {
            text.push_str(&target::render_facts(facts));
            text.push_str(&target::render(&self.behaviours, self.profile.name()));
            text.push('\n');
        }
        text + &self.report.render_table_with(false, false)
    }

    /// The underlying report (JSON, JUnit, ...).
    pub fn report(&self) -> &RunReport {
        &self.report
    }

    /// Panic, naming each failed or hung case and why, unless there is none.
    #[track_caller]
    pub fn assert_no_failures(&self) {
        let failures = self.failures();
        if failures.is_empty() {
            return;
        }
        let mut text = format!(
            "{} of {} cases did not pass ({}):\n",
            failures.len(),
            self.report.results.len(),
            self.summary()
        );
        for r in failures {
            text.push_str(&format!("- {}: {}\n", r.case_name(), r.verdict));
            if let Some(obs) = &r.observation {
                for line in obs.explain().lines() {
                    text.push_str(&format!("    {line}\n"));
                }
            }
        }
        panic!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob_match("validity::*", "validity::expired_leaf"));
        assert!(glob_match("*revoked*", "revocation::revoked_leaf"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-c"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
