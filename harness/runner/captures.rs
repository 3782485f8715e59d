//! `run --capture DIR`: one pcapng per case (or per failed case) with the
//! client connections it made and their TLS keys.

use super::report::CaseResult;
use crate::capture::{file_name, write_pcapng, CaptureError};
use crate::observation::transcript::WireCapture;
use crate::oracle::Verdict;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where captures go, which cases get one, and what was written.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    pub dir: PathBuf,
    /// Only cases that failed or hung.
    pub only_failed: bool,
    /// Case name (`CaseResult::case_name`) -> file written.
    pub written: Arc<Mutex<BTreeMap<String, PathBuf>>>,
    /// Captures that could not be written, with why.
    pub errors: Arc<Mutex<Vec<String>>>,
}

impl CaptureOptions {
    pub fn new(dir: PathBuf, only_failed: bool) -> Self {
        CaptureOptions {
            dir,
            only_failed,
            ..Default::default()
        }
    }

    /// Write the case's connections if it qualifies; nothing when it made
    /// no connection.
    pub fn keep(&self, result: &CaseResult, captures: &[WireCapture]) {
        let failed = matches!(result.verdict, Verdict::Fail { .. } | Verdict::Hang { .. });
        if captures.is_empty() || (self.only_failed && !failed) {
            return;
        }
        let path = self.dir.join(file_name(
            &result.scenario,
            &result.profile,
            result.tls.as_str(),
        ));
        match write_pcapng(&path, captures) {
            Ok(()) => {
                self.written
                    .lock()
                    .expect("captures lock")
                    .insert(result.case_name(), path);
            }
            Err(e) => self
                .errors
                .lock()
                .expect("captures lock")
                .push(format!("{}: {e}", result.case_name())),
        }
    }

    /// The file written for a case, if any.
    pub fn file_for(&self, case_name: &str) -> Option<PathBuf> {
        self.written
            .lock()
            .expect("captures lock")
            .get(case_name)
            .cloned()
    }

    /// Make the directory (and its parents).
    pub fn create_dir(&self) -> Result<(), CaptureError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| CaptureError::Io {
            path: self.dir.clone(),
            source,
        })
    }
}

#[cfg(all(test, feature = "pcap"))]
mod tests {
    use super::*;
    use crate::observation::transcript::WireSegment;
    use crate::observation::{Side, TlsVersion};
    use crate::oracle::Diff;

    fn result(scenario: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            scenario: scenario.into(),
            description: String::new(),
            profile: "nginx".into(),
            tls: TlsVersion::Tls13,
            verdict,
            observation: None,
            duration_ms: 1.0,
            not_run_reason: None,
            adjusted: Vec::new(),
            observed: None,
        }
    }

    fn connection() -> WireCapture {
        let addr = "127.0.0.1:1".parse().expect("addr");
        let mut c = WireCapture::new(addr, addr);
        c.segments.push(WireSegment {
            from: Side::Client,
            at_us: 0,
            bytes: vec![0x16, 3, 1, 0, 0],
        });
        c
    }

    #[test]
    fn only_failed_keeps_failures_and_hangs_and_nothing_without_a_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = CaptureOptions::new(dir.path().to_path_buf(), true);
        let fail = Verdict::Fail {
            diffs: vec![Diff {
                field: "alert".into(),
                expected: "x".into(),
                got: "y".into(),
            }],
        };
        let hang = Verdict::Hang {
            stage: "handshake".into(),
        };
        opts.keep(&result("a::pass", Verdict::Pass), &[connection()]);
        opts.keep(&result("a::fail", fail.clone()), &[connection()]);
        opts.keep(&result("a::hang", hang), &[connection()]);
        opts.keep(&result("a::nothing", fail), &[]);
        let written = opts.written.lock().expect("lock").clone();
        let names: Vec<&String> = written.keys().collect();
        assert_eq!(names, ["a::fail [nginx TLS1.3]", "a::hang [nginx TLS1.3]"]);
        for path in written.values() {
            assert!(path.is_file(), "{}", path.display());
        }
        assert_eq!(
            opts.file_for("a::fail [nginx TLS1.3]"),
            Some(dir.path().join("a__fail__nginx__tls1.3.pcapng"))
        );
        // Every case when not only failures.
        let all = CaptureOptions::new(dir.path().join("all"), false);
        all.create_dir().expect("mkdir");
        all.keep(&result("a::pass", Verdict::Pass), &[connection()]);
        assert!(all.file_for("a::pass [nginx TLS1.3]").is_some());
        assert!(opts.errors.lock().expect("lock").is_empty());
    }
}
