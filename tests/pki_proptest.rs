//! Property tests for the PKI spec parser and generator:
//! - arbitrary bytes and mutated spec text never panic `PkiSpec::from_toml` or
//!   `Pki::generate` (errors are fine);
//! - a random valid DAG of certificates (random roles, issuers, defects,
//!   validity and ECDSA/Ed25519 keys, bulk tables, cross certs) always
//!   generates, and every chain's issuer/subject links are consistent.
//!
//! Cases: 64 by default; `PROPTEST_CASES=N` overrides.

use mtls_harness::pki::{Pki, PkiError, PkiSpec, Role};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use x509_parser::prelude::*;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/pki_proptest.proptest-regressions",
        ))),
        ..Config::default()
    }
}

const VALID: &str = r#"[[cert]]
name = "root"
role = "root"
subject = "CN=Acme Root CA,O=Acme"
key = "ecdsa-p256"
signs_client_certs = true

[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"
defects = ["cross-signed"]
cross_signed_by = "other"

[[cert]]
name = "other"
role = "root"
key = "ed25519"

[[cert]]
name = "alice"
role = "client"
issuer = "sub"
validity = "expired"
sans = ["alice@example.test"]
defects = ["revoked"]

[[cert]]
name = "gw"
role = "server"
issuer = "sub-cross"
not_before = "2020-01-01T00:00:00Z"
not_after = "2030-01-01T00:00:00Z"

[[bulk]]
prefix = "filler"
role = "root"
count = 3
"#;

/// Values a mutation may put on the right of `=`. No RSA key types and no
/// large counts: they are valid but slow, and not what this test is about.
const VALUES: &[&str] = &[
    "\"root\"",
    "\"sub\"",
    "\"sub-cross\"",
    "\"alice\"",
    "\"filler-00001\"",
    "\"nope\"",
    "\"\"",
    "\"intermediate\"",
    "\"client\"",
    "\"server\"",
    "\"ecdsa-p384\"",
    "\"ed25519\"",
    "\"expired\"",
    "\"not-yet-valid\"",
    "\"2020-13-45T00:00:00Z\"",
    "\"2031-01-01T00:00:00Z\"",
    "\"CN=\"",
    "\"CN=x,C=XYZ\"",
    "\"O=a\\\\,b,CN=y\"",
    "[\"ca-flag-false\"]",
    "[\"path-len-exceeded\"]",
    "[\"name-constraints-violated\"]",
    "[\"self-signed-leaf\"]",
    "[\"crl-expired\", \"revoked\", \"key-mismatch\"]",
    "[\"cross-signed\"]",
    "[\"no-eku\", \"eku-server-only\"]",
    "[\"basic-constraints-absent\", \"no-key-cert-sign\"]",
    "[\"bogus\"]",
    "[]",
    "[1, 2]",
    "[\"a.test\", \"10.0.0.1\", \"bad name\"]",
    "0",
    "1",
    "2",
    "-1",
    "7",
    "300000",
    "99999999999999999999",
    "true",
    "false",
    "{}",
    "{ a = 1 }",
    "1.5",
];

const KEYS: &[&str] = &[
    "name",
    "role",
    "subject",
    "issuer",
    "key",
    "signs_client_certs",
    "defects",
    "validity",
    "not_before",
    "not_after",
    "sans",
    "path_len",
    "permitted_dns",
    "cross_signed_by",
    "prefix",
    "count",
    "colour",
];

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the value of line `n` (if it is `key = value`).
    Value(usize, usize),
    /// Replace the key of line `n`.
    Key(usize, usize),
    Delete(usize),
    Duplicate(usize),
    Insert(usize, usize, usize),
    /// Insert raw text.
    Raw(usize, String),
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Value(i, v) => {
                let l = &mut lines[i % n];
                if let Some((k, _)) = l.split_once('=') {
                    *l = format!("{k}= {}", VALUES[v % VALUES.len()]);
                }
            }
            Edit::Key(i, k) => {
                let l = &mut lines[i % n];
                if let Some((_, v)) = l.split_once('=') {
                    *l = format!("{} ={v}", KEYS[k % KEYS.len()]);
                }
            }
            Edit::Delete(i) => {
                if !lines.is_empty() {
                    lines.remove(i % n);
                }
            }
            Edit::Duplicate(i) => {
                if !lines.is_empty() {
                    let l = lines[i % n].clone();
                    lines.insert(i % n, l);
                }
            }
            Edit::Insert(i, k, v) => lines.insert(
                i % (lines.len() + 1),
                format!("{} = {}", KEYS[k % KEYS.len()], VALUES[v % VALUES.len()]),
            ),
            Edit::Raw(i, text) => lines.insert(i % (lines.len() + 1), text.clone()),
        }
    }
    lines.join("\n")
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Value(a, b)),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Key(a, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Duplicate),
        2 => (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(a, b, c)| Edit::Insert(a, b, c)),
        1 => (any::<usize>(), prop_oneof![
            Just("[[cert]]".to_string()),
            Just("[[bulk]]".to_string()),
            Just("[cert]".to_string()),
            Just("[[pki.cert]]".to_string()),
            "[ -~]{0,20}",
        ]).prop_map(|(a, t)| Edit::Raw(a, t)),
    ]
}

/// Parse and, if that succeeds, generate. Either may fail; neither may panic
/// (a panic fails the property). Every error of a spec names the file, none is
/// reported twice, and they come in line order; generation itself never fails
/// once validation passed.
fn parse_and_generate(src: &str) {
    match PkiSpec::from_toml(src, "fuzz.toml") {
        Ok(spec) => {
            // Validation catches every problem: a spec that passes it generates.
            if let Err(e) = Pki::generate_with_source(&spec, "fuzz.toml", src) {
                assert!(
                    matches!(e, PkiError::Invalid { .. } | PkiError::Many { .. }),
                    "not a spec error: {e}"
                );
                check_spec_errors(&e);
            }
            // The same without source text (no line lookups) must not panic either.
            let _ = Pki::generate(&spec);
        }
        Err(e) => check_spec_errors(&e),
    }
}

fn check_spec_errors(e: &PkiError) {
    let errors = e.errors();
    if errors.len() > 1 {
        assert!(
            e.to_string()
                .starts_with(&format!("{} errors:\n", errors.len())),
            "{e}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for one in &errors {
        let text = one.to_string();
        assert!(text.starts_with("fuzz.toml"), "{text}");
        assert!(seen.insert(text.clone()), "reported twice: {text}\nin {e}");
    }
    let lines: Vec<usize> = errors
        .iter()
        .map(|one| one.line().unwrap_or(usize::MAX))
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "not in line order: {e}"
    );
}

// ---------------------------------------------------------------------------
// random valid DAGs

/// Raw choices for one certificate; interpreted by `build_dag`.
#[derive(Debug, Clone)]
struct CertChoice {
    role: u8,
    issuer: u8,
    defects: u16,
    validity: u8,
    key: u8,
    path_len: u8,
}

fn cert_choice() -> impl Strategy<Value = CertChoice> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(
            |(role, issuer, defects, validity, key, path_len)| CertChoice {
                role,
                issuer,
                defects,
                validity,
                key,
                path_len,
            },
        )
}

#[derive(Debug, Clone)]
struct BulkChoice {
    count: u8,
    issuer: Option<u8>,
}

fn bulk_choice() -> impl Strategy<Value = BulkChoice> {
    (1u8..4, proptest::option::of(any::<u8>()))
        .prop_map(|(count, issuer)| BulkChoice { count, issuer })
}

/// A named CA that can issue, as the spec builder tracks it.
struct Ca {
    name: String,
    /// Index of the spec cert that owns it (the cross cert shares its CA's).
    owner: usize,
}

/// Turn raw choices into a spec that is valid by construction.
fn build_dag(certs: &[CertChoice], bulks: &[BulkChoice]) -> String {
    let keys = ["ecdsa-p256", "ecdsa-p384", "ed25519"];
    let mut out = String::new();
    let mut cas: Vec<Ca> = Vec::new();
    // Per spec cert: has an explicit path_len / a child that needs pathLen 0.
    let mut explicit_path_len: Vec<bool> = Vec::new();
    let mut forced_path_len: Vec<bool> = Vec::new();
    let mut bulk_names: Vec<String> = Vec::new();
    let mut bulk_out = String::new();
    let mut bulk_at = 0;
    for (i, c) in certs.iter().enumerate() {
        // Emit a bulk table once some named CAs exist.
        if bulk_at < bulks.len() && i >= 2 && !cas.is_empty() {
            let b = &bulks[bulk_at];
            let prefix = format!("f{bulk_at}");
            bulk_out += &format!("\n[[bulk]]\nprefix = \"{prefix}\"\ncount = {}\n", b.count);
            if let Some(pick) = b.issuer {
                let ca = &cas[pick as usize % cas.len()];
                bulk_out += &format!("issuer = \"{}\"\nrole = \"intermediate\"\n", ca.name);
            }
            for n in 1..=b.count {
                bulk_names.push(format!("{prefix}-{n:05}"));
            }
            bulk_at += 1;
        }
        let name = format!("c{i}");
        let role = if cas.is_empty() {
            Role::Root
        } else {
            match c.role % 5 {
                0 => Role::Root,
                1 | 2 => Role::Intermediate,
                3 => Role::Client,
                _ => Role::Server,
            }
        };
        let mut lines = vec![
            format!("name = \"{name}\""),
            format!("role = \"{role}\""),
            format!("key = \"{}\"", keys[c.key as usize % keys.len()]),
        ];
        let bit = |n: u16| c.defects & (1 << n) != 0;
        let mut defects: Vec<&str> = Vec::new();
        let self_signed_leaf = !role.is_ca() && bit(15);
        // Issuer: a named CA (maybe a cross cert), or a bulk filler.
        let mut issuer_owner = None;
        let mut issuer_is_bulk = false;
        if role == Role::Intermediate || (!role.is_ca() && !self_signed_leaf) {
            let pool = cas.len() + bulk_names.len();
            let pick = c.issuer as usize % pool;
            let issuer = if pick < cas.len() {
                issuer_owner = Some(cas[pick].owner);
                cas[pick].name.clone()
            } else {
                issuer_is_bulk = true;
                bulk_names[pick - cas.len()].clone()
            };
            lines.push(format!("issuer = \"{issuer}\""));
        }
        if role.is_ca() {
            if bit(0) {
                defects.push("ca-flag-false");
            }
            if bit(1) {
                defects.push("basic-constraints-absent");
            }
            if bit(2) {
                defects.push("no-key-cert-sign");
            }
        } else {
            if bit(3) {
                defects.push("eku-server-only");
            }
            if bit(4) {
                defects.push("no-eku");
            }
            if self_signed_leaf {
                defects.push("self-signed-leaf");
            }
        }
        if bit(5) {
            defects.push("key-mismatch");
        }
        if let (Some(owner), false) = (issuer_owner, issuer_is_bulk) {
            if bit(6) {
                defects.push("revoked");
            }
            if bit(7) {
                defects.push("crl-expired");
            }
            if role == Role::Intermediate && bit(8) && !explicit_path_len[owner] {
                defects.push("path-len-exceeded");
                forced_path_len[owner] = true;
            }
            if !role.is_ca() && bit(9) {
                defects.push("name-constraints-violated");
            }
        }
        let cross = role.is_ca() && bit(10) && !cas.is_empty();
        if cross {
            defects.push("cross-signed");
            let other = &cas[c.issuer.wrapping_add(1) as usize % cas.len()];
            lines.push(format!("cross_signed_by = \"{}\"", other.name));
        }
        if !defects.is_empty() {
            let quoted: Vec<String> = defects.iter().map(|d| format!("\"{d}\"")).collect();
            lines.push(format!("defects = [{}]", quoted.join(", ")));
        }
        match c.validity % 6 {
            0 => lines.push("validity = \"expired\"".into()),
            1 => lines.push("validity = \"not-yet-valid\"".into()),
            2 => lines.push("not_before = \"2020-01-01T00:00:00Z\"".into()),
            3 => lines.push("not_after = \"2040-01-01T00:00:00Z\"".into()),
            _ => {}
        }
        // pathLen knobs are decided before children exist: set one only when
        // no child has forced pathLen 0 yet (none can: children come later,
        // and they skip path-len-exceeded under an explicit path_len).
        let explicit = role.is_ca() && c.path_len % 4 == 0;
        if explicit {
            lines.push(format!("path_len = {}", c.path_len % 3));
        }
        explicit_path_len.push(explicit);
        forced_path_len.push(false);
        if role.is_ca() && c.path_len % 7 == 1 {
            lines.push("permitted_dns = [\"permitted.test\", \"example.test\"]".into());
        }
        if c.role & 0x80 != 0 {
            lines.push(format!(
                "subject = \"CN={name} Test,O=Prop\\\\, Inc.,C=DE\""
            ));
        }
        out += &format!("\n[[cert]]\n{}\n", lines.join("\n"));
        if role.is_ca() {
            cas.push(Ca {
                name: name.clone(),
                owner: i,
            });
            if cross {
                cas.push(Ca {
                    name: format!("{name}-cross"),
                    owner: i,
                });
            }
        }
    }
    out + &bulk_out
}

fn x509(der: &[u8]) -> X509Certificate<'_> {
    parse_x509_certificate(der)
        .expect("generated cert parses")
        .1
}

/// Every issuer/subject link of the generated PKI is consistent.
fn check_links(pki: &Pki) {
    for c in pki.certs() {
        let cert = x509(&c.der);
        assert_eq!(
            cert.subject().as_raw(),
            c.subject_der.as_slice(),
            "{}",
            c.name
        );
        match &c.issuer {
            None => {
                assert_eq!(
                    cert.issuer().as_raw(),
                    cert.subject().as_raw(),
                    "{} self-signed",
                    c.name
                );
                assert_eq!(c.root.as_deref(), Some(c.name.as_str()), "{}", c.name);
                assert!(c.chain.is_empty(), "{}", c.name);
            }
            Some(issuer) => {
                let i = pki.cert(issuer).expect("issuer exists");
                assert!(i.role.is_ca(), "{} issued by non-CA {issuer}", c.name);
                assert_eq!(
                    cert.issuer().as_raw(),
                    i.subject_der.as_slice(),
                    "{} <- {issuer}",
                    c.name
                );
                // AKI of the subject == SKI of the issuer.
                let aki = cert
                    .extensions()
                    .iter()
                    .find_map(|e| match e.parsed_extension() {
                        ParsedExtension::AuthorityKeyIdentifier(a) => {
                            a.key_identifier.as_ref().map(|k| k.0.to_vec())
                        }
                        _ => None,
                    });
                let ski =
                    x509(&i.der)
                        .extensions()
                        .iter()
                        .find_map(|e| match e.parsed_extension() {
                            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                            _ => None,
                        });
                if let (Some(aki), Some(ski)) = (aki, ski) {
                    assert_eq!(aki, ski, "{} AKI != {issuer} SKI", c.name);
                }
                // chain = the issuer, then the issuer's chain (root excluded).
                if i.issuer.is_none() {
                    assert!(c.chain_names.is_empty(), "{}", c.name);
                    assert_eq!(c.root.as_deref(), Some(issuer.as_str()));
                } else {
                    assert_eq!(c.chain_names.first(), Some(issuer), "{}", c.name);
                    assert_eq!(&c.chain_names[1..], i.chain_names.as_slice(), "{}", c.name);
                    assert_eq!(c.root, i.root, "{}", c.name);
                }
                assert_eq!(c.chain.len(), c.chain_names.len(), "{}", c.name);
                for (der, n) in c.chain.iter().zip(&c.chain_names) {
                    assert_eq!(der, &pki.cert(n).unwrap().der, "{} chain {n}", c.name);
                }
            }
        }
        // Walking issuer links ends at the root.
        let mut cur = c;
        for _ in 0..64 {
            match &cur.issuer {
                Some(i) => cur = pki.cert(i).unwrap(),
                None => break,
            }
        }
        assert!(cur.issuer.is_none(), "{}: issuer links do not end", c.name);
        assert_eq!(c.root.as_deref(), Some(cur.name.as_str()), "{}", c.name);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        parse_and_generate(&text);
    }

    #[test]
    fn mutated_specs_never_panic(edits in proptest::collection::vec(edit(), 1..6)) {
        parse_and_generate(&apply(VALID, &edits));
    }

    #[test]
    fn random_valid_dags_generate_with_consistent_links(
        certs in proptest::collection::vec(cert_choice(), 1..9),
        bulks in proptest::collection::vec(bulk_choice(), 0..3),
    ) {
        let src = build_dag(&certs, &bulks);
        let spec = PkiSpec::from_toml(&src, "dag.toml")
            .unwrap_or_else(|e| panic!("generated spec does not parse: {e}\n{src}"));
        let pki = Pki::generate_with_source(&spec, "dag.toml", &src)
            .unwrap_or_else(|e| panic!("valid DAG does not generate: {e}\n{src}"));
        for c in &spec.cert {
            let got = pki.cert(&c.name).unwrap();
            prop_assert_eq!(got.role, c.role);
            prop_assert_eq!(&got.defects, &c.defects);
        }
        check_links(&pki);
    }
}

#[test]
fn the_valid_seed_spec_generates() {
    let spec = PkiSpec::from_toml(VALID, "valid.toml").unwrap();
    let pki = Pki::generate_with_source(&spec, "valid.toml", VALID).unwrap();
    assert_eq!(pki.cert("gw").unwrap().chain_names, vec!["sub-cross"]);
    check_links(&pki);
}
