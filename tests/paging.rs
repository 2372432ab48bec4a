//! Reading every page of active ports, and stopping safely when the API's paging
//! misbehaves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use astro_exporter::api::{Client, PortSink, RequestCounter};
use astro_exporter::simulator::{Account, ApiRequest, Port, Reply, Simulator, SimulatorHandle};
use common::{Options, TOKEN, TestEnv, client_config, empty_account, samples, value};

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

/// Records, as each page is decoded, whether the simulated API had already received
/// the request for the next page.
struct NextRequestWatch {
    simulator: Arc<SimulatorHandle>,
    pages: u64,
    total_pages: u64,
    pages_decoded_first: Vec<u64>,
}

impl PortSink for NextRequestWatch {
    fn add(&mut self, _new_ports: &[astro_exporter::api::Port]) {
        self.pages += 1;
        if self.pages == 1 || self.pages == self.total_pages {
            // The first page brings the total, and the last has no next page.
            return;
        }
        // This blocks the client's only thread, as decoding does, so a request that is
        // still to be written stays unwritten until the wait gives up.
        let next_request = self.pages + 1;
        let waited = std::time::Instant::now();
        while self.simulator.request_count("/ports") < next_request {
            if waited.elapsed() > Duration::from_secs(2) {
                self.pages_decoded_first.push(self.pages);
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
fn next_request_precedes_decoding() {
    const PORTS: u64 = 50;
    const PAGE_SIZE: u32 = 5;
    // The simulated API runs on threads of its own, and the client on one thread, as
    // the exporter does.
    let api_runtime = tokio::runtime::Runtime::new().expect("API runtime");
    let simulator = api_runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the simulator");
        Simulator::start(listener, account_with_ports(PORTS), TOKEN.to_owned())
            .await
            .expect("starting the simulator")
    });
    let simulator = Arc::new(simulator);
    let config = client_config(&simulator.base_url(), &page_size(PAGE_SIZE));
    let watch = NextRequestWatch {
        simulator: Arc::clone(&simulator),
        pages: 0,
        total_pages: PORTS / u64::from(PAGE_SIZE),
        pages_decoded_first: Vec::new(),
    };

    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let (list, watch) = client_runtime.block_on(async {
        let client = Client::new(config, RequestCounter::default()).expect("HTTP client");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        client
            .active_ports(deadline, watch)
            .await
            .expect("port list")
    });

    assert_eq!(list.ports.len() as u64, PORTS);
    assert_eq!(watch.pages, PORTS / u64::from(PAGE_SIZE));
    assert_eq!(
        watch.pages_decoded_first,
        Vec::<u64>::new(),
        "pages decoded before the next page's request was sent"
    );
}
