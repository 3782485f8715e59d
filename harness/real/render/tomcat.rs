//! Real Apache Tomcat 10.1 on the JDK (JSSE), judged as the `jsse`
//! profile. Debian's `tomcat10-common` gives the jars (no service); the
//! harness runs the JVM itself (`org.apache.catalina.startup.Bootstrap`) in
//! its own process group, with `CATALINA_BASE` the case's prefix.
//!
//! - One NIO connector on 127.0.0.1 with an `SSLHostConfig`:
//!   `certificateVerification="required|optional|optionalNoCA|none"` from
//!   the jsse mode, `protocols` the one TLS version, the server chain and
//!   key as PEM, `truststoreFile` a JKS keystore the harness writes (every
//!   trusted CA, and the filler CAs of an oversized list: JSSE sends the
//!   whole truststore as CA names), `certificateRevocationListFile` the
//!   CRLs. JSSE ignores `caCertificateFile` (that is for Tomcat's OpenSSL
//!   implementation): without a truststore it would trust and name the
//!   JDK's default CAs.
//! - The page is a servlet (`tomcat_whoami.java` beside this file),
//!   compiled once per source with the installed `javac` into the cache
//!   directory and mounted into the web application by a
//!   `DirResourceSet`.
//! - Tomcat accepts TCP about a second before the connector answers TLS:
//!   ready once a handshake gets an answer (and "Server startup" logged). A
//!   refused configuration (an empty truststore, a bad key) is logged as
//!   SEVERE while the JVM keeps running: a setup error at once.
//! - `Bootstrap configtest` checks the config.

use super::{Job, RealProgram, RenderedGateway, VERIFY_DEPTH};
use crate::gateway::{self, jsse::JsseMode};
use crate::real::RealError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub(crate) struct Tomcat;

/// Where Debian's tomcat10-common puts Tomcat.
pub const CATALINA_HOME: &str = "/usr/share/tomcat10";
/// The servlet's source.
pub const SERVLET: &str = include_str!("tomcat_whoami.java");
const TRUSTSTORE: &str = "truststore.jks";
/// Not a secret: it only guards the keystore's integrity check.
const TRUSTSTORE_PASSWORD: &str = "changeit";

/// `certificateVerification` when a certificate is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    Required,
    Optional,
    OptionalNoCa,
    /// `none` on the connector; a `CLIENT-CERT` constraint on every path
    /// asks after the request.
    ClientCertPath,
}

impl Verification {
    fn attribute(self) -> &'static str {
        match self {
            Verification::Required => "required",
            Verification::Optional => "optional",
            Verification::OptionalNoCa => "optionalNoCA",
            Verification::ClientCertPath => "none",
        }
    }
}

/// The compiled servlet's directory (built by [`Tomcat::executable`]).
fn classes_dir() -> PathBuf {
    let key = super::fnv(&[SERVLET.as_bytes()]);
    super::cache_root()
        .join(format!("tomcat-servlet-{key:016x}"))
        .join("classes")
}

/// The JVM's arguments up to the Bootstrap command.
fn jvm_args(prefix: &Path) -> Vec<String> {
    let base = prefix.display().to_string();
    vec![
        // Start fast: one JIT tier, a small heap, the serial collector.
        "-XX:TieredStopAtLevel=1".into(),
        "-XX:+UseSerialGC".into(),
        // No /tmp/hsperfdata file (left behind if the JVM is killed).
        "-XX:-UsePerfData".into(),
        "-Xmx192m".into(),
        "-Djava.security.egd=file:/dev/./urandom".into(),
        format!("-Dcatalina.home={CATALINA_HOME}"),
        format!("-Dcatalina.base={base}"),
        format!("-Djava.io.tmpdir={base}/temp"),
        "-cp".into(),
        format!("{CATALINA_HOME}/bin/bootstrap.jar:{CATALINA_HOME}/bin/tomcat-juli.jar"),
        "org.apache.catalina.startup.Bootstrap".into(),
    ]
}

/// XML attribute text.
fn attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl RealProgram for Tomcat {
    const NAME: &'static str = "tomcat";
    const PROGRAM: &'static str = "java";
    const PACKAGE: &'static str = "tomcat10-common";
    type Judge = gateway::jsse::Jsse;

    type Verify = Verification;

    fn verify(mode: JsseMode) -> Option<Verification> {
        Some(match mode {
            JsseMode::Required => Verification::Required,
            JsseMode::Optional => Verification::Optional,
            JsseMode::OptionalNoCa => Verification::OptionalNoCa,
            JsseMode::ClientCertPath => Verification::ClientCertPath,
        })
    }

    fn render(job: &Job<'_, Self>, out: &mut RenderedGateway) -> Result<(), RealError> {
        let p = |rel: &str| attr(&job.path(rel));
        let m = job.material;
        let client_cert_path = job.verify == Some(Verification::ClientCertPath);
        let mut ssl = format!(
            "      <SSLHostConfig protocols=\"{}\" certificateVerification=\"{}\"",
            job.protocol(),
            job.verify.map_or("none", Verification::attribute)
        );
        if job.verify.is_some() {
            let ders = pem_blocks(&m.whole_pool_pem());
            out.binary_files
                .push((TRUSTSTORE.into(), jks(&ders, TRUSTSTORE_PASSWORD)));
            let _ = write!(
                ssl,
                "\n          certificateVerificationDepth=\"{VERIFY_DEPTH}\" truststoreFile=\"{}\" truststoreType=\"JKS\" truststorePassword=\"{TRUSTSTORE_PASSWORD}\"",
                p(TRUSTSTORE)
            );
            if let Some(crl) = job.crl_file() {
                let _ = write!(ssl, "\n          certificateRevocationListFile=\"{}\"", attr(&crl));
            }
        }
        ssl.push_str(">\n");
        let _ = writeln!(
            ssl,
            "        <Certificate certificateFile=\"{}\" certificateKeyFile=\"{}\"/>",
            p(super::material::SERVER_CHAIN),
            p(super::material::SERVER_KEY)
        );
        ssl.push_str("      </SSLHostConfig>\n");
        let server_xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- mtls-harness: real Tomcat for one case -->
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="127.0.0.1" port="{port}" protocol="org.apache.coyote.http11.Http11NioProtocol"
               SSLEnabled="true" scheme="https" secure="true" maxThreads="4" maxKeepAliveRequests="1">
{ssl}    </Connector>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="{apps}" autoDeploy="false" deployOnStartup="false" unpackWARs="false">
        <Context path="" docBase="{webapp}">{realm}
          <JarScanner scanClassPath="false" scanManifest="false"/>
          <Resources>
            <PreResources className="org.apache.catalina.webresources.DirResourceSet"
                          base="{classes}" webAppMount="/WEB-INF/classes"/>
          </Resources>
        </Context>
      </Host>
    </Engine>
  </Service>
</Server>
"#,
            port = job.port,
            apps = p("webapps"),
            webapp = p("webapp"),
            classes = attr(&classes_dir().display().to_string()),
            realm = if client_cert_path {
                format!(
                    "\n          <Realm className=\"org.apache.catalina.realm.MemoryRealm\" pathname=\"{}\"/>",
                    p("conf/tomcat-users.xml")
                )
            } else {
                String::new()
            },
        );
        // CLIENT-CERT on every path: the certificate's subject (as
        // X509SubjectDnRetriever prints it, either order of its parts) must
        // be a user of the realm; every client certificate of the PKI is.
        let constraint = if client_cert_path {
            let mut users = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tomcat-users>\n");
            for subject in &m.client_subjects {
                let parts: Vec<&str> = subject.split(',').map(str::trim).collect();
                let mut reversed = parts.clone();
                reversed.reverse();
                for name in [parts.join(", "), reversed.join(", ")] {
                    let _ = writeln!(
                        users,
                        "  <user username=\"{}\" password=\"unused\" roles=\"client\"/>",
                        attr(&name)
                    );
                }
            }
            users.push_str("</tomcat-users>\n");
            out.files.push(("conf/tomcat-users.xml".into(), users, false));
            "  <security-constraint>\n    <web-resource-collection><web-resource-name>all</web-resource-name><url-pattern>/*</url-pattern></web-resource-collection>\n    <auth-constraint><role-name>client</role-name></auth-constraint>\n  </security-constraint>\n  <login-config><auth-method>CLIENT-CERT</auth-method></login-config>\n  <security-role><role-name>client</role-name></security-role>\n"
        } else {
            ""
        };
        let web_xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0" metadata-complete="true">
  <servlet><servlet-name>whoami</servlet-name><servlet-class>Whoami</servlet-class></servlet>
  <servlet-mapping><servlet-name>whoami</servlet-name><url-pattern>/</url-pattern></servlet-mapping>
{constraint}</web-app>
"#
        );
        out.files
            .push(("conf/server.xml".into(), server_xml, false));
        out.files
            .push(("webapp/WEB-INF/web.xml".into(), web_xml, false));
        out.dirs.extend(["temp".into(), "work".into(), "webapps".into()]);
        out.config_file = Some("conf/server.xml".into());
        out.args = jvm_args(job.prefix);
        out.args.push("start".into());
        out.logs = vec!["stderr.log".into()];
        out.ready_marker = Some(("stderr.log".into(), "Server startup in".into()));
        out.ready_by_handshake = true;
        out.failure_marker = Some(("stderr.log".into(), "SEVERE".into()));
        Ok(())
    }

    fn check_args(prefix: &Path) -> Option<Vec<String>> {
        let mut args = jvm_args(prefix);
        args.push("configtest".into());
        Some(args)
    }

    fn executable() -> Result<PathBuf, RealError> {
        let bootstrap = Path::new(CATALINA_HOME).join("bin/bootstrap.jar");
        if !bootstrap.is_file() {
            return Err(RealError::MissingProgram {
                program: bootstrap.display().to_string(),
                install: format!("apt-get install -y {} openjdk-17-jdk-headless", Self::PACKAGE),
            });
        }
        let java = super::super::kind::find_installed("java", "openjdk-17-jre-headless")?;
        static BUILT: Mutex<bool> = Mutex::new(false);
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        if !*built || !classes_dir().join("Whoami.class").is_file() {
            build_servlet()?;
            *built = true;
        }
        Ok(java)
    }
}

/// Compile the servlet into [`classes_dir`] unless it is there.
fn build_servlet() -> Result<(), RealError> {
    let classes = classes_dir();
    if classes.join("Whoami.class").is_file() {
        return Ok(());
    }
    let javac = super::super::kind::find_installed("javac", "openjdk-17-jdk-headless")?;
    let io = super::go::io_error;
    let root = classes.parent().unwrap_or(&classes).to_path_buf();
    let src = root.join(format!("src-{}", std::process::id()));
    std::fs::create_dir_all(&src).map_err(io(&src))?;
    let file = src.join("Whoami.java");
    std::fs::write(&file, SERVLET).map_err(io(&file))?;
    let staged = root.join(format!("classes-{}", std::process::id()));
    let output = crate::real::bounded::output_within(
        Command::new(&javac)
            .args(["-J-XX:-UsePerfData", "-nowarn", "-proc:none", "-d"])
            .arg(&staged)
            .arg("-cp")
            .arg(format!("{CATALINA_HOME}/lib/servlet-api.jar"))
            .arg(&file),
        crate::real::bounded::BUILD_LIMIT,
    );
    let _ = std::fs::remove_dir_all(&src);
    let output = output.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staged);
    })?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(RealError::Build {
            what: "the real:tomcat servlet",
            status: output.status.to_string(),
            log: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    // Atomic: another process sees no classes or all of them.
    match std::fs::rename(&staged, &classes) {
        Ok(()) => Ok(()),
        Err(_) if classes.join("Whoami.class").is_file() => {
            let _ = std::fs::remove_dir_all(&staged);
            Ok(())
        }
        Err(source) => Err(RealError::Io {
            path: classes,
            source,
        }),
    }
}

/// The DER of every certificate in `pem`.
fn pem_blocks(pem: &str) -> Vec<Vec<u8>> {
    pem::parse_many(pem)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect()
}

/// A Java KeyStore (JKS, version 2) holding `certs` as trusted-certificate
/// entries, with its SHA-1 integrity digest over the password (UTF-16BE),
/// "Mighty Aphrodite" and the contents (the format of
/// sun.security.provider.JavaKeyStore).
pub fn jks(certs: &[Vec<u8>], password: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xFEED_FEEDu32.to_be_bytes());
    out.extend(2u32.to_be_bytes());
    out.extend((certs.len() as u32).to_be_bytes());
    let utf = |out: &mut Vec<u8>, s: &str| {
        out.extend((s.len() as u16).to_be_bytes());
        out.extend(s.as_bytes());
    };
    for (i, der) in certs.iter().enumerate() {
        out.extend(2u32.to_be_bytes()); // a trusted certificate entry
        utf(&mut out, &format!("ca-{i:05}"));
        out.extend(0u64.to_be_bytes()); // creation date
        utf(&mut out, "X.509");
        out.extend((der.len() as u32).to_be_bytes());
        out.extend(der);
    }
    let mut digest = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for unit in password.encode_utf16() {
        digest.update(&unit.to_be_bytes());
    }
    digest.update(b"Mighty Aphrodite");
    digest.update(&out);
    out.extend(digest.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::jks;
    use crate::observation::TlsVersion;
    use crate::real::render::test_support::{file, setup};
    use crate::real::{render, RealKind};
    use std::path::Path;

    #[test]
    fn modes_truststore_and_crls_go_to_the_connector() {
        for (mode, attribute) in [
            ("required", "required"),
            ("optional", "optional"),
            ("optional-no-ca", "optionalNoCA"),
        ] {
            let (pki, server) = setup(&format!("mode = {{ jsse = \"{mode}\" }}\n"));
            let t = render(
                RealKind::Tomcat,
                &pki,
                &server,
                TlsVersion::Tls13,
                1,
                Path::new("/p"),
            )
            .unwrap();
            let xml = file(&t, "conf/server.xml");
            assert!(xml.contains(&format!("certificateVerification=\"{attribute}\"")), "{xml}");
            assert!(xml.contains("protocols=\"TLSv1.3\"") && xml.contains("port=\"1\""));
            assert!(xml.contains("truststoreFile=\"/p/truststore.jks\""), "{xml}");
            assert!(xml.contains("certificateRevocationListFile=\"/p/crl.pem\""), "{xml}");
            // Both roots, though only root-a is named ("flagged").
            let store = &t.binary_files.iter().find(|f| f.0 == "truststore.jks").unwrap().1;
            assert_eq!(u32::from_be_bytes(store[8..12].try_into().unwrap()), 2);
            assert!(t.ready_by_handshake);
        }
    }

    #[test]
    fn the_keystore_digest_covers_password_and_contents() {
        let a = jks(&[vec![1, 2, 3]], "changeit");
        assert_eq!(&a[..8], &[0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]);
        assert_eq!(a.len(), 12 + 4 + 2 + 8 + 8 + 2 + 5 + 4 + 3 + 20);
        assert_ne!(a, jks(&[vec![1, 2, 3]], "other"));
    }
}
