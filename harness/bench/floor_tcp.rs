//! `bench --floor tcp`: the floor of any harness that uses sockets. A
//! minimal tokio-rustls client and server pair in this process, on one
//! thread, one full handshake at a time over loopback TCP: connect, accept,
//! both handshakes, close with a reset (as the load does, so TIME_WAIT
//! costs the same). The built-in gateway's CPU per handshake is then stated
//! as a multiple of it; what the load adds above it (workers, lanes,
//! timeouts, latency records, the accept loop's bookkeeping) is the ratio
//! less 1.

use super::{thread_cpu_seconds, BenchError, FloorStats, InMemory};
use std::time::{Duration, Instant};

/// Handshake pairs over loopback TCP on this thread for `duration` (at
/// least `min_handshakes`), measured in this thread's CPU time (its
/// runtime runs both sides here, and the kernel's loopback work is done
/// in the sending thread's context).
pub fn tcp_floor(
    m: &InMemory,
    duration: Duration,
    min_handshakes: u64,
) -> Result<FloorStats, BenchError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Listen)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(BenchError::Listen)?;
        let addr = listener.local_addr().map_err(BenchError::Listen)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(m.server.clone());
        let connector = tokio_rustls::TlsConnector::from(m.client.clone());
        let deadline = Instant::now() + duration;
        let cpu0 = thread_cpu_seconds();
        let mut n = 0u64;
        while n < min_handshakes || Instant::now() < deadline {
            let client = async {
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                tcp.set_nodelay(true)?;
                socket2::SockRef::from(&tcp).set_linger(Some(Duration::ZERO))?;
                connector.connect(m.name.clone(), tcp).await
            };
            let server = async {
                let (tcp, _) = listener.accept().await?;
                tcp.set_nodelay(true)?;
                acceptor.accept(tcp).await
            };
            let limit = Duration::from_secs(10);
            let (c, s) = tokio::time::timeout(limit, async { tokio::join!(client, server) })
                .await
                .map_err(|_| BenchError::TcpFloorTimeout)?;
            c.map_err(BenchError::TcpFloor)?;
            s.map_err(BenchError::TcpFloor)?;
            n += 1;
        }
        let cpu = thread_cpu_seconds() - cpu0;
        Ok(FloorStats {
            handshakes: n,
            cpu_us_per_handshake: cpu * 1e6 / n as f64,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::TlsVersion;

    #[test]
    fn the_tcp_floor_completes_mutual_handshakes_over_loopback() {
        let s = super::super::setup(1, true, TlsVersion::Tls13).unwrap();
        let m = s.in_memory().unwrap();
        let f = tcp_floor(&m, Duration::ZERO, 20).unwrap();
        assert_eq!(f.handshakes, 20);
        assert!(f.cpu_us_per_handshake > 0.0, "{f:?}");
    }
}
