//! Java 17 (JSSE, `HttpsURLConnection`).
//!
//! - Wallet: one PKCS#12 file per certificate, loaded in wallet order into
//!   an in-memory PKCS#12 key store under the **PKIX** key manager
//!   (`KeyManagerFactory.getInstance("PKIX")`; the JDK's default
//!   `SunX509` picks either of two matching identities, no policy models it).
//!   The client is `MtlsClient.java` beside this file, compiled once per
//!   source and JDK into `~/.cache/mtls-harness/java-client-<hash>/`.
//! - Version: `-Djdk.tls.client.protocols=TLSv1.X`.
//! - Result: `HTTP <status>` and the page, or `ERROR` and the exception.

use super::cache::{built, Build};
use super::{read_script_output, ClientCommand, ClientJob, ClientReport, RealClient, RealClientError, WALLET_PASSWORD};
use super::{AfterRequest, Answer, OverH2};
use crate::knobs::SelectionPolicy;
use std::path::PathBuf;
use std::sync::Mutex;

pub(crate) struct Java;

const SOURCE: &str = include_str!("MtlsClient.java");

/// The compiled class directory.
fn classes() -> Result<PathBuf, RealClientError> {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let javac = crate::real::kind::find_installed("javac", Java::PACKAGE)
        .map_err(RealClientError::Missing)?;
    built(
        &BUILT,
        Build {
            what: "the real:java client",
            name: "java-client",
            toolchain: &javac,
            // -J-XX:-UsePerfData: no /tmp/hsperfdata_<user> from javac's JVM.
            version_args: &["-J-XX:-UsePerfData", "-version"],
            files: &[("MtlsClient.java", SOURCE)],
            build: &["-J-XX:-UsePerfData", "-d", "{out}", "MtlsClient.java"],
            env: &[],
            product: "classes",
        },
    )
}

impl RealClient for Java {
    const NAME: &'static str = "java";
    const FAMILY: &'static str = "Java";
    const PROGRAM: &'static str = "java";
    const PACKAGE: &'static str = "openjdk-17-jdk-headless";
    const POLICY: SelectionPolicy = SelectionPolicy::MatchIssuerOrAnyIfEmpty;
    const WALLET: &'static str = "PKCS#12 per certificate, one in-memory PKCS#12 key store in wallet order, PKIX key manager";
    const EVIDENCE: &'static str = "JSSE `X509KeyManagerImpl.chooseClientAlias` keeps only aliases whose chain has an issuer among the CA names (all when the list is empty), first in key-store order; measured with OpenJDK 17";
    /// JSSE answers a TLS 1.2 HelloRequest with a new handshake; TLS 1.3
    /// post-handshake authentication is not implemented (no
    /// `post_handshake_auth` extension is offered). HttpsURLConnection is
    /// HTTP/1.1 only.
    const AFTER_REQUEST: Result<AfterRequest, &'static str> = Ok(AfterRequest {
        renegotiation: Answer::Always,
        post_handshake_auth: Answer::Never,
        over_h2: OverH2::NotOffered,
    });

    fn command(job: &ClientJob<'_>) -> Result<ClientCommand, RealClientError> {
        let classes = classes()?;
        let mut args = vec![
            format!("-Djdk.tls.client.protocols=TLSv{}", job.version_number()),
            "-Xshare:auto".into(),
            "-XX:TieredStopAtLevel=1".into(),
            // No /tmp/hsperfdata_<user> file.
            "-XX:-UsePerfData".into(),
            "-cp".into(),
            classes.display().to_string(),
            "MtlsClient".into(),
            job.url.clone(),
            job.server_ca.display().to_string(),
            job.timeout.as_secs().max(1).to_string(),
            WALLET_PASSWORD.into(),
        ];
        args.extend(job.p12_wallet_args()?);
        Ok(ClientCommand::of(Self::executable()?, args))
    }

    fn read(_success: bool, stdout: &str, stderr: &str, _job: &ClientJob<'_>) -> ClientReport {
        read_script_output(stdout, stderr)
    }
}
