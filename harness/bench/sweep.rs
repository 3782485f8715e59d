//! A benchmark run: for each trust-store size, a gateway (built-in on
//! loopback, or a real program) and [`super::load`] against it, one point
//! after the other (so the points do not compete for the CPU); optionally
//! the in-memory floor of each point and `openssl s_time` against the
//! first.

use super::table::{BenchPoint, BenchRun};
use super::{floor, s_time, setup, BenchError};
use crate::interrupt::CancelToken;
use crate::observation::TlsVersion;
use crate::real::RealKind;
use std::fmt;
use std::time::Duration;

/// Where the load goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchGateway {
    /// The built-in `strict` gateway, in this process.
    Builtin,
    /// A real program, one process per point.
    Real(RealKind),
}

impl fmt::Display for BenchGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchGateway::Builtin => f.write_str("builtin"),
            BenchGateway::Real(k) => write!(f, "{k}"),
        }
    }
}

/// What `bench` measures.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub gateway: BenchGateway,
    /// Trust-store sizes, in order; the first is the baseline.
    pub trust_anchors: Vec<usize>,
    /// Whether the gateway sends its CA-names list.
    pub ca_names: bool,
    pub tls: TlsVersion,
    /// How long each point runs.
    pub duration: Duration,
    pub concurrency: usize,
    /// Also measure each point's in-memory rustls pair (`--floor`).
    pub floor: bool,
    /// Also measure each point's minimal tokio-rustls pair over loopback
    /// TCP (`--floor tcp`).
    pub tcp_floor: bool,
    /// Also run `openssl s_time` against the first point (`--compare s_time`).
    pub compare_s_time: bool,
    /// Once cancelled, the point being measured is dropped and no other
    /// starts; the run says it was interrupted.
    pub cancel: CancelToken,
}

impl SweepOptions {
    /// Built-in gateway, names on, TLS 1.3, no floor, no s_time.
    pub fn new(trust_anchors: Vec<usize>, duration: Duration, concurrency: usize) -> Self {
        SweepOptions {
            gateway: BenchGateway::Builtin,
            trust_anchors,
            ca_names: true,
            tls: TlsVersion::Tls13,
            duration,
            concurrency,
            floor: false,
            tcp_floor: false,
            compare_s_time: false,
            cancel: CancelToken::new(),
        }
    }
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
    let mut s_time = None;
    for (i, &n) in opts.trust_anchors.iter().enumerate() {
        if opts.cancel.is_cancelled() {
            break;
        }
        let point = tokio::select! {
            p = measure(opts, n, i == 0, progress.clone()) => p,
            _ = opts.cancel.cancelled() => break,
        };
        let (point, compared) = point.map_err(|e| BenchError::Point {
            trust_anchors: n,
            source: Box::new(e),
        })?;
        points.push(point);
        s_time = s_time.or(compared);
    }
    Ok(BenchRun {
        gateway: opts.gateway.to_string(),
        tls: opts.tls,
        ca_names: opts.ca_names,
        duration: opts.duration,
        concurrency: opts.concurrency,
        points,
        s_time,
        interrupted: opts.cancel.signal().map(|s| s.name().to_string()),
    })
}

async fn measure(
    opts: &SweepOptions,
    trust_anchors: usize,
    first: bool,
    progress: impl Fn(usize, f64) + Send + Sync + 'static,
) -> Result<(BenchPoint, Option<s_time::STimeStats>), BenchError> {
    let (mut point, compared) = match opts.gateway {
        BenchGateway::Builtin => measure_builtin(opts, trust_anchors, first, progress).await?,
        BenchGateway::Real(kind) => {
            let settings = super::real::PointSettings {
                ca_names: opts.ca_names,
                tls: opts.tls,
                duration: opts.duration,
                concurrency: opts.concurrency,
                compare_s_time: opts.compare_s_time,
            };
            super::real::measure_real(kind, &settings, trust_anchors, first, progress).await?
        }
    };
    if opts.floor {
        // The built-in gateway's configuration for the same point, driven
        // in memory on this thread (no load runs meanwhile).
        let s = setup(trust_anchors, opts.ca_names, opts.tls)?;
        let m = s.in_memory()?;
        let d = opts.duration.min(Duration::from_secs(5));
        // Blocks this thread for `d`: nothing else runs between points.
        point.floor = Some(floor(&m, d, 50)?);
    }
    if opts.tcp_floor {
        // On a thread of its own with its own runtime (this one is busy
        // with nothing else meanwhile, as for the in-memory floor).
        let s = setup(trust_anchors, opts.ca_names, opts.tls)?;
        let m = s.in_memory()?;
        let d = opts.duration.min(Duration::from_secs(5));
        let measured = std::thread::scope(|scope| {
            scope
                .spawn(|| super::floor_tcp::tcp_floor(&m, d, 50))
                .join()
                .unwrap_or(Err(BenchError::LanePanicked))
        });
        point.tcp_floor = Some(measured?);
    }
    Ok((point, compared))
}

async fn measure_builtin(
    opts: &SweepOptions,
    trust_anchors: usize,
    first: bool,
    progress: impl Fn(usize, f64) + Send + Sync + 'static,
) -> Result<(BenchPoint, Option<s_time::STimeStats>), BenchError> {
    progress(trust_anchors, 0.0);
    let s = setup(trust_anchors, opts.ca_names, opts.tls)?;
    let tls = crate::tls::server::gateway_tls(&s.gateway).map_err(BenchError::Gateway)?;
    let timeout = s.gateway.timeouts.handshake;
    let stats = super::load_builtin(
        tls.config.clone(),
        timeout,
        &s.client,
        opts.duration,
        opts.concurrency,
        move |f| progress(trust_anchors, f),
    )
    .await;
    let compared = if first && opts.compare_s_time {
        // s_time is one process making one handshake at a time: one
        // gateway thread serves it.
        let gateway = super::server::LeanGateway::start(tls.config, timeout)
            .await
            .map_err(BenchError::Listen)?;
        let (cert, key) = &s.client_pem;
        let measured = s_time::s_time(
            gateway.addr(),
            opts.tls,
            cert,
            key,
            opts.duration,
            trust_anchors,
        )
        .await;
        gateway.shutdown().await;
        Some(measured)
    } else {
        None
    };
    let point = BenchPoint {
        trust_anchors,
        ca_names_bytes: s.ca_names_bytes,
        ca_names_truncated: s.ca_names_truncated,
        ca_names_note: None,
        stats: stats?,
        floor: None,
        tcp_floor: None,
    };
    Ok((point, compared.transpose()?))
}
