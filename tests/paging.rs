//! Reading every page of active ports, and stopping safely when the API's paging
//! misbehaves.

mod common;

use astro_exporter::simulator::{Account, ApiRequest, Port, Reply};
use common::{Options, TestEnv, empty_account, samples, value};

fn account_with_ports(count: u64) -> Account {
    let mut account = empty_account();
    account.ports = (1..=count)
        .map(|id| Port::new(id, &format!("port {id}"), "Germany"))
        .collect();
    account
}

fn page_size(size: u32) -> Options {
    Options {
        page_size: size,
        ..Options::default()
    }
}

/// Renders a page of ports with the given ids and `total`, ignoring the request.
fn page_body(ids: &[u64], total: Option<u64>) -> String {
    let ports: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"id":{id},"country":"Germany","traffic":{{"left":{id}}}}}"#))
        .collect();
    let total = total
        .map(|total| format!(r#""total":{total},"#))
        .unwrap_or_default();
    format!(
        r#"{{"status":"ok",{total}"count":{},"data":{{"ports":[{}]}}}}"#,
        ids.len(),
        ports.join(",")
    )
}

fn archived_total(total: u64) -> Reply {
    Reply::json(200, page_body(&[], Some(total)))
}

fn is_archived_request(request: &ApiRequest) -> bool {
    request.path == "/ports" && request.query_value("status") == Some("archived")
}

fn traffic_left_ports(body: &str) -> Vec<String> {
    samples(body, "astro_port_traffic_left_bytes")
        .iter()
        .map(|line| {
            let start = line.find("port=\"").expect("port label") + 6;
            let end = start + line[start..].find('"').expect("closing quote");
            line[start..end].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn seven_ports_over_three_pages_are_all_exported() {
    let env = TestEnv::start_with(account_with_ports(7), page_size(3)).await;
    let body = env.scrape().await;

    assert_eq!(
        traffic_left_ports(&body),
        ["1", "2", "3", "4", "5", "6", "7"]
    );
    assert_eq!(
        value(&body, r#"astro_ports_total{status="active"}"#),
        Some(7.0)
    );
    assert_eq!(
        env.simulator.request_count("/ports"),
        4,
        "three active pages and one archived page"
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn ignored_page_parameter_stops_paging() {
    let env = TestEnv::start_scripted(page_size(2), |request| {
        if is_archived_request(request) {
            return Some(archived_total(0));
        }
        (request.path == "/ports").then(|| Reply::json(200, page_body(&[1, 2], Some(5))))
    })
    .await;
    let body = env.scrape().await;

    assert_eq!(traffic_left_ports(&body), ["1", "2"]);
    // Page 3 is fetched while page 2 is decoded, because the total shows that it exists.
    // Only decoding page 2 shows that the server repeats itself.
    assert_eq!(
        env.simulator.request_count("/ports"),
        4,
        "two active pages, one prefetched page and one archived page"
    );
    assert_eq!(
        value(&body, r#"astro_ports_total{status="active"}"#),
        Some(5.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(0.0)
    );
    assert_eq!(value(&body, "astro_up"), Some(0.0));
}

#[tokio::test]
async fn ignored_page_size_reads_one_page() {
    let env = TestEnv::start_scripted(page_size(2), |request| {
        if is_archived_request(request) {
            return Some(archived_total(4));
        }
        (request.path == "/ports").then(|| Reply::json(200, page_body(&[1, 2, 3], Some(3))))
    })
    .await;
    let body = env.scrape().await;

    assert_eq!(traffic_left_ports(&body), ["1", "2", "3"]);
    assert_eq!(
        env.simulator.request_count("/ports"),
        2,
        "one active page and one archived page"
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn unreached_total_stops_at_empty_page() {
    let env = TestEnv::start_scripted(page_size(2), |request| {
        if is_archived_request(request) {
            return Some(archived_total(0));
        }
        let ids: &[u64] = match request.query_value("page") {
            Some("1") => &[1, 2],
            Some("2") => &[3],
            _ => &[],
        };
        Some(Reply::json(200, page_body(ids, Some(10))))
    })
    .await;
    let body = env.scrape().await;

    assert_eq!(traffic_left_ports(&body), ["1", "2", "3"]);
    // Page 4 is fetched while the empty page 3 is decoded, because the total
    // shows that more ports exist.
    assert_eq!(
        env.simulator.request_count("/ports"),
        5,
        "three active pages, one prefetched page and one archived page"
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(0.0)
    );
}

#[tokio::test]
async fn short_page_without_total_ends_the_list() {
    let env = TestEnv::start_scripted(page_size(2), |request| {
        if is_archived_request(request) {
            return Some(archived_total(0));
        }
        let ids: &[u64] = match request.query_value("page") {
            Some("1") => &[1, 2],
            _ => &[3],
        };
        Some(Reply::json(200, page_body(ids, None)))
    })
    .await;
    let body = env.scrape().await;

    assert_eq!(traffic_left_ports(&body), ["1", "2", "3"]);
    assert_eq!(
        value(&body, r#"astro_ports_total{status="active"}"#),
        Some(3.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn repeated_port_is_exported_once() {
    let env = TestEnv::start_scripted(page_size(2), |request| {
        if is_archived_request(request) {
            return Some(archived_total(0));
        }
        let ids: &[u64] = match request.query_value("page") {
            Some("1") => &[1, 2],
            Some("2") => &[2, 3],
            _ => &[],
        };
        Some(Reply::json(200, page_body(ids, Some(3))))
    })
    .await;
    let body = env.scrape().await;

    assert_eq!(traffic_left_ports(&body), ["1", "2", "3"]);
    assert_eq!(
        value(
            &body,
            r#"astro_scrape_collector_success{collector="ports"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn archived_ports_are_counted_not_listed() {
    let mut account = account_with_ports(2);
    for id in 10..15 {
        let mut port = Port::new(id, "old", "Germany");
        port.archived_at = Some(time::macros::datetime!(2026-02-01 00:00:00 UTC));
        account.ports.push(port);
    }
    let env = TestEnv::start(account).await;
    let body = env.scrape().await;

    assert_eq!(
        value(&body, r#"astro_ports_total{status="archived"}"#),
        Some(5.0)
    );
    assert_eq!(
        value(&body, r#"astro_ports_total{status="active"}"#),
        Some(2.0)
    );
    assert_eq!(traffic_left_ports(&body), ["1", "2"]);
}
