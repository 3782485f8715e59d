//! Reading a spec's TOML. Each `[[cert]]` and `[[bulk]]` entry is checked on
//! its own, so that schema errors (an unknown key, a misspelt defect, a
//! wrong type) in several entries are all reported, not just the first.

use super::error::PkiError;
use super::spec::{BulkSpec, CertSpec, PkiSpec};
use crate::source::describe_toml_error;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, ValueDeserializer};

/// The keys whose arrays hold entries (`[[cert]]`, `[[bulk]]`).
const ENTRY_TABLES: [&str; 2] = ["cert", "bulk"];

impl PkiSpec {
    /// Parse a spec; errors name `path`, the line, the column and the field.
    pub fn from_toml(source: &str, path: &str) -> Result<PkiSpec, PkiError> {
        let parse_error = |e: &toml::de::Error| {
            let (line, rendered) = describe_toml_error(path, source, e);
            PkiError::Parse {
                path: path.to_string(),
                line,
                rendered,
            }
        };
        let whole_error = match toml::from_str(source) {
            Ok(spec) => return Ok(spec),
            Err(e) => e,
        };
        // The whole document stops at its first error. Unless that is a syntax
        // error, check the top level without the entry arrays (an unknown key,
        // `[cert]` instead of `[[cert]]`), then every entry on its own.
        let doc = DeTable::parse(source).map_err(|e| parse_error(&e))?;
        let is_entries = |key: &str, value: &toml::de::DeValue<'_>| {
            ENTRY_TABLES.contains(&key) && value.is_array()
        };
        let top: DeTable<'_> = doc
            .get_ref()
            .iter()
            .filter(|(key, value)| !is_entries(key.get_ref(), value.get_ref()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        let top = toml::Spanned::new(doc.span(), top);
        let mut errors: Vec<toml::de::Error> =
            PkiSpec::deserialize(toml::de::Deserializer::from(top))
                .err()
                .into_iter()
                .collect();
        for (key, value) in doc.get_ref() {
            if !is_entries(key.get_ref(), value.get_ref()) {
                continue;
            }
            for entry in value.get_ref().as_array().into_iter().flatten() {
                let checked = match key.get_ref().as_ref() {
                    "cert" => entry_error::<CertSpec>(entry),
                    _ => entry_error::<BulkSpec>(entry),
                };
                errors.extend(checked);
            }
        }
        if errors.is_empty() {
            errors.push(whole_error);
        }
        let errors = errors.iter().map(parse_error).collect();
        Err(PkiError::collect(errors).expect("at least the whole document's error"))
    }
}

/// Why one entry does not deserialise as `T`, if it does not.
fn entry_error<T: DeserializeOwned>(
    entry: &toml::Spanned<toml::de::DeValue<'_>>,
) -> Option<toml::de::Error> {
    T::deserialize(ValueDeserializer::from(entry.clone())).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_spec_parses() {
        let spec = PkiSpec::from_toml(
            "[[cert]]\nname = \"root\"\nrole = \"root\"\n[[bulk]]\nprefix = \"f\"\ncount = 2\n",
            "s.toml",
        )
        .unwrap();
        assert_eq!(spec.cert[0].name, "root");
        assert_eq!(spec.bulk[0].count, 2);
    }

    #[test]
    fn schema_errors_of_every_entry_are_reported() {
        let src = "[[cert]]\nname = \"root\"\nrole = \"rot\"\n\n[[cert]]\nname = \"a\"\nrole = \"client\"\ncolour = 1\n\n[[bulk]]\nprefix = \"f\"\ncount = \"many\"\n";
        let err = PkiSpec::from_toml(src, "s.toml").unwrap_err();
        let lines: Vec<Option<usize>> = err.errors().iter().map(|e| e.line()).collect();
        assert_eq!(lines, vec![Some(3), Some(8), Some(12)], "{err}");
        let text = err.to_string();
        assert!(text.starts_with("3 errors:\n"), "{text}");
        assert!(
            text.contains("s.toml:3:8: field `cert[0].role`: unknown variant `rot`"),
            "{text}"
        );
        assert!(
            text.contains("s.toml:8:1: field `cert[1].colour`: unknown field `colour`"),
            "{text}"
        );
        assert!(
            text.contains("s.toml:12:9: field `bulk[0].count`: invalid type"),
            "{text}"
        );
    }

    #[test]
    fn a_top_level_error_is_kept() {
        let err = PkiSpec::from_toml(
            "colour = 1\n[[cert]]\nname = \"r\"\nrole = \"x\"\n",
            "s.toml",
        )
        .unwrap_err();
        assert_eq!(err.errors().len(), 2, "{err}");
        let err = PkiSpec::from_toml("[cert]\nname = \"r\"\n", "s.toml").unwrap_err();
        assert_eq!(err.errors().len(), 1, "{err}");
        let err = PkiSpec::from_toml("[[cert]\n", "s.toml").unwrap_err();
        assert!(
            matches!(err, PkiError::Parse { line: Some(1), .. }),
            "{err}"
        );
    }
}
