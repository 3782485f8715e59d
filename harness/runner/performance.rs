//! `[expect.performance]`: the scenario's built-in gateway (its `[server]`
//! on the `strict` profile) against the same gateway trusting only
//! `baseline.trust_anchors` CAs, both driven in memory with the load
//! client on one thread. Only ratios are judged, never a time: each round
//! runs a batch of handshakes on each configuration, one after the other
//! (the order alternating), in thread CPU time, and the bound is checked
//! on the median of the rounds' ratios, so a busy machine (other cases,
//! other processes) slows both sides of a ratio alike.

use crate::bench::{handshake_in_memory, setup_from, BenchError, InMemory};
use crate::observation::TlsVersion;
use crate::oracle::Diff;
use crate::pki::Pki;
use crate::scenario::schema::{PerformanceExpectation, ScenarioFile};
use std::time::Instant;

/// Rounds, each with a batch on both configurations.
pub const ROUNDS: usize = 9;
/// Thread CPU time each batch aims at (the handshake count is calibrated
/// once on the baseline), long enough that the clock's granularity and a
/// preemption or two do not matter.
const BATCH_CPU_S: f64 = 0.04;

/// What one check measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerformanceFigures {
    /// Median CPU per handshake pair, microseconds.
    pub subject_us: f64,
    pub baseline_us: f64,
    /// Median over rounds of subject / baseline CPU per handshake.
    pub cost_ratio: f64,
    pub handshakes_per_batch: u64,
    pub baseline_trust_anchors: usize,
}

impl PerformanceFigures {
    /// Handshakes per CPU second, as a multiple of the baseline's.
    pub fn handshakes_ratio(&self) -> f64 {
        1.0 / self.cost_ratio
    }

    /// `1.04x (412 us vs 396 us CPU per handshake; baseline 1 trust anchor, median of 9 rounds of 120)`
    pub fn describe(&self, ratio: f64) -> String {
        format!(
            "{ratio:.2}x ({:.0} us vs {:.0} us CPU per handshake; baseline {} trust anchor{}, median of {ROUNDS} interleaved rounds of {} handshakes)",
            self.subject_us,
            self.baseline_us,
            self.baseline_trust_anchors,
            if self.baseline_trust_anchors == 1 { "" } else { "s" },
            self.handshakes_per_batch
        )
    }
}

/// The calling thread's CPU time, seconds (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct we hand it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return crate::bench::thread_cpu_seconds();
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn batch(m: &InMemory, n: u64) -> Result<f64, BenchError> {
    let t = thread_cpu();
    for _ in 0..n {
        handshake_in_memory(m)?;
    }
    Ok((thread_cpu() - t) / n as f64)
}

/// The baseline's `[server] trust`: the CAs the client's certificates
/// chain to first, then the others in order, `n` in all.
fn baseline_trust(pki: &Pki, file: &ScenarioFile, n: usize) -> Result<Vec<String>, BenchError> {
    let trusted = pki.resolve(&file.server.trust).map_err(BenchError::Pki)?;
    let mut wanted: Vec<String> = Vec::new();
    for name in &file.client.certs {
        let mut cur = pki.cert(name).ok();
        while let Some(c) = cur {
            wanted.push(c.name.clone());
            cur = c.issuer.as_deref().and_then(|i| pki.cert(i).ok());
        }
    }
    let (mut first, rest): (Vec<&crate::pki::IssuedCert>, Vec<_>) =
        trusted.iter().partition(|c| wanted.contains(&c.name));
    first.extend(rest);
    Ok(first.into_iter().take(n).map(|c| c.name.clone()).collect())
}

/// Measure the scenario against its baseline for TLS `version`.
pub fn measure(
    pki: &Pki,
    file: &ScenarioFile,
    version: TlsVersion,
    spec: &PerformanceExpectation,
) -> Result<PerformanceFigures, BenchError> {
    let n = spec.baseline.trust_anchors;
    // The certificate is sent whatever the names: verifying it is part of
    // the cost bounded (a client that would send nothing makes a strict
    // gateway refuse every handshake, which measures nothing).
    let mut file = file.clone();
    file.client.selection = crate::knobs::SelectionPolicy::Always;
    let file = &file;
    let mut base_file = file.clone();
    base_file.server.trust = baseline_trust(pki, file, n)?;
    let subject = setup_from(0, pki, file, version)?.in_memory()?;
    let baseline = setup_from(n, pki, &base_file, version)?.in_memory()?;
    // Warm both (caches, lazily built verifiers), then calibrate.
    batch(&subject, 5)?;
    let per = batch(&baseline, 5)?.max(1e-6);
    let started = Instant::now();
    let per_batch = ((BATCH_CPU_S / per) as u64).clamp(10, 2000);
    let (mut ratios, mut subj, mut base) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (s, b) = if round % 2 == 0 {
            let b = batch(&baseline, per_batch)?;
            (batch(&subject, per_batch)?, b)
        } else {
            let s = batch(&subject, per_batch)?;
            (s, batch(&baseline, per_batch)?)
        };
        ratios.push(s / b);
        subj.push(s);
        base.push(b);
    }
    tracing::debug!("performance: {} rounds in {:?}", ROUNDS, started.elapsed());
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    Ok(PerformanceFigures {
        subject_us: median(&mut subj) * 1e6,
        baseline_us: median(&mut base) * 1e6,
        cost_ratio: median(&mut ratios),
        handshakes_per_batch: per_batch,
        baseline_trust_anchors: n,
    })
}

/// The bounds `figures` miss, with both figures.
pub fn judge(spec: &PerformanceExpectation, figures: &PerformanceFigures) -> Vec<Diff> {
    let mut diffs = Vec::new();
    if let Some(max) = spec.max_cost_ratio {
        if figures.cost_ratio > max {
            diffs.push(Diff {
                field: "performance.max_cost_ratio".into(),
                expected: format!("<= {max:.2}x the baseline's CPU per handshake"),
                got: figures.describe(figures.cost_ratio),
            });
        }
    }
    if let Some(min) = spec.min_handshakes_ratio {
        if figures.handshakes_ratio() < min {
            diffs.push(Diff {
                field: "performance.min_handshakes_ratio".into(),
                expected: format!(">= {min:.2}x the baseline's handshakes per CPU second"),
                got: figures.describe(figures.handshakes_ratio()),
            });
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::schema::PerformanceBaseline;

    fn spec(max: Option<f64>, min: Option<f64>) -> PerformanceExpectation {
        PerformanceExpectation {
            baseline: PerformanceBaseline { trust_anchors: 1 },
            max_cost_ratio: max,
            min_handshakes_ratio: min,
        }
    }

    #[test]
    fn a_missed_bound_names_both_figures() {
        let f = PerformanceFigures {
            subject_us: 500.0,
            baseline_us: 400.0,
            cost_ratio: 1.25,
            handshakes_per_batch: 100,
            baseline_trust_anchors: 1,
        };
        assert!(judge(&spec(Some(1.3), Some(0.75)), &f).is_empty());
        let d = judge(&spec(Some(1.1), Some(0.9)), &f);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].field, "performance.max_cost_ratio");
        assert!(
            d[0].got.starts_with("1.25x (500 us vs 400 us"),
            "{}",
            d[0].got
        );
        assert!(d[1].got.starts_with("0.80x"), "{}", d[1].got);
    }

    #[test]
    fn the_baseline_trusts_the_clients_chain_first() {
        let file = crate::bench::bench_scenario(5).unwrap();
        let pki = Pki::generate(&file.pki).unwrap();
        assert_eq!(baseline_trust(&pki, &file, 1).unwrap(), vec!["root"]);
        assert_eq!(baseline_trust(&pki, &file, 2).unwrap()[1], "anchor-00001");
    }

    #[test]
    fn a_configuration_against_itself_costs_about_the_same() {
        // The bound is generous: only a broken measurement (one side not
        // run, a ratio inverted) lands outside it.
        let file = crate::bench::bench_scenario(1).unwrap();
        let pki = Pki::generate(&file.pki).unwrap();
        let f = measure(&pki, &file, TlsVersion::Tls13, &spec(Some(2.0), None)).unwrap();
        assert!(f.cost_ratio > 0.5 && f.cost_ratio < 2.0, "{f:?}");
        assert!(f.handshakes_per_batch >= 10);
    }
}
