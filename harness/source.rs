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

/// The field at a byte offset, as `table[index].key` (`cert[1].defects`), or
/// `key` outside any array table: the key of the `key = value` line the offset
/// is on (or, inside a multi-line value, the nearest one above).
pub fn field_at(source: &str, offset: usize) -> Option<String> {
    let (line, _) = line_col(source, offset);
    let lines: Vec<&str> = source.lines().collect();
    let is_header = |l: &str| l.trim_start().starts_with('[') && !l.contains('=');
    let key_of = |l: &str| -> Option<String> {
        let (k, _) = l.split_once('=')?;
        let k = k.trim().trim_matches('"');
        (!k.is_empty() && !k.starts_with('#') && !k.contains(' ')).then(|| k.to_string())
    };
    let mut key = None;
    let mut at = line.min(lines.len());
    while at > 0 {
        let l = lines[at - 1];
        if is_header(l) {
            break;
        }
        if let Some(k) = key_of(l) {
            key = Some(k);
            break;
        }
        at -= 1;
    }
    let key = key?;
    // The enclosing table header and its index among equal headers.
    let header_at = lines[..at.saturating_sub(1)]
        .iter()
        .rposition(|l| is_header(l));
    let Some(h) = header_at else {
        return Some(key);
    };
    let header = lines[h].trim();
    let index = lines[..h].iter().filter(|l| l.trim() == header).count();
    Some(
        match header.strip_prefix("[[").and_then(|x| x.strip_suffix("]]")) {
            Some(name) => format!("{}[{index}].{key}", name.trim()),
            None => format!(
                "{}.{key}",
                header.trim_matches(|c| c == '[' || c == ']').trim()
            ),
        },
    )
}

/// Render a toml deserialisation error as `PATH:LINE:COL: field `F`: message`
/// (the field part when it can be located).
pub fn describe_toml_error(
    path: &str,
    source: &str,
    err: &toml::de::Error,
) -> (Option<usize>, String) {
    let message = err.message().trim_end().to_string();
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(source, span.start);
            let field = field_at(source, span.start)
                .map(|f| format!("field `{f}`: "))
                .unwrap_or_default();
            (Some(line), format!("{path}:{line}:{col}: {field}{message}"))
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
    fn field_at_names_table_index_and_key() {
        let src = "[[cert]]\nname = \"a\"\n[[cert]]\nname = \"b\"\ndefects = [\n  \"x\",\n]\n[server]\ntls = 1\n";
        let at = |needle: &str| field_at(src, src.find(needle).unwrap());
        assert_eq!(at("\"b\"").as_deref(), Some("cert[1].name"));
        assert_eq!(at("\"x\"").as_deref(), Some("cert[1].defects"));
        assert_eq!(at("tls").as_deref(), Some("server.tls"));
        assert_eq!(at("[[cert]]"), None);
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
