//! Pointing spec errors at lines: the span of a key of a `[[cert]]` or
//! `[[bulk]]` entry (also under `[pki]` in a scenario), found in the source text.

use super::error::PkiError;
use crate::source;
use std::cell::OnceCell;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Turns (table, index, key) into `PATH:LINE: field `table[index].key``.
pub(super) struct Locator<'a> {
    path: &'a str,
    source: Option<&'a str>,
    /// The source's spans, parsed at the first error (a valid spec needs none).
    doc: OnceCell<Option<Spanned<DeTable<'a>>>>,
}

impl<'a> Locator<'a> {
    /// `source` is the text the spec was parsed from (`None`: no lines).
    pub(super) fn new(path: &'a str, source: Option<&'a str>) -> Self {
        Locator {
            path,
            source,
            doc: OnceCell::new(),
        }
    }

    /// An `Invalid` error for `table[index].key`; `value` picks the element of
    /// an array value (a defect) or confirms the key's line.
    pub(super) fn invalid(
        &self,
        table: &str,
        index: usize,
        key: &str,
        value: Option<&str>,
        message: String,
    ) -> PkiError {
        PkiError::Invalid {
            path: self.path.to_string(),
            line: self.line(table, index, key, value),
            field: format!("{table}[{index}].{key}"),
            message,
        }
    }

    /// The line of `key` in entry `index` of `table`: of the array element
    /// equal to `value` if there is one, else of the key; the entry's header
    /// if the key is absent.
    pub(super) fn line(
        &self,
        table: &str,
        index: usize,
        key: &str,
        value: Option<&str>,
    ) -> Option<usize> {
        let source = self.source?;
        let Some(doc) = self.doc.get_or_init(|| DeTable::parse(source).ok()) else {
            return text_search(source, table, index, key, value);
        };
        let root = doc.get_ref();
        let entries = lookup(root, table)
            .or_else(|| {
                lookup(root, "pki")?
                    .get_ref()
                    .as_table()
                    .and_then(|t| lookup(t, table))
            })
            .and_then(|v| v.get_ref().as_array())?;
        let entry = entries.get(index)?;
        let header = || {
            source::line_of_table(source, &format!("[[{table}]]"), index)
                .or_else(|| source::line_of_table(source, &format!("[[pki.{table}]]"), index))
                .unwrap_or_else(|| source::line_col(source, entry.span().start).0)
        };
        let Some((found, v)) = entry
            .get_ref()
            .as_table()
            .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == key))
        else {
            return Some(header());
        };
        let element = value.and_then(|want| {
            v.get_ref()
                .as_array()?
                .iter()
                .find(|e| e.get_ref().as_str() == Some(want))
        });
        let offset = element.map_or(found.span().start, |e| e.span().start);
        Some(source::line_col(source, offset).0)
    }
}

fn lookup<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<&'t Spanned<DeValue<'a>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

/// For a source that does not parse as TOML (it was not this spec's): the
/// first `key = ...value...` line after the entry's header.
fn text_search(
    source: &str,
    table: &str,
    index: usize,
    key: &str,
    value: Option<&str>,
) -> Option<usize> {
    let table_line = source::line_of_table(source, &format!("[[{table}]]"), index)
        .or_else(|| source::line_of_table(source, &format!("[[pki.{table}]]"), index))
        .unwrap_or(1);
    let quoted = value.map(|v| format!("\"{v}\""));
    source::line_of(source, key, quoted.as_deref(), table_line).or(Some(table_line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "\
[[cert]]
name = \"root\"
role = \"root\"

[[cert]]
name = \"alice\"
role = \"client\"
issuer = \"root\"
defects = [
  \"revoked\",
  \"no-eku\",
]

[[bulk]]
prefix = \"filler\"
count = 3
";

    #[test]
    fn finds_keys_elements_and_headers() {
        let loc = Locator::new("s.toml", Some(SPEC));
        assert_eq!(loc.line("cert", 1, "issuer", None), Some(8));
        assert_eq!(loc.line("cert", 1, "issuer", Some("root")), Some(8));
        assert_eq!(loc.line("cert", 1, "defects", Some("no-eku")), Some(11));
        assert_eq!(loc.line("cert", 1, "defects", Some("nope")), Some(9));
        // An absent key: the entry's header.
        assert_eq!(loc.line("cert", 0, "issuer", None), Some(1));
        assert_eq!(loc.line("bulk", 0, "count", None), Some(16));
        assert_eq!(loc.line("bulk", 0, "subject", None), Some(14));
        assert_eq!(loc.line("cert", 5, "name", None), None);
        assert_eq!(
            Locator::new("s.toml", None).line("cert", 0, "name", None),
            None
        );
    }

    #[test]
    fn finds_entries_under_pki_in_a_scenario() {
        let scenario = format!(
            "description = \"x\"\n{}",
            SPEC.replace("[[cert]]", "[[pki.cert]]")
        );
        let loc = Locator::new("s.toml", Some(&scenario));
        assert_eq!(loc.line("cert", 1, "issuer", None), Some(9));
        assert_eq!(loc.line("cert", 1, "role", None), Some(8));
        assert_eq!(loc.line("cert", 0, "issuer", None), Some(2));
    }

    #[test]
    fn invalid_names_path_line_and_field() {
        let loc = Locator::new("s.toml", Some(SPEC));
        let e = loc.invalid("cert", 1, "issuer", None, "bad".into());
        assert_eq!(e.to_string(), "s.toml:8: field `cert[1].issuer`: bad");
    }
}
