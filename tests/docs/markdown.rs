//! Just enough Markdown for checking the docs: fenced code blocks, pipe
//! tables, headings, HTML comments, code spans and links. GitHub's rendering
//! is the reference; constructs the docs do not use are not handled.

/// One top-level piece of a Markdown file, with its 1-based first line.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: usize,
        text: String,
        line: usize,
    },
    Code {
        info: String,
        body: String,
        line: usize,
    },
    /// The header row first; the `|---|` row is dropped.
    Table {
        rows: Vec<Vec<String>>,
        line: usize,
    },
    /// `<!-- ... -->` on lines of its own, without the delimiters.
    Comment {
        text: String,
        line: usize,
    },
    Paragraph {
        text: String,
        line: usize,
    },
}

/// The blocks of `md`, in order (blank lines separate paragraphs).
pub fn blocks(md: &str) -> Vec<Block> {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let at = i + 1;
        if let Some(fence) = fence_of(trimmed) {
            let info = trimmed[fence.len()..].trim().to_string();
            let mut body = String::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with(fence) {
                body.push_str(lines[i]);
                body.push('\n');
                i += 1;
            }
            i += 1; // the closing fence
            out.push(Block::Code {
                info,
                body,
                line: at,
            });
        } else if trimmed.starts_with('#') {
            let level = trimmed.chars().take_while(|c| *c == '#').count();
            let text = trimmed.trim_start_matches('#').trim().to_string();
            out.push(Block::Heading {
                level,
                text,
                line: at,
            });
            i += 1;
        } else if trimmed.starts_with("<!--") {
            let mut text = String::new();
            while i < lines.len() {
                text.push_str(lines[i]);
                text.push('\n');
                i += 1;
                if lines[i - 1].contains("-->") {
                    break;
                }
            }
            let inner = text
                .trim()
                .trim_start_matches("<!--")
                .trim_end_matches("-->");
            out.push(Block::Comment {
                text: inner.trim().to_string(),
                line: at,
            });
        } else if trimmed.starts_with('|') {
            let mut rows = Vec::new();
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                let cells = table_cells(lines[i]);
                let separator = cells
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')));
                if !separator {
                    rows.push(cells);
                }
                i += 1;
            }
            out.push(Block::Table { rows, line: at });
        } else if trimmed.is_empty() {
            i += 1;
        } else {
            let mut text = String::new();
            while i < lines.len() {
                let t = lines[i].trim_start();
                if t.is_empty() || fence_of(t).is_some() || t.starts_with('#') || t.starts_with('|')
                {
                    break;
                }
                text.push_str(lines[i]);
                text.push('\n');
                i += 1;
            }
            out.push(Block::Paragraph { text, line: at });
        }
    }
    out
}

fn fence_of(trimmed: &str) -> Option<&'static str> {
    ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f))
}

/// The cells of a table row: split at `|` outside code spans, `\|` kept as `|`.
pub fn table_cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut chars = row.chars().peekable();
    let mut in_code = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

/// The contents of the code spans of `text` (`` `a` `` and ``` `` a`b `` ```).
pub fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let start = i + run;
        let close = "`".repeat(run);
        match text[start..].find(&close) {
            Some(len) => {
                let inner = &text[start..start + len];
                let inner = if run > 1 { inner.trim() } else { inner };
                spans.push(inner.to_string());
                i = start + len + run;
            }
            None => i = start,
        }
    }
    spans
}

/// `text` with every code span removed (links inside code are not links).
pub fn without_code_spans(text: &str) -> String {
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            let next = text[i..].find('`').map_or(text.len(), |n| i + n);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let start = i + run;
        match text[start..].find(&"`".repeat(run)) {
            Some(len) => i = start + len + run,
            None => {
                out.push_str(&text[i..start]);
                i = start;
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-` and
/// `_` dropped, spaces as `-`.
pub fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor the headings of `md` define (`name`, `name-1`, ... for repeats).
pub fn anchors(md: &str) -> Vec<String> {
    let mut count: std::collections::HashMap<String, usize> = Default::default();
    let mut out = Vec::new();
    for block in blocks(md) {
        if let Block::Heading { text, .. } = block {
            let base = slug(&text.replace('`', ""));
            let n = count.entry(base.clone()).or_default();
            out.push(if *n == 0 { base } else { format!("{base}-{n}") });
            *n += 1;
        }
    }
    out
}

/// A link of a Markdown file: where it points and the line it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub target: String,
    pub line: usize,
}

/// Every link outside code: `[text](target)`, `![alt](src)`, `[ref]: target`,
/// `<scheme://...>` and bare `http(s)://` URLs (GitHub links those too).
pub fn links(md: &str) -> Vec<Link> {
    let inline = regex_lite::Regex::new(r#"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#)
        .expect("static regex");
    let reference =
        regex_lite::Regex::new(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)").expect("static regex");
    let url = regex_lite::Regex::new(r"(?i)\b(?:https?|ftp)://[^\s)>\]]+").expect("static regex");
    let mut out = Vec::new();
    for block in blocks(md) {
        let (text, first) = match &block {
            Block::Code { .. } | Block::Comment { .. } => continue,
            Block::Heading { text, line, .. } | Block::Paragraph { text, line } => {
                (text.clone(), *line)
            }
            Block::Table { line, .. } => {
                // Re-read the raw lines: cells lost their `|` escapes.
                let raw: Vec<&str> = md
                    .lines()
                    .skip(line - 1)
                    .take_while(|l| l.trim_start().starts_with('|'))
                    .collect();
                (raw.join("\n") + "\n", *line)
            }
        };
        for (offset, raw_line) in text.lines().enumerate() {
            let line = first + offset;
            let plain = without_code_spans(raw_line);
            let mut seen = Vec::new();
            for cap in inline.captures_iter(&plain) {
                seen.push(cap[1].to_string());
            }
            if let Some(cap) = reference.captures(&plain) {
                seen.push(cap[1].to_string());
            }
            for m in url.find_iter(&plain) {
                let u = m.as_str().trim_end_matches(['.', ',', ';', ':']);
                if !seen.iter().any(|s| s == u) {
                    seen.push(u.to_string());
                }
            }
            out.extend(seen.into_iter().map(|target| Link { target, line }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tables_and_spans() {
        let md = "# T `x`\n\n<!-- check: a -->\n```toml\na = 1\n```\n\n| k | v |\n|---|---|\n| `a \\| b` | x\\|y |\n\ntext [l](f.md#x) `[no](n.md)`\nmore https://example.org/a.\n";
        let b = blocks(md);
        assert_eq!(b.len(), 5, "{b:#?}");
        assert!(matches!(&b[1], Block::Comment { text, .. } if text == "check: a"));
        assert!(
            matches!(&b[2], Block::Code { info, body, line: 4 } if info == "toml" && body == "a = 1\n")
        );
        assert!(matches!(&b[3], Block::Table { rows, .. } if rows[1] == ["`a | b`", "x|y"]));
        assert_eq!(code_spans("a `b` c ``d`e`` f"), ["b", "d`e"]);
        let l: Vec<String> = links(md).into_iter().map(|l| l.target).collect();
        assert_eq!(l, ["f.md#x", "https://example.org/a"]);
        assert_eq!(
            anchors("# A b\n## `[server.mode]`\n# A b\n"),
            ["a-b", "servermode", "a-b-1"]
        );
    }
}
