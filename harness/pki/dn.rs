//! Subjects written as `CN=Acme Root CA,O=Acme` (RFC 4514 style, in the order
//! written; `\,` escapes a comma).

use rcgen::{DistinguishedName, DnType};

/// Parse a subject string. Attribute types: CN, O, OU, C, L, ST, DC,
/// emailAddress (also E), serialNumber.
pub fn parse_subject(subject: &str) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    let mut any = false;
    for part in split_unescaped(subject) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (ty, value) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not TYPE=value"))?;
        let value = value.trim().replace("\\,", ",");
        if value.is_empty() {
            return Err(format!("`{part}` has an empty value"));
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
                return Err(format!(
                    "unknown attribute type `{other}` (known: CN, O, OU, C, L, ST, DC, emailAddress, serialNumber)"
                ))
            }
        };
        if ty == DnType::CountryName && value.len() != 2 {
            return Err(format!("country `{value}` must be two letters"));
        }
        dn.push(ty, value);
        any = true;
    }
    if !any {
        return Err("subject is empty".into());
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
        assert!(parse_subject("").unwrap_err().contains("empty"));
        assert!(parse_subject("CN").unwrap_err().contains("TYPE=value"));
        assert!(parse_subject("XX=1")
            .unwrap_err()
            .contains("unknown attribute"));
        assert!(parse_subject("C=DEU").unwrap_err().contains("two letters"));
    }
}
