//! One way to print an error with its causes: `outer: inner: ...` on one
//! line, a cause whose text the line already shows (errors that print their
//! source in their own message) not repeated. The binary, the runner's setup
//! failures, the client's error detail and the target adapter all use it.

use std::error::Error;

/// `e` and every `source()` below it.
pub fn of(e: &(dyn Error + 'static)) -> String {
    let mut texts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        texts.push(c.to_string());
        cur = c.source();
    }
    join(texts)
}

/// Texts of an error chain, outermost first, joined with `: `; a text the
/// line already contains is dropped.
pub fn join(texts: impl IntoIterator<Item = String>) -> String {
    let mut line = String::new();
    for text in texts {
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot start nginx")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("reading the config: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_error_and_repeats_are_dropped() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(of(&Outer(io())), "cannot start nginx: no such file");
        assert_eq!(of(&Repeats(io())), "reading the config: no such file");
        assert_eq!(
            join(["a".to_string(), "b".into(), "b".into(), "c".into()]),
            "a: b: c"
        );
    }
}
