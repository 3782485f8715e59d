//! Proves the PKI generator: every defect and validity knob produces the
//! certificate it promises (x509-parser facts), the real OpenSSL CLI rejects it
//! with the exact error text, rustls-webpki rejects it with the exact error
//! variant, and the same chain without the defect verifies. Rows where the two
//! verifiers disagree are findings, written to `docs/openssl-vs-webpki.md`.
//!
//! Also: key types, deep chains, the files `write_dir` promises, and `load_dir`.

mod support;

use mtls_harness::pki::{Defect, KeyType, Pki, PkiError, PkiSpec, Role};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::path::{Path, PathBuf};
use std::process::Command;
use x509_parser::prelude::*;

// ---------------------------------------------------------------------------
// helpers

fn spec(src: &str) -> PkiSpec {
    PkiSpec::from_toml(src, "inline.toml")
        .unwrap_or_else(|e| panic!("spec does not parse: {e}\n{src}"))
}

fn generate(src: &str) -> Pki {
    Pki::generate_with_source(&spec(src), "inline.toml", src)
        .unwrap_or_else(|e| panic!("spec does not generate: {e}\n{src}"))
}

fn x509<'a>(pki: &'a Pki, name: &str) -> X509Certificate<'a> {
    let der: &'a [u8] = &pki.cert(name).unwrap().der;
    let (rest, cert) = parse_x509_certificate(der).expect("generated cert parses");
    assert!(
        rest.is_empty(),
        "{name}: trailing bytes after the certificate"
    );
    cert
}

fn basic_constraints(pki: &Pki, name: &str) -> Option<(bool, Option<u32>)> {
    x509(pki, name)
        .basic_constraints()
        .expect("at most one basicConstraints")
        .map(|bc| (bc.value.ca, bc.value.path_len_constraint))
}

fn key_cert_sign(pki: &Pki, name: &str) -> Option<bool> {
    x509(pki, name)
        .key_usage()
        .expect("at most one keyUsage")
        .map(|ku| ku.value.key_cert_sign())
}

/// (serverAuth, clientAuth, other purposes) of the EKU extension, if present.
fn eku(pki: &Pki, name: &str) -> Option<(bool, bool, usize)> {
    x509(pki, name)
        .extended_key_usage()
        .expect("at most one EKU")
        .map(|e| {
            let v = e.value;
            let others = [
                v.any,
                v.code_signing,
                v.email_protection,
                v.time_stamping,
                v.ocsp_signing,
            ]
            .iter()
            .filter(|b| **b)
            .count()
                + v.other.len();
            (v.server_auth, v.client_auth, others)
        })
}

fn dns_sans(pki: &Pki, name: &str) -> Vec<String> {
    let cert = x509(pki, name);
    let Some(san) = cert.subject_alternative_name().expect("at most one SAN") else {
        return vec![];
    };
    san.value
        .general_names
        .iter()
        .filter_map(|g| match g {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

fn permitted_dns(pki: &Pki, name: &str) -> Option<Vec<String>> {
    let cert = x509(pki, name);
    let nc = cert
        .name_constraints()
        .expect("at most one nameConstraints")?;
    Some(
        nc.value
            .permitted_subtrees
            .iter()
            .flatten()
            .map(|s| match &s.base {
                GeneralName::DNSName(d) => d.to_string(),
                other => format!("{other:?}"),
            })
            .collect(),
    )
}

fn now() -> i64 {
    ::time::OffsetDateTime::now_utc().unix_timestamp()
}

fn validity(pki: &Pki, name: &str) -> (i64, i64) {
    let cert = x509(pki, name);
    (
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    )
}

fn spki_der(pki: &Pki, name: &str) -> Vec<u8> {
    x509(pki, name).public_key().raw.to_vec()
}

/// The SubjectPublicKeyInfo of the private key handed out with `name`,
/// computed by OpenSSL (independent of the generator's own code).
fn handed_key_spki(dir: &Path, name: &str) -> Vec<u8> {
    let out = Command::new(openssl())
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(dir.join(format!("{name}.key")))
        .output()
        .expect("run openssl pkey");
    assert!(
        out.status.success(),
        "openssl pkey: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Does a signature made with the key handed out with `name` verify against
/// the certificate's public key (as a TLS CertificateVerify would)? ECDSA P-256 only.
fn handed_key_signs_for_cert(pki: &Pki, name: &str) -> bool {
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    let c = pki.cert(name).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &c.key_pkcs8, &rng)
        .expect("handed key is a P-256 PKCS#8 key");
    let msg = b"mtls-harness key check";
    let sig = key.sign(&rng, msg).unwrap();
    let ee = webpki::EndEntityCert::try_from(&c.der).unwrap();
    match ee.verify_signature(webpki::ring::ECDSA_P256_SHA256, msg, sig.as_ref()) {
        Ok(()) => true,
        Err(webpki::Error::InvalidSignatureForPublicKey) => false,
        Err(e) => panic!("unexpected webpki error {e:?}"),
    }
}

/// Serials (lower-case hex) the CRL of `issuer` lists, and its nextUpdate.
fn crl_facts(pki: &Pki, issuer: &str) -> (Vec<String>, i64) {
    let der = pki
        .crl(issuer)
        .unwrap_or_else(|| panic!("no CRL for {issuer}"));
    let (_, crl) = parse_x509_crl(der).expect("CRL parses");
    let serials = crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let next = crl.next_update().expect("CRL has nextUpdate").timestamp();
    (serials, next)
}

/// Whether the openssl CLI is installed, under the skip policy
/// (`support::require`); when it is, it must be OpenSSL 3.x.
fn require_openssl() -> bool {
    if !support::require("openssl") {
        return false;
    }
    openssl();
    true
}

fn openssl() -> PathBuf {
    match Command::new("openssl").arg("version").output() {
        Ok(out) if out.status.success() => {
            let v = String::from_utf8_lossy(&out.stdout);
            assert!(
                v.starts_with("OpenSSL 3."),
                "these tests assert OpenSSL 3.x error texts; found `{}`",
                v.trim()
            );
            PathBuf::from("openssl")
        }
        other => panic!(
            "the openssl CLI is required by these tests and was not found or failed ({other:?}); \
             install it with: apt-get install -y openssl"
        ),
    }
}

// ---------------------------------------------------------------------------
// the defect table

/// What the OpenSSL CLI and webpki are asked to verify.
struct Verify<'a> {
    anchor: &'a str,
    leaf: &'a str,
    /// Intermediates offered; `None`: the leaf's own chain.
    intermediates: Option<&'a [&'a str]>,
    /// Check the leaf's revocation with its issuer's CRL.
    crl: bool,
    /// webpki: enforce the CRL's nextUpdate (rustls' `enforce_revocation_expiration`).
    enforce_crl_expiry: bool,
}

/// Run `openssl verify` on a written PKI. Returns "OK" or every
/// `error N at D depth lookup: TEXT` line, joined with "; ".
fn openssl_verdict(pki: &Pki, v: &Verify<'_>) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).expect("write_dir");
    let leaf = pki.cert(v.leaf).unwrap();
    let mut cmd = Command::new(openssl());
    cmd.arg("verify")
        .arg("-CAfile")
        .arg(dir.join(format!("{}.crt", v.anchor)));
    let names: Vec<String> = match v.intermediates {
        Some(n) => n.iter().map(|s| s.to_string()).collect(),
        None => leaf.chain_names.clone(),
    };
    if !names.is_empty() {
        let mut pem = String::new();
        for n in &names {
            pem += &std::fs::read_to_string(dir.join(format!("{n}.crt"))).unwrap();
        }
        let path = tmp.path().join("untrusted.pem");
        std::fs::write(&path, pem).unwrap();
        cmd.arg("-untrusted").arg(path);
    }
    let purpose = if leaf.role == Role::Server {
        "sslserver"
    } else {
        "sslclient"
    };
    cmd.args(["-purpose", purpose]);
    if v.crl {
        // From memory, not the written file: a control chain (no revoked cert)
        // has no `<issuer>.crl` file, but its issuer still publishes an empty CRL.
        let issuer = leaf
            .issuer
            .as_deref()
            .expect("CRL check needs an issued leaf");
        let crl = pki.crl(issuer).expect("issuer has a CRL");
        let pem = ::pem::encode(&::pem::Pem::new("X509 CRL", crl.to_vec()));
        let path = tmp.path().join("leaf-issuer.crl");
        std::fs::write(&path, pem).unwrap();
        cmd.arg("-crl_check").arg("-CRLfile").arg(path);
    }
    cmd.arg(dir.join(format!("{}.crt", v.leaf)));
    let out = cmd.output().expect("run openssl verify");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let errors: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.starts_with("error ") && l.contains(" depth lookup: "))
        .collect();
    if out.status.success() && stdout.trim_end().ends_with(": OK") && errors.is_empty() {
        "OK".to_string()
    } else if !out.status.success() && !errors.is_empty() {
        errors.join("; ")
    } else {
        format!(
            "UNEXPECTED status={} stdout={stdout:?} stderr={stderr:?}",
            out.status
        )
    }
}

/// The name of an enum variant from its Debug form (`CertExpired { .. }` -> `CertExpired`).
fn variant(e: &webpki::Error) -> String {
    let dbg = format!("{e:?}");
    dbg.split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Verify with rustls-webpki for client auth. Returns "Ok" or the error variant.
fn webpki_verdict(pki: &Pki, v: &Verify<'_>) -> String {
    let anchor_der = &pki.cert(v.anchor).unwrap().der;
    let anchor = match webpki::anchor_from_trusted_cert(anchor_der) {
        Ok(a) => a,
        Err(e) => return format!("anchor rejected: {}", variant(&e)),
    };
    let leaf = pki.cert(v.leaf).unwrap();
    let ee = match webpki::EndEntityCert::try_from(&leaf.der) {
        Ok(ee) => ee,
        Err(e) => return format!("end entity rejected: {}", variant(&e)),
    };
    let intermediates: Vec<CertificateDer<'static>> = match v.intermediates {
        Some(names) => names
            .iter()
            .map(|n| pki.cert(n).unwrap().der.clone())
            .collect(),
        None => leaf.chain.clone(),
    };
    let crl: Option<webpki::CertRevocationList<'static>> = v.crl.then(|| {
        let der = pki.crl(leaf.issuer.as_deref().unwrap()).unwrap();
        webpki::OwnedCertRevocationList::from_der(der)
            .expect("webpki parses the CRL")
            .into()
    });
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crl.iter().collect();
    let revocation = v.crl.then(|| {
        webpki::RevocationOptionsBuilder::new(&crl_refs)
            .expect("one CRL")
            .with_depth(webpki::RevocationCheckDepth::EndEntity)
            .with_status_policy(webpki::UnknownStatusPolicy::Deny)
            .with_expiration_policy(if v.enforce_crl_expiry {
                webpki::ExpirationPolicy::Enforce
            } else {
                webpki::ExpirationPolicy::Ignore
            })
            .build()
    });
    let usage = if leaf.role == Role::Server {
        webpki::KeyUsage::server_auth()
    } else {
        webpki::KeyUsage::client_auth()
    };
    match ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &intermediates,
        UnixTime::now(),
        usage,
        revocation,
        None,
    ) {
        Ok(_) => "Ok".to_string(),
        Err(e) => variant(&e),
    }
}

/// How the control (the same chain without the defect) is built.
enum Control {
    /// The row's spec with every `defects = ...` and `validity = ...` line removed.
    Strip,
    /// An explicit spec, verified with the row's anchor/leaf/intermediates.
    Spec(&'static str),
}

struct Row {
    /// Label in the docs table.
    defect: &'static str,
    spec: &'static str,
    anchor: &'static str,
    leaf: &'static str,
    intermediates: Option<&'static [&'static str]>,
    crl: bool,
    enforce_crl_expiry: bool,
    /// Facts about the generated certificates (x509-parser), `dir` = the written PKI.
    facts: fn(&Pki, &Path),
    /// Exact `openssl verify` result: "OK" or the error lines.
    openssl: &'static str,
    /// Exact webpki result: "Ok" or the error variant.
    webpki: &'static str,
    control: Control,
    /// Why the verifiers differ (rows where they do).
    note: &'static str,
}

macro_rules! chain {
    ($root:literal, $sub:literal, $leaf:literal) => {
        concat!(
            "[[cert]]\nname = \"root\"\nrole = \"root\"\n",
            $root,
            "\n[[cert]]\nname = \"sub\"\nrole = \"intermediate\"\nissuer = \"root\"\n",
            $sub,
            "\n[[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"sub\"\n",
            $leaf,
            "\n"
        )
    };
}

const DEEP_PATHLEN: &str = r#"
[[cert]]
name = "root"
role = "root"

[[cert]]
name = "sub1"
role = "intermediate"
issuer = "root"

[[cert]]
name = "sub2"
role = "intermediate"
issuer = "sub1"
defects = ["path-len-exceeded"]

[[cert]]
name = "alice"
role = "client"
issuer = "sub2"
"#;

const CROSS: &str = r#"
[[cert]]
name = "root-a"
role = "root"

[[cert]]
name = "root-b"
role = "root"

[[cert]]
name = "sub"
role = "intermediate"
issuer = "root-a"
defects = ["cross-signed"]
cross_signed_by = "root-b"

[[cert]]
name = "alice"
role = "client"
issuer = "sub"
"#;

const CROSS_CONTROL: &str = r#"
[[cert]]
name = "root-b"
role = "root"

[[cert]]
name = "sub-cross"
role = "intermediate"
issuer = "root-b"

[[cert]]
name = "alice"
role = "client"
issuer = "sub-cross"
"#;

const SELF_SIGNED: &str = r#"
[[cert]]
name = "root"
role = "root"

[[cert]]
name = "alice"
role = "client"
defects = ["self-signed-leaf"]
"#;

const SELF_SIGNED_CONTROL: &str = r#"
[[cert]]
name = "root"
role = "root"

[[cert]]
name = "alice"
role = "client"
issuer = "root"
"#;

const UNTRUSTED: &str = r#"
[[cert]]
name = "root"
role = "root"

[[cert]]
name = "other-root"
role = "root"

[[cert]]
name = "alice"
role = "client"
issuer = "other-root"
"#;

fn row(defect: &'static str, spec: &'static str, facts: fn(&Pki, &Path)) -> Row {
    Row {
        defect,
        spec,
        anchor: "root",
        leaf: "alice",
        intermediates: None,
        crl: false,
        enforce_crl_expiry: false,
        facts,
        openssl: "?",
        webpki: "?",
        control: Control::Strip,
        note: "",
    }
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            openssl: "OK",
            webpki: "Ok",
            ..row("none (control chain root -> sub -> alice)", chain!("", "", ""), |pki, dir| {
                assert_eq!(basic_constraints(pki, "root"), Some((true, None)));
                assert_eq!(basic_constraints(pki, "sub"), Some((true, None)));
                assert_eq!(basic_constraints(pki, "alice"), None);
                assert_eq!(key_cert_sign(pki, "sub"), Some(true));
                assert_eq!(eku(pki, "alice"), Some((false, true, 0)));
                assert_eq!(handed_key_spki(dir, "alice"), spki_der(pki, "alice"));
                assert!(handed_key_signs_for_cert(pki, "alice"));
            })
        },
        Row {
            openssl: "error 10 at 0 depth lookup: certificate has expired",
            webpki: "CertExpired",
            ..row("validity = expired (leaf)", chain!("", "", "validity = \"expired\""), |pki, _| {
                let (nb, na) = validity(pki, "alice");
                assert!(nb < na && na < now(), "not_after {na} must be in the past");
            })
        },
        Row {
            openssl: "error 9 at 0 depth lookup: certificate is not yet valid",
            webpki: "CertNotValidYet",
            ..row(
                "validity = not-yet-valid (leaf)",
                chain!("", "", "validity = \"not-yet-valid\""),
                |pki, _| {
                    let (nb, na) = validity(pki, "alice");
                    assert!(now() < nb && nb < na, "not_before {nb} must be in the future");
                },
            )
        },
        Row {
            openssl: "error 10 at 1 depth lookup: certificate has expired",
            webpki: "CertExpired",
            ..row(
                "validity = expired (intermediate)",
                chain!("", "validity = \"expired\"", ""),
                |pki, _| assert!(validity(pki, "sub").1 < now()),
            )
        },
        Row {
            openssl: "error 10 at 0 depth lookup: certificate has expired",
            webpki: "CertExpired",
            ..row("explicit not_after in the past (leaf)", chain!("", "", "not_before = \"2020-01-01T00:00:00Z\"\nnot_after = \"2021-01-01T00:00:00Z\""), |pki, _| {
                assert_eq!(validity(pki, "alice"), (1577836800, 1609459200));
            })
        },
        Row {
            openssl: "error 79 at 1 depth lookup: invalid CA certificate; error 26 at 1 depth lookup: unsuitable certificate purpose",
            webpki: "EndEntityUsedAsCa",
            ..row("ca-flag-false (intermediate)", chain!("", "defects = [\"ca-flag-false\"]", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "sub"), Some((false, None)));
                assert_eq!(key_cert_sign(pki, "sub"), Some(true));
            })
        },
        Row {
            openssl: "error 79 at 1 depth lookup: invalid CA certificate",
            webpki: "EndEntityUsedAsCa",
            ..row("basic-constraints-absent (intermediate)", chain!("", "defects = [\"basic-constraints-absent\"]", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "sub"), None);
                assert_eq!(key_cert_sign(pki, "sub"), Some(true));
            })
        },
        Row {
            openssl: "error 79 at 1 depth lookup: invalid CA certificate; error 26 at 1 depth lookup: unsuitable certificate purpose; error 32 at 1 depth lookup: key usage does not include certificate signing",
            webpki: "Ok",
            note: "webpki never reads an issuer's keyUsage, so a CA without keyCertSign may still issue.",
            ..row("no-key-cert-sign (intermediate)", chain!("", "defects = [\"no-key-cert-sign\"]", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "sub"), Some((true, None)));
                assert_eq!(key_cert_sign(pki, "sub"), Some(false));
            })
        },
        Row {
            openssl: "error 79 at 2 depth lookup: invalid CA certificate; error 26 at 2 depth lookup: unsuitable certificate purpose",
            webpki: "Ok",
            note: "`anchor_from_trusted_cert` keeps only the subject, SPKI and name constraints of an anchor; its basicConstraints are ignored.",
            ..row("ca-flag-false (trust anchor)", chain!("defects = [\"ca-flag-false\"]", "", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "root"), Some((false, None)));
            })
        },
        Row {
            openssl: "OK",
            webpki: "Ok",
            ..row("basic-constraints-absent (trust anchor)", chain!("defects = [\"basic-constraints-absent\"]", "", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "root"), None);
                assert_eq!(key_cert_sign(pki, "root"), Some(true));
            })
        },
        Row {
            openssl: "error 79 at 2 depth lookup: invalid CA certificate; error 26 at 2 depth lookup: unsuitable certificate purpose; error 32 at 2 depth lookup: key usage does not include certificate signing",
            webpki: "Ok",
            note: "webpki ignores a trust anchor's keyUsage (and every issuer's).",
            ..row("no-key-cert-sign (trust anchor)", chain!("defects = [\"no-key-cert-sign\"]", "", ""), |pki, _| {
                assert_eq!(key_cert_sign(pki, "root"), Some(false));
            })
        },
        Row {
            openssl: "error 26 at 0 depth lookup: unsuitable certificate purpose",
            webpki: "RequiredEkuNotFoundContext",
            ..row("eku-server-only (client leaf)", chain!("", "", "defects = [\"eku-server-only\"]"), |pki, _| {
                assert_eq!(eku(pki, "alice"), Some((true, false, 0)));
            })
        },
        Row {
            openssl: "OK",
            webpki: "Ok",
            ..row("no-eku (client leaf)", chain!("", "", "defects = [\"no-eku\"]"), |pki, _| {
                assert_eq!(eku(pki, "alice"), None);
            })
        },
        Row {
            openssl: "error 25 at 2 depth lookup: path length constraint exceeded",
            webpki: "PathLenConstraintViolated",
            ..row("path-len-exceeded (sub2 under sub1 with pathLen 0)", DEEP_PATHLEN, |pki, _| {
                assert_eq!(basic_constraints(pki, "sub1"), Some((true, Some(0))));
                assert_eq!(basic_constraints(pki, "sub2"), Some((true, None)));
                assert_eq!(basic_constraints(pki, "root"), Some((true, None)));
            })
        },
        Row {
            openssl: "error 25 at 2 depth lookup: path length constraint exceeded",
            webpki: "Ok",
            note: "webpki does not apply a trust anchor's pathLenConstraint (only an intermediate's).",
            ..row("path-len-exceeded (pathLen 0 on the trust anchor)", chain!("", "defects = [\"path-len-exceeded\"]", ""), |pki, _| {
                assert_eq!(basic_constraints(pki, "root"), Some((true, Some(0))));
            })
        },
        Row {
            openssl: "error 47 at 0 depth lookup: permitted subtree violation",
            webpki: "NameConstraintViolation",
            ..row("name-constraints-violated (leaf)", chain!("", "", "defects = [\"name-constraints-violated\"]"), |pki, _| {
                assert_eq!(permitted_dns(pki, "sub"), Some(vec!["permitted.test".to_string()]));
                assert_eq!(dns_sans(pki, "alice"), vec!["alice.forbidden.test".to_string()]);
                assert_eq!(permitted_dns(pki, "root"), None);
            })
        },
        Row {
            openssl: "error 23 at 0 depth lookup: certificate revoked",
            webpki: "CertRevoked",
            crl: true,
            ..row("revoked (leaf, -crl_check)", chain!("", "", "defects = [\"revoked\"]"), |pki, _| {
                let (serials, next) = crl_facts(pki, "sub");
                assert_eq!(serials, vec![pki.cert("alice").unwrap().serial.clone()]);
                assert!(next > now());
            })
        },
        Row {
            openssl: "OK",
            webpki: "Ok",
            ..row("revoked (leaf, no CRL loaded)", chain!("", "", "defects = [\"revoked\"]"), |pki, _| {
                assert_eq!(crl_facts(pki, "sub").0.len(), 1);
            })
        },
        Row {
            openssl: "error 12 at 0 depth lookup: CRL has expired",
            webpki: "Ok",
            note: "webpki's default `ExpirationPolicy::Ignore` (rustls: unless `enforce_revocation_expiration()`) accepts a CRL past nextUpdate.",
            crl: true,
            ..row("crl-expired (leaf, -crl_check; webpki default policy)", chain!("", "", "defects = [\"crl-expired\"]"), |pki, _| {
                let (serials, next) = crl_facts(pki, "sub");
                assert!(serials.is_empty(), "crl-expired alone revokes nothing");
                assert!(next < now(), "nextUpdate {next} must be in the past");
            })
        },
        Row {
            openssl: "error 12 at 0 depth lookup: CRL has expired",
            webpki: "CrlExpired",
            crl: true,
            enforce_crl_expiry: true,
            ..row("crl-expired (leaf, -crl_check; webpki ExpirationPolicy::Enforce)", chain!("", "", "defects = [\"crl-expired\"]"), |pki, _| {
                assert!(crl_facts(pki, "sub").1 < now());
            })
        },
        Row {
            openssl: "OK",
            webpki: "Ok",
            ..row("key-mismatch (leaf)", chain!("", "", "defects = [\"key-mismatch\"]"), |pki, dir| {
                assert_ne!(handed_key_spki(dir, "alice"), spki_der(pki, "alice"));
                assert!(!handed_key_signs_for_cert(pki, "alice"));
                assert_eq!(pki.cert("alice").unwrap().defects, vec![Defect::KeyMismatch]);
            })
        },
        Row {
            openssl: "error 18 at 0 depth lookup: self-signed certificate",
            webpki: "UnknownIssuer",
            intermediates: Some(&[]),
            control: Control::Spec(SELF_SIGNED_CONTROL),
            ..row("self-signed-leaf", SELF_SIGNED, |pki, _| {
                let c = x509(pki, "alice");
                assert_eq!(c.subject().as_raw(), c.issuer().as_raw());
                assert_eq!(basic_constraints(pki, "alice"), None);
                assert!(pki.cert("alice").unwrap().issuer.is_none());
            })
        },
        Row {
            openssl: "OK",
            webpki: "Ok",
            anchor: "root-b",
            intermediates: Some(&["sub-cross"]),
            control: Control::Spec(CROSS_CONTROL),
            ..row("cross-signed (path via root-b and sub-cross)", CROSS, |pki, _| {
                let sub = x509(pki, "sub");
                let cross = x509(pki, "sub-cross");
                assert_eq!(sub.subject().as_raw(), cross.subject().as_raw());
                assert_eq!(sub.public_key().raw, cross.public_key().raw);
                assert_eq!(sub.issuer().as_raw(), x509(pki, "root-a").subject().as_raw());
                assert_eq!(cross.issuer().as_raw(), x509(pki, "root-b").subject().as_raw());
                assert_ne!(sub.raw_serial(), cross.raw_serial());
            })
        },
        Row {
            openssl: "error 20 at 0 depth lookup: unable to get local issuer certificate",
            webpki: "UnknownIssuer",
            control: Control::Spec(SELF_SIGNED_CONTROL),
            ..row("untrusted issuer (leaf under another root)", UNTRUSTED, |pki, _| {
                assert_ne!(x509(pki, "alice").issuer().as_raw(), x509(pki, "root").subject().as_raw());
            })
        },
    ]
}

#[test]
fn defect_table_openssl_and_webpki() {
    if !require_openssl() {
        return;
    }
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for r in rows() {
        let pki = generate(r.spec);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("pki");
        pki.write_dir(&dir).unwrap();
        (r.facts)(&pki, &dir);
        let v = Verify {
            anchor: r.anchor,
            leaf: r.leaf,
            intermediates: r.intermediates,
            crl: r.crl,
            enforce_crl_expiry: r.enforce_crl_expiry,
        };
        let got_openssl = openssl_verdict(&pki, &v);
        let got_webpki = webpki_verdict(&pki, &v);
        if got_openssl != r.openssl {
            failures.push(format!(
                "[{}] openssl: expected {:?}, got {:?}",
                r.defect, r.openssl, got_openssl
            ));
        }
        if got_webpki != r.webpki {
            failures.push(format!(
                "[{}] webpki: expected {:?}, got {:?}",
                r.defect, r.webpki, got_webpki
            ));
        }

        // The control: the same chain without the defect verifies on both.
        let control_src = match r.control {
            Control::Strip => r
                .spec
                .lines()
                .filter(|l| {
                    !l.starts_with("defects")
                        && !l.starts_with("validity")
                        && !l.starts_with("not_")
                })
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
            Control::Spec(s) => s.to_string(),
        };
        let control = generate(&control_src);
        assert!(
            control.certs().iter().all(|c| c.defects.is_empty()),
            "[{}] control still has a defect",
            r.defect
        );
        let c_openssl = openssl_verdict(&control, &v);
        let c_webpki = webpki_verdict(&control, &v);
        if c_openssl != "OK" || c_webpki != "Ok" {
            failures.push(format!(
                "[{}] control: openssl {c_openssl:?}, webpki {c_webpki:?}",
                r.defect
            ));
        }
        table.push((r.defect, r.openssl, r.webpki, r.note));
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    check_docs(&table);
}

fn same_verdict(openssl: &str, webpki: &str) -> bool {
    (openssl == "OK") == (webpki == "Ok")
}

fn check_docs(table: &[(&str, &str, &str, &str)]) {
    let mut md = String::new();
    md += "# OpenSSL 3.0 vs rustls-webpki 0.103 on the generated defects\n\n";
    md += "Generated and checked by `tests/pki_defects.rs` (`UPDATE_DOCS=1 cargo test --test pki_defects` rewrites it).\n";
    md += "Each row: the chain `root -> sub -> alice` (client leaf) with one defect, verified by\n";
    md += "`openssl verify -CAfile root.crt -untrusted <intermediates> -purpose sslclient [-crl_check -CRLfile <issuer>.crl] alice.crt`\n";
    md += "and by `webpki::EndEntityCert::verify_for_usage(.., KeyUsage::client_auth(), ..)` (CRL: end entity only,\n";
    md +=
        "unknown status denied). The same chain without the defect verifies on both (tested).\n\n";
    md += "| defect | OpenSSL 3.0 says | webpki says |\n|---|---|---|\n";
    for (d, o, w, _) in table {
        let mark = if same_verdict(o, w) {
            ""
        } else {
            " **(differ)**"
        };
        md += &format!("| {d}{mark} | {} | `{w}` |\n", o.replace('|', "\\|"));
    }
    md += "\n## Where they disagree\n\n";
    for (d, o, w, n) in table.iter().filter(|(_, o, w, _)| !same_verdict(o, w)) {
        md += &format!("- **{d}**: OpenSSL `{o}`, webpki `{w}`. {n}\n");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openssl-vs-webpki.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        on_disk,
        md,
        "{} is stale: rerun with UPDATE_DOCS=1",
        path.display()
    );
}

// ---------------------------------------------------------------------------
// key types, deep chains

fn chain_of_type(key: &str) -> String {
    format!(
        "[[cert]]\nname = \"root\"\nrole = \"root\"\nkey = \"{key}\"\n\n\
         [[cert]]\nname = \"sub\"\nrole = \"intermediate\"\nissuer = \"root\"\nkey = \"{key}\"\n\n\
         [[cert]]\nname = \"alice\"\nrole = \"client\"\nissuer = \"sub\"\nkey = \"{key}\"\n\n\
         [[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"sub\"\nkey = \"{key}\"\n"
    )
}

/// Both leaves verify with OpenSSL and webpki, every handed key matches its cert.
fn assert_chain_verifies(src: &str, expect_key: KeyType) {
    let pki = generate(src);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).unwrap();
    for name in ["root", "sub", "alice", "gw"] {
        let c = pki.cert(name).unwrap();
        assert_eq!(c.key_type, expect_key, "{name}");
        assert_eq!(
            handed_key_spki(&dir, name),
            spki_der(&pki, name),
            "{name}: key matches cert"
        );
        rustls::crypto::ring::sign::any_supported_type(&c.private_key())
            .unwrap_or_else(|e| panic!("{name}: rustls cannot load the {expect_key:?} key: {e}"));
    }
    for leaf in ["alice", "gw"] {
        let v = Verify {
            anchor: "root",
            leaf,
            intermediates: None,
            crl: true,
            enforce_crl_expiry: true,
        };
        assert_eq!(openssl_verdict(&pki, &v), "OK", "{expect_key:?} {leaf}");
        assert_eq!(webpki_verdict(&pki, &v), "Ok", "{expect_key:?} {leaf}");
    }
    assert_eq!(eku(&pki, "gw"), Some((true, false, 0)));
    assert_eq!(dns_sans(&pki, "gw"), vec!["localhost".to_string()]);
}

#[test]
fn every_fast_key_type_verifies_with_openssl_and_webpki() {
    if !require_openssl() {
        return;
    }
    for (key, ty) in [
        ("ecdsa-p256", KeyType::EcdsaP256),
        ("ecdsa-p384", KeyType::EcdsaP384),
        ("ed25519", KeyType::Ed25519),
        ("rsa-2048", KeyType::Rsa2048),
    ] {
        assert_chain_verifies(&chain_of_type(key), ty);
    }
}

#[test]
fn rsa_3072_and_4096_verify_with_openssl() {
    if !require_openssl() {
        return;
    }
    // One chain mixing both big sizes (they are slow in debug builds).
    let src = r#"
[[cert]]
name = "root"
role = "root"
key = "rsa-4096"

[[cert]]
name = "alice"
role = "client"
issuer = "root"
key = "rsa-3072"
"#;
    let pki = generate(src);
    assert_eq!(pki.cert("root").unwrap().key_type, KeyType::Rsa4096);
    assert_eq!(pki.cert("alice").unwrap().key_type, KeyType::Rsa3072);
    let bits = |name: &str| x509(&pki, name).public_key().parsed().unwrap().key_size();
    assert_eq!((bits("root"), bits("alice")), (4096, 3072));
    let v = Verify {
        anchor: "root",
        leaf: "alice",
        intermediates: None,
        crl: false,
        enforce_crl_expiry: false,
    };
    assert_eq!(openssl_verdict(&pki, &v), "OK");
    assert_eq!(webpki_verdict(&pki, &v), "Ok");
}

#[test]
fn mixed_key_types_in_one_chain_verify() {
    if !require_openssl() {
        return;
    }
    let src = r#"
[[cert]]
name = "root"
role = "root"
key = "rsa-2048"

[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"
key = "ed25519"

[[cert]]
name = "alice"
role = "client"
issuer = "sub"
key = "ecdsa-p384"
"#;
    let pki = generate(src);
    let v = Verify {
        anchor: "root",
        leaf: "alice",
        intermediates: None,
        crl: false,
        enforce_crl_expiry: false,
    };
    assert_eq!(openssl_verdict(&pki, &v), "OK");
    assert_eq!(webpki_verdict(&pki, &v), "Ok");
}

const DEEP: &str = r#"
[[cert]]
name = "root"
role = "root"

[[cert]]
name = "i1"
role = "intermediate"
issuer = "root"

[[cert]]
name = "i2"
role = "intermediate"
issuer = "i1"

[[cert]]
name = "i3"
role = "intermediate"
issuer = "i2"

[[cert]]
name = "alice"
role = "client"
issuer = "i3"
"#;

#[test]
fn three_intermediates_deep_chain_verifies_and_chain_pem_excludes_root() {
    if !require_openssl() {
        return;
    }
    let pki = generate(DEEP);
    let alice = pki.cert("alice").unwrap();
    assert_eq!(alice.chain_names, vec!["i3", "i2", "i1"]);
    assert_eq!(alice.root.as_deref(), Some("root"));
    let ders: Vec<_> = ["i3", "i2", "i1"]
        .iter()
        .map(|n| pki.cert(n).unwrap().der.clone())
        .collect();
    assert_eq!(alice.chain, ders);
    // Each link: issuer DN of a cert == subject DN of the next.
    let names = ["alice", "i3", "i2", "i1", "root"];
    for w in names.windows(2) {
        assert_eq!(
            x509(&pki, w[0]).issuer().as_raw(),
            x509(&pki, w[1]).subject().as_raw(),
            "{w:?}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    pki.write_dir(&dir).unwrap();
    // alice.chain.pem = alice, i3, i2, i1 (no root).
    let pem = std::fs::read(dir.join("alice.chain.pem")).unwrap();
    let blocks = ::pem::parse_many(&pem).unwrap();
    let got: Vec<Vec<u8>> = blocks.iter().map(|b| b.contents().to_vec()).collect();
    let want: Vec<Vec<u8>> = ["alice", "i3", "i2", "i1"]
        .iter()
        .map(|n| pki.cert(n).unwrap().der.to_vec())
        .collect();
    assert_eq!(got, want);
    let root_pem = std::fs::read(dir.join("root.chain.pem")).unwrap();
    assert_eq!(
        ::pem::parse_many(&root_pem).unwrap().len(),
        1,
        "a root's chain is itself"
    );
    // openssl with the chain file as the untrusted set.
    let out = Command::new(openssl())
        .arg("verify")
        .arg("-CAfile")
        .arg(dir.join("root.crt"))
        .arg("-untrusted")
        .arg(dir.join("alice.chain.pem"))
        .args(["-purpose", "sslclient", "-show_chain"])
        .arg(dir.join("alice.crt"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("depth=4: CN = root"), "{stdout}");
    let v = Verify {
        anchor: "root",
        leaf: "alice",
        intermediates: None,
        crl: false,
        enforce_crl_expiry: false,
    };
    assert_eq!(webpki_verdict(&pki, &v), "Ok");
}

// ---------------------------------------------------------------------------
// output files

const FILES: &str = r#"
[[cert]]
name = "root"
role = "root"
subject = "CN=Files Root,O=Acme"

[[cert]]
name = "sub"
role = "intermediate"
issuer = "root"

[[cert]]
name = "quiet"
role = "intermediate"
issuer = "root"

[[cert]]
name = "alice"
role = "client"
issuer = "sub"
defects = ["revoked"]

[[cert]]
name = "bob"
role = "client"
issuer = "root"
defects = ["crl-expired"]

[[cert]]
name = "carol"
role = "client"
issuer = "quiet"

[[bulk]]
prefix = "filler"
role = "root"
count = 5
"#;

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn write_dir_writes_the_promised_files() {
    let pki = generate(FILES);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    pki.write_dir(&dir).unwrap();
    let mut want: Vec<String> = ["root", "sub", "quiet", "alice", "bob", "carol"]
        .iter()
        .flat_map(|n| {
            [
                format!("{n}.crt"),
                format!("{n}.key"),
                format!("{n}.chain.pem"),
            ]
        })
        .collect();
    // CRL files only for issuers with a revoked / crl-expired subject.
    want.extend(["sub.crl".into(), "root.crl".into()]);
    want.extend([
        "filler.bundle.pem".into(),
        "filler.key".into(),
        "manifest.json".into(),
    ]);
    want.sort();
    assert_eq!(files_in(&dir), want);
    assert_eq!(pki.crl_issuers().collect::<Vec<_>>(), vec!["root", "sub"]);
    assert!(
        pki.crl("quiet").is_some(),
        "an issuer without revocations still has an empty CRL in memory"
    );
    assert!(crl_facts(&pki, "quiet").0.is_empty());
    assert!(crl_facts(&pki, "root").0.is_empty() && crl_facts(&pki, "root").1 < now());

    // CRL files hold the issuer's CRL.
    let crl_pem = std::fs::read(dir.join("sub.crl")).unwrap();
    let block = ::pem::parse(&crl_pem).unwrap();
    assert_eq!(block.tag(), "X509 CRL");
    assert_eq!(block.contents(), pki.crl("sub").unwrap().as_ref());

    // Bundle: every bulk cert, in order.
    let bundle = ::pem::parse_many(std::fs::read(dir.join("filler.bundle.pem")).unwrap()).unwrap();
    let bulk: Vec<_> = pki.resolve(&["filler-*".to_string()]).unwrap();
    assert_eq!(bulk.len(), 5);
    assert_eq!(bulk[0].name, "filler-00001");
    assert_eq!(bulk[4].name, "filler-00005");
    assert_eq!(
        bundle
            .iter()
            .map(|b| b.contents().to_vec())
            .collect::<Vec<_>>(),
        bulk.iter().map(|c| c.der.to_vec()).collect::<Vec<_>>()
    );
    for c in &bulk {
        let (_, x) = parse_x509_certificate(&c.der).unwrap();
        assert_eq!(x.subject().to_string(), format!("CN={}", c.name));
        assert_eq!(
            x.subject().as_raw(),
            x.issuer().as_raw(),
            "bulk roots are self-signed"
        );
        assert!(x.is_ca());
    }

    // Key files are private; certs are not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in files_in(&dir) {
            let mode = std::fs::metadata(dir.join(&f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            if f.ends_with(".key") {
                assert_eq!(mode, 0o600, "{f}");
            } else {
                assert_ne!(
                    mode & 0o044,
                    0,
                    "{f} should be readable by others: {mode:o}"
                );
            }
        }
    }

    // manifest.json
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let certs = m["certs"].as_array().unwrap();
    assert_eq!(certs.len(), 6);
    for c in certs {
        let name = c["name"].as_str().unwrap();
        let ic = pki.cert(name).unwrap();
        assert_eq!(c["role"], ic.role.as_str());
        assert_eq!(c["subject"], ic.subject.as_str());
        assert_eq!(c["serial"], ic.serial.as_str());
        assert_eq!(
            c["serial"].as_str().unwrap(),
            x509(&pki, name).raw_serial_as_string().replace(':', "")
        );
        assert_eq!(c["files"]["cert"], format!("{name}.crt"));
        assert_eq!(c["files"]["key"], format!("{name}.key"));
        assert_eq!(c["files"]["chain"], format!("{name}.chain.pem"));
        let defects: Vec<&str> = c["defects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert_eq!(
            defects,
            ic.defects.iter().map(|d| d.as_str()).collect::<Vec<_>>()
        );
    }
    assert_eq!(certs[0]["subject"], "CN=Files Root,O=Acme");
    let alice = certs.iter().find(|c| c["name"] == "alice").unwrap();
    assert_eq!(alice["defects"], serde_json::json!(["revoked"]));
    assert_eq!(alice["issuer"], "sub");
    assert_eq!(
        m["crls"],
        serde_json::json!({"root": "root.crl", "sub": "sub.crl"})
    );
    let b = &m["bulk"][0];
    assert_eq!(b["prefix"], "filler");
    assert_eq!(b["count"], 5);
    assert_eq!(b["bundle"], "filler.bundle.pem");
    assert_eq!(b["names"].as_array().unwrap().len(), 5);
    assert_eq!(b["serials"][2], bulk[2].serial.as_str());
}

#[test]
fn write_dir_refuses_a_non_empty_dir_and_accepts_an_empty_one() {
    let pki = generate(DEEP);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let err = pki.write_dir(&dir).unwrap_err();
    assert!(matches!(err, PkiError::OutDirNotEmpty { .. }), "{err:?}");
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(files_in(&dir), vec!["precious.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(
        files_in(tmp.path()),
        vec!["out"],
        "no staging dir left behind"
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    pki.write_dir(&empty).unwrap();
    assert!(empty.join("manifest.json").exists());
    // A second write into the now-full dir is refused.
    assert!(matches!(
        pki.write_dir(&empty),
        Err(PkiError::OutDirNotEmpty { .. })
    ));
}

#[test]
fn write_dir_leaves_nothing_behind_on_error() {
    let pki = generate(DEEP);
    let tmp = tempfile::tempdir().unwrap();

    // The parent is a file: nothing can be created.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = pki.write_dir(&file.join("out")).unwrap_err();
    assert!(matches!(err, PkiError::Io { .. }), "{err:?}");
    assert_eq!(files_in(tmp.path()), vec!["a-file"]);

    // An error in the middle of writing (a PKI loaded from a doctored
    // manifest, whose bulk key file collides with a named cert's key file):
    // the half-written staging dir is removed and DIR never appears.
    let good = tmp.path().join("good");
    pki.write_dir(&good).unwrap();
    let bulk_src = "[[bulk]]\nprefix = \"filler\"\ncount = 2\n";
    let bulk_dir = tmp.path().join("bulk");
    generate(bulk_src).write_dir(&bulk_dir).unwrap();
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(good.join("manifest.json")).unwrap()).unwrap();
    let b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bulk_dir.join("manifest.json")).unwrap()).unwrap();
    let mut bulk = b["bulk"].clone();
    bulk[0]["prefix"] = "i2".into(); // writes i2.key, like the named cert i2
    bulk[0]["bundle"] = "../bulk/filler.bundle.pem".into();
    bulk[0]["key"] = "../bulk/filler.key".into();
    m["bulk"] = bulk;
    std::fs::write(good.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let doctored = Pki::load_dir(&good).unwrap();
    let out = tmp.path().join("out");
    let err = doctored.write_dir(&out).unwrap_err();
    assert!(matches!(err, PkiError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("i2.key"), "{err}");
    assert_eq!(
        files_in(tmp.path()),
        vec!["a-file", "bulk", "good"],
        "no DIR, no staging dir"
    );

    // A read-only parent (only meaningful when not running as root).
    #[cfg(unix)]
    if unsafe { libc::geteuid() } != 0 {
        use std::os::unix::fs::PermissionsExt;
        let ro = tmp.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let err = pki.write_dir(&ro.join("out")).unwrap_err();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(err, PkiError::Io { .. }), "{err:?}");
        assert!(files_in(&ro).is_empty());
    }
}

#[test]
fn load_dir_round_trips() {
    let pki = generate(FILES);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    pki.write_dir(&dir).unwrap();
    let back = Pki::load_dir(&dir).unwrap();
    assert_eq!(back.certs().len(), pki.certs().len());
    for c in pki.certs() {
        let b = back.cert(&c.name).unwrap();
        assert_eq!(b.role, c.role, "{}", c.name);
        assert_eq!(b.subject, c.subject, "{}", c.name);
        assert_eq!(b.subject_der, c.subject_der, "{}", c.name);
        assert_eq!(b.issuer, c.issuer, "{}", c.name);
        assert_eq!(b.serial, c.serial, "{}", c.name);
        assert_eq!(b.key_type, c.key_type, "{}", c.name);
        assert_eq!(b.der, c.der, "{}", c.name);
        assert_eq!(b.key_pkcs8, c.key_pkcs8, "{}", c.name);
        assert_eq!(b.chain, c.chain, "{}", c.name);
        assert_eq!(b.chain_names, c.chain_names, "{}", c.name);
        assert_eq!(b.root, c.root, "{}", c.name);
        assert_eq!(b.defects, c.defects, "{}", c.name);
        assert_eq!(b.signs_client_certs, c.signs_client_certs, "{}", c.name);
        assert_eq!(b.bulk, c.bulk, "{}", c.name);
    }
    assert_eq!(
        back.crl_issuers().collect::<Vec<_>>(),
        pki.crl_issuers().collect::<Vec<_>>()
    );
    for issuer in pki.crl_issuers() {
        assert_eq!(back.crl(issuer), pki.crl(issuer));
    }
    // Issuers without revocations still get a (regenerated) empty CRL.
    let quiet = back.crl("quiet").expect("empty CRL for quiet after load");
    let (_, crl) = parse_x509_crl(quiet).unwrap();
    assert_eq!(crl.iter_revoked_certificates().count(), 0);
    assert!(crl
        .verify_signature(x509(&back, "quiet").public_key())
        .is_ok());
    assert_eq!(back.bulk_prefixes().collect::<Vec<_>>(), vec!["filler"]);
    assert_eq!(back.resolve(&["filler-*".into()]).unwrap().len(), 5);
    // And the loaded copy writes the same files again.
    let again = tmp.path().join("again");
    back.write_dir(&again).unwrap();
    assert_eq!(files_in(&again), files_in(&dir));
    for f in files_in(&dir) {
        assert_eq!(
            std::fs::read(dir.join(&f)).unwrap(),
            std::fs::read(again.join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn cross_signed_intermediate_can_issue_and_chains_both_ways() {
    if !require_openssl() {
        return;
    }
    let src =
        format!("{CROSS}\n[[cert]]\nname = \"bob\"\nrole = \"client\"\nissuer = \"sub-cross\"\n");
    let pki = generate(&src);
    let bob = pki.cert("bob").unwrap();
    assert_eq!(bob.chain_names, vec!["sub-cross"]);
    assert_eq!(bob.root.as_deref(), Some("root-b"));
    for (anchor, via) in [("root-b", "sub-cross"), ("root-a", "sub")] {
        let v = Verify {
            anchor,
            leaf: "bob",
            intermediates: Some(&[via]),
            crl: false,
            enforce_crl_expiry: false,
        };
        assert_eq!(openssl_verdict(&pki, &v), "OK", "{anchor}");
        assert_eq!(webpki_verdict(&pki, &v), "Ok", "{anchor}");
    }
}

#[test]
fn ten_thousand_fillers_share_one_key_and_have_unique_serials() {
    let src = "[[bulk]]\nprefix = \"filler\"\ncount = 10000\nsubject = \"CN=Filler {n},O=Bulk\"\n";
    let started = std::time::Instant::now();
    let pki = generate(src);
    let took = started.elapsed();
    // The release figure is in benches/pki.rs (~0.2 s on 2 cores); this only
    // catches a gross regression (e.g. a key per filler) in a debug build.
    assert!(
        took < std::time::Duration::from_secs(20),
        "10,000 fillers took {took:?}"
    );
    let all = pki.resolve(&["filler-*".to_string()]).unwrap();
    assert_eq!(all.len(), 10_000);
    assert_eq!(all[0].name, "filler-00001");
    assert_eq!(all[9_999].name, "filler-10000");
    assert_eq!(all[41].subject, "CN=Filler 00042,O=Bulk");
    let spki = spki_der(&pki, "filler-00001");
    assert_eq!(
        spki_der(&pki, "filler-10000"),
        spki,
        "one key per bulk table"
    );
    let serials: std::collections::HashSet<&str> = all.iter().map(|c| c.serial.as_str()).collect();
    assert_eq!(serials.len(), 10_000, "serials are unique");
    let subjects: std::collections::HashSet<&[u8]> =
        all.iter().map(|c| c.subject_der.as_slice()).collect();
    assert_eq!(subjects.len(), 10_000, "subjects are unique");
}
