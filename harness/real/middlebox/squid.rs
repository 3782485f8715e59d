//! squid 5 (squid-openssl) without bumping, as an HTTP CONNECT tunnel.
//! `pinger_enable off`: otherwise its ICMP helper outlives it. No cache, no
//! access log, no pid file: nothing is written outside the prefix (run as
//! root, squid switches to the `proxy` user, which cannot write there).

use super::{MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::MiddleboxKind;

pub(crate) struct Squid;

impl MiddleboxProgram for Squid {
    const NAME: &'static str = "squid";
    const PROGRAM: &'static str = "squid";
    const PACKAGE: &'static str = "squid-openssl";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Tunnel];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let conf = format!(
            "# mtls-harness: real squid (CONNECT tunnel) for one case\n\
             http_port 127.0.0.1:{port}\n\
             pid_filename none\n\
             pinger_enable off\n\
             cache deny all\n\
             access_log none\n\
             cache_log /dev/null\n\
             cache_store_log none\n\
             coredump_dir {prefix}\n\
             http_access allow localhost\n\
             http_access deny all\n\
             shutdown_lifetime 0 seconds\n",
            port = job.port,
            prefix = job.prefix.display(),
        );
        out.files.push(("squid.conf".into(), conf));
        out.config_file = Some("squid.conf".into());
        // -N: the foreground, no daemon; -d 1: what it says goes to stderr.
        out.args = vec![
            "-N".into(),
            "-d".into(),
            "1".into(),
            "-f".into(),
            job.path("squid.conf"),
        ];
    }
}
