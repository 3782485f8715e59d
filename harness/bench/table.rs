//! A benchmark run's points, their ratios against the baseline (the first
//! point), and the table and JSON `bench` writes.

use super::{FloorStats, LoadStats, STimeStats};
use crate::observation::TlsVersion;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::time::Duration;

/// One measured trust-store size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchPoint {
    pub trust_anchors: usize,
    /// Encoded size of the CA list the gateway sent (0 when off).
    pub ca_names_bytes: usize,
    /// The list was cut (see [`super::BenchSetup::ca_names_truncated`]).
    pub ca_names_truncated: bool,
    /// How the names were configured when not as asked (a real program that
    /// cannot send an empty list sends the client's CA alone).
    #[serde(default)]
    pub ca_names_note: Option<String>,
    pub stats: LoadStats,
    /// The in-memory rustls pair for the same point (`--floor`).
    #[serde(default)]
    pub floor: Option<FloorStats>,
    /// The minimal tokio-rustls pair over loopback TCP for the same point
    /// (`--floor tcp`).
    #[serde(default)]
    pub tcp_floor: Option<FloorStats>,
}

/// Every point of one run, measured under the same settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRun {
    /// `builtin` or `real:<name>` (or the target's URL).
    pub gateway: String,
    pub tls: TlsVersion,
    /// Whether the gateway sent its CA-names list.
    pub ca_names: bool,
    /// How long each point ran.
    pub duration: Duration,
    pub concurrency: usize,
    /// In the order measured; the first is the baseline.
    pub points: Vec<BenchPoint>,
    /// `openssl s_time` against the first point (`--compare s_time`).
    pub s_time: Option<STimeStats>,
    /// The signal (`SIGINT`) that stopped the sweep: the points after the
    /// last one listed were not measured.
    pub interrupted: Option<String>,
}

/// The JSON `bench --format json` writes, read back (`report merge`).
#[derive(Debug, Deserialize)]
struct RunJson {
    gateway: Option<String>,
    tls: String,
    ca_names: bool,
    duration_s: f64,
    concurrency: usize,
    interrupted: Option<String>,
    #[serde(default)]
    s_time: Option<STimeStats>,
    points: Vec<BenchPoint>,
}

/// Why a JSON document is not a bench run.
#[derive(Debug, thiserror::Error)]
pub enum BenchJsonError {
    #[error("not a `bench --format json` document")]
    Shape(#[source] serde_json::Error),
    #[error("unknown TLS version `{0}`")]
    Tls(String),
    #[error("runs differ in `{0}`: only runs of the same settings can be merged")]
    Settings(&'static str),
    #[error("nothing to merge")]
    Empty,
}

impl BenchRun {
    /// The point the others are compared with.
    pub fn baseline(&self) -> Option<&BenchPoint> {
        self.points.first()
    }

    /// `point`'s handshake rate as a multiple of the baseline's; `None` when
    /// the baseline completed no handshake (nothing to compare with).
    pub fn ratio(&self, point: &BenchPoint) -> Option<f64> {
        let base = self.baseline()?.stats.handshakes_per_s;
        (base > 0.0 && point.stats.handshakes > 0).then(|| point.stats.handshakes_per_s / base)
    }

    /// `point`'s CPU per handshake (client and server) as a multiple of
    /// the baseline's: the cost ratio `--max-ratio` bounds.
    pub fn cost_ratio(&self, point: &BenchPoint) -> Option<f64> {
        let base = self.baseline()?.stats.cpu_us_per_handshake;
        (base > 0.0 && point.stats.handshakes > 0).then(|| point.stats.cpu_us_per_handshake / base)
    }

    /// `point`'s CPU per handshake as a multiple of its in-memory floor.
    pub fn floor_ratio(point: &BenchPoint) -> Option<f64> {
        let floor = point.floor?.cpu_us_per_handshake;
        (floor > 0.0 && point.stats.handshakes > 0)
            .then(|| point.stats.cpu_us_per_handshake / floor)
    }

    /// `point`'s CPU per handshake as a multiple of its TCP floor (the
    /// goal for the built-in gateway: at most 1.05).
    pub fn tcp_floor_ratio(point: &BenchPoint) -> Option<f64> {
        let floor = point.tcp_floor?.cpu_us_per_handshake;
        (floor > 0.0 && point.stats.handshakes > 0)
            .then(|| point.stats.cpu_us_per_handshake / floor)
    }

    /// Against a real gateway: the load as a fraction of the machine's
    /// ceiling, the handshakes/s its cores could give at the measured
    /// server and client CPU per handshake (`cores / (srv + cli)`); the goal
    /// is at least 0.95.
    pub fn ceiling_fraction(point: &BenchPoint, cores: usize) -> Option<(f64, f64)> {
        let st = &point.stats;
        let srv = st.server_cpu_us_per_handshake?;
        let per = srv + st.client_cpu_us_per_handshake;
        (per > 0.0 && st.handshakes > 0 && cores > 0).then(|| {
            let ceiling = cores as f64 * 1e6 / per;
            (st.handshakes_per_s / ceiling, ceiling)
        })
    }

    /// The harness's handshake rate against the first point as a multiple
    /// of `openssl s_time`'s against the same target.
    pub fn s_time_ratio(&self) -> Option<f64> {
        let s = self.s_time?;
        let base = self.baseline()?;
        (s.handshakes_per_s > 0.0).then(|| base.stats.handshakes_per_s / s.handshakes_per_s)
    }

    /// A point that measured nothing, and not because the server refused
    /// every handshake with an alert (that is a finding, shown as such).
    pub fn any_point_failed(&self) -> bool {
        self.points
            .iter()
            .any(|p| p.stats.handshakes == 0 && !p.stats.refused_by_server())
    }

    /// The points whose cost ratio exceeds `max`: (anchors, ratio).
    pub fn over_max_ratio(&self, max: f64) -> Vec<(usize, f64)> {
        self.points
            .iter()
            .filter_map(|p| Some((p.trust_anchors, self.cost_ratio(p)?)))
            .filter(|(_, r)| *r > max)
            .collect()
    }

    fn ca_names_label(&self) -> &'static str {
        if self.ca_names {
            "on"
        } else {
            "off"
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "gateway": self.gateway,
            "tls": self.tls.as_str(),
            "ca_names": self.ca_names,
            "duration_s": self.duration.as_secs_f64(),
            "concurrency": self.concurrency,
            "interrupted": self.interrupted,
            "baseline_trust_anchors": self.baseline().map(|b| b.trust_anchors),
            "s_time": self.s_time,
            "s_time_ratio": self.s_time_ratio(),
            "points": self.points.iter().map(|p| {
                let mut v = serde_json::to_value(p).expect("a point serializes");
                v["ratio_vs_baseline"] = serde_json::json!(self.ratio(p));
                v["cost_ratio_vs_baseline"] = serde_json::json!(self.cost_ratio(p));
                v["floor_ratio"] = serde_json::json!(Self::floor_ratio(p));
                v["tcp_floor_ratio"] = serde_json::json!(Self::tcp_floor_ratio(p));
                v["ceiling_fraction"] = serde_json::json!(Self::ceiling_fraction(p, cores()).map(|(f, _)| f));
                v["refused_by_server"] = serde_json::json!(p.stats.refusal());
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// Read back what [`Self::to_json`] wrote.
    pub fn from_json(value: &serde_json::Value) -> Result<BenchRun, BenchJsonError> {
        let r: RunJson = serde_json::from_value(value.clone()).map_err(BenchJsonError::Shape)?;
        Ok(BenchRun {
            gateway: r.gateway.unwrap_or_else(|| "builtin".into()),
            tls: TlsVersion::parse(&r.tls).ok_or(BenchJsonError::Tls(r.tls.clone()))?,
            ca_names: r.ca_names,
            duration: Duration::from_secs_f64(r.duration_s.max(0.0)),
            concurrency: r.concurrency,
            points: r.points,
            s_time: r.s_time,
            interrupted: r.interrupted,
        })
    }

    /// Runs of the same settings from several load machines against the
    /// same gateways, as one: per trust-store size, handshakes, errors and
    /// handshakes/s summed; CPU per handshake and latency percentiles the
    /// handshake-weighted mean of the machines' (a percentile of the union
    /// cannot be recovered from percentiles). Points in the first run's
    /// order.
    pub fn merge(runs: &[BenchRun]) -> Result<BenchRun, BenchJsonError> {
        let first = runs.first().ok_or(BenchJsonError::Empty)?;
        for r in &runs[1..] {
            if r.gateway != first.gateway {
                return Err(BenchJsonError::Settings("gateway"));
            }
            if r.tls != first.tls {
                return Err(BenchJsonError::Settings("tls"));
            }
            if r.ca_names != first.ca_names {
                return Err(BenchJsonError::Settings("ca_names"));
            }
        }
        let mut merged = first.clone();
        merged.concurrency = runs.iter().map(|r| r.concurrency).sum();
        merged.interrupted = runs.iter().find_map(|r| r.interrupted.clone());
        merged.s_time = None;
        merged.points.clear();
        let mut order: Vec<usize> = Vec::new();
        for r in runs {
            for p in &r.points {
                if !order.contains(&p.trust_anchors) {
                    order.push(p.trust_anchors);
                }
            }
        }
        for anchors in order {
            let same: Vec<&BenchPoint> = runs
                .iter()
                .flat_map(|r| r.points.iter())
                .filter(|p| p.trust_anchors == anchors)
                .collect();
            let mut point = same[0].clone();
            let n: u64 = same.iter().map(|p| p.stats.handshakes).sum();
            let weighted = |f: fn(&LoadStats) -> f64| {
                if n == 0 {
                    0.0
                } else {
                    same.iter()
                        .map(|p| f(&p.stats) * p.stats.handshakes as f64)
                        .sum::<f64>()
                        / n as f64
                }
            };
            let mut kinds = std::collections::BTreeMap::new();
            for p in &same {
                for (k, c) in &p.stats.errors_by_kind {
                    *kinds.entry(k.clone()).or_insert(0) += c;
                }
            }
            let servers: Vec<f64> = same
                .iter()
                .filter_map(|p| p.stats.server_cpu_us_per_handshake)
                .collect();
            point.stats = LoadStats {
                handshakes: n,
                errors: same.iter().map(|p| p.stats.errors).sum(),
                errors_by_kind: kinds,
                first_error: same.iter().find_map(|p| p.stats.first_error.clone()),
                wall_s: same.iter().map(|p| p.stats.wall_s).fold(0.0, f64::max),
                handshakes_per_s: same.iter().map(|p| p.stats.handshakes_per_s).sum(),
                p50_ms: weighted(|s| s.p50_ms),
                p90_ms: weighted(|s| s.p90_ms),
                p99_ms: weighted(|s| s.p99_ms),
                cpu_us_per_handshake: weighted(|s| s.cpu_us_per_handshake),
                client_cpu_us_per_handshake: weighted(|s| s.client_cpu_us_per_handshake),
                server_cpu_us_per_handshake: (!servers.is_empty())
                    .then(|| weighted(|s| s.server_cpu_us_per_handshake.unwrap_or(0.0))),
            };
            point.floor = None;
            merged.points.push(point);
        }
        Ok(merged)
    }

    /// A header line with the settings, then one row per point, then the
    /// notes (names configured otherwise, refusals, s_time).
    pub fn render_table(&self) -> String {
        let baseline = self
            .baseline()
            .map_or_else(|| "-".to_string(), |b| b.trust_anchors.to_string());
        let mut t = format!(
            "{}, TLS {}, CA names {}, {} workers, {:?} per point; baseline = {baseline} anchors\n{:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>7} {:>6} {:>6} {:>6}\n",
            self.gateway, self.tls, self.ca_names_label(), self.concurrency, self.duration,
            "anchors", "names B", "hs/s", "p50 ms", "p90 ms", "p99 ms", "cli us/hs", "srv us/hs", "cpu us/hs", "errors", "ratio", "cost", "floor"
        );
        let fmt_ratio = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
        let mut notes = Vec::new();
        for p in &self.points {
            let names = if p.ca_names_truncated {
                format!("{} cut", p.ca_names_bytes)
            } else {
                p.ca_names_bytes.to_string()
            };
            let st = &p.stats;
            let server = st
                .server_cpu_us_per_handshake
                .map_or_else(|| "in-proc".to_string(), |s| format!("{s:.0}"));
            let _ = writeln!(
                t,
                "{:>8} {:>10} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>9.0} {:>9} {:>9.0} {:>7} {:>6} {:>6} {:>6}",
                p.trust_anchors,
                names,
                st.handshakes_per_s,
                st.p50_ms,
                st.p90_ms,
                st.p99_ms,
                st.client_cpu_us_per_handshake,
                server,
                st.cpu_us_per_handshake,
                st.errors,
                fmt_ratio(self.ratio(p)),
                fmt_ratio(self.cost_ratio(p)),
                fmt_ratio(Self::floor_ratio(p)),
            );
            if let Some(note) = &p.ca_names_note {
                notes.push(format!("{} anchors: CA names: {note}", p.trust_anchors));
            }
            if let Some(alert) = st.refusal() {
                notes.push(format!(
                    "{} anchors: the gateway refused every handshake: {alert} ({} names, {} bytes)",
                    p.trust_anchors,
                    if self.ca_names { "with" } else { "without" },
                    p.ca_names_bytes
                ));
            } else if st.errors > 0 {
                let kinds: Vec<String> = st
                    .errors_by_kind
                    .iter()
                    .map(|(k, n)| format!("{k} x{n}"))
                    .collect();
                notes.push(format!(
                    "{} anchors: errors: {}",
                    p.trust_anchors,
                    kinds.join(", ")
                ));
            }
            if let Some(srv) = st.server_cpu_us_per_handshake.filter(|_| st.handshakes > 0) {
                notes.push(format!(
                    "{} anchors: the gateway's processes were busy {:.0}% of one core",
                    p.trust_anchors,
                    srv * st.handshakes_per_s / 1e4
                ));
            }
            if let Some(f) = p.floor {
                notes.push(format!(
                    "{} anchors: in-memory rustls pair {:.0} us CPU per handshake ({} handshakes)",
                    p.trust_anchors, f.cpu_us_per_handshake, f.handshakes
                ));
            }
            if let (Some(f), Some(r)) = (p.tcp_floor, Self::tcp_floor_ratio(p)) {
                notes.push(format!(
                    "{} anchors: TCP floor (a minimal tokio-rustls pair over loopback, one handshake at a time) {:.0} us CPU per handshake ({} handshakes); this row costs {r:.2}x it (goal for the built-in gateway: at most 1.05)",
                    p.trust_anchors, f.cpu_us_per_handshake, f.handshakes
                ));
            }
            if let Some((fraction, ceiling)) = Self::ceiling_fraction(p, cores()) {
                notes.push(format!(
                    "{} anchors: the load is {fraction:.2} of this machine's ceiling ({} cores / (server + client) CPU per handshake = {ceiling:.0} handshakes/s; goal: at least 0.95)",
                    p.trust_anchors,
                    cores()
                ));
            }
        }
        if let (Some(s), Some(r)) = (self.s_time, self.s_time_ratio()) {
            notes.push(format!(
                "openssl s_time against the {}-anchor point: {:.0} handshakes/s ({} in {:.1} s); the harness's load is {r:.2}x",
                s.trust_anchors, s.handshakes_per_s, s.connections, s.wall_s
            ));
            if let Some(cpu) = s.cpu_us_per_handshake {
                let harness = self
                    .baseline()
                    .filter(|b| b.stats.server_cpu_us_per_handshake.is_some())
                    .map(|b| b.stats.client_cpu_us_per_handshake);
                notes.push(match harness {
                    Some(h) => format!(
                        "client CPU per handshake: s_time {cpu:.0} us, the harness's load {h:.0} us ({:.2}x s_time's; goal: at most 1.00)",
                        h / cpu
                    ),
                    None => format!(
                        "client CPU per handshake: s_time {cpu:.0} us (the harness's client shares its process with the built-in gateway: --gateway real:X gives its own)"
                    ),
                });
            }
        }
        for n in notes {
            let _ = writeln!(t, "{n}");
        }
        if let Some(signal) = &self.interrupted {
            let _ = writeln!(
                t,
                "PARTIAL: interrupted by {signal}; the points not listed were not measured"
            );
        }
        t
    }
}

/// This machine's cores, as the ceiling counts them.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(trust_anchors: usize, handshakes: u64, rate: f64, truncated: bool) -> BenchPoint {
        BenchPoint {
            trust_anchors,
            ca_names_bytes: 16_000,
            ca_names_truncated: truncated,
            ca_names_note: None,
            stats: LoadStats {
                handshakes,
                wall_s: 1.0,
                handshakes_per_s: rate,
                p50_ms: 1.0,
                p90_ms: 2.0,
                p99_ms: 3.0,
                cpu_us_per_handshake: 500.0,
                client_cpu_us_per_handshake: 500.0,
                ..Default::default()
            },
            floor: None,
            tcp_floor: None,
        }
    }

    fn run(points: Vec<BenchPoint>) -> BenchRun {
        BenchRun {
            gateway: "builtin".into(),
            interrupted: None,
            tls: TlsVersion::Tls13,
            ca_names: true,
            duration: Duration::from_secs(5),
            concurrency: 4,
            points,
            s_time: None,
        }
    }

    #[test]
    fn ratios_are_against_the_first_point() {
        let mut r = run(vec![
            point(1, 100, 200.0, false),
            point(1000, 50, 50.0, true),
        ]);
        r.points[1].stats.cpu_us_per_handshake = 750.0;
        r.points[1].floor = Some(FloorStats {
            handshakes: 10,
            cpu_us_per_handshake: 600.0,
        });
        assert_eq!(r.ratio(&r.points[0]), Some(1.0));
        assert_eq!(r.ratio(&r.points[1]), Some(0.25));
        assert_eq!(r.cost_ratio(&r.points[1]), Some(1.5));
        assert_eq!(BenchRun::floor_ratio(&r.points[1]), Some(1.25));
        // A real gateway at 1000 us server + 1000 us client CPU per
        // handshake: 2 cores give at most 1000 handshakes/s.
        let mut real = r.points[1].clone();
        real.stats.server_cpu_us_per_handshake = Some(1000.0);
        real.stats.client_cpu_us_per_handshake = 1000.0;
        real.stats.handshakes_per_s = 950.0;
        let (fraction, ceiling) = BenchRun::ceiling_fraction(&real, 2).unwrap();
        assert!((ceiling - 1000.0).abs() < 1e-9, "{ceiling}");
        assert!((fraction - 0.95).abs() < 1e-9, "{fraction}");
        assert_eq!(BenchRun::ceiling_fraction(&r.points[1], 2), None);
        assert_eq!(r.over_max_ratio(1.4), vec![(1000, 1.5)]);
        assert!(r.over_max_ratio(1.5).is_empty());
        let json = r.to_json();
        assert_eq!(json["baseline_trust_anchors"], 1);
        assert_eq!(json["points"][1]["ratio_vs_baseline"], 0.25);
        assert_eq!(json["points"][1]["cost_ratio_vs_baseline"], 1.5);
        assert_eq!(json["ca_names"], true);
        assert_eq!(BenchRun::from_json(&json).unwrap(), r);
    }

    #[test]
    fn s_time_is_compared_with_the_first_point() {
        let mut r = run(vec![point(1, 100, 900.0, false)]);
        r.s_time = Some(STimeStats {
            trust_anchors: 1,
            connections: 1500,
            wall_s: 5.0,
            handshakes_per_s: 300.0,
            cpu_us_per_handshake: Some(800.0),
        });
        assert_eq!(r.s_time_ratio(), Some(3.0));
        let table = r.render_table();
        assert!(table.contains("the harness's load is 3.00x"), "{table}");
        // The built-in gateway shares the harness's process: s_time's own
        // client CPU is stated, the harness's cannot be.
        assert!(
            table.contains("client CPU per handshake: s_time 800 us (the harness's client shares"),
            "{table}"
        );
    }

    #[test]
    fn a_baseline_without_handshakes_gives_no_ratio_and_fails_the_run() {
        let r = run(vec![point(1, 0, 0.0, false), point(10, 10, 10.0, false)]);
        assert_eq!(r.ratio(&r.points[1]), None);
        assert_eq!(
            r.to_json()["points"][1]["ratio_vs_baseline"],
            serde_json::Value::Null
        );
        assert!(r.any_point_failed());
        assert!(!run(vec![point(1, 1, 1.0, false)]).any_point_failed());
    }

    #[test]
    fn a_point_every_handshake_of_which_got_a_server_alert_is_a_refusal_not_a_failure() {
        let mut refused = point(1000, 0, 0.0, false);
        refused.stats.errors = 7;
        refused
            .stats
            .errors_by_kind
            .insert("alert internal_error from server".into(), 7);
        let r = run(vec![point(1, 10, 10.0, false), refused.clone()]);
        assert!(!r.any_point_failed());
        assert_eq!(
            r.points[1].stats.refusal(),
            Some("alert internal_error from server")
        );
        assert!(r.render_table().contains(
            "1000 anchors: the gateway refused every handshake: alert internal_error from server"
        ));
        refused
            .stats
            .errors_by_kind
            .insert("CONNECTION_RESET".into(), 1);
        assert!(run(vec![point(1, 10, 10.0, false), refused]).any_point_failed());
    }

    #[test]
    fn merged_runs_sum_handshakes_per_point_and_weight_the_costs() {
        let mut a = run(vec![
            point(1, 100, 200.0, false),
            point(10, 50, 100.0, false),
        ]);
        let mut b = run(vec![
            point(1, 300, 600.0, false),
            point(10, 50, 100.0, false),
        ]);
        a.points[0].stats.cpu_us_per_handshake = 400.0;
        b.points[0].stats.cpu_us_per_handshake = 800.0;
        b.points[1].stats.errors = 2;
        b.points[1].stats.errors_by_kind.insert("TIMEOUT".into(), 2);
        let m = BenchRun::merge(&[a.clone(), b]).unwrap();
        assert_eq!(m.points.len(), 2);
        assert_eq!(m.points[0].stats.handshakes, 400);
        assert_eq!(m.points[0].stats.handshakes_per_s, 800.0);
        assert_eq!(m.points[0].stats.cpu_us_per_handshake, 700.0);
        assert_eq!(m.points[1].stats.errors_by_kind["TIMEOUT"], 2);
        assert_eq!(m.concurrency, 8);
        let mut other = a.clone();
        other.tls = TlsVersion::Tls12;
        assert!(matches!(
            BenchRun::merge(&[a, other]),
            Err(BenchJsonError::Settings("tls"))
        ));
    }

    #[test]
    fn the_table_has_a_settings_line_a_header_and_a_row_per_point() {
        let r = run(vec![
            point(1, 100, 200.0, false),
            point(1000, 50, 50.0, true),
        ]);
        let table = r.render_table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert_eq!(
            lines[0],
            "builtin, TLS 1.3, CA names on, 4 workers, 5s per point; baseline = 1 anchors"
        );
        assert!(lines[1].trim_start().starts_with("anchors"), "{table}");
        assert!(
            lines[3].contains("16000 cut") && lines[3].contains(" 0.25 "),
            "{table}"
        );
    }
}
