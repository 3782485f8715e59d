//! A scenario's `[middlebox]` and PKI rendered for one program: the files
//! every program shares (certificates, keys, CAs) and the program's own.

use super::program::{files, MiddleboxJob, RenderedMiddlebox};
use super::{MiddleboxError, RealMiddlebox};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::scenario::schema::{MiddleboxSpec, ScenarioFile};
use std::net::SocketAddr;
use std::path::Path;

/// Render `program` for `spec` in front of `upstream` into `prefix`: the
/// shared PKI files and the program's own (nothing is written).
#[allow(clippy::too_many_arguments)]
pub fn render(
    program: RealMiddlebox,
    pki: &Pki,
    file: &ScenarioFile,
    spec: &MiddleboxSpec,
    upstream: SocketAddr,
    version: TlsVersion,
    port: u16,
    spare_port: u16,
    prefix: &Path,
) -> Result<RenderedMiddlebox, MiddleboxError> {
    let front = pki
        .cert(spec.cert.as_deref().unwrap_or(&file.server.cert))
        .map_err(|e| MiddleboxError::Pki("middlebox.cert", e))?;
    let server = pki
        .cert(&file.server.cert)
        .map_err(|e| MiddleboxError::Pki("server.cert", e))?;
    let root = pki
        .cert(server.root.as_deref().unwrap_or(&server.name))
        .map_err(|e| MiddleboxError::Pki("server.cert", e))?;
    let trust = pki
        .resolve(&file.server.trust)
        .map_err(|e| MiddleboxError::Pki("server.trust", e))?;
    let mut out = RenderedMiddlebox::default();
    let chain_pem = |c: &crate::pki::IssuedCert| -> String {
        c.chain_with_leaf()
            .iter()
            .map(|d| crate::pki::IssuedCert::pem_of(d))
            .collect()
    };
    let front_chain = chain_pem(front);
    out.files
        .push((files::FRONT_CHAIN.into(), front_chain.clone()));
    out.files.push((files::FRONT_KEY.into(), front.key_pem()));
    out.files.push((
        files::FRONT_COMBINED.into(),
        format!("{front_chain}{}", front.key_pem()),
    ));
    out.files.push((
        files::CLIENT_CA.into(),
        trust.iter().map(|c| c.cert_pem()).collect(),
    ));
    out.files.push((files::UPSTREAM_CA.into(), root.cert_pem()));
    out.files.push((
        files::SIGNING_CA.into(),
        format!("{}{}", root.cert_pem(), root.key_pem()),
    ));
    if let Some(name) = &spec.upstream_cert {
        let c = pki
            .cert(name)
            .map_err(|e| MiddleboxError::Pki("middlebox.upstream_cert", e))?;
        let chain = chain_pem(c);
        out.files.push((files::PROXY_CHAIN.into(), chain.clone()));
        out.files.push((files::PROXY_KEY.into(), c.key_pem()));
        out.files.push((
            files::PROXY_COMBINED.into(),
            format!("{chain}{}", c.key_pem()),
        ));
    }
    let job = MiddleboxJob {
        prefix,
        port,
        spare_port,
        upstream,
        upstream_name: "localhost",
        kind: spec.kind,
        header: spec.header,
        request_client_cert: spec
            .request_client_cert
            .unwrap_or(spec.kind.requests_client_cert()),
        version,
        upstream_identity: spec.upstream_cert.is_some(),
    };
    program.render_program(&job, &mut out);
    Ok(out)
}
