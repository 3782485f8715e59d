//! Subjects written as `CN=Acme Root CA,O=Acme` (RFC 4514 style, in the order
//! written; `\,` escapes a comma).

use rcgen::{DistinguishedName, DnType};

/// Why a subject string is not a usable distinguished name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("`{part}` is not TYPE=value")]
    NotTypeValue { part: String },
    #[error("`{part}` has an empty value")]
    EmptyValue { part: String },
    #[error("unknown attribute type `{attribute}` (known: CN, O, OU, C, L, ST, DC, emailAddress, serialNumber)")]
    UnknownAttribute { attribute: String },
    #[error("country `{value}` must be two letters")]
    CountryNotTwoLetters { value: String },
    #[error("subject is empty")]
    Empty,
}

/// Parse a subject string. Attribute types: CN, O, OU, C, L, ST, DC,
/// emailAddress (also E), serialNumber.
pub fn parse_subject(subject: &str) -> Result<DistinguishedName, SubjectError> {
    let mut dn = DistinguishedName::new();
    let mut any = false;
    for part in split_unescaped(subject) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (ty, value) = part
            .split_once('=')
            .ok_or_else(|| SubjectError::NotTypeValue { part: part.into() })?;
        let value = value.trim().replace("\\,", ",");
        if value.is_empty() {
            return Err(SubjectError::EmptyValue { part: part.into() });
        }
        let ty = match ty.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "C" => DnType::CountryName,
            "L" => DnType::LocalityName,
            "ST" => DnType::StateOrProvinceName,
            "DC" => DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            "EMAILADDRESS" | "E" => DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            "SERIALNUMBER" => DnType::CustomDnType(vec![2, 5, 4, 5]),
            other => {
                return Err(SubjectError::UnknownAttribute {
                    attribute: other.into(),
                })
            }
        };
        if ty == DnType::CountryName && value.len() != 2 {
            return Err(SubjectError::CountryNotTwoLetters { value });
        }
        dn.push(ty, value);
        any = true;
    }
    if !any {
        return Err(SubjectError::Empty);
    }
    Ok(dn)
}

fn split_unescaped(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b',' && (i == 0 || bytes[i - 1] != b'\\') {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_attributes_in_order() {
        let dn = parse_subject("CN=Acme Root CA,O=Acme\\, Inc.,C=DE").unwrap();
        let items: Vec<_> = dn.iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(
            items,
            vec![
                DnType::CommonName,
                DnType::OrganizationName,
                DnType::CountryName
            ]
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_subject("").unwrap_err(), SubjectError::Empty);
        assert!(parse_subject("CN")
            .unwrap_err()
            .to_string()
            .contains("TYPE=value"));
        assert!(matches!(
            parse_subject("XX=1"),
            Err(SubjectError::UnknownAttribute { attribute }) if attribute == "XX"
        ));
        assert!(parse_subject("C=DEU")
            .unwrap_err()
            .to_string()
            .contains("two letters"));
        assert!(matches!(
            parse_subject("CN= "),
            Err(SubjectError::EmptyValue { .. })
        ));
    }
}
