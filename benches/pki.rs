//! PKI generation cost: 1, 100 and 10,000 filler CAs from one `[[bulk]]` table.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mtls_harness::pki::{Pki, PkiSpec};
use std::time::Duration;

fn spec(count: usize) -> PkiSpec {
    let src = format!("[[bulk]]\nprefix = \"filler\"\nrole = \"root\"\ncount = {count}\n");
    PkiSpec::from_toml(&src, "bench.toml").expect("bench spec parses")
}

fn bulk(c: &mut Criterion) {
    let mut group = c.benchmark_group("pki_generate_bulk");
    for count in [1usize, 100, 10_000] {
        let spec = spec(count);
        if count >= 10_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(10));
        }
        group.bench_with_input(BenchmarkId::from_parameter(count), &spec, |b, spec| {
            b.iter(|| {
                let pki = Pki::generate(spec).expect("generates");
                assert_eq!(pki.certs().len(), count);
                pki
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bulk);
criterion_main!(benches);
