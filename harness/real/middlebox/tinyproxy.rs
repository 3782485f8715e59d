//! tinyproxy 1.11 as an HTTP CONNECT tunnel. Debian's default config allows
//! CONNECT only to ports 443 and 563; with no `ConnectPort` line every port
//! is allowed (the gateway listens on a random one).

use super::{MiddleboxJob, MiddleboxProgram, RenderedMiddlebox};
use crate::knobs::MiddleboxKind;

pub(crate) struct Tinyproxy;

impl MiddleboxProgram for Tinyproxy {
    const NAME: &'static str = "tinyproxy";
    const PROGRAM: &'static str = "tinyproxy";
    const PACKAGE: &'static str = "tinyproxy";
    const KINDS: &'static [MiddleboxKind] = &[MiddleboxKind::Tunnel];

    fn render(job: &MiddleboxJob<'_>, out: &mut RenderedMiddlebox) {
        let conf = format!(
            "# mtls-harness: real tinyproxy for one case\n\
             Port {port}\n\
             Listen 127.0.0.1\n\
             Timeout 15\n\
             LogFile \"{log}\"\n\
             LogLevel Info\n\
             MaxClients 16\n\
             Allow 127.0.0.1\n",
            port = job.port,
            log = job.path("tinyproxy.log"),
        );
        out.files.push(("tinyproxy.conf".into(), conf));
        out.config_file = Some("tinyproxy.conf".into());
        // -d: the foreground.
        out.args = vec!["-d".into(), "-c".into(), job.path("tinyproxy.conf")];
        out.logs = vec!["tinyproxy.log".into()];
    }
}
