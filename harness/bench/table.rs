//! A benchmark run's points, their ratios against the baseline (the first
//! point), and the table and JSON `bench` writes.

use super::LoadStats;
use crate::observation::TlsVersion;
use std::fmt::Write;
use std::time::Duration;

/// One measured trust-store size.
#[derive(Debug, Clone)]
pub struct BenchPoint {
    pub trust_anchors: usize,
    /// Encoded size of the CA list the gateway sent (0 when off).
    pub ca_names_bytes: usize,
    /// The list was cut (see [`super::BenchSetup::ca_names_truncated`]).
    pub ca_names_truncated: bool,
    pub stats: LoadStats,
}

/// Every point of one run, measured under the same settings.
#[derive(Debug, Clone)]
pub struct BenchRun {
    pub tls: TlsVersion,
    /// Whether the gateway sent its CA-names list.
    pub ca_names: bool,
    /// How long each point ran.
    pub duration: Duration,
    pub concurrency: usize,
    /// In the order measured; the first is the baseline.
    pub points: Vec<BenchPoint>,
    /// The signal (`SIGINT`) that stopped the sweep: the points after the
    /// last one listed were not measured.
    pub interrupted: Option<String>,
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
        (base > 0.0).then(|| point.stats.handshakes_per_s / base)
    }

    /// A point with no completed handshake measured nothing: the run failed.
    pub fn any_point_failed(&self) -> bool {
        self.points.iter().any(|p| p.stats.handshakes == 0)
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
            "tls": self.tls.as_str(),
            "ca_names": self.ca_names,
            "duration_s": self.duration.as_secs_f64(),
            "concurrency": self.concurrency,
            "interrupted": self.interrupted,
            "baseline_trust_anchors": self.baseline().map(|b| b.trust_anchors),
            "points": self.points.iter().map(|p| serde_json::json!({
                "trust_anchors": p.trust_anchors,
                "ca_names_bytes": p.ca_names_bytes,
                "ca_names_truncated": p.ca_names_truncated,
                "ratio_vs_baseline": self.ratio(p),
                "stats": p.stats,
            })).collect::<Vec<_>>(),
        })
    }

    /// A header line with the settings, then one row per point.
    pub fn render_table(&self) -> String {
        let baseline = self
            .baseline()
            .map_or_else(|| "-".to_string(), |b| b.trust_anchors.to_string());
        let mut t = format!(
            "TLS {}, CA names {}, {} workers, {:?} per point; baseline = {baseline} anchors\n{:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>10} {:>7} {:>6}\n",
            self.tls, self.ca_names_label(), self.concurrency, self.duration,
            "anchors", "names B", "hs/s", "p50 ms", "p90 ms", "p99 ms", "cpu us/hs", "errors", "ratio"
        );
        for p in &self.points {
            let names = if p.ca_names_truncated {
                format!("{} cut", p.ca_names_bytes)
            } else {
                p.ca_names_bytes.to_string()
            };
            let st = &p.stats;
            let ratio = self
                .ratio(p)
                .map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
            // Writing to a String cannot fail.
            let _ = writeln!(
                t,
                "{:>8} {:>10} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>10.0} {:>7} {:>6}",
                p.trust_anchors,
                names,
                st.handshakes_per_s,
                st.p50_ms,
                st.p90_ms,
                st.p99_ms,
                st.cpu_us_per_handshake,
                st.errors,
                ratio
            );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(trust_anchors: usize, handshakes: u64, rate: f64, truncated: bool) -> BenchPoint {
        BenchPoint {
            trust_anchors,
            ca_names_bytes: 16_000,
            ca_names_truncated: truncated,
            stats: LoadStats {
                handshakes,
                errors: 0,
                first_error: None,
                wall_s: 1.0,
                handshakes_per_s: rate,
                p50_ms: 1.0,
                p90_ms: 2.0,
                p99_ms: 3.0,
                cpu_us_per_handshake: 500.0,
            },
        }
    }

    fn run(points: Vec<BenchPoint>) -> BenchRun {
        BenchRun {
            interrupted: None,
            tls: TlsVersion::Tls13,
            ca_names: true,
            duration: Duration::from_secs(5),
            concurrency: 4,
            points,
        }
    }

    #[test]
    fn ratios_are_against_the_first_point() {
        let r = run(vec![
            point(1, 100, 200.0, false),
            point(1000, 50, 50.0, true),
        ]);
        assert_eq!(r.ratio(&r.points[0]), Some(1.0));
        assert_eq!(r.ratio(&r.points[1]), Some(0.25));
        let json = r.to_json();
        assert_eq!(json["baseline_trust_anchors"], 1);
        assert_eq!(json["points"][1]["ratio_vs_baseline"], 0.25);
        assert_eq!(json["ca_names"], true);
    }

    #[test]
    fn a_baseline_without_handshakes_gives_no_ratio_and_fails_the_run() {
        let r = run(vec![point(1, 0, 0.0, false), point(10, 10, 10.0, false)]);
        assert_eq!(r.ratio(&r.points[1]), None);
        assert_eq!(
            r.to_json()["points"][1]["ratio_vs_baseline"],
            serde_json::Value::Null
        );
        assert!(r.render_table().lines().last().unwrap().ends_with(" -"));
        assert!(r.any_point_failed());
        assert!(!run(vec![point(1, 1, 1.0, false)]).any_point_failed());
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
            "TLS 1.3, CA names on, 4 workers, 5s per point; baseline = 1 anchors"
        );
        assert!(lines[1].trim_start().starts_with("anchors"), "{table}");
        assert!(
            lines[3].contains("16000 cut") && lines[3].ends_with("0.25"),
            "{table}"
        );
    }
}
