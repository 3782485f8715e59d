//! `serve`: one built-in gateway for your own client to connect to, logging
//! a line per connection until SIGINT or SIGTERM.

use super::args::{self, LogFormat};
use super::output::runtime;
use anyhow::{Context, Result};
use clap::Args;
use mtls_harness::exit_codes;
use mtls_harness::gateway::ProfileKind;
use mtls_harness::interrupt::{CancelToken, GracefulScope};
use mtls_harness::observation::TlsVersion;
use mtls_harness::pki::Pki;
use mtls_harness::scenario::schema::{
    CaNamesOverflow, CaNamesPolicy, ClientAuth, Resumption, ServerSpec,
};
use mtls_harness::tls::Timeouts;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A directory written by `pki generate`.
    #[arg(long)]
    pub pki: PathBuf,
    /// The server certificate's name in the PKI.
    #[arg(long)]
    pub cert: String,
    /// Trusted CA names, comma-separated (`<prefix>-*` for a bulk table).
    #[arg(long, value_delimiter = ',')]
    pub trust: Vec<String>,
    /// The built-in gateway profile to behave as.
    #[arg(long, default_value = ProfileKind::Strict.name(), value_parser = args::profile())]
    pub profile: ProfileKind,
    #[arg(long, help = args::mode_help())]
    pub mode: Option<String>,
    /// Whether the listener asks for a client certificate.
    #[arg(long, default_value = "required", value_parser = args::client_auth())]
    pub client_auth: ClientAuth,
    /// The CA names the certificate request lists: all-trusted | flagged |
    /// empty | truncate:BYTES | filler:N | fill-to:BYTES | explicit:a,b
    #[arg(long, default_value = "all-trusted", value_parser = args::ca_names)]
    pub ca_names: CaNamesPolicy,
    /// A CA-names list over 65,535 bytes: `gateway` (what the profile's
    /// gateway does) or `send-wrapped` (sent anyway, as a release-built
    /// rustls server sends it)
    #[arg(long, default_value = "gateway", value_parser = ["gateway", "send-wrapped"])]
    pub ca_names_overflow: String,
    /// TLS version (repeatable; default both).
    #[arg(long, value_parser = args::tls_version())]
    pub tls: Vec<TlsVersion>,
    /// Load this issuer's CRL (repeatable).
    #[arg(long)]
    pub crl: Vec<String>,
    /// Address to listen on (port 0: any free port; the first line says which).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// How clients may resume a session (default: TLS 1.2 session IDs and
    /// TLS 1.3 stateful tickets). A resumed connection's line says
    /// `resumed=true`: no certificate was asked for or sent on it.
    #[arg(long, value_parser = args::resumption())]
    pub resumption: Option<Resumption>,
    /// Accept a client certificate forwarded in this header format (xfcc,
    /// rfc9440, nginx-escaped-pem, apache-pem, haproxy-base64-der), from a
    /// connection authenticated as a `--trusted-proxy` only.
    #[arg(long, value_parser = args::forward_header(), requires = "trusted_proxy")]
    pub trust_forwarded_header: Option<mtls_harness::knobs::ForwardHeader>,
    /// The certificate (name in the PKI) a proxy authenticates with for its
    /// forwarded header to be trusted (repeatable).
    #[arg(long, requires = "trust_forwarded_header")]
    pub trusted_proxy: Vec<String>,
    /// One line per connection: text, or a JSON object.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

pub fn serve(args: ServeArgs) -> Result<i32> {
    // SIGINT, SIGTERM and SIGHUP stop the gateway; the exit code says which.
    let _graceful = GracefulScope::enter();
    let cancel = CancelToken::global();
    let pki = Pki::load_dir(&args.pki).context("--pki")?;
    let profile = args.profile;
    let versions = if args.tls.is_empty() {
        TlsVersion::ALL.to_vec()
    } else {
        args.tls.clone()
    };
    let mut mode = std::collections::BTreeMap::new();
    if let Some(m) = &args.mode {
        mode.insert(profile.name().to_string(), m.clone());
    }
    let mut server = ServerSpec::default();
    server.cert = args.cert.clone();
    server.client_auth = args.client_auth;
    server.trust = args.trust.clone();
    server.ca_names = args.ca_names.clone();
    server.ca_names_overflow = match args.ca_names_overflow.as_str() {
        "send-wrapped" => CaNamesOverflow::SendWrapped,
        _ => CaNamesOverflow::Gateway,
    };
    server.tls = versions.clone();
    server.crls = args.crl.clone();
    server.trust_forwarded_header = args.trust_forwarded_header;
    server.trusted_proxies = args.trusted_proxy.clone();
    server.mode = mode;
    server.resumption = args.resumption;
    let mut config = mtls_harness::case::gateway_config(
        &pki,
        &server,
        profile,
        versions,
        Timeouts::default(),
        None,
    )?;
    config.listen = args.listen;
    let rt = runtime()?;
    rt.block_on(async move {
        let gateway = mtls_harness::tls::server::start(config)
            .await
            .context("starting the gateway")?;
        println!("listening on {}", gateway.url());
        std::io::stdout().flush()?;
        // Each record is printed from its event; the gateway forgets it.
        gateway.keep_finished(0);
        let mut events = gateway.subscribe();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                ev = events.recv() => match ev {
                    Ok(rec) => {
                        let line = match args.log_format {
                            LogFormat::Json => serde_json::to_string(&rec)?,
                            LogFormat::Text => format!(
                                "{} tls={}{} cert_sent={} alert={} http={} | {}",
                                rec.peer,
                                rec.tls_version.map_or("-".into(), |v| v.to_string()),
                                if rec.resumed { " resumed=true" } else { "" },
                                rec.client_certificate_sent.map_or("-".into(), |b| b.to_string()),
                                rec.alert.as_deref().unwrap_or("-"),
                                rec.http_status.map_or("-".into(), |s| s.to_string()),
                                rec.log
                            ),
                        };
                        println!("{line}");
                        std::io::stdout().flush()?;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("({n} connection records dropped)"),
                    Err(_) => break,
                },
            }
        }
        gateway.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(exit_codes::SUCCESS)
}
