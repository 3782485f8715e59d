//! Model-based property test: random PKIs and server/client settings, an
//! independent model of what the `strict` (rustls) and `nginx` (`on`)
//! profiles must do, and the real run, which must agree.
//!
//! The model below is plain Rust written from first principles (RFC 5280 path
//! building as rustls-webpki orders its checks, OpenSSL's extra keyCertSign
//! rule, TLS client-certificate selection); it never calls the harness's
//! verification, CA-name or gateway code. Only `run_case` is the system under test.
//!
//! Generated: two client chains `a` and `b` (a root, 0-3 intermediates, a
//! client leaf; keys ecdsa-p256 / ecdsa-p384 / ed25519), with defects
//! validity (expired / not-yet-valid on leaf and intermediates), ca-flag-false,
//! basic-constraints-absent, no-key-cert-sign (intermediates and roots),
//! revoked (leaf and intermediates), eku-server-only, key-mismatch; the server's
//! trust set (a's root, b's root, or both), CRLs loaded (none, all, or a random
//! subset of the CAs), client_auth none|optional|required, CA-names policy
//! all-trusted|flagged|empty|explicit, the client's wallet (0-2 leaves, in
//! order) and selection policy, whether it sends intermediates, TLS 1.2/1.3.
//! Each case runs both profiles. A failure is shrunk and printed as the
//! scenario TOML that reproduces it.
//!
//! Cases: 48 by default (each = 2 real handshakes). For a deeper run:
//!
//! ```text
//! PROPTEST_CASES=2000 cargo test --release --test model_proptest
//! ```

mod support;

use mtls_harness::case::run_case;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::{Pki, PkiSpec};
use mtls_harness::scenario::schema::ScenarioFile;
use mtls_harness::tls::Timeouts;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence};
use std::sync::OnceLock;
use support::situations::{alert, http, Seen};

const NO_CERT: &str = "No required SSL certificate was sent";
const CERT_ERR: &str = "The SSL certificate error";

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/model_proptest.proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

// ---------------------------------------------------------------- generated input

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    P256,
    P384,
    Ed25519,
}

impl Key {
    fn toml(self) -> &'static str {
        match self {
            Key::P256 => "ecdsa-p256",
            Key::P384 => "ecdsa-p384",
            Key::Ed25519 => "ed25519",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Valid {
    Yes,
    Expired,
    NotYet,
}

impl Valid {
    fn toml(self) -> &'static str {
        match self {
            Valid::Yes => "valid",
            Valid::Expired => "expired",
            Valid::NotYet => "not-yet-valid",
        }
    }
}

/// A defect on a CA certificate that changes what a verifier sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaDefect {
    None,
    CaFlagFalse,
    BcAbsent,
    NoKeyCertSign,
}

#[derive(Debug, Clone)]
struct Root {
    key: Key,
    no_key_cert_sign: bool,
    /// `signs_client_certs` (the `flagged` CA-names policy).
    flagged: bool,
    /// The server loads this root's CRL (when CRLs are "some").
    crl: bool,
}

#[derive(Debug, Clone)]
struct Inter {
    key: Key,
    validity: Valid,
    defect: CaDefect,
    revoked: bool,
    crl: bool,
}

#[derive(Debug, Clone)]
struct Leaf {
    key: Key,
    validity: Valid,
    eku_server_only: bool,
    revoked: bool,
    key_mismatch: bool,
}

#[derive(Debug, Clone)]
struct Chain {
    root: Root,
    /// Root side first: `ints[0]` is issued by the root, the leaf by the last.
    ints: Vec<Inter>,
    leaf: Leaf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Optional,
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crls {
    Off,
    All,
    /// Each CA's own `crl` flag says.
    Some,
}

#[derive(Debug, Clone)]
enum Names {
    AllTrusted,
    Flagged,
    Empty,
    /// Indices into the list of all CA names (see [`Case::ca_cert_names`]).
    Explicit(Vec<Index>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    Always,
    Never,
    MatchIssuer,
    MatchOrAny,
}

#[derive(Debug, Clone)]
struct Case {
    chains: [Chain; 2],
    /// Which roots the server trusts: 0 = a, 1 = b, 2 = both.
    trust: u8,
    crls: Crls,
    auth: Auth,
    names: Names,
    /// Chain indices, in wallet order.
    wallet: Vec<usize>,
    select: Select,
    send_intermediates: bool,
    tls13: bool,
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![Just(Key::P256), Just(Key::P384), Just(Key::Ed25519)]
}

fn validity() -> impl Strategy<Value = Valid> {
    prop_oneof![12 => Just(Valid::Yes), 1 => Just(Valid::Expired), 1 => Just(Valid::NotYet)]
}

fn root() -> impl Strategy<Value = Root> {
    (
        key(),
        prop::bool::weighted(0.1),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(key, no_key_cert_sign, flagged, crl)| Root {
            key,
            no_key_cert_sign,
            flagged,
            crl,
        })
}

fn inter() -> impl Strategy<Value = Inter> {
    let defect = prop_oneof![
        12 => Just(CaDefect::None),
        1 => Just(CaDefect::CaFlagFalse),
        1 => Just(CaDefect::BcAbsent),
        2 => Just(CaDefect::NoKeyCertSign),
    ];
    (
        key(),
        validity(),
        defect,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(key, validity, defect, revoked, crl)| Inter {
            key,
            validity,
            defect,
            revoked,
            crl,
        })
}

fn leaf() -> impl Strategy<Value = Leaf> {
    (
        key(),
        validity(),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(key, validity, eku_server_only, revoked, key_mismatch)| Leaf {
                key,
                validity,
                eku_server_only,
                revoked,
                key_mismatch,
            },
        )
}

fn chain() -> impl Strategy<Value = Chain> {
    (root(), prop::collection::vec(inter(), 0..=3), leaf()).prop_map(|(root, ints, leaf)| Chain {
        root,
        ints,
        leaf,
    })
}

fn case() -> impl Strategy<Value = Case> {
    let auth =
        prop_oneof![1 => Just(Auth::None), 2 => Just(Auth::Optional), 3 => Just(Auth::Required)];
    let crls = prop_oneof![2 => Just(Crls::Off), 2 => Just(Crls::All), 1 => Just(Crls::Some)];
    let names = prop_oneof![
        2 => Just(Names::AllTrusted),
        1 => Just(Names::Flagged),
        1 => Just(Names::Empty),
        1 => prop::collection::vec(any::<Index>(), 0..3).prop_map(Names::Explicit),
    ];
    let wallet = prop_oneof![
        1 => Just(vec![]),
        4 => Just(vec![0]),
        1 => Just(vec![1]),
        2 => Just(vec![0, 1]),
        2 => Just(vec![1, 0]),
    ];
    let select = prop_oneof![
        3 => Just(Select::Always),
        1 => Just(Select::Never),
        2 => Just(Select::MatchIssuer),
        2 => Just(Select::MatchOrAny),
    ];
    (
        (chain(), chain()),
        0u8..3,
        crls,
        auth,
        names,
        wallet,
        select,
        prop::bool::weighted(0.8),
        any::<bool>(),
    )
        .prop_map(
            |((a, b), trust, crls, auth, names, wallet, select, send_intermediates, tls13)| Case {
                chains: [a, b],
                trust,
                crls,
                auth,
                names,
                wallet,
                select,
                send_intermediates,
                tls13,
            },
        )
}

// ---------------------------------------------------------------- naming and TOML

const CHAIN: [&str; 2] = ["a", "b"];

fn root_name(c: usize) -> String {
    format!("{}-root", CHAIN[c])
}
fn int_name(c: usize, i: usize) -> String {
    format!("{}-int{}", CHAIN[c], i + 1)
}
fn leaf_name(c: usize) -> String {
    format!("{}-leaf", CHAIN[c])
}

impl Case {
    fn trusted(&self) -> Vec<usize> {
        match self.trust {
            0 => vec![0],
            1 => vec![1],
            _ => vec![0, 1],
        }
    }

    /// Every CA of the PKI, in a fixed order (targets of `explicit`).
    fn ca_cert_names(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (c, ch) in self.chains.iter().enumerate() {
            v.push(root_name(c));
            v.extend((0..ch.ints.len()).map(|i| int_name(c, i)));
        }
        v.push("srv-root".into());
        v
    }

    fn explicit(&self) -> Vec<String> {
        let all = self.ca_cert_names();
        let mut out: Vec<String> = Vec::new();
        if let Names::Explicit(ix) = &self.names {
            for i in ix {
                let n = all[i.index(all.len())].clone();
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// Issuers whose CRL the server loads.
    fn crl_issuers(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (c, ch) in self.chains.iter().enumerate() {
            let on = |flag: bool| match self.crls {
                Crls::Off => false,
                Crls::All => true,
                Crls::Some => flag,
            };
            if on(ch.root.crl) {
                v.push(root_name(c));
            }
            for (i, int) in ch.ints.iter().enumerate() {
                if on(int.crl) {
                    v.push(int_name(c, i));
                }
            }
        }
        v
    }

    fn version(&self) -> TlsVersion {
        if self.tls13 {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        }
    }

    fn toml(&self) -> String {
        let q = |xs: &[String]| {
            xs.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = String::from("description = \"model proptest\"\n\n");
        let cert = |s: &mut String,
                    name: &str,
                    role: &str,
                    issuer: Option<&str>,
                    key: Key,
                    validity: Valid,
                    flagged: bool,
                    defects: &[&str]| {
            s.push_str(&format!(
                "[[pki.cert]]\nname = \"{name}\"\nrole = \"{role}\"\nkey = \"{}\"\n",
                key.toml()
            ));
            if let Some(i) = issuer {
                s.push_str(&format!("issuer = \"{i}\"\n"));
            }
            if validity != Valid::Yes {
                s.push_str(&format!("validity = \"{}\"\n", validity.toml()));
            }
            if flagged {
                s.push_str("signs_client_certs = true\n");
            }
            if !defects.is_empty() {
                let d: Vec<String> = defects.iter().map(|d| d.to_string()).collect();
                s.push_str(&format!("defects = [{}]\n", q(&d)));
            }
            s.push('\n');
        };
        for (c, ch) in self.chains.iter().enumerate() {
            let rd: &[&str] = if ch.root.no_key_cert_sign {
                &["no-key-cert-sign"]
            } else {
                &[]
            };
            cert(
                &mut s,
                &root_name(c),
                "root",
                None,
                ch.root.key,
                Valid::Yes,
                ch.root.flagged,
                rd,
            );
            let mut issuer = root_name(c);
            for (i, int) in ch.ints.iter().enumerate() {
                let mut d = Vec::new();
                match int.defect {
                    CaDefect::None => {}
                    CaDefect::CaFlagFalse => d.push("ca-flag-false"),
                    CaDefect::BcAbsent => d.push("basic-constraints-absent"),
                    CaDefect::NoKeyCertSign => d.push("no-key-cert-sign"),
                }
                if int.revoked {
                    d.push("revoked");
                }
                let name = int_name(c, i);
                cert(
                    &mut s,
                    &name,
                    "intermediate",
                    Some(&issuer),
                    int.key,
                    int.validity,
                    false,
                    &d,
                );
                issuer = name;
            }
            let mut d = Vec::new();
            if ch.leaf.eku_server_only {
                d.push("eku-server-only");
            }
            if ch.leaf.revoked {
                d.push("revoked");
            }
            if ch.leaf.key_mismatch {
                d.push("key-mismatch");
            }
            cert(
                &mut s,
                &leaf_name(c),
                "client",
                Some(&issuer),
                ch.leaf.key,
                ch.leaf.validity,
                false,
                &d,
            );
        }
        cert(
            &mut s,
            "srv-root",
            "root",
            None,
            Key::P256,
            Valid::Yes,
            false,
            &[],
        );
        cert(
            &mut s,
            "gw",
            "server",
            Some("srv-root"),
            Key::P256,
            Valid::Yes,
            false,
            &[],
        );

        let auth = match self.auth {
            Auth::None => "none",
            Auth::Optional => "optional",
            Auth::Required => "required",
        };
        let names = match &self.names {
            Names::AllTrusted => "\"all-trusted\"".to_string(),
            Names::Flagged => "\"flagged\"".to_string(),
            Names::Empty => "\"empty\"".to_string(),
            Names::Explicit(_) => format!("{{ explicit = [{}] }}", q(&self.explicit())),
        };
        let trust: Vec<String> = self.trusted().into_iter().map(root_name).collect();
        s.push_str(&format!(
            "[server]\ncert = \"gw\"\nclient_auth = \"{auth}\"\ntrust = [{}]\nca_names = {names}\ntls = [\"{}\"]\ncrls = [{}]\n\n",
            q(&trust),
            self.version(),
            q(&self.crl_issuers()),
        ));
        let wallet: Vec<String> = self.wallet.iter().map(|&c| leaf_name(c)).collect();
        let select = match self.select {
            Select::Always => "always",
            Select::Never => "never",
            Select::MatchIssuer => "match-issuer",
            Select::MatchOrAny => "match-issuer-or-any-if-empty",
        };
        s.push_str(&format!(
            "[client]\ncerts = [{}]\nselection = \"{select}\"\nsend_intermediates = {}\n",
            q(&wallet),
            self.send_intermediates
        ));
        s
    }
}

// ---------------------------------------------------------------- the model

/// Why a chain does not verify, in webpki's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    Validity,
    InvalidCa,
    BadPurpose,
    Untrusted,
    Revoked,
    RevocationUnknown,
}

/// The rustls alert for a verification failure (RFC 8446 names).
fn rustls_alert(f: Fail) -> &'static str {
    match f {
        // "certificate_expired: a certificate has expired or is not currently valid"
        Fail::Validity => "certificate_expired",
        Fail::Untrusted | Fail::RevocationUnknown => "unknown_ca",
        Fail::Revoked => "certificate_revoked",
        Fail::BadPurpose => "unsupported_certificate",
        // webpki's EndEntityUsedAsCa has no dedicated alert.
        Fail::InvalidCa => "certificate_unknown",
    }
}

impl Case {
    /// Subjects (as cert names) the CertificateRequest lists; `None` when the
    /// server sends no CertificateRequest at all.
    fn model_ca_names(&self) -> Option<Vec<String>> {
        let trusted = self.trusted();
        match (&self.auth, &self.names) {
            (Auth::None, _) => None,
            (_, Names::AllTrusted) => Some(trusted.into_iter().map(root_name).collect()),
            (_, Names::Flagged) => Some(
                trusted
                    .into_iter()
                    .filter(|&c| self.chains[c].root.flagged)
                    .map(root_name)
                    .collect(),
            ),
            (_, Names::Empty) => Some(vec![]),
            (_, Names::Explicit(_)) => Some(self.explicit()),
        }
    }

    /// Issuer names of the certificates the client would send for chain `c`.
    fn sent_issuers(&self, c: usize) -> Vec<String> {
        let n = self.chains[c].ints.len();
        // issuer of ints[0] is the root, of ints[i] is ints[i-1], of the leaf the last one.
        let leaf_issuer = if n == 0 {
            root_name(c)
        } else {
            int_name(c, n - 1)
        };
        let mut v = vec![leaf_issuer];
        if self.send_intermediates {
            for i in 0..n {
                v.push(if i == 0 {
                    root_name(c)
                } else {
                    int_name(c, i - 1)
                });
            }
        }
        v
    }

    /// Which chain the client sends, if any.
    fn model_selection(&self) -> Option<usize> {
        let names = self.model_ca_names()?;
        let first = self.wallet.first().copied();
        let matching = || {
            self.wallet
                .iter()
                .copied()
                .find(|&c| self.sent_issuers(c).iter().any(|i| names.contains(i)))
        };
        match self.select {
            Select::Never => None,
            Select::Always => first,
            Select::MatchOrAny if names.is_empty() => first,
            Select::MatchIssuer | Select::MatchOrAny => matching(),
        }
    }

    /// rustls-webpki's verdict on chain `c` as sent. Order of checks, per
    /// certificate from the leaf upwards: validity, basicConstraints, EKU;
    /// then the issuer must be a trust anchor or a sent intermediate; once
    /// anchored, revocation is checked from the top of the path down, each
    /// certificate needing its issuer's CRL when any CRL is loaded.
    fn model_webpki(&self, c: usize) -> Result<(), Fail> {
        let ch = &self.chains[c];
        if ch.leaf.validity != Valid::Yes {
            return Err(Fail::Validity);
        }
        if ch.leaf.eku_server_only {
            return Err(Fail::BadPurpose);
        }
        // Walk up through the intermediates, nearest the leaf first.
        for int in ch.ints.iter().rev() {
            if !self.send_intermediates {
                // The leaf's issuer is an intermediate the server never saw.
                return Err(Fail::Untrusted);
            }
            if int.validity != Valid::Yes {
                return Err(Fail::Validity);
            }
            if matches!(int.defect, CaDefect::CaFlagFalse | CaDefect::BcAbsent) {
                return Err(Fail::InvalidCa);
            }
        }
        if !self.trusted().contains(&c) {
            return Err(Fail::Untrusted);
        }
        let crls = self.crl_issuers();
        if !crls.is_empty() {
            // (cert revoked?, its issuer), top of the path first.
            let mut path: Vec<(bool, String)> = Vec::new();
            let mut issuer = root_name(c);
            for (i, int) in ch.ints.iter().enumerate() {
                path.push((int.revoked, issuer));
                issuer = int_name(c, i);
            }
            path.push((ch.leaf.revoked, issuer));
            for (revoked, issuer) in path {
                if !crls.contains(&issuer) {
                    return Err(Fail::RevocationUnknown);
                }
                if revoked {
                    return Err(Fail::Revoked);
                }
            }
        }
        Ok(())
    }

    /// OpenSSL additionally requires keyCertSign on every issuer in the path
    /// (intermediates and the trust anchor) that has a keyUsage extension.
    fn model_openssl(&self, c: usize) -> Result<(), ()> {
        self.model_webpki(c).map_err(|_| ())?;
        let ch = &self.chains[c];
        if ch.root.no_key_cert_sign || ch.ints.iter().any(|i| i.defect == CaDefect::NoKeyCertSign) {
            return Err(());
        }
        Ok(())
    }

    fn model_strict(&self) -> Seen {
        if self.auth == Auth::None {
            return http(200, "anonymous");
        }
        let Some(c) = self.model_selection() else {
            return alert("certificate_required");
        };
        // Certificate verification runs on the Certificate message, before
        // CertificateVerify is checked against the leaf's key.
        if let Err(f) = self.model_webpki(c) {
            return alert(rustls_alert(f));
        }
        if self.chains[c].leaf.key_mismatch {
            return alert("decrypt_error");
        }
        http(200, "authenticated")
    }

    fn model_nginx(&self) -> Seen {
        if self.auth == Auth::None {
            return http(200, "anonymous");
        }
        let Some(c) = self.model_selection() else {
            return http(400, NO_CERT);
        };
        // nginx's verify callback accepts the chain; the handshake still
        // checks the CertificateVerify signature with the leaf's public key.
        if self.chains[c].leaf.key_mismatch {
            return alert("decrypt_error");
        }
        match self.model_openssl(c) {
            Err(()) => http(400, CERT_ERR),
            Ok(()) => http(200, "authenticated"),
        }
    }
}

// ---------------------------------------------------------------- the real run

fn run(case: &Case) -> Result<(), TestCaseError> {
    let text = case.toml();
    let file: ScenarioFile = toml::from_str(&text)
        .map_err(|e| TestCaseError::fail(format!("scenario does not parse: {e}\n{text}")))?;
    let spec: PkiSpec = file.pki.clone();
    let pki = Pki::generate(&spec)
        .map_err(|e| TestCaseError::fail(format!("PKI does not generate: {e}\n{text}")))?;
    let sent = case.model_selection().is_some();
    let mut diffs = Vec::new();
    for (profile, want) in [
        (ProfileKind::Strict, case.model_strict()),
        (ProfileKind::Nginx, case.model_nginx()),
    ] {
        let obs = runtime()
            .block_on(run_case(
                &pki,
                &file,
                profile,
                case.version(),
                Timeouts::default(),
            ))
            .map_err(|e| TestCaseError::fail(format!("case setup failed: {e}\n{text}")))?;
        let got = Seen::of(&obs);
        if got != want {
            diffs.push(format!("{profile}: model `{want}`, real `{got}`"));
        }
        if obs.client_certificate_sent != sent {
            diffs.push(format!(
                "{profile}: model says certificate sent = {sent}, real {} ({:?})",
                obs.client_certificate_sent, obs.selection_reason
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "model and real run disagree (TLS {}):\n  {}\nscenario:\n{text}",
            case.version(),
            diffs.join("\n  ")
        )))
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn model_agrees_with_real_run(case in case()) {
        run(&case)?;
    }
}
