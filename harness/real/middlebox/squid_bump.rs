//! squid 5 (squid-openssl) with `ssl_bump` as an interceptor: an explicit
//! proxy the client sends CONNECT to; squid peeks at the client's SNI, then
//! bumps: it mints a certificate for the gateway (signed by the scenario's
//! root, which the client trusts: the proxy's CA is installed on the client,
//! as where such proxies are deployed), sends the client no
//! CertificateRequest, and re-originates TLS to the gateway, presenting
//! `[middlebox] upstream_cert` there when the scenario gives one
//! (`tls_outgoing_options cert=`). `pinger_enable off`, or its ICMP helper
//! outlives it. The certificate generator's database is made first; run as
//! root, squid's workers are the `proxy` user, so the prefix is made
//! traversable and the database and signing CA are handed to that user
//! (still 0600).

use super::{files, MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::MiddleboxKind;
use crate::observation::TlsVersion;
use std::fmt::Write;

pub(crate) struct SquidBump;

/// Debian's certificate generator helper.
const CERTGEN: &str = "/usr/lib/squid/security_file_certgen";

impl MiddleboxProgram for SquidBump {
    const NAME: &'static str = "squid-bump";
    const PROGRAM: &'static str = "squid";
    const PACKAGE: &'static str = "squid-openssl";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Intercept];
    const EXPLICIT_PROXY: bool = true;

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let p = |rel: &str| job.path(rel);
        let v = match job.version {
            TlsVersion::Tls12 => "1.2",
            TlsVersion::Tls13 => "1.3",
        };
        let mut c = String::new();
        let _ = writeln!(c, "# mtls-harness: real squid (ssl_bump interceptor) for one case");
        let _ = writeln!(
            c,
            "http_port 127.0.0.1:{} ssl-bump tls-cert={} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB",
            job.port,
            p(files::SIGNING_CA)
        );
        let _ = writeln!(c, "sslcrtd_program {CERTGEN} -s {} -M 4MB", p("ssl_db"));
        let _ = writeln!(c, "sslcrtd_children 1 startup=1 idle=1");
        let _ = writeln!(c, "acl step1 at_step SslBump1\nssl_bump peek step1\nssl_bump bump all");
        let mut outgoing = format!(
            "tls_outgoing_options cafile={} min-version={v}",
            p(files::UPSTREAM_CA)
        );
        if job.upstream_identity {
            let _ = write!(outgoing, " cert={}", p(files::PROXY_COMBINED));
        }
        let _ = writeln!(c, "{outgoing}");
        let _ = writeln!(
            c,
            "http_access allow localhost\nhttp_access deny all\npid_filename none\npinger_enable off\ncache deny all\naccess_log none\ncache_log /dev/null\ncache_store_log none\ncoredump_dir {}\nshutdown_lifetime 0 seconds",
            job.prefix.display()
        );
        out.files.push(("squid.conf".into(), c));
        out.config_file = Some("squid.conf".into());
        out.setup = vec![vec![
            CERTGEN.into(),
            "-c".into(),
            "-s".into(),
            p("ssl_db"),
            "-M".into(),
            "4MB".into(),
        ]];
        out.shared = vec!["ssl_db".into(), files::SIGNING_CA.into(), files::PROXY_COMBINED.into()];
        out.args = vec![
            "-N".into(),
            "-d".into(),
            "1".into(),
            "-f".into(),
            p("squid.conf"),
        ];
    }
}
