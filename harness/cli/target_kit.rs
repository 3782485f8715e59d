//! `target-kit`: everything a user needs to point `run --target` at their
//! own gateway: a PKI (its root's key included, so the run can mint what each
//! scenario presents), the root's CRL listing the serial the run's revoked
//! certificates carry, and the lines to paste into that gateway's config.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mtls_harness::api::TargetKit;
use std::path::{Path, PathBuf};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KitGateway {
    Nginx,
    Haproxy,
    Apache,
    Caddy,
    Tomcat,
    Envoy,
}

#[derive(Args, Debug)]
pub struct TargetKitArgs {
    /// Directory to write (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// The gateway whose configuration lines to write (default nginx).
    #[arg(long = "for", value_enum, default_value = "nginx")]
    pub gateway: KitGateway,
    /// The port the printed `run --target` command and listen lines use.
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
}

pub fn target_kit(args: TargetKitArgs) -> Result<i32> {
    let crl = write_kit(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    let dir = args
        .out
        .canonicalize()
        .with_context(|| format!("{}: cannot resolve", args.out.display()))?;
    let lines = config_lines(args.gateway, &dir, &crl, args.port);
    let name = format!("{}.conf", gateway_name(args.gateway));
    let lines_path = dir.join(&name);
    std::fs::write(&lines_path, &lines)
        .with_context(|| format!("{}: cannot write", lines_path.display()))?;
    println!("wrote the PKI, its CRL and {name} to {}", dir.display());
    println!();
    println!(
        "1. Paste into your {} configuration:",
        gateway_name(args.gateway)
    );
    println!();
    for l in lines.lines() {
        println!("    {l}");
    }
    println!();
    println!("2. Start (or reload) the gateway, then run the catalog against it:");
    println!();
    println!(
        "    mtls-harness run --target https://127.0.0.1:{} --pki {} --profile {}",
        args.port,
        dir.display(),
        profile_of(args.gateway)
    );
    Ok(0)
}

/// Write the kit's PKI into `out` (which must not exist or be empty), the
/// root's CRL and `gw.pem` (certificate chain and key in one file, for
/// HAProxy and Envoy); the CRL's path.
pub fn write_kit(out: &Path) -> Result<PathBuf> {
    let files = TargetKit::generate()?.write_to(out)?;
    Ok(files.crl("root"))
}

fn gateway_name(g: KitGateway) -> &'static str {
    match g {
        KitGateway::Nginx => "nginx",
        KitGateway::Haproxy => "haproxy",
        KitGateway::Apache => "apache",
        KitGateway::Caddy => "caddy",
        KitGateway::Tomcat => "tomcat",
        KitGateway::Envoy => "envoy",
    }
}

/// The profile whose expectations judge that gateway.
fn profile_of(g: KitGateway) -> &'static str {
    match g {
        KitGateway::Nginx => "nginx",
        KitGateway::Haproxy => "haproxy",
        KitGateway::Apache => "apache",
        KitGateway::Caddy => "go",
        KitGateway::Tomcat => "jsse",
        KitGateway::Envoy => "envoy",
    }
}

/// The lines that make the gateway present `gw`, require a client
/// certificate, trust (and name) `root` and load its CRL.
pub fn config_lines(g: KitGateway, dir: &Path, crl: &Path, port: u16) -> String {
    let p = |f: &str| dir.join(f).display().to_string();
    let crl = crl.display();
    match g {
        KitGateway::Nginx => format!(
            "# in a server {{ }} block\n\
             # PKI files: point these at the kit (they change no decision)\n\
             ssl_certificate {gw};\n\
             ssl_certificate_key {key};\n\
             ssl_client_certificate {root};\n\
             ssl_crl {crl};\n\
             # Behaviour: what the nginx profile's default mode expects; to judge\n\
             # your own configuration, keep yours (and say its mode: --mode)\n\
             listen 127.0.0.1:{port} ssl;\n\
             ssl_protocols TLSv1.2 TLSv1.3;\n\
             ssl_verify_client on;\n",
            gw = p("gw.chain.pem"),
            key = p("gw.key"),
            root = p("root.crt"),
        ),
        KitGateway::Haproxy => format!(
            "# in a frontend section (mode http)\n\
             # PKI files: crt, ca-file, crl-file (point these at the kit)\n\
             # Behaviour: verify required, ssl-min-ver (keep yours to judge your configuration)\n\
             bind 127.0.0.1:{port} ssl crt {bundle} ca-file {root} crl-file {crl} verify required ssl-min-ver TLSv1.2\n",
            bundle = p("gw.pem"),
            root = p("root.crt"),
        ),
        KitGateway::Apache => format!(
            "# in a <VirtualHost 127.0.0.1:{port}> with `Listen 127.0.0.1:{port}` and mod_ssl loaded\n\
             # PKI files: point these at the kit (they change no decision)\n\
             SSLCertificateFile {gw}\n\
             SSLCertificateKeyFile {key}\n\
             SSLCACertificateFile {root}\n\
             SSLCARevocationFile {crl}\n\
             # Behaviour: what the apache profile's default mode expects; to judge\n\
             # your own configuration, keep yours (and say its mode: --mode)\n\
             SSLEngine on\n\
             SSLProtocol -all +TLSv1.2 +TLSv1.3\n\
             SSLVerifyClient require\n\
             SSLVerifyDepth 3\n\
             SSLCARevocationCheck leaf\n",
            gw = p("gw.chain.pem"),
            key = p("gw.key"),
            root = p("root.crt"),
        ),
        KitGateway::Caddy => format!(
            "# Caddyfile site block (not exercised by the harness's tests; Caddy loads no CRL)\n\
             https://127.0.0.1:{port} {{\n\
             \ttls {gw} {key} {{\n\
             \t\tprotocols tls1.2 tls1.3\n\
             \t\tclient_auth {{\n\
             \t\t\tmode require_and_verify\n\
             \t\t\ttrusted_ca_cert_file {root}\n\
             \t\t}}\n\
             \t}}\n\
             \trespond \"authenticated\" 200\n\
             }}\n",
            gw = p("gw.chain.pem"),
            key = p("gw.key"),
            root = p("root.crt"),
        ),
        KitGateway::Tomcat => format!(
            "<!-- server.xml (not exercised by the harness's tests) -->\n\
             <Connector port=\"{port}\" address=\"127.0.0.1\" protocol=\"org.apache.coyote.http11.Http11NioProtocol\" SSLEnabled=\"true\">\n\
             \x20 <SSLHostConfig protocols=\"TLSv1.2,TLSv1.3\" certificateVerification=\"required\"\n\
             \x20                caCertificateFile=\"{root}\" certificateRevocationListFile=\"{crl}\">\n\
             \x20   <Certificate certificateFile=\"{gw}\" certificateKeyFile=\"{key}\" type=\"EC\"/>\n\
             \x20 </SSLHostConfig>\n\
             </Connector>\n",
            gw = p("gw.chain.pem"),
            key = p("gw.key"),
            root = p("root.crt"),
        ),
        KitGateway::Envoy => format!(
            "# listener transport_socket (not exercised by the harness's tests), port {port}\n\
             transport_socket:\n\
             \x20 name: envoy.transport_sockets.tls\n\
             \x20 typed_config:\n\
             \x20   \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext\n\
             \x20   require_client_certificate: true\n\
             \x20   common_tls_context:\n\
             \x20     tls_params: {{ tls_minimum_protocol_version: TLSv1_2 }}\n\
             \x20     tls_certificates:\n\
             \x20     - certificate_chain: {{ filename: {gw} }}\n\
             \x20       private_key: {{ filename: {key} }}\n\
             \x20     validation_context:\n\
             \x20       trusted_ca: {{ filename: {root} }}\n\
             \x20       crl: {{ filename: {crl} }}\n",
            gw = p("gw.chain.pem"),
            key = p("gw.key"),
            root = p("root.crt"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under "PKI files" only paths into the kit; under "Behaviour" none.
    #[test]
    fn the_kit_files_are_apart_from_the_directives_that_decide() {
        let dir = Path::new("/kit");
        for g in [KitGateway::Nginx, KitGateway::Apache] {
            let text = config_lines(g, dir, &dir.join("root.crl"), 8443);
            let mut group = "";
            let (mut files, mut behaviour) = (0, 0);
            for line in text.lines() {
                if line.starts_with("# PKI files") {
                    group = "files";
                } else if line.starts_with("# Behaviour") {
                    group = "behaviour";
                } else if !line.starts_with('#') {
                    match group {
                        "files" => {
                            assert!(line.contains("/kit/"), "{g:?}: `{line}` is not a kit file");
                            files += 1;
                        }
                        "behaviour" => {
                            assert!(!line.contains("/kit/"), "{g:?}: `{line}` names a kit file");
                            behaviour += 1;
                        }
                        _ => panic!("{g:?}: `{line}` is in no group"),
                    }
                }
            }
            assert!(files == 4 && behaviour >= 3, "{g:?}: {text}");
        }
    }
}
