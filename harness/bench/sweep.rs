//! A benchmark run: for each trust-store size, a built-in gateway on
//! loopback and [`super::load`] against it, one point after the other (so
//! the points do not compete for the CPU).

use super::table::{BenchPoint, BenchRun};
use super::{load, setup, BenchError};
use crate::interrupt::CancelToken;
use crate::observation::TlsVersion;
use std::time::Duration;

/// What `bench` measures.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Trust-store sizes, in order; the first is the baseline.
    pub trust_anchors: Vec<usize>,
    /// Whether the gateway sends its CA-names list.
    pub ca_names: bool,
    pub tls: TlsVersion,
    /// How long each point runs.
    pub duration: Duration,
    pub concurrency: usize,
    /// Once cancelled, the point being measured is dropped and no other
    /// starts; the run says it was interrupted.
    pub cancel: CancelToken,
}

/// Measure every point of `opts`. `progress(trust_anchors, fraction)` is
/// called as each point advances (fraction 0 to 1).
pub async fn sweep(
    opts: &SweepOptions,
    progress: impl Fn(usize, f64) + Clone + Send + Sync + 'static,
) -> Result<BenchRun, BenchError> {
    if opts.trust_anchors.is_empty() {
        return Err(BenchError::NoPoints);
    }
    let mut points = Vec::with_capacity(opts.trust_anchors.len());
    for &n in &opts.trust_anchors {
        if opts.cancel.is_cancelled() {
            break;
        }
        let point = tokio::select! {
            p = measure(opts, n, progress.clone()) => p,
            _ = opts.cancel.cancelled() => break,
        };
        points.push(point.map_err(|e| BenchError::Point {
            trust_anchors: n,
            source: Box::new(e),
        })?);
    }
    Ok(BenchRun {
        tls: opts.tls,
        ca_names: opts.ca_names,
        duration: opts.duration,
        concurrency: opts.concurrency,
        points,
        interrupted: opts.cancel.signal().map(|s| s.name().to_string()),
    })
}

async fn measure(
    opts: &SweepOptions,
    trust_anchors: usize,
    progress: impl Fn(usize, f64) + Send + Sync + 'static,
) -> Result<BenchPoint, BenchError> {
    progress(trust_anchors, 0.0);
    let s = setup(trust_anchors, opts.ca_names, opts.tls)?;
    let gateway = crate::tls::server::start(s.gateway.clone())
        .await
        .map_err(BenchError::Gateway)?;
    let stats = load(
        gateway.addr(),
        &s.client,
        opts.duration,
        opts.concurrency,
        move |f| progress(trust_anchors, f),
    )
    .await;
    gateway.shutdown().await;
    Ok(BenchPoint {
        trust_anchors,
        ca_names_bytes: s.ca_names_bytes,
        ca_names_truncated: s.ca_names_truncated,
        stats: stats?,
    })
}
