//! CPU cost of decoding `GET /ports` pages and of building and encoding the metrics,
//! at 10, 1,000 and 10,000 ports. Run with `cargo bench --bench parse_encode`.

use std::hint::black_box;
use std::sync::Arc;

use astro_exporter::api::PortList;
use astro_exporter::api::model::parse_ports_page;
use astro_exporter::collect::Snapshot;
use astro_exporter::metrics::{self, ExporterMetrics, Format};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

/// Renders one port in the shape the real API sends, with both date formats and a
/// numeric string, as in the sample responses.
fn port_json(index: usize) -> String {
    let id = 100_000 + index;
    let used = (index * 7_919) % 10_000_000_000;
    format!(
        r#"{{"id":{id},"name":"port {index}","createdAt":"2026-11-02T09:14:55.000000Z","endsAt":"2026-12-20 18:02:11",
"node":{{"address":"node-de-17.astroproxy.com","ip":"203.0.113.17"}},"ports":{{"http":{},"socks":{}}},
"country":"Germany","city":"Berlin","operator":"Vodafone","network":"Mobile","vpn":null,
"access":{{"login":"user{id}","password":"example-password","ip":null}},
"traffic":{{"total":10000000000,"used":"{used}","left":{},"total_mb":10000,"used_mb":{},"left_mb":{}}},
"rotation":{{"by":"time","type":"minutes","time":10}}}}"#,
        10_000 + index % 50_000,
        20_000 + index % 40_000,
        10_000_000_000 - used,
        used / 1_000_000,
        (10_000_000_000 - used) / 1_000_000
    )
}

fn page_json(count: usize) -> String {
    let ports: Vec<String> = (0..count).map(port_json).collect();
    format!(
        r#"{{"status":"ok","total":{count},"count":{count},"currentPage":1,"data":{{"ports":[{}]}}}}"#,
        ports.join(",")
    )
}

fn snapshot(count: usize) -> Arc<Snapshot> {
    let page = parse_ports_page(page_json(count).as_bytes()).expect("a valid page");
    Arc::new(Snapshot {
        active_ports: Some(PortList {
            total: page.total,
            ports: page.ports,
            complete: true,
        }),
        archived_port_count: Some(40),
        balance_success: true,
        ports_success: true,
        ..Snapshot::default()
    })
}

fn parse(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("parse_ports_page");
    for size in SIZES {
        let body = page_json(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &body, |bencher, body| {
            bencher.iter(|| parse_ports_page(black_box(body.as_bytes())).expect("a valid page"));
        });
    }
    group.finish();
}

fn encode(criterion: &mut Criterion) {
    let exporter = ExporterMetrics::default();
    for (name, format) in [
        ("encode_text", Format::Text),
        ("encode_openmetrics", Format::OpenMetrics),
    ] {
        let mut group = criterion.benchmark_group(name);
        for size in SIZES {
            let snapshot = snapshot(size);
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(
                BenchmarkId::from_parameter(size),
                &snapshot,
                |bencher, snapshot| {
                    bencher.iter(|| {
                        metrics::encode(Some(Arc::clone(snapshot)), Some(&exporter), format)
                            .expect("encoding")
                    });
                },
            );
        }
        group.finish();
    }
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
