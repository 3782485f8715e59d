//! Pointing an error at a line: the line of a key path in a scenario file.

use crate::source::line_col;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a key path into the TOML document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'k> {
    Key(&'k str),
    Index(usize),
}

/// Finds the line of a key path using toml's spans; falls back to a text search.
pub(crate) struct Locator<'a> {
    source: &'a str,
    doc: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Locator {
            source,
            doc: DeTable::parse(source).ok(),
        }
    }

    /// Line of the deepest step of `path` that exists (a key's own line, or an
    /// array element's line).
    pub(crate) fn line(&self, path: &[Seg<'_>]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut best = None;
        let mut table: Option<&DeTable<'a>> = Some(doc.get_ref());
        let mut array: Option<&[Spanned<DeValue<'a>>]> = None;
        for seg in path {
            let value = match *seg {
                Seg::Key(k) => {
                    let (key, value) = table?.iter().find(|(key, _)| key.get_ref() == k)?;
                    best = Some(key.span().start);
                    value
                }
                Seg::Index(i) => {
                    let value = array?.get(i)?;
                    best = Some(value.span().start);
                    value
                }
            };
            table = value.get_ref().as_table();
            array = value.get_ref().as_array().map(|a| &a[..]);
        }
        best.map(|offset| line_col(self.source, offset).0)
    }

    /// As [`Locator::line`], else the first line holding `key = ...value...`.
    pub(crate) fn line_or_search(
        &self,
        path: &[Seg<'_>],
        key: &str,
        value: Option<&str>,
    ) -> Option<usize> {
        self.line(path)
            .or_else(|| crate::source::line_of(self.source, key, value, 1))
    }
}
