//! The exposition produced from the sample API responses, line by line.

mod common;

use std::collections::HashMap;

use astro_exporter::simulator::Reply;
use common::{Options, TestEnv, by_page, fixture, samples, value};

/// Serves the sample balance, the two sample pages of active ports (two ports per
/// page) and the sample archived page.
fn sample_account(balance_fixture: &str) -> HashMap<String, Reply> {
    HashMap::from([
        (
            "/balance".to_owned(),
            Reply::json(200, fixture(balance_fixture)),
        ),
        (
            "/ports active 1".to_owned(),
            Reply::json(200, fixture("ports-active-page-1.json")),
        ),
        (
            "/ports active 2".to_owned(),
            Reply::json(200, fixture("ports-active-page-2.json")),
        ),
        (
            "/ports archived 1".to_owned(),
            Reply::json(200, fixture("ports-archived-count-only.json")),
        ),
    ])
}

fn two_per_page() -> Options {
    Options {
        page_size: 2,
        ..Options::default()
    }
}

#[tokio::test]
async fn sample_bodies_give_exact_account_lines() {
    let env =
        TestEnv::start_scripted(two_per_page(), by_page(sample_account("balance.json"))).await;
    let body = env.scrape().await;

    let expected = [
        r#"astro_balance{currency="USD"} 42.17"#,
        r#"astro_ports_total{status="active"} 3"#,
        r#"astro_ports_total{status="archived"} 57"#,
        r#"astro_port_traffic_left_bytes{port="100231",country="Germany",operator="Vodafone"} 350000000"#,
        r#"astro_port_traffic_left_bytes{port="100232",country="Germany",operator="Vodafone"} 880000000"#,
        r#"astro_port_traffic_left_bytes{port="100240",country="Brazil",operator=""} 20000000000"#,
        r#"astro_port_traffic_used_bytes{port="100231",country="Germany",operator="Vodafone"} 4650000000"#,
        r#"astro_port_traffic_used_bytes{port="100232",country="Germany",operator="Vodafone"} 120000000"#,
        r#"astro_port_traffic_used_bytes{port="100240",country="Brazil",operator=""} 0"#,
        r#"astro_port_traffic_limit_bytes{port="100231",country="Germany",operator="Vodafone"} 5000000000"#,
        r#"astro_port_traffic_limit_bytes{port="100232",country="Germany",operator="Vodafone"} 1000000000"#,
        r#"astro_port_traffic_limit_bytes{port="100240",country="Brazil",operator=""} 20000000000"#,
        r#"astro_port_info{port="100231",name="scraper-de-1",country="Germany",city="Berlin",network="Mobile",operator="Vodafone",node_address="node-de-17.astroproxy.com",node_ip="203.0.113.17",http_port="10231",socks_port="20231"} 1"#,
        r#"astro_port_info{port="100232",name="monitor \"eu\"",country="Germany",city="Berlin",network="Mobile",operator="Vodafone",node_address="node-de-17.astroproxy.com",node_ip="203.0.113.17",http_port="10232",socks_port="20232"} 1"#,
        r#"astro_port_info{port="100240",name="São Paulo residential",country="Brazil",city="São Paulo",network="Residential",operator="",node_address="node-br-03.astroproxy.com",node_ip="198.51.100.3",http_port="10240",socks_port="20240"} 1"#,
        r#"astro_port_expiry_timestamp_seconds{port="100231"} 1796202895"#,
        r#"astro_port_expiry_timestamp_seconds{port="100232"} 1797789731"#,
        r#"astro_port_created_timestamp_seconds{port="100231"} 1793610895"#,
        r#"astro_port_created_timestamp_seconds{port="100232"} 1795197731"#,
        r#"astro_port_created_timestamp_seconds{port="100240"} 1793318400"#,
        r#"astro_up 1"#,
        r#"astro_scrape_collector_success{collector="balance"} 1"#,
        r#"astro_scrape_collector_success{collector="ports"} 1"#,
    ];
    let account_lines: Vec<&str> = samples(&body, "astro_")
        .into_iter()
        .filter(|line| {
            !line.starts_with("astro_scrape_duration")
                && !line.starts_with("astro_last_success_timestamp")
                && !line.starts_with("astro_api_requests")
                && !line.starts_with("astro_exporter_build_info")
        })
        .collect();
    assert_eq!(account_lines, expected);
}

#[tokio::test]
async fn sample_bodies_give_help_and_type_lines() {
    let env =
        TestEnv::start_scripted(two_per_page(), by_page(sample_account("balance.json"))).await;
    let body = env.scrape().await;

    for line in [
        "# TYPE astro_balance gauge",
        "# TYPE astro_ports_total gauge",
        "# TYPE astro_port_traffic_left_bytes gauge",
        "# TYPE astro_port_info gauge",
        "# TYPE astro_port_expiry_timestamp_seconds gauge",
        "# TYPE astro_api_requests_total counter",
        "# HELP astro_port_traffic_left_bytes Traffic the active port may still use, from traffic.left \
         of GET /ports (traffic.left_mb times 1e6 when the byte count is missing).",
    ] {
        assert!(
            body.lines().any(|candidate| candidate == line),
            "missing line {line:?}"
        );
    }
}

#[tokio::test]
async fn sample_pages_cost_one_call_each() {
    let env =
        TestEnv::start_scripted(two_per_page(), by_page(sample_account("balance.json"))).await;
    let body = env.scrape().await;

    assert_eq!(env.simulator.request_count("/balance"), 1);
    assert_eq!(
        env.simulator.request_count("/ports"),
        3,
        "two active pages and one archived page"
    );
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="ports",code="200"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="balance",code="200"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn numeric_currency_and_string_balance_are_read() {
    let env = TestEnv::start_scripted(
        two_per_page(),
        by_page(sample_account("balance-rub-numeric-currency.json")),
    )
    .await;
    let body = env.scrape().await;

    assert_eq!(
        samples(&body, "astro_balance"),
        [r#"astro_balance{currency="2"} 1530.5"#]
    );
}

#[tokio::test]
async fn error_envelope_fails_only_its_collector() {
    let mut bodies = sample_account("balance.json");
    bodies.insert(
        "/balance".to_owned(),
        Reply::json(200, fixture("error-envelope.json")),
    );
    let env = TestEnv::start_scripted(two_per_page(), by_page(bodies)).await;
    let body = env.scrape().await;

    assert_eq!(samples(&body, "astro_balance"), Vec::<&str>::new());
    assert_eq!(value(&body, "astro_up"), Some(0.0));
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="balance"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&body, r#"astro_ports_total{status="active"}"#),
        Some(3.0)
    );
}

#[tokio::test]
async fn locked_reply_fails_the_call() {
    let mut bodies = sample_account("balance.json");
    bodies.insert(
        "/balance".to_owned(),
        Reply::json(423, fixture("newip-locked-423.json")),
    );
    let env = TestEnv::start_scripted(two_per_page(), by_page(bodies)).await;
    let body = env.scrape().await;

    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="balance"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="balance",code="423"}"#
        ),
        Some(1.0)
    );
}
