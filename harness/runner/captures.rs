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
