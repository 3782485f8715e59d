//! Caddy's admin endpoint, on a unix socket in the program's prefix (the
//! rendered config's `admin.listen`): `POST /load` with a whole new
//! configuration is how Caddy reloads (what `caddy reload` does). Used by
//! `[[step]]` reloads `via = "admin-api"`.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::path::Path;
use std::time::Duration;

/// How long a load may take (Caddy answers once the new config runs).
const LIMIT: Duration = Duration::from_secs(10);

/// Why a load was not applied.
#[derive(Debug, thiserror::Error)]
pub enum AdminApiError {
    #[error("Caddy's admin socket {socket}: {reason}")]
    Unreachable { socket: String, reason: String },
    #[error("Caddy refused the new configuration ({status}): {body}")]
    Refused { status: u16, body: String },
}

/// `POST /load` with `config` (JSON), asking Caddy to apply it even when it
/// is the same text (`Cache-Control: must-revalidate`: the files it names
/// may have changed).
pub async fn load(socket: &Path, config: &str) -> Result<(), AdminApiError> {
    let unreachable = |reason: String| AdminApiError::Unreachable {
        socket: socket.display().to_string(),
        reason,
    };
    let exchange = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
        let driver = tokio::spawn(conn);
        let request = hyper::Request::post("/load")
            .header(hyper::header::HOST, "")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::CACHE_CONTROL, "must-revalidate")
            .body(Full::new(Bytes::from(config.to_string())))
            .map_err(|e| unreachable(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        driver.abort();
        if status == 200 {
            Ok(())
        } else {
            Err(AdminApiError::Refused {
                status,
                body: body.trim().to_string(),
            })
        }
    };
    tokio::time::timeout(LIMIT, exchange)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", LIMIT.as_secs())))?
}
