//! Full mTLS handshakes in memory (rustls client and the built-in `strict`
//! gateway, no sockets) with trust stores of 1 to 5,000 anchors, with and
//! without the CA-names list. `cargo bench --bench handshake`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mtls_harness::bench::{handshake_in_memory, setup};
use mtls_harness::observation::TlsVersion;
use std::time::Duration;

fn handshakes(c: &mut Criterion) {
    for version in TlsVersion::ALL {
        let mut group = c.benchmark_group(format!(
            "handshake_tls{}",
            version.as_str().replace('.', "")
        ));
        group
            .measurement_time(Duration::from_secs(3))
            .sample_size(30);
        for anchors in [1usize, 100, 1000, 5000] {
            for names in [false, true] {
                let s = setup(anchors, names, version).expect("bench setup");
                let m = s.in_memory().expect("configs");
                let label = match (names, s.ca_names_truncated) {
                    (false, _) => "ca_names_off".to_string(),
                    (true, false) => format!("ca_names_{}B", s.ca_names_bytes),
                    (true, true) => format!("ca_names_cut_to_{}B", s.ca_names_bytes),
                };
                group.bench_with_input(BenchmarkId::new(label, anchors), &m, |b, m| {
                    b.iter(|| handshake_in_memory(m).expect("handshake"))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, handshakes);
criterion_main!(benches);
