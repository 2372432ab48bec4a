//! How ports become series: one series per port, rebuilt on every scrape, with every
//! label value escaped and every unreadable value left out.

mod common;

use astro_exporter::simulator::{Port, Reply};
use common::{Options, TestEnv, empty_account, samples, value};

fn single_port_page(
    port_json: &str,
) -> impl Fn(&astro_exporter::simulator::ApiRequest) -> Option<Reply> + Send + Sync {
    let page = format!(r#"{{"status":"ok","total":1,"count":1,"data":{{"ports":[{port_json}]}}}}"#);
    move |request| {
        if request.path != "/ports" {
            return None;
        }
        if request.query_value("status") == Some("archived") {
            return Some(Reply::json(
                200,
                r#"{"status":"ok","total":0,"data":{"ports":[]}}"#,
            ));
        }
        Some(Reply::json(200, page.clone()))
    }
}

#[tokio::test]
async fn vanished_port_disappears_from_the_next_scrape() {
    let mut account = empty_account();
    account.ports = vec![
        Port::new(1, "stays", "Germany"),
        Port::new(2, "goes", "Germany"),
    ];
    let env = TestEnv::start(account).await;

    let first = env.scrape().await;
    assert_eq!(samples(&first, "astro_port_info").len(), 2);

    env.simulator
        .with_account(|account| account.ports.retain(|port| port.id != 2));
    let second = env.scrape().await;

    assert_eq!(samples(&second, "astro_port_info").len(), 1);
    assert!(
        !second.contains(r#"port="2""#),
        "port 2 must be gone:\n{second}"
    );
    assert_eq!(
        value(&second, r#"astro_ports_total{status="active"}"#),
        Some(1.0)
    );
}

#[tokio::test]
async fn equal_labels_stay_two_series() {
    let mut account = empty_account();
    let mut first = Port::new(1, "twin", "Germany");
    first.operator = Some("Vodafone".to_owned());
    first.traffic_used = 1_000;
    let mut second = first.clone();
    second.id = 2;
    second.traffic_used = 2_000;
    account.ports = vec![first, second];
    let env = TestEnv::start(account).await;
    let body = env.scrape().await;

    assert_eq!(
        samples(&body, "astro_port_traffic_used_bytes"),
        [
            r#"astro_port_traffic_used_bytes{port="1",country="Germany",operator="Vodafone"} 1000"#,
            r#"astro_port_traffic_used_bytes{port="2",country="Germany",operator="Vodafone"} 2000"#,
        ]
    );
}

#[tokio::test]
async fn label_values_are_escaped() {
    let mut account = empty_account();
    let mut port = Port::new(1, "a \"quoted\" back\\slash\nnew line", "Côte d'Ivoire");
    port.city = Some("東京".to_owned());
    account.ports = vec![port];
    let env = TestEnv::start(account).await;
    let body = env.scrape().await;

    let info = samples(&body, "astro_port_info");
    assert_eq!(info.len(), 1);
    assert!(
        info[0].starts_with(
            r#"astro_port_info{port="1",name="a \"quoted\" back\\slash\nnew line",country="Côte d'Ivoire",city="東京","#
        ),
        "unexpected line {:?}",
        info[0]
    );
}

#[tokio::test]
async fn numeric_strings_nulls_and_missing_fields_are_tolerated() {
    let port = r#"{
        "id": "42", "name": null, "createdAt": null, "endsAt": "2026-12-20 18:02:11",
        "country": "Brazil", "city": null, "operator": null, "extra": {"nested": [1, 2]},
        "traffic": {"total": "1000", "used": "250.0", "left": null, "left_mb": "0.00075"}
    }"#;
    let env = TestEnv::start_scripted(Options::default(), single_port_page(port)).await;
    let body = env.scrape().await;

    assert_eq!(
        samples(&body, "astro_port_"),
        [
            r#"astro_port_traffic_left_bytes{port="42",country="Brazil",operator=""} 750"#,
            r#"astro_port_traffic_used_bytes{port="42",country="Brazil",operator=""} 250"#,
            r#"astro_port_traffic_limit_bytes{port="42",country="Brazil",operator=""} 1000"#,
            r#"astro_port_info{port="42",name="",country="Brazil",city="",network="",operator="",node_address="",node_ip="",http_port="",socks_port=""} 1"#,
            r#"astro_port_expiry_timestamp_seconds{port="42"} 1797789731"#,
        ]
    );
    assert_eq!(value(&body, "astro_up"), Some(1.0));
}

#[tokio::test]
async fn unreadable_value_drops_only_its_own_sample() {
    let port = r#"{
        "id": 7, "country": "Germany", "createdAt": "last tuesday", "endsAt": 12,
        "traffic": {"total": 1000, "used": "lots", "left": "NaN"}
    }"#;
    let env = TestEnv::start_scripted(Options::default(), single_port_page(port)).await;
    let body = env.scrape().await;

    assert_eq!(
        samples(&body, "astro_port_traffic"),
        [r#"astro_port_traffic_limit_bytes{port="7",country="Germany",operator=""} 1000"#]
    );
    assert_eq!(samples(&body, "astro_port_expiry").len(), 0);
    assert_eq!(samples(&body, "astro_port_created").len(), 0);
    assert_eq!(samples(&body, "astro_port_info").len(), 1);
    assert!(!body.contains("NaN"), "no sample may be NaN:\n{body}");
    assert_eq!(value(&body, "astro_up"), Some(1.0));
}

#[tokio::test]
async fn entry_without_id_is_dropped() {
    let ports = r#"{"name": "no id", "country": "Germany"}, {"id": 8, "country": "Poland"}"#;
    let env = TestEnv::start_scripted(Options::default(), single_port_page(ports)).await;
    let body = env.scrape().await;

    assert_eq!(samples(&body, "astro_port_info").len(), 1);
    assert!(body.contains(r#"astro_port_info{port="8","#));
}

#[tokio::test]
async fn consumed_traffic_shows_on_later_scrapes() {
    let mut account = empty_account();
    let mut port = Port::new(1, "busy", "Germany");
    port.consumption_bytes_per_second = 1_000_000_000;
    account.ports = vec![port];
    let env = TestEnv::start(account).await;

    let first = env.scrape().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = env.scrape().await;

    let series = r#"astro_port_traffic_used_bytes{port="1",country="Germany",operator=""}"#;
    let before = value(&first, series).expect("used traffic on the first scrape");
    let after = value(&second, series).expect("used traffic on the second scrape");
    assert!(
        after > before,
        "used traffic must grow: {before} then {after}"
    );
}

#[tokio::test]
async fn exporter_calls_only_the_read_endpoints() {
    let env = TestEnv::start(astro_exporter::simulator::Account::demo(
        time::OffsetDateTime::now_utc(),
    ))
    .await;
    for _ in 0..3 {
        env.scrape().await;
    }

    let reads = env.simulator.request_count("/balance") + env.simulator.request_count("/ports");
    assert!(reads > 0);
    assert_eq!(
        env.simulator.total_request_count(),
        reads,
        "every request was GET /balance or GET /ports, none renews or changes an IP"
    );
}
