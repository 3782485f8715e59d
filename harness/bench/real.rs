//! `bench --gateway real:X`: each point's trust store rendered into a real
//! gateway's configuration (nginx `ssl_client_certificate` for the CAs sent
//! as names and `ssl_trusted_certificate` for the others, HAProxy `ca-file`
//! and `ca-verify-file`, Apache `SSLCADNRequestFile`, `s_server -CAfile` and
//! `-verifyCAfile`), the program started once per point, loaded by the
//! harness's client, and its CPU read from `/proc` over its process group.

use super::table::BenchPoint;
use super::{load, s_time, setup_from, BenchError};
use crate::observation::TlsVersion;
use crate::pki::Pki;
use crate::real::{RealError, RealKind, RealServer, Unsupported};
use crate::scenario::schema::CaNamesPolicy;
use crate::tls::ca_names::AcceptableCaList;
use std::time::Duration;

/// What a point against a real program is measured with (from the sweep's
/// options).
pub(crate) struct PointSettings {
    pub ca_names: bool,
    pub tls: TlsVersion,
    pub duration: Duration,
    pub concurrency: usize,
    pub compare_s_time: bool,
}

/// One point against a real program: (point, s_time against it when
/// asked and `first`).
pub(crate) async fn measure_real(
    kind: RealKind,
    opts: &PointSettings,
    trust_anchors: usize,
    first: bool,
    progress: impl Fn(usize, f64) + Send + Sync + 'static,
) -> Result<(BenchPoint, Option<s_time::STimeStats>), BenchError> {
    progress(trust_anchors, 0.0);
    let mut file = super::bench_scenario(trust_anchors)?;
    // Names on: every trusted CA in the names file, as an administrator
    // writes it (a list over 64 KiB is the program's to refuse). Off: none
    // where the program can say so, else only the client's own CA.
    file.server.ca_names = if opts.ca_names {
        CaNamesPolicy::AllTrusted
    } else {
        CaNamesPolicy::Empty
    };
    let pki = Pki::generate(&file.pki).map_err(BenchError::Pki)?;
    let mut note = None;
    let server = match RealServer::start(kind, &pki, &file.server, opts.tls).await {
        Err(RealError::Unsupported(Unsupported::Program(why))) if !opts.ca_names => {
            note = Some(format!(
                "1 name, the client's CA: {kind} cannot send none ({})",
                why.split(':').next().unwrap_or(why)
            ));
            file.server.ca_names = CaNamesPolicy::Explicit(vec!["root".into()]);
            RealServer::start(kind, &pki, &file.server, opts.tls).await
        }
        other => other,
    };
    let server = match server {
        Ok(s) => s,
        // A program that cannot take this trust store (Apache loading
        // 10,000 CA names takes minutes) is this point's finding: the row
        // says so and the sweep goes on.
        Err(
            e @ (RealError::Exited { .. } | RealError::Refused { .. } | RealError::NotReady { .. }),
        ) => {
            let point = BenchPoint {
                trust_anchors,
                ca_names_bytes: 0,
                ca_names_truncated: false,
                ca_names_note: note,
                stats: super::LoadStats {
                    errors: 1,
                    errors_by_kind: [("GATEWAY_DID_NOT_START".to_string(), 1)].into(),
                    first_error: Some(e.to_string()),
                    ..Default::default()
                },
                floor: None,
                tcp_floor: None,
            };
            return Ok((point, None));
        }
        Err(e) => return Err(BenchError::Real(Box::new(e))),
    };
    let trusted = pki
        .resolve(&file.server.trust)
        .map_err(|e| BenchError::Real(Box::new(RealError::Trust(e))))?;
    let list = AcceptableCaList::from_policy(&file.server.ca_names, &trusted, &pki)
        .map_err(|e| BenchError::Real(Box::new(RealError::CaNames(e))))?;
    // The built-in client for the same PKI (the gateway half is unused).
    let s = setup_from(trust_anchors, &pki, &file, opts.tls)?;
    let stats = load(
        server.addr(),
        &s.client,
        opts.duration,
        opts.concurrency,
        Some(server.pid()),
        move |f| progress(trust_anchors, f),
    )
    .await;
    let compared = if first && opts.compare_s_time {
        let (cert, key) = &s.client_pem;
        Some(
            s_time::s_time(
                server.addr(),
                opts.tls,
                cert,
                key,
                opts.duration,
                trust_anchors,
            )
            .await,
        )
    } else {
        None
    };
    server.shutdown().await;
    let point = BenchPoint {
        trust_anchors,
        ca_names_bytes: list.encoded_bytes(),
        ca_names_truncated: list.truncated,
        ca_names_note: note,
        stats: stats?,
        floor: None,
        tcp_floor: None,
    };
    Ok((point, compared.transpose()?))
}
