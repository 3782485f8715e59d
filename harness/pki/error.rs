//! The PKI's errors: a spec that cannot be read, checked, generated or
//! written, and a directory that cannot be loaded.

use super::dn::SubjectError;
use super::keys::KeyError;
use super::load::LoadError;
use super::x509::SanError;
use std::path::PathBuf;

/// Why a spec could not be read, checked, generated or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The TOML could not be parsed or did not fit the schema (unknown key, bad
    /// type); `rendered` is `PATH:LINE:COL: field `F`: message`.
    #[error("{rendered}")]
    Parse {
        path: String,
        line: Option<usize>,
        rendered: String,
    },
    /// The spec parsed but says something impossible (unknown issuer, cycle, ...).
    #[error("{path}{}: field `{field}`: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: String,
        line: Option<usize>,
        /// `cert[INDEX].KEY` or `bulk[INDEX].KEY` (0-based, in file order).
        field: String,
        message: String,
    },
    /// Several spec errors, each listed on its own line, by line number.
    #[error("{} errors:\n{}", errors.len(), list_errors(errors))]
    Many { errors: Vec<PkiError> },
    /// rcgen or the key generator refused.
    #[error("generating `{name}`: {source}")]
    Generate {
        name: String,
        #[source]
        source: GenerateError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: output directory exists and is not empty", path.display())]
    OutDirNotEmpty { path: PathBuf },
    /// A key or PKCS#12 file as `[[cert]]` asks could not be encoded.
    #[error(transparent)]
    KeyFile(#[from] super::key_file::KeyFileError),
    /// A PKI directory (written by `pki generate`) could not be loaded.
    #[error("{}: {source}", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: LoadError,
    },
    /// A name that is not in the PKI.
    #[error("no certificate named `{name}` in the PKI{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownCert { name: String, hint: Option<String> },
}

fn list_errors(errors: &[PkiError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PkiError {
    /// One error as itself, several as [`PkiError::Many`] (flattened, ordered
    /// by line; errors without a line last, in the order found).
    pub(crate) fn collect(errors: Vec<PkiError>) -> Option<PkiError> {
        let mut flat = Vec::with_capacity(errors.len());
        for e in errors {
            match e {
                PkiError::Many { errors } => flat.extend(errors),
                other => flat.push(other),
            }
        }
        flat.sort_by_key(|e| e.line().unwrap_or(usize::MAX));
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(PkiError::Many { errors: flat }),
        }
    }

    /// The individual errors (one, or each of a `Many`).
    pub fn errors(&self) -> Vec<&PkiError> {
        match self {
            PkiError::Many { errors } => errors.iter().collect(),
            other => vec![other],
        }
    }

    /// The spec line a `Parse` or `Invalid` error points at.
    pub fn line(&self) -> Option<usize> {
        match self {
            PkiError::Parse { line, .. } | PkiError::Invalid { line, .. } => *line,
            _ => None,
        }
    }
}

/// Why a certificate, key or CRL of a valid spec could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Subject(#[from] SubjectError),
    #[error(transparent)]
    San(#[from] SanError),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// rcgen refused to sign.
    #[error(transparent)]
    Sign(#[from] rcgen::Error),
    #[error("reading back the generated certificate: {0}")]
    Reparse(#[from] x509_parser::error::X509Error),
    #[error("issuer `{issuer}` is not generated yet (internal ordering error)")]
    IssuerNotReady { issuer: String },
    #[error("bulk certificates can only be issued by named CAs")]
    BulkIssuerNotNamed,
    #[error("a signing thread panicked")]
    WorkerPanicked,
    /// Re-signing with revocation URLs found no certificate to re-sign.
    #[error("re-signing with revocation URLs: the certificate is not DER")]
    Resign,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_errors_flatten_sort_by_line_and_list_each() {
        let e = |line: Option<usize>, field: &str| PkiError::Invalid {
            path: "a.toml".into(),
            line,
            field: field.into(),
            message: "bad".into(),
        };
        assert!(PkiError::collect(vec![]).is_none());
        let one = PkiError::collect(vec![e(Some(3), "cert[0].name")]).expect("one error");
        assert_eq!(one.to_string(), "a.toml:3: field `cert[0].name`: bad");
        let inner = PkiError::Many {
            errors: vec![e(None, "cert[2].key"), e(Some(2), "cert[0].role")],
        };
        let many = PkiError::collect(vec![e(Some(9), "cert[1].issuer"), inner]).expect("errors");
        assert_eq!(many.errors().len(), 3);
        assert_eq!(
            many.to_string(),
            "3 errors:\n  a.toml:2: field `cert[0].role`: bad\n  a.toml:9: field `cert[1].issuer`: bad\n  a.toml: field `cert[2].key`: bad"
        );
    }
}
