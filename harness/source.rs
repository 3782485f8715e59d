//! Locating a field in a TOML source text, so that errors found after parsing
//! (an unknown issuer, a bad date) still name the file and the line.

/// A 1-based line number where `key = ...` appears, optionally with `value`
/// inside the value text; the first match from `after_line` (1-based) on, or
/// anywhere if none matches from there.
pub fn line_of(source: &str, key: &str, value: Option<&str>, after_line: usize) -> Option<usize> {
    let find = |from: usize| {
        source
            .lines()
            .enumerate()
            .skip(from.saturating_sub(1))
            .find(|(_, line)| {
                let trimmed = line.trim_start();
                let Some(rest) = trimmed.strip_prefix(key) else {
                    return false;
                };
                let rest = rest.trim_start();
                if !rest.starts_with('=') {
                    return false;
                }
                // is_none_or: stable since 1.82 (MSRV 1.85).
                value.is_none_or(|v| rest.contains(v))
            })
            .map(|(i, _)| i + 1)
    };
    find(after_line).or_else(|| find(1))
}

/// The 1-based line of the `n`-th (0-based) occurrence of a table header such
/// as `[[cert]]` or `[[pki.cert]]`.
pub fn line_of_table(source: &str, header: &str, n: usize) -> Option<usize> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == header)
        .nth(n)
        .map(|(i, _)| i + 1)
}

/// Line and column (1-based) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// Render a toml deserialisation error as `PATH:LINE:COL: message`.
pub fn describe_toml_error(
    path: &str,
    source: &str,
    err: &toml::de::Error,
) -> (Option<usize>, String) {
    let message = err.message().to_string();
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(source, span.start);
            (Some(line), format!("{path}:{line}:{col}: {message}"))
        }
        None => (None, format!("{path}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_with_value_after_a_line() {
        let src =
            "[[cert]]\nname = \"a\"\nissuer = \"x\"\n[[cert]]\nname = \"b\"\nissuer = \"x\"\n";
        assert_eq!(line_of(src, "issuer", Some("\"x\""), 4), Some(6));
        assert_eq!(line_of(src, "issuer", Some("\"x\""), 1), Some(3));
        assert_eq!(line_of(src, "issuer", Some("\"nope\""), 1), None);
        assert_eq!(line_of_table(src, "[[cert]]", 1), Some(4));
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
