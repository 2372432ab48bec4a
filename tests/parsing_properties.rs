//! Property tests: whatever bytes or JSON the API sends, decoding never panics and
//! never yields a NaN or infinite sample.

use std::sync::Arc;

use astro_exporter::api::model::{error_message, parse_balance, parse_ports_page};
use astro_exporter::api::{PortList, PortsPage};
use astro_exporter::collect::Snapshot;
use astro_exporter::metrics::{self, ExporterMetrics, Format};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Keys of the real API's documents, so that generated objects often look like them.
const KEYS: &[&str] = &[
    "status",
    "message",
    "data",
    "total",
    "count",
    "currentPage",
    "balance",
    "currency",
    "ports",
    "id",
    "name",
    "createdAt",
    "endsAt",
    "node",
    "address",
    "ip",
    "http",
    "socks",
    "country",
    "city",
    "operator",
    "network",
    "traffic",
    "used",
    "left",
    "total_mb",
    "used_mb",
    "left_mb",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|number| Number::from_f64(number).map_or(Value::Null, Value::Number)),
        "[-+]?[0-9]{0,25}(\\.[0-9]{0,6})?([eE][-+]?[0-9]{1,4})?".prop_map(Value::String),
        prop::sample::select(vec![
            "NaN",
            "inf",
            "-Infinity",
            "",
            " ",
            "1e400",
            "0x10",
            "ok",
            "error"
        ])
        .prop_map(|text| Value::String(text.to_owned())),
        "\\PC{0,12}".prop_map(Value::String),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z?"
            .prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Generates `GET /ports` envelopes whose port entries are arbitrary objects.
fn ports_document() -> impl Strategy<Value = Value> {
    let entry = prop::collection::btree_map(key(), json(), 0..12)
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<String, Value>>()));
    (prop::collection::vec(entry, 0..6), scalar()).prop_map(|(ports, total)| {
        serde_json::json!({"status": "ok", "total": total, "data": {"ports": ports}})
    })
}

fn assert_page_finite(page: &PortsPage) {
    for port in &page.ports {
        for number in [
            port.traffic_left_bytes,
            port.traffic_used_bytes,
            port.traffic_limit_bytes,
            port.created_timestamp_seconds,
            port.expiry_timestamp_seconds,
        ]
        .into_iter()
        .flatten()
        {
            assert!(number.is_finite(), "non-finite value {number} in {port:?}");
        }
    }
}

/// Encodes a snapshot of `page` in both formats and checks every sample value.
fn assert_exposition_finite(page: PortsPage) {
    let snapshot = Arc::new(Snapshot {
        active_ports: Some(PortList {
            total: page.total,
            ports: page.ports,
            complete: true,
        }),
        ..Snapshot::default()
    });
    for format in [Format::Text, Format::OpenMetrics] {
        let exposition = metrics::encode(
            Some(Arc::clone(&snapshot)),
            Some(&ExporterMetrics::default()),
            format,
        )
        .expect("encoding never fails");
        let exposition = exposition.to_string();
        for line in exposition.lines().filter(|line| !line.starts_with('#')) {
            let sample = line
                .rsplit(' ')
                .next()
                .expect("a value after the last space");
            let number: f64 = sample
                .parse()
                .unwrap_or_else(|_| panic!("unparsable sample {line:?}"));
            assert!(number.is_finite(), "non-finite sample {line:?}");
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_balance(&bytes);
        let _ = error_message(&bytes);
        if let Ok(page) = parse_ports_page(&bytes) {
            assert_page_finite(&page);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(document in json()) {
        let bytes = serde_json::to_vec(&document).expect("serializable JSON");
        if let Ok(balance) = parse_balance(&bytes) {
            prop_assert!(balance.amount.is_none_or(f64::is_finite));
        }
        let _ = error_message(&bytes);
        if let Ok(page) = parse_ports_page(&bytes) {
            assert_page_finite(&page);
        }
    }

    #[test]
    fn arbitrary_port_entries_encode_finite_samples(document in ports_document()) {
        let bytes = serde_json::to_vec(&document).expect("serializable JSON");
        let page = parse_ports_page(&bytes).expect("a well-formed envelope with a port list");
        assert_page_finite(&page);
        assert_exposition_finite(page);
    }

    #[test]
    fn balance_of_any_scalar_is_finite_or_absent(balance in scalar(), currency in scalar()) {
        let document = serde_json::json!({"status": "ok", "data": {"balance": balance, "currency": currency}});
        let bytes = serde_json::to_vec(&document).expect("serializable JSON");
        let parsed = parse_balance(&bytes).expect("a well-formed balance envelope");
        prop_assert!(parsed.amount.is_none_or(f64::is_finite));
    }
}
