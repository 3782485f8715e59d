//! The names the PKI gives things: certificate names are file stems, a
//! `cross-signed` CA adds `<name>-cross`, a `[[bulk]]` table numbers its fillers.

/// The largest `count` a `[[bulk]]` table may ask for.
pub const MAX_BULK_COUNT: usize = 200_000;

/// A name usable as a file stem: 1-128 of letters, digits, `-`, `_`, `.`, not
/// starting with `.` (no hidden files, no path separators).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
}

/// The name of the cross certificate of a `cross-signed` CA.
pub fn cross_name(name: &str) -> String {
    format!("{name}-cross")
}

/// The name of filler number `n` (1-based) of a `[[bulk]]` table of `count`:
/// `<prefix>-` and `n` zero-padded to five digits, or to the digits of `count`
/// if it has more.
pub fn bulk_name(prefix: &str, n: usize, count: usize) -> String {
    let width = count.to_string().len().max(5);
    format!("{prefix}-{n:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_names_pad_to_five_digits_or_to_the_count() {
        assert_eq!(bulk_name("filler", 1, 5000), "filler-00001");
        assert_eq!(bulk_name("filler", 7, 123_456), "filler-000007");
    }

    #[test]
    fn names_are_file_stems() {
        assert!(is_valid_name("root-ca_2.v1"));
        for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(129)] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
    }
}
