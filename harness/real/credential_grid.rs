//! Which client stacks load which credential files, and what they send:
//! measured, not assumed (issue 26, docs/client-credentials.md). Each
//! stack is pointed, the way its users point it, at one credential file
//! written by the PKI (`key_format`, `key_encryption`, `pkcs12`,
//! `chain_in_file`, `chain_order`) and connects to a built-in gateway
//! (`strict`, certificate required, TLS 1.2 so the gateway has judged the
//! certificate before any side closes). Each cell is read from both ends:
//! the program's own load error when it never connected, else what the
//! gateway saw (a certificate or none, accepted or its alert).
//!
//! [`DECLARED`] is what each stack was measured to do here; `check-client`
//! quotes it, and `tests/client_credentials.rs` measures it again and
//! fails where a program does otherwise.

use crate::observation::TlsVersion;
use crate::pki::{Pki, PkiSpec};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The password of every encrypted file of the grid: the harness's wallet
/// password, which the browsers' NSS import is given.
pub const PASSWORD: &str = crate::real::client::WALLET_PASSWORD;

/// A client stack, as its users give it a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stack {
    /// curl (OpenSSL 3): `--cert CHAIN --key KEY --pass PW`, or
    /// `--cert-type P12 --cert FILE:PW`.
    Curl,
    /// `openssl s_client -cert CHAIN -key KEY -pass pass:PW`.
    Openssl,
    /// Python `ssl`: `SSLContext.load_cert_chain(CHAIN, KEY, password)`.
    Python,
    /// Node `https`: `{cert, key, passphrase}`, or `{pfx, passphrase}`.
    Node,
    /// Go `crypto/tls`: `tls.LoadX509KeyPair(CHAIN, KEY)` (the harness's Go
    /// client, built once). It sends a certificate only when its chain
    /// reaches one of the CA names the server sends.
    Go,
    /// Java 17 JSSE: a `PKCS12` key store with its password.
    Java,
    /// `gnutls-cli --x509certfile CHAIN --x509keyfile KEY`.
    Gnutls,
    /// Chromium, headless: the PKCS#12 file imported into its NSS database
    /// (`pk12util`, what Firefox's import does too), a certificate
    /// auto-selected.
    Chromium,
    /// Firefox ESR, headless: the same, with `security.default_personal_cert`.
    Firefox,
}

impl Stack {
    pub const ALL: [Stack; 9] = [
        Stack::Curl,
        Stack::Openssl,
        Stack::Python,
        Stack::Node,
        Stack::Go,
        Stack::Java,
        Stack::Gnutls,
        Stack::Chromium,
        Stack::Firefox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stack::Curl => "curl",
            Stack::Openssl => "openssl s_client",
            Stack::Python => "Python ssl",
            Stack::Node => "Node https",
            Stack::Go => "Go crypto/tls",
            Stack::Java => "Java JSSE",
            Stack::Gnutls => "gnutls-cli",
            Stack::Chromium => "Chromium (NSS)",
            Stack::Firefox => "Firefox (NSS)",
        }
    }

    /// The program run, and its Debian package.
    /// The stack links OpenSSL 3 (what most clients and tools on a
    /// current distribution read files with).
    pub fn is_openssl3(self) -> bool {
        matches!(
            self,
            Stack::Curl | Stack::Openssl | Stack::Python | Stack::Node
        )
    }

    pub fn program(self) -> (&'static str, &'static str) {
        match self {
            Stack::Curl => ("curl", "curl"),
            Stack::Openssl => ("openssl", "openssl"),
            Stack::Python => ("python3", "python3"),
            Stack::Node => ("node", "nodejs"),
            Stack::Go => ("go", "golang-go"),
            Stack::Java => ("java", "openjdk-17-jdk-headless"),
            Stack::Gnutls => ("gnutls-cli", "gnutls-bin"),
            Stack::Chromium => ("chromium", "chromium"),
            Stack::Firefox => ("firefox-esr", "firefox-esr"),
        }
    }
}

/// A credential file, in one format or with one defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// PEM chain and a PKCS#8 key: the reference.
    PemPkcs8,
    PemPkcs1,
    PemSec1,
    PemEncryptedPkcs8,
    Pkcs12Modern,
    Pkcs12Legacy,
    /// The chain file without the intermediate.
    LeafOnly,
    /// The chain file with the intermediate first.
    Reversed,
    /// A key that is not the certificate's.
    KeyMismatch,
    /// An expired certificate (PKCS#12: what every stack takes, browsers
    /// included).
    Expired,
    /// A certificate whose extendedKeyUsage is serverAuth alone.
    NoClientAuthEku,
    /// A certificate whose issuer is not among the CA names the server
    /// sends (it lists another root; it trusts both).
    IssuerNotInCaNames,
}

impl Variant {
    pub const ALL: [Variant; 12] = [
        Variant::PemPkcs8,
        Variant::PemPkcs1,
        Variant::PemSec1,
        Variant::PemEncryptedPkcs8,
        Variant::Pkcs12Modern,
        Variant::Pkcs12Legacy,
        Variant::LeafOnly,
        Variant::Reversed,
        Variant::KeyMismatch,
        Variant::Expired,
        Variant::NoClientAuthEku,
        Variant::IssuerNotInCaNames,
    ];

    /// The PKI name of its client certificate.
    pub fn cert_name(self) -> &'static str {
        match self {
            Variant::PemPkcs8 => "pkcs8",
            Variant::PemPkcs1 => "pkcs1",
            Variant::PemSec1 => "sec1",
            Variant::PemEncryptedPkcs8 => "encrypted",
            Variant::Pkcs12Modern => "p12-modern",
            Variant::Pkcs12Legacy => "p12-legacy",
            Variant::LeafOnly => "leaf-only",
            Variant::Reversed => "reversed",
            Variant::KeyMismatch => "mismatch",
            Variant::Expired => "expired",
            Variant::NoClientAuthEku => "server-eku",
            Variant::IssuerNotInCaNames => "not-named",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Variant::PemPkcs8 => "PEM chain, PKCS#8 key",
            Variant::PemPkcs1 => "PEM chain, PKCS#1 RSA key",
            Variant::PemSec1 => "PEM chain, SEC1 EC key",
            Variant::PemEncryptedPkcs8 => "PEM chain, encrypted PKCS#8 key",
            Variant::Pkcs12Modern => "PKCS#12, PBES2/AES",
            Variant::Pkcs12Legacy => "PKCS#12, RC2-40/3DES (legacy)",
            Variant::LeafOnly => "PEM, intermediate missing",
            Variant::Reversed => "PEM, chain reversed",
            Variant::KeyMismatch => "PEM, key of another certificate",
            Variant::Expired => "expired certificate",
            Variant::NoClientAuthEku => "EKU serverAuth only",
            Variant::IssuerNotInCaNames => "issuer not among the CA names",
        }
    }

    /// The stacks take it as a PKCS#12 file (the certificate defects come
    /// in both forms: PEM for the stacks that read PEM, PKCS#12 for those
    /// that read only that).
    fn is_pkcs12(self) -> bool {
        matches!(self, Variant::Pkcs12Modern | Variant::Pkcs12Legacy)
    }

    /// A defect of the certificate itself, not of its file: every stack is
    /// given it in the form it reads.
    fn is_certificate_defect(self) -> bool {
        matches!(
            self,
            Variant::Expired | Variant::NoClientAuthEku | Variant::IssuerNotInCaNames
        )
    }

    /// The `[[cert]]` knobs of its certificate.
    fn knobs(self) -> &'static str {
        match self {
            Variant::PemPkcs8 | Variant::LeafOnly | Variant::Reversed | Variant::KeyMismatch => "",
            Variant::Expired | Variant::NoClientAuthEku | Variant::IssuerNotInCaNames => {
                "pkcs12 = { password = \"mtls-harness\" }\n"
            }
            Variant::PemPkcs1 => "key = \"rsa-2048\"\nkey_format = \"pkcs1\"\n",
            Variant::PemSec1 => "key_format = \"sec1\"\n",
            Variant::PemEncryptedPkcs8 => "key_encryption = { password = \"mtls-harness\" }\n",
            Variant::Pkcs12Modern => "pkcs12 = { password = \"mtls-harness\" }\n",
            Variant::Pkcs12Legacy => "pkcs12 = { password = \"mtls-harness\", legacy = true }\n",
        }
    }

    fn defect(self) -> &'static str {
        match self {
            Variant::LeafOnly => "chain_in_file = false\n",
            Variant::Reversed => "chain_order = \"reversed\"\n",
            Variant::KeyMismatch => "defects = [\"key-mismatch\"]\n",
            Variant::Expired => "validity = \"expired\"\n",
            Variant::NoClientAuthEku => "defects = [\"eku-server-only\"]\n",
            _ => "",
        }
    }
}

/// What a stack did with a variant, by class (what [`DECLARED`] holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Loaded; sent the certificate and its chain; accepted.
    Accepted,
    /// Loaded; sent a certificate the gateway refused (an incomplete chain).
    SentRefused,
    /// Loaded, connected, sent no certificate.
    NoneSent,
    /// The program refused to load the file (its own error).
    NotLoaded,
    /// The stack has no way to take this format.
    NoLoader,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Accepted => "accepted",
            Class::SentRefused => "sent, refused",
            Class::NoneSent => "none sent",
            Class::NotLoaded => "does not load",
            Class::NoLoader => "no loader",
        }
    }
}

/// A measured cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub stack: Stack,
    pub variant: Variant,
    pub class: Class,
    /// The program's error, the gateway's alert, or why there is no loader.
    pub detail: String,
}

/// What each stack was measured to do with each variant (see the module
/// docs); the test holds the programs to it.
pub const DECLARED: &[(Stack, Variant, Class)] = &[
    (Stack::Curl, Variant::PemPkcs8, Class::Accepted),
    (Stack::Curl, Variant::PemPkcs1, Class::Accepted),
    (Stack::Curl, Variant::PemSec1, Class::Accepted),
    (Stack::Curl, Variant::PemEncryptedPkcs8, Class::Accepted),
    (Stack::Curl, Variant::Pkcs12Modern, Class::Accepted),
    (Stack::Curl, Variant::Pkcs12Legacy, Class::NotLoaded),
    (Stack::Curl, Variant::LeafOnly, Class::SentRefused),
    (Stack::Curl, Variant::Reversed, Class::NotLoaded),
    (Stack::Curl, Variant::KeyMismatch, Class::NotLoaded),
    (Stack::Openssl, Variant::PemPkcs8, Class::SentRefused),
    (Stack::Openssl, Variant::PemPkcs1, Class::SentRefused),
    (Stack::Openssl, Variant::PemSec1, Class::SentRefused),
    (
        Stack::Openssl,
        Variant::PemEncryptedPkcs8,
        Class::SentRefused,
    ),
    (Stack::Openssl, Variant::Pkcs12Modern, Class::NoLoader),
    (Stack::Openssl, Variant::Pkcs12Legacy, Class::NoLoader),
    (Stack::Openssl, Variant::LeafOnly, Class::SentRefused),
    (Stack::Openssl, Variant::Reversed, Class::NotLoaded),
    (Stack::Openssl, Variant::KeyMismatch, Class::NotLoaded),
    (Stack::Python, Variant::PemPkcs8, Class::Accepted),
    (Stack::Python, Variant::PemPkcs1, Class::Accepted),
    (Stack::Python, Variant::PemSec1, Class::Accepted),
    (Stack::Python, Variant::PemEncryptedPkcs8, Class::Accepted),
    (Stack::Python, Variant::Pkcs12Modern, Class::NoLoader),
    (Stack::Python, Variant::Pkcs12Legacy, Class::NoLoader),
    (Stack::Python, Variant::LeafOnly, Class::SentRefused),
    (Stack::Python, Variant::Reversed, Class::NotLoaded),
    (Stack::Python, Variant::KeyMismatch, Class::NotLoaded),
    (Stack::Node, Variant::PemPkcs8, Class::Accepted),
    (Stack::Node, Variant::PemPkcs1, Class::Accepted),
    (Stack::Node, Variant::PemSec1, Class::Accepted),
    (Stack::Node, Variant::PemEncryptedPkcs8, Class::Accepted),
    (Stack::Node, Variant::Pkcs12Modern, Class::Accepted),
    (Stack::Node, Variant::Pkcs12Legacy, Class::NotLoaded),
    (Stack::Node, Variant::LeafOnly, Class::SentRefused),
    (Stack::Node, Variant::Reversed, Class::NotLoaded),
    (Stack::Node, Variant::KeyMismatch, Class::NotLoaded),
    (Stack::Go, Variant::PemPkcs8, Class::Accepted),
    (Stack::Go, Variant::PemPkcs1, Class::Accepted),
    (Stack::Go, Variant::PemSec1, Class::Accepted),
    (Stack::Go, Variant::PemEncryptedPkcs8, Class::NotLoaded),
    (Stack::Go, Variant::Pkcs12Modern, Class::NoLoader),
    (Stack::Go, Variant::Pkcs12Legacy, Class::NoLoader),
    (Stack::Go, Variant::LeafOnly, Class::NoneSent),
    (Stack::Go, Variant::Reversed, Class::NotLoaded),
    (Stack::Go, Variant::KeyMismatch, Class::NotLoaded),
    (Stack::Java, Variant::PemPkcs8, Class::NoLoader),
    (Stack::Java, Variant::PemPkcs1, Class::NoLoader),
    (Stack::Java, Variant::PemSec1, Class::NoLoader),
    (Stack::Java, Variant::PemEncryptedPkcs8, Class::NoLoader),
    (Stack::Java, Variant::Pkcs12Modern, Class::Accepted),
    (Stack::Java, Variant::Pkcs12Legacy, Class::Accepted),
    (Stack::Java, Variant::LeafOnly, Class::NoLoader),
    (Stack::Java, Variant::Reversed, Class::NoLoader),
    (Stack::Java, Variant::KeyMismatch, Class::NoLoader),
    (Stack::Gnutls, Variant::PemPkcs8, Class::Accepted),
    (Stack::Gnutls, Variant::PemPkcs1, Class::Accepted),
    (Stack::Gnutls, Variant::PemSec1, Class::Accepted),
    // It asks for the key's password at a prompt, with no option for it.
    (Stack::Gnutls, Variant::PemEncryptedPkcs8, Class::NotLoaded),
    (Stack::Gnutls, Variant::Pkcs12Modern, Class::NoLoader),
    (Stack::Gnutls, Variant::Pkcs12Legacy, Class::NoLoader),
    (Stack::Gnutls, Variant::LeafOnly, Class::SentRefused),
    // GnuTLS does not check the key against the certificate: it sends
    // them, and the server refuses (certificate_unknown, decrypt_error).
    (Stack::Gnutls, Variant::Reversed, Class::SentRefused),
    (Stack::Gnutls, Variant::KeyMismatch, Class::SentRefused),
    (Stack::Chromium, Variant::PemPkcs8, Class::NoLoader),
    (Stack::Chromium, Variant::PemPkcs1, Class::NoLoader),
    (Stack::Chromium, Variant::PemSec1, Class::NoLoader),
    (Stack::Chromium, Variant::PemEncryptedPkcs8, Class::NoLoader),
    (Stack::Chromium, Variant::Pkcs12Modern, Class::Accepted),
    (Stack::Chromium, Variant::Pkcs12Legacy, Class::Accepted),
    (Stack::Chromium, Variant::LeafOnly, Class::NoLoader),
    (Stack::Chromium, Variant::Reversed, Class::NoLoader),
    (Stack::Chromium, Variant::KeyMismatch, Class::NoLoader),
    (Stack::Firefox, Variant::PemPkcs8, Class::NoLoader),
    (Stack::Firefox, Variant::PemPkcs1, Class::NoLoader),
    (Stack::Firefox, Variant::PemSec1, Class::NoLoader),
    (Stack::Firefox, Variant::PemEncryptedPkcs8, Class::NoLoader),
    (Stack::Firefox, Variant::Pkcs12Modern, Class::Accepted),
    (Stack::Firefox, Variant::Pkcs12Legacy, Class::Accepted),
    (Stack::Firefox, Variant::LeafOnly, Class::NoLoader),
    (Stack::Firefox, Variant::Reversed, Class::NoLoader),
    (Stack::Firefox, Variant::KeyMismatch, Class::NoLoader),
    // The certificate's own defects: OpenSSL, GnuTLS, Go and Java send an
    // expired certificate and one without clientAuth (the server refuses
    // them); the browsers (NSS) do not offer them. Go, Java and the
    // browsers choose by the CA names; the others send what they hold.
    (Stack::Curl, Variant::Expired, Class::SentRefused),
    (Stack::Curl, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Curl, Variant::IssuerNotInCaNames, Class::Accepted),
    (Stack::Openssl, Variant::Expired, Class::SentRefused),
    (Stack::Openssl, Variant::NoClientAuthEku, Class::SentRefused),
    // The leaf alone (`-cert`): refused whatever the CA names.
    (
        Stack::Openssl,
        Variant::IssuerNotInCaNames,
        Class::SentRefused,
    ),
    (Stack::Python, Variant::Expired, Class::SentRefused),
    (Stack::Python, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Python, Variant::IssuerNotInCaNames, Class::Accepted),
    (Stack::Node, Variant::Expired, Class::SentRefused),
    (Stack::Node, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Node, Variant::IssuerNotInCaNames, Class::Accepted),
    (Stack::Go, Variant::Expired, Class::SentRefused),
    (Stack::Go, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Go, Variant::IssuerNotInCaNames, Class::NoneSent),
    (Stack::Java, Variant::Expired, Class::SentRefused),
    (Stack::Java, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Java, Variant::IssuerNotInCaNames, Class::NoneSent),
    (Stack::Gnutls, Variant::Expired, Class::SentRefused),
    (Stack::Gnutls, Variant::NoClientAuthEku, Class::SentRefused),
    (Stack::Gnutls, Variant::IssuerNotInCaNames, Class::Accepted),
    (Stack::Chromium, Variant::Expired, Class::NoneSent),
    (Stack::Chromium, Variant::NoClientAuthEku, Class::NoneSent),
    (
        Stack::Chromium,
        Variant::IssuerNotInCaNames,
        Class::NoneSent,
    ),
    (Stack::Firefox, Variant::Expired, Class::NoneSent),
    (Stack::Firefox, Variant::NoClientAuthEku, Class::NoneSent),
    (Stack::Firefox, Variant::IssuerNotInCaNames, Class::NoneSent),
];

/// The names of the stacks declared to do `class` with `variant`.
pub fn stacks_with(variant: Variant, class: Class) -> Vec<&'static str> {
    Stack::ALL
        .into_iter()
        .filter(|s| declared(*s, variant) == Some(class))
        .map(Stack::name)
        .collect()
}

/// The declared class of `stack` with `variant`.
pub fn declared(stack: Stack, variant: Variant) -> Option<Class> {
    DECLARED
        .iter()
        .find(|(s, v, _)| *s == stack && *v == variant)
        .map(|(_, _, c)| *c)
}

/// Why a stack has no loader for a format, and the conversion to use.
pub fn no_loader_reason(stack: Stack, variant: Variant) -> Option<&'static str> {
    // A certificate's own defect comes in the form each stack reads.
    let takes_pkcs12_only = matches!(stack, Stack::Java | Stack::Chromium | Stack::Firefox);
    let as_pkcs12 = variant.is_pkcs12() || (variant.is_certificate_defect() && takes_pkcs12_only);
    match (stack, as_pkcs12) {
        (Stack::Openssl, true) => Some(
            "s_client takes a PEM or DER certificate and key, no PKCS#12: convert with `openssl pkcs12 -in F.p12 -nodes -out F.pem`",
        ),
        (Stack::Python, true) => Some(
            "Python's ssl loads PEM only (load_cert_chain): convert with `openssl pkcs12 -in F.p12 -nodes -out F.pem`",
        ),
        (Stack::Go, true) => Some(
            "Go's standard library has no PKCS#12 loader (tls.LoadX509KeyPair takes PEM): convert with `openssl pkcs12 -in F.p12 -nodes -out F.pem`",
        ),
        (Stack::Java, false) => Some(
            "JSSE takes a key store (PKCS12 or JKS), not PEM files: convert with `openssl pkcs12 -export -in CHAIN -inkey KEY -out F.p12`",
        ),
        (Stack::Gnutls, true) => Some(
            "gnutls-cli takes PEM or DER files (--x509certfile, --x509keyfile), no PKCS#12: convert with `openssl pkcs12 -in F.p12 -nodes -out F.pem`",
        ),
        (Stack::Chromium | Stack::Firefox, false) => Some(
            "browsers import a PKCS#12 file into their certificate store (NSS: `pk12util -i F.p12`), not PEM files: convert with `openssl pkcs12 -export -in CHAIN -inkey KEY -out F.p12`",
        ),
        _ => None,
    }
}

/// The PKI of the grid: `root` > `issuing` > one client per variant.
fn spec() -> String {
    let mut s = String::from(
        "[[cert]]\nname = \"root\"\nrole = \"root\"\n\
         [[cert]]\nname = \"issuing\"\nrole = \"intermediate\"\nissuer = \"root\"\n\
         [[cert]]\nname = \"gw\"\nrole = \"server\"\nissuer = \"root\"\n\
         [[cert]]\nname = \"other-root\"\nrole = \"root\"\n",
    );
    for v in Variant::ALL {
        s.push_str(&format!(
            "[[cert]]\nname = \"{}\"\nrole = \"client\"\nissuer = \"issuing\"\n{}{}",
            v.cert_name(),
            v.knobs(),
            v.defect()
        ));
    }
    s
}

/// Why the grid could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error("the grid's PKI: {0}")]
    Pki(#[from] crate::pki::PkiError),
    #[error("the grid's gateway: {0}")]
    Gateway(#[from] crate::case::CaseError),
    #[error("{0}")]
    Missing(#[from] crate::real::RealError),
    #[error("{0}")]
    Run(#[from] crate::real::bounded::BoundedError),
    #[error("{0}")]
    Client(String),
}

/// Java's loader: a PKCS#12 key store (`args[0]`, password `args[1]`) and
/// the server's CA (`args[2]`), then `GET args[3]`. Run by the JDK's
/// source launcher.
const JAVA_LOADER: &str = r#"
import java.io.*; import java.net.*; import java.security.*; import java.security.cert.*;
import javax.net.ssl.*;
public class Loader {
  public static void main(String[] a) throws Exception {
    SSLContext ctx;
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = new FileInputStream(a[0])) { ks.load(in, a[1].toCharArray()); }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
      kmf.init(ks, a[1].toCharArray());
      KeyStore ts = KeyStore.getInstance("PKCS12"); ts.load(null, null);
      try (InputStream in = new FileInputStream(a[2])) {
        ts.setCertificateEntry("root", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX"); tmf.init(ts);
      ctx = SSLContext.getInstance("TLSv1.2"); ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    } catch (Exception e) { System.err.println("LOADERROR " + e); System.exit(3); return; }
    HttpsURLConnection c = (HttpsURLConnection) new URL(a[3]).openConnection();
    c.setSSLSocketFactory(ctx.getSocketFactory()); c.setConnectTimeout(10000); c.setReadTimeout(10000);
    System.out.println("HTTP " + c.getResponseCode());
  }
}
"#;

/// The command that makes `stack` load `variant`'s files from `dir` and
/// request `https://localhost:port/`.
fn command(program: &Path, stack: Stack, variant: Variant, dir: &Path, port: u16) -> Command {
    let name = variant.cert_name();
    let file = |ext: &str| dir.join(format!("{name}.{ext}")).display().to_string();
    let (chain, key, p12) = (file("chain.pem"), file("key"), file("p12"));
    let root = dir.join("root.crt").display().to_string();
    let url = format!("https://localhost:{port}/");
    let mut cmd = Command::new(program);
    match stack {
        Stack::Curl => {
            cmd.args(["-sS", "--max-time", "10", "--tlsv1.2", "--tls-max", "1.2"])
                .args(["--cacert", &root, "-o", "/dev/null", "-w", "%{http_code}"]);
            if variant.is_pkcs12() {
                cmd.args(["--cert-type", "P12", "--cert", &format!("{p12}:{PASSWORD}")]);
            } else {
                cmd.args(["--cert", &chain, "--key", &key, "--pass", PASSWORD]);
            }
            cmd.arg(url);
        }
        Stack::Openssl => {
            cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
                .args(["-servername", "localhost", "-tls1_2", "-CAfile", &root])
                .args(["-verify_return_error", "-cert", &chain, "-key", &key])
                .args(["-pass", &format!("pass:{PASSWORD}")]);
        }
        Stack::Python => {
            let script = format!(
                "import ssl, sys, http.client\n\
                 ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n\
                 ctx.load_verify_locations({root:?})\n\
                 ctx.maximum_version = ssl.TLSVersion.TLSv1_2\n\
                 try:\n    ctx.load_cert_chain({chain:?}, {key:?}, password={PASSWORD:?})\n\
                 except Exception as e:\n    print('LOADERROR', e, file=sys.stderr); sys.exit(3)\n\
                 c = http.client.HTTPSConnection('localhost', {port}, context=ctx, timeout=10)\n\
                 c.request('GET', '/')\n\
                 print('HTTP', c.getresponse().status)\n"
            );
            cmd.args(["-c", &script]);
        }
        Stack::Node => {
            let creds = if variant.is_pkcs12() {
                format!("pfx: fs.readFileSync({p12:?}), passphrase: {PASSWORD:?}")
            } else {
                format!(
                    "cert: fs.readFileSync({chain:?}), key: fs.readFileSync({key:?}), passphrase: {PASSWORD:?}"
                )
            };
            let script = format!(
                "const fs = require('fs'), https = require('https');\n\
                 let opts;\n\
                 try {{ opts = {{ host: 'localhost', port: {port}, path: '/', ca: fs.readFileSync({root:?}), maxVersion: 'TLSv1.2', {creds} }};\n\
                   require('tls').createSecureContext(opts); }}\n\
                 catch (e) {{ console.error('LOADERROR', e.message); process.exit(3); }}\n\
                 https.get(opts, r => {{ console.log('HTTP', r.statusCode); r.resume(); }})\n\
                   .on('error', e => {{ console.error('ERROR', e.message); process.exit(1); }});\n"
            );
            cmd.args(["-e", &script]);
        }
        // The harness's Go client: URL, version, CA, timeout, then PEM
        // pairs (`tls.LoadX509KeyPair`).
        Stack::Go => {
            cmd.args([
                url.as_str(),
                "1.2",
                root.as_str(),
                "10",
                chain.as_str(),
                key.as_str(),
            ]);
        }
        Stack::Java => {
            cmd.args([
                "-XX:-UsePerfData",
                "-Xshare:auto",
                "-XX:TieredStopAtLevel=1",
            ])
            .arg(dir.join("Loader.java"))
            .args([p12.as_str(), PASSWORD, root.as_str(), url.as_str()]);
        }
        Stack::Gnutls => {
            cmd.args(["--x509cafile", &root, "--x509certfile", &chain])
                .args(["--x509keyfile", &key, "-p", &port.to_string()])
                .args(["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "localhost"]);
        }
        // Run through the real:chromium and real:firefox clients
        // ([`browser`]).
        Stack::Chromium | Stack::Firefox => {}
    }
    cmd
}

/// A browser with `variant`'s PKCS#12 file imported into its NSS
/// database (the real:chromium or real:firefox client's run); what it
/// said.
async fn browser(
    kind: crate::real::client::RealClientKind,
    variant: Variant,
    files: &Path,
    gateway: &crate::tls::server::RunningGateway,
) -> Option<String> {
    use crate::real::client::{run_real_client_until, ClientJob, WalletFiles};
    use std::sync::atomic::{AtomicBool, Ordering};
    let port = gateway.addr().port();
    let name = variant.cert_name();
    let run_dir = files.join(format!("{kind}-{name}").replace(':', "-"));
    if let Err(e) = std::fs::create_dir_all(&run_dir) {
        return Some(e.to_string());
    }
    let wallet = [WalletFiles::existing(
        name,
        &format!("CN={name}"),
        files.join(format!("{name}.crt")),
        files.join(format!("{name}.chain.pem")),
        files.join(format!("{name}.key")),
        files.join(format!("{name}.p12")),
    )];
    let job = ClientJob {
        url: format!("https://localhost:{port}/"),
        port,
        version: TlsVersion::Tls12,
        wallet: &wallet,
        server_ca: files.join("root.crt"),
        dir: &run_dir,
        timeout: Duration::from_secs(30),
        auto_select: true,
        headers: &[],
        connect_to: None,
        after_request: Default::default(),
    };
    // A browser keeps its error page open after the gateway's alert: it is
    // stopped soon after one, not at its time limit.
    let failed = std::sync::Arc::new(AtomicBool::new(false));
    let mut events = gateway.subscribe();
    let seen = failed.clone();
    let watch = tokio::spawn(async move {
        while let Ok(r) = events.recv().await {
            if r.alert.is_some() {
                seen.store(true, Ordering::SeqCst);
            }
        }
    });
    let ran = run_real_client_until(kind, &job, failed).await;
    watch.abort();
    match ran {
        Ok(run) => Some(format!(
            "{}{} (exit {})",
            run.hang.map(|h| format!("{h}; ")).unwrap_or_default(),
            run.stderr
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or(""),
            run.exit
        )),
        Err(e) => Some(e.to_string()),
    }
}

/// The last meaningful line of a program's stderr (its error), without
/// OpenSSL's thread-id prefix, source locations, the run's directory or
/// the scripts' markers.
fn error_line(stderr: &str, dir: &Path) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .rfind(|l| !l.starts_with("at ") && !l.starts_with("Node.js v"))
        .unwrap_or("");
    let line = line
        .trim_start_matches("LOADERROR ")
        .trim_start_matches("ERROR ");
    // `402CCBFBDA7F0000:error:05800074:...`: from `error:` on.
    let line = match line.split_once(":error:") {
        Some((hex, rest)) if hex.chars().all(|c| c.is_ascii_hexdigit()) => rest,
        _ => line,
    };
    // `...:../crypto/x509/x509_cmp.c:403:`: the source location goes.
    let line = line.split(":../").next().unwrap_or(line);
    line.replace(&format!("{}/", dir.display()), "")
        .chars()
        .take(140)
        .collect()
}

/// Measure every stack of `stacks` with every variant.
pub async fn measure(stacks: &[Stack], dir: &Path) -> Result<Vec<Cell>, GridError> {
    let spec = PkiSpec::from_toml(&spec(), "credential grid")?;
    let pki = Pki::generate(&spec)?;
    let files: PathBuf = dir.join("pki");
    pki.write_to(&files)?;
    let server: crate::scenario::schema::ServerSpec =
        toml::from_str("cert = \"gw\"\ntrust = [\"root\"]\n").expect("a fixed [server]");
    let config = crate::case::gateway_config(
        &pki,
        &server,
        crate::gateway::ProfileKind::Strict,
        vec![TlsVersion::Tls12],
        crate::tls::Timeouts::default(),
        None,
    )?;
    let gateway = crate::case::start_gateway(config).await?;
    // The gateway for `issuer-not-in-ca-names`: it trusts both roots and
    // names only the other.
    let named_other: crate::scenario::schema::ServerSpec = toml::from_str(
        "cert = \"gw\"\ntrust = [\"root\", \"other-root\"]\nca_names = { explicit = [\"other-root\"] }\n",
    )
    .expect("a fixed [server]");
    let config = crate::case::gateway_config(
        &pki,
        &named_other,
        crate::gateway::ProfileKind::Strict,
        vec![TlsVersion::Tls12],
        crate::tls::Timeouts::default(),
        None,
    )?;
    let other_gateway = crate::case::start_gateway(config).await?;
    let mut cells = Vec::new();
    std::fs::write(files.join("Loader.java"), JAVA_LOADER).map_err(|source| {
        crate::real::bounded::BoundedError::Spawn {
            command: "writing Loader.java".into(),
            source,
        }
    })?;
    for &stack in stacks {
        let (program, package) = stack.program();
        let program = match stack {
            // Built once per source and toolchain (the real:go client).
            Stack::Go => crate::real::client::RealClientKind::Go
                .executable()
                .map_err(|e| GridError::Client(e.to_string()))?,
            _ => crate::real::kind::find_installed(program, package)?,
        };
        for variant in Variant::ALL {
            if let Some(why) = no_loader_reason(stack, variant) {
                cells.push(Cell {
                    stack,
                    variant,
                    class: Class::NoLoader,
                    detail: why.to_string(),
                });
                continue;
            }
            let gateway = if variant == Variant::IssuerNotInCaNames {
                &other_gateway
            } else {
                &gateway
            };
            let port = gateway.addr().port();
            let before = gateway.records().len();
            let browser_kind = match stack {
                Stack::Chromium => Some(crate::real::client::RealClientKind::Chromium),
                Stack::Firefox => Some(crate::real::client::RealClientKind::Firefox),
                _ => None,
            };
            let out = if let Some(kind) = browser_kind {
                let error = browser(kind, variant, &files, gateway)
                    .await
                    .unwrap_or_default();
                std::process::Output {
                    status: std::process::ExitStatus::default(),
                    stdout: Vec::new(),
                    stderr: error.into_bytes(),
                }
            } else {
                let mut cmd = command(&program, stack, variant, &files, port);
                tokio::task::spawn_blocking(move || {
                    crate::real::bounded::output_within(&mut cmd, Duration::from_secs(30))
                })
                .await
                .map_err(|e| crate::real::bounded::BoundedError::Spawn {
                    command: stack.name().to_string(),
                    source: std::io::Error::other(e),
                })??
            };
            // The gateway's records of the program's connections, once
            // each is done (a browser may open more than one, some without
            // a ClientHello): the one that got furthest tells.
            let mut new: Vec<crate::tls::server::ServerRecord> = Vec::new();
            for _ in 0..50 {
                new = gateway.records().into_iter().skip(before).collect();
                if new.iter().all(|r| r.done) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let rank = |r: &crate::tls::server::ServerRecord| match (
                r.client_certificate_sent,
                &r.alert,
            ) {
                (Some(true), _) => 3,
                (_, Some(_)) => 2,
                (Some(false), _) => 1,
                _ => 0,
            };
            let seen = new.into_iter().max_by_key(|r| (rank(r), r.opened));
            // The program's error: stderr, or stdout for the Go client
            // (which prints `ERROR ...` there).
            let stderr = match String::from_utf8_lossy(&out.stderr) {
                e if e.trim().is_empty() => String::from_utf8_lossy(&out.stdout).into_owned(),
                e => e.into_owned(),
            };
            let (class, detail) = match seen {
                // No connection, or one closed before its ClientHello (curl
                // connects first and loads the certificate after).
                None => (Class::NotLoaded, error_line(&stderr, &files)),
                Some(r) if r.client_certificate_sent.is_none() && r.alert.is_none() => {
                    (Class::NotLoaded, error_line(&stderr, &files))
                }
                Some(r) => match (r.client_certificate_sent, &r.alert) {
                    (Some(true), None) => (Class::Accepted, "sent the chain, accepted".into()),
                    (Some(true), Some(a)) => (Class::SentRefused, a.clone()),
                    _ => (Class::NoneSent, "connected without a certificate".into()),
                },
            };
            cells.push(Cell {
                stack,
                variant,
                class,
                detail,
            });
        }
    }
    gateway.shutdown().await;
    other_gateway.shutdown().await;
    Ok(cells)
}

/// The grid as Markdown: one row per variant, one column per stack, each
/// cell the class and its detail.
pub fn render(cells: &[Cell]) -> String {
    let stacks: Vec<Stack> = Stack::ALL
        .into_iter()
        .filter(|s| cells.iter().any(|c| c.stack == *s))
        .collect();
    let mut s = String::from("| credential file |");
    for st in &stacks {
        s.push_str(&format!(" {} |", st.name()));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(stacks.len()));
    s.push('\n');
    for v in Variant::ALL {
        s.push_str(&format!("| {} |", v.describe()));
        for st in &stacks {
            let cell = cells.iter().find(|c| c.stack == *st && c.variant == v);
            match cell {
                Some(c) if c.class == Class::Accepted => s.push_str(" accepted |"),
                Some(c) if c.class == Class::NoLoader => s.push_str(" no loader |"),
                Some(c) => s.push_str(&format!(
                    " {}: {} |",
                    c.class.as_str(),
                    c.detail.replace('|', "\\|").replace('`', "'")
                )),
                None => s.push_str(" - |"),
            }
        }
        s.push('\n');
    }
    // Why a stack has no loader, once per stack and reason.
    let mut reasons: Vec<String> = Vec::new();
    for c in cells.iter().filter(|c| c.class == Class::NoLoader) {
        let line = format!("- {}: {}\n", c.stack.name(), c.detail);
        if !reasons.contains(&line) {
            reasons.push(line);
        }
    }
    if !reasons.is_empty() {
        s.push_str("\nNo loader:\n\n");
        s.extend(reasons);
    }
    s
}
