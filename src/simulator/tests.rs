//! Tests of the simulator over HTTP on 127.0.0.1.

mod catalogue;
mod port_actions;
mod pricing;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::macros::datetime;
use tokio::net::TcpListener;

use super::*;

const TOKEN: &str = "test-token";

/// Query parameters of a test request, without the token.
type Query<'a> = &'a [(&'a str, &'a str)];

/// A running simulator on a manual clock and a client for it.
struct Fixture {
    simulator: SimulatorHandle,
    clock: Arc<ManualClock>,
    client: reqwest::Client,
}

impl Fixture {
    async fn start(account: Account) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let clock = Arc::new(ManualClock::new());
        let simulator =
            Simulator::start_with_clock(listener, account, TOKEN.to_owned(), clock.clone())
                .await
                .expect("start simulator");
        Fixture {
            simulator,
            clock,
            client: client(),
        }
    }

    /// Sends GET `path` with the test token and `query`, and returns the
    /// status and the parsed JSON body.
    async fn get(&self, path: &str, query: Query<'_>) -> (u16, Value) {
        let mut full_query = vec![("token", TOKEN)];
        full_query.extend_from_slice(query);
        let url = format!("{}{path}", self.simulator.base_url());
        send(self.client.get(url).query(&full_query)).await
    }

    /// Sends `method` to `path` with the test token and `query`, and with
    /// `body` under its content type when given. Returns the status and the
    /// parsed JSON body.
    async fn send_with(
        &self,
        method: reqwest::Method,
        path: &str,
        query: Query<'_>,
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, Value) {
        let mut full_query = vec![("token", TOKEN)];
        full_query.extend_from_slice(query);
        let url = format!("{}{path}", self.simulator.base_url());
        let mut request = self.client.request(method, url).query(&full_query);
        if let Some((content_type, bytes)) = body {
            request = request
                .header(http::header::CONTENT_TYPE, content_type)
                .body(bytes);
        }
        send(request).await
    }

    /// Sends POST `path` with the test token and `query` and no body.
    async fn post(&self, path: &str, query: Query<'_>) -> (u16, Value) {
        self.send_with(reqwest::Method::POST, path, query, None)
            .await
    }

    /// Sends POST `path` with the test token and `form` as a form-urlencoded
    /// body.
    async fn post_form(&self, path: &str, form: Query<'_>) -> (u16, Value) {
        let body = (
            "application/x-www-form-urlencoded",
            form_encode(form).into_bytes(),
        );
        self.send_with(reqwest::Method::POST, path, &[], Some(body))
            .await
    }

    /// Sends POST `path` with the test token and `body` as JSON.
    async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).expect("JSON serializes");
        self.send_with(
            reqwest::Method::POST,
            path,
            &[],
            Some(("application/json", bytes)),
        )
        .await
    }

    /// Fetches the active and archived ports on one page of up to 1000.
    async fn all_ports(&self) -> Vec<Value> {
        let (status, body) = self.get("/ports", &[("count", "1000")]).await;
        assert_eq!(status, 200, "body: {body}");
        body["data"]["ports"]
            .as_array()
            .expect("ports is an array")
            .clone()
    }
}

/// Encodes `pairs` as `application/x-www-form-urlencoded`, escaping every
/// byte other than ASCII letters and digits.
fn form_encode(pairs: Query<'_>) -> String {
    let escape = |text: &str| {
        text.bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() {
                    char::from(byte).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", escape(name), escape(value)))
        .collect::<Vec<String>>()
        .join("&")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("build HTTP client")
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request reaches the simulator");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body arrives");
    let body = serde_json::from_slice(&bytes).expect("body is JSON");
    (status, body)
}

fn usd_account(ports: Vec<Port>) -> Account {
    Account {
        balance: 42.17,
        currency: Currency::Code("USD".to_owned()),
        balance_burn_per_second: 0.0,
        ports,
    }
}

/// Creates `active` active ports with ids 1 and up, then `archived` archived
/// ones. Names run backwards against ids and creation dates are scrambled,
/// so every order differs from id order.
fn numbered_ports(active: u64, archived: u64) -> Vec<Port> {
    let total = active + archived;
    (1..=total)
        .map(|id| {
            let mut port = Port::new(id, &format!("port {:03}", total - id), "Germany");
            let days = i64::try_from((id * 7) % 31).expect("small number");
            port.created_at = Some(datetime!(2026-01-01 00:00 UTC) + time::Duration::days(days));
            if id > active {
                port.archived_at = Some(datetime!(2026-03-01 00:00 UTC));
            }
            port
        })
        .collect()
}

fn ids(ports: &[Value]) -> Vec<u64> {
    ports
        .iter()
        .map(|port| port["id"].as_u64().expect("id is a number"))
        .collect()
}

fn ports_of(body: &Value) -> Vec<Value> {
    body["data"]["ports"]
        .as_array()
        .expect("ports is an array")
        .clone()
}

#[tokio::test]
async fn balance_with_string_currency() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    let (status, body) = fixture.get("/balance", &[]).await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "ok", "data": {"balance": 42.17, "currency": "USD"}})
    );
}

#[tokio::test]
async fn balance_with_numeric_currency() {
    let account = Account {
        balance: 1530.5,
        currency: Currency::Number(2),
        ..usd_account(Vec::new())
    };
    let fixture = Fixture::start(account).await;

    let (status, body) = fixture.get("/balance", &[]).await;

    assert_eq!(status, 200);
    assert_eq!(body["data"]["currency"], json!(2));
    assert_eq!(body["data"]["balance"], json!(1530.5));
}

#[tokio::test]
async fn balance_burns_with_clock() {
    let account = Account {
        balance: 10.0,
        balance_burn_per_second: 0.01,
        ..usd_account(Vec::new())
    };
    let fixture = Fixture::start(account).await;

    fixture.clock.advance(Duration::from_secs(150));
    let (_, body) = fixture.get("/balance", &[]).await;

    assert_eq!(body["data"]["balance"], json!(8.5));
}

#[tokio::test]
async fn replies_are_json() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let url = format!("{}/balance", fixture.simulator.base_url());

    let response = fixture
        .client
        .get(url)
        .query(&[("token", TOKEN)])
        .send()
        .await
        .expect("request reaches the simulator");

    let content_type = response.headers().get(http::header::CONTENT_TYPE);
    assert_eq!(
        content_type.and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
}

#[tokio::test]
async fn ports_paging_over_three_pages() {
    let fixture = Fixture::start(usd_account(numbered_ports(45, 0))).await;
    let mut seen = Vec::new();

    for (page, expected_count) in [("1", 20), ("2", 20), ("3", 5)] {
        let (status, body) = fixture
            .get("/ports", &[("count", "20"), ("page", page)])
            .await;

        assert_eq!(status, 200, "page {page}: {body}");
        assert_eq!(body["status"], json!("ok"));
        assert_eq!(body["total"], json!(45), "page {page}");
        assert_eq!(body["count"], json!(expected_count), "page {page}");
        assert_eq!(
            body["currentPage"],
            json!(page.parse::<u64>().expect("page number")),
        );
        let ports = ports_of(&body);
        assert_eq!(ports.len(), expected_count, "page {page}");
        seen.extend(ids(&ports));
    }

    let expected: Vec<u64> = (1..=45).rev().collect();
    assert_eq!(seen, expected, "pages should cover every id, descending");
}

#[tokio::test]
async fn ports_default_page_size() {
    let fixture = Fixture::start(usd_account(numbered_ports(25, 0))).await;

    let (_, body) = fixture.get("/ports", &[]).await;

    assert_eq!(body["count"], json!(DEFAULT_PAGE_SIZE));
    assert_eq!(body["currentPage"], json!(1));
    assert_eq!(body["total"], json!(25));
}

#[tokio::test]
async fn ports_page_past_end_is_empty() {
    let fixture = Fixture::start(usd_account(numbered_ports(45, 0))).await;

    let (status, body) = fixture
        .get("/ports", &[("count", "20"), ("page", "4")])
        .await;

    assert_eq!(status, 200);
    assert_eq!(body["total"], json!(45));
    assert_eq!(body["count"], json!(0));
    assert_eq!(body["currentPage"], json!(4));
    assert_eq!(body["data"]["ports"], json!([]));
}

#[tokio::test]
async fn ports_huge_page_is_empty() {
    let fixture = Fixture::start(usd_account(numbered_ports(3, 0))).await;

    let page = u64::MAX.to_string();
    let (status, body) = fixture
        .get("/ports", &[("count", "1000"), ("page", &page)])
        .await;

    assert_eq!(status, 200);
    assert_eq!(body["count"], json!(0));
    assert_eq!(body["total"], json!(3));
}

#[tokio::test]
async fn ports_status_filter() {
    let fixture = Fixture::start(usd_account(numbered_ports(5, 3))).await;

    let (_, all) = fixture.get("/ports", &[]).await;
    let (_, active) = fixture.get("/ports", &[("status", "active")]).await;
    let (_, archived) = fixture.get("/ports", &[("status", "archived")]).await;

    assert_eq!(all["total"], json!(8));
    assert_eq!(active["total"], json!(5));
    assert_eq!(ids(&ports_of(&active)), vec![5, 4, 3, 2, 1]);
    assert_eq!(archived["total"], json!(3));
    assert_eq!(ids(&ports_of(&archived)), vec![8, 7, 6]);
}

#[tokio::test]
async fn ports_order_and_direction() {
    let ports = numbered_ports(6, 0);
    let mut by_created = ports.clone();
    by_created.sort_by_key(|port| (port.created_at, port.id));
    let created_ascending: Vec<u64> = by_created.iter().map(|port| port.id).collect();
    let fixture = Fixture::start(usd_account(ports)).await;

    let cases: [(Query, Vec<u64>); 6] = [
        (&[], vec![6, 5, 4, 3, 2, 1]),
        (
            &[("order", "id"), ("orderDirection", "asc")],
            vec![1, 2, 3, 4, 5, 6],
        ),
        (
            &[("order", "name"), ("orderDirection", "asc")],
            vec![6, 5, 4, 3, 2, 1],
        ),
        (&[("order", "name")], vec![1, 2, 3, 4, 5, 6]),
        (
            &[("order", "created"), ("orderDirection", "asc")],
            created_ascending.clone(),
        ),
        (
            &[("order", "created"), ("orderDirection", "desc")],
            created_ascending.iter().rev().copied().collect(),
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = fixture.get("/ports", query).await;
        assert_eq!(status, 200, "{query:?}");
        assert_eq!(ids(&ports_of(&body)), expected, "{query:?}");
    }
}

#[tokio::test]
async fn ports_random_order_is_permutation() {
    let fixture = Fixture::start(usd_account(numbered_ports(30, 0))).await;

    let (status, body) = fixture
        .get("/ports", &[("order", "random"), ("count", "30")])
        .await;

    assert_eq!(status, 200);
    let mut shuffled = ids(&ports_of(&body));
    assert_ne!(shuffled, (1..=30).rev().collect::<Vec<u64>>());
    shuffled.sort_unstable();
    assert_eq!(shuffled, (1..=30).collect::<Vec<u64>>());
}

#[tokio::test]
async fn invalid_parameters_return_400() {
    let fixture = Fixture::start(usd_account(numbered_ports(3, 0))).await;
    let cases = [
        ("count", "0"),
        ("count", "1001"),
        ("count", "abc"),
        ("page", "0"),
        ("page", "-2"),
        ("order", "size"),
        ("orderDirection", "sideways"),
        ("status", "deleted"),
    ];

    for (name, value) in cases {
        let (status, body) = fixture.get("/ports", &[(name, value)]).await;

        assert_eq!(status, 400, "{name}={value}");
        assert_eq!(body["status"], json!("error"), "{name}={value}");
        let message = body["message"].as_str().expect("message is a string");
        assert!(message.contains(name), "{message:?} should name {name}");
        assert!(message.contains(value), "{message:?} should name {value}");
    }
}

#[tokio::test]
async fn wrong_token_returns_401() {
    let fixture = Fixture::start(usd_account(numbered_ports(1, 0))).await;
    let url = format!("{}/ports", fixture.simulator.base_url());

    let (wrong_status, wrong_body) =
        send(fixture.client.get(&url).query(&[("token", "other")])).await;
    let (missing_status, missing_body) = send(fixture.client.get(&url)).await;

    let expected = json!({"status": "error", "message": "Invalid token"});
    assert_eq!(wrong_status, 401);
    assert_eq!(wrong_body, expected);
    assert_eq!(missing_status, 401);
    assert_eq!(missing_body, expected);
}

#[tokio::test]
async fn unknown_path_returns_404() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let outside_url = format!("http://{}/metrics", fixture.simulator.local_addr());

    let (inside_status, inside_body) = fixture.get("/orders", &[]).await;
    let (outside_status, outside_body) = send(fixture.client.get(outside_url)).await;

    assert_eq!(inside_status, 404);
    assert_eq!(inside_body["status"], json!("error"));
    assert_eq!(outside_status, 404);
    assert_eq!(outside_body["status"], json!("error"));
}

#[tokio::test]
async fn other_method_returns_405() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let url = format!("{}/balance", fixture.simulator.base_url());

    let (status, body) = send(fixture.client.post(url).query(&[("token", TOKEN)])).await;

    assert_eq!(status, 405);
    assert_eq!(body["status"], json!("error"));
}

#[tokio::test]
async fn single_port_by_id() {
    let fixture = Fixture::start(usd_account(numbered_ports(3, 0))).await;

    let (status, body) = fixture.get("/ports/2", &[]).await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], json!("ok"));
    assert_eq!(body["data"]["id"], json!(2));
    assert_eq!(body["data"]["name"], json!("port 001"));
}

#[tokio::test]
async fn unknown_port_id_returns_404() {
    let fixture = Fixture::start(usd_account(numbered_ports(3, 0))).await;

    for id in ["99", "abc"] {
        let (status, body) = fixture.get(&format!("/ports/{id}"), &[]).await;

        assert_eq!(status, 404, "id {id}");
        assert_eq!(body["status"], json!("error"), "id {id}");
        let message = body["message"].as_str().expect("message is a string");
        assert!(message.contains(id), "{message:?} should name {id}");
    }
}

#[tokio::test]
async fn port_object_has_all_fields() {
    let mut port = Port::new(5, "full", "Germany");
    port.city = Some("Berlin".to_owned());
    port.operator = Some("Vodafone".to_owned());
    port.group = Some("scrapers".to_owned());
    port.vpn = Some("wireguard".to_owned());
    port.access.ip = Some("203.0.113.9".to_owned());
    port.ends_at = Some(datetime!(2026-02-01 00:00 UTC));
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, body) = fixture.get("/ports/5", &[]).await;

    assert_eq!(
        body["data"],
        json!({
            "id": 5,
            "name": "full",
            "createdAt": "2026-01-01T00:00:00.000000Z",
            "endsAt": "2026-02-01T00:00:00.000000Z",
            "node": {"address": "node-1.astroproxy.com", "ip": "192.0.2.1"},
            "ports": {"http": 10000, "socks": 10001},
            "country": "Germany",
            "city": "Berlin",
            "operator": "Vodafone",
            "group": "scrapers",
            "vpn": "wireguard",
            "network": "Mobile",
            "access": {"login": "user5", "password": "fake-password", "ip": "203.0.113.9"},
            "traffic": {
                "total": 10_000_000_000u64,
                "used": 0,
                "left": 10_000_000_000u64,
                "total_mb": 10_000,
                "used_mb": 0,
                "left_mb": 10_000
            },
            "rotation": {"by": "time", "type": "minutes", "time": 10}
        })
    );
}

#[tokio::test]
async fn archived_ports_have_archived_at() {
    let fixture = Fixture::start(usd_account(numbered_ports(2, 2))).await;

    for port in fixture.all_ports().await {
        let archived = port["id"].as_u64() > Some(2);
        assert_eq!(port.get("archivedAt").is_some(), archived, "port {port}");
        if archived {
            assert_eq!(port["archivedAt"], json!("2026-03-01T00:00:00.000000Z"));
        }
    }
}

#[tokio::test]
async fn space_separated_dates_and_null_end() {
    let mut port = Port::new(1, "p", "Poland");
    port.date_style = DateStyle::SpaceSeparated;
    port.created_at = Some(datetime!(2026-11-20 21:02:11 +03:00));
    port.ends_at = None;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, body) = fixture.get("/ports/1", &[]).await;

    assert_eq!(body["data"]["createdAt"], json!("2026-11-20 18:02:11"));
    assert_eq!(body["data"]["endsAt"], Value::Null);
}

#[tokio::test]
async fn traffic_megabytes_round_down() {
    let mut port = Port::new(1, "p", "Germany");
    port.traffic_total = 5_999_999;
    port.traffic_used = 1_500_000;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, body) = fixture.get("/ports/1", &[]).await;

    let traffic = &body["data"]["traffic"];
    assert_eq!(traffic["total"], json!(5_999_999));
    assert_eq!(traffic["used"], json!(1_500_000));
    assert_eq!(traffic["left"], json!(4_499_999));
    assert_eq!(traffic["total_mb"], json!(5));
    assert_eq!(traffic["used_mb"], json!(1));
    assert_eq!(traffic["left_mb"], json!(4));
}

#[tokio::test]
async fn traffic_as_numeric_strings() {
    let mut port = Port::new(1, "p", "Germany");
    port.traffic_total = 1_000_000_000;
    port.traffic_used = 250_000_000;
    port.traffic_as_strings = true;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, body) = fixture.get("/ports/1", &[]).await;

    let traffic = &body["data"]["traffic"];
    assert_eq!(traffic["total"], json!("1000000000"));
    assert_eq!(traffic["used"], json!("250000000"));
    assert_eq!(traffic["left"], json!("750000000"));
    assert_eq!(traffic["total_mb"], json!("1000"));
    assert_eq!(traffic["used_mb"], json!("250"));
    assert_eq!(traffic["left_mb"], json!("750"));
}

#[tokio::test]
async fn traffic_consumed_over_time() {
    let mut port = Port::new(1, "p", "Germany");
    port.traffic_total = 10_000_000;
    port.traffic_used = 1_000_000;
    port.consumption_bytes_per_second = 100_000;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, at_start) = fixture.get("/ports/1", &[]).await;
    fixture.clock.advance(Duration::from_secs(30));
    let (_, later) = fixture.get("/ports/1", &[]).await;
    fixture.clock.advance(Duration::from_secs(3600));
    let (_, exhausted) = fixture.get("/ports/1", &[]).await;

    assert_eq!(at_start["data"]["traffic"]["used"], json!(1_000_000));
    assert_eq!(later["data"]["traffic"]["used"], json!(4_000_000));
    assert_eq!(later["data"]["traffic"]["left"], json!(6_000_000));
    assert_eq!(exhausted["data"]["traffic"]["used"], json!(10_000_000));
    assert_eq!(exhausted["data"]["traffic"]["left"], json!(0));
}

#[tokio::test]
async fn system_clock_moves_traffic() {
    let mut port = Port::new(1, "p", "Germany");
    port.consumption_bytes_per_second = 10_000_000;
    let simulator = Simulator::start_on_loopback(usd_account(vec![port]), TOKEN.to_owned())
        .await
        .expect("start simulator");
    let url = format!("{}/ports/1", simulator.base_url());

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, body) = send(client().get(url).query(&[("token", TOKEN)])).await;

    let used = body["data"]["traffic"]["used"]
        .as_u64()
        .expect("used is a number");
    assert!(used >= 2_000_000, "used {used} after 200 ms at 10 MB/s");
}

#[tokio::test]
async fn responder_overrides_and_falls_through() {
    let fixture = Fixture::start(usd_account(numbered_ports(2, 0))).await;
    let seen_queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = Arc::clone(&seen_queries);
    fixture
        .simulator
        .set_responder(Some(Arc::new(move |request: &ApiRequest| {
            recorded
                .lock()
                .expect("test mutex")
                .push(request.query.clone());
            (request.path == "/balance").then(|| Reply::error(503, "Maintenance"))
        })));

    let (balance_status, balance_body) = fixture.get("/balance", &[("lang", "en")]).await;
    let (ports_status, ports_body) = fixture.get("/ports", &[]).await;

    assert_eq!(balance_status, 503);
    assert_eq!(
        balance_body,
        json!({"status": "error", "message": "Maintenance"})
    );
    assert_eq!(ports_status, 200);
    assert_eq!(ports_body["total"], json!(2));
    let queries = seen_queries.lock().expect("test mutex").clone();
    assert_eq!(queries[0], vec![("lang".to_owned(), "en".to_owned())]);
    assert!(
        queries[1].is_empty(),
        "token should be removed: {queries:?}"
    );

    fixture.simulator.set_responder(None);
    let (status, _) = fixture.get("/balance", &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn responder_skipped_without_token() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    fixture
        .simulator
        .set_responder(Some(Arc::new(|_: &ApiRequest| {
            Some(Reply::json(200, "{}"))
        })));
    let url = format!("{}/balance", fixture.simulator.base_url());

    let (status, _) = send(fixture.client.get(url)).await;

    assert_eq!(status, 401);
}

#[tokio::test]
async fn responder_delay_and_raw_body() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    fixture
        .simulator
        .set_responder(Some(Arc::new(|_: &ApiRequest| {
            Some(Reply::json(200, "not json").with_delay(Duration::from_millis(300)))
        })));
    let url = format!("{}/balance", fixture.simulator.base_url());

    let started = Instant::now();
    let response = fixture
        .client
        .get(url)
        .query(&[("token", TOKEN)])
        .send()
        .await
        .expect("request reaches the simulator");
    let body = response.text().await.expect("body is text");

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(body, "not json");
}

#[tokio::test]
async fn latency_delays_model_and_responder_replies() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    fixture.simulator.set_latency(Duration::from_millis(200));

    let started = Instant::now();
    let (status, _) = fixture.get("/balance", &[]).await;
    let model_reply = started.elapsed();

    fixture
        .simulator
        .set_responder(Some(Arc::new(|_: &ApiRequest| {
            Some(Reply::json(200, "{}").with_delay(Duration::from_millis(100)))
        })));
    let started = Instant::now();
    fixture.get("/balance", &[]).await;
    let delayed_reply = started.elapsed();

    assert_eq!(status, 200);
    assert!(model_reply >= Duration::from_millis(200), "{model_reply:?}");
    assert!(
        delayed_reply >= Duration::from_millis(300),
        "{delayed_reply:?}"
    );
}

#[tokio::test]
async fn requests_are_counted_per_path() {
    let fixture = Fixture::start(usd_account(numbered_ports(2, 0))).await;
    fixture
        .simulator
        .set_responder(Some(Arc::new(|request: &ApiRequest| {
            (request.path == "/ports/1").then(|| Reply::error(500, "Internal error"))
        })));
    let url = format!("{}/balance", fixture.simulator.base_url());

    fixture.get("/ports", &[]).await;
    fixture.get("/ports", &[("page", "2")]).await;
    fixture.get("/ports/1", &[]).await;
    fixture.get("/balance", &[]).await;
    send(fixture.client.get(url).query(&[("token", "wrong")])).await;

    assert_eq!(fixture.simulator.request_count("/ports"), 2);
    assert_eq!(fixture.simulator.request_count("/ports/1"), 1);
    assert_eq!(fixture.simulator.request_count("/balance"), 2);
    assert_eq!(fixture.simulator.request_count("/ports/2"), 0);
    assert_eq!(fixture.simulator.total_request_count(), 5);
}

#[tokio::test]
async fn account_changes_between_scrapes() {
    let fixture = Fixture::start(usd_account(numbered_ports(3, 0))).await;

    let (_, before) = fixture.get("/ports", &[]).await;
    let removed = fixture.simulator.with_account(|account| {
        account.ports.retain(|port| port.id != 2);
        account.balance = 1.5;
        account.ports.len()
    });
    let (_, after) = fixture.get("/ports", &[]).await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(removed, 2);
    assert_eq!(ids(&ports_of(&before)), vec![3, 2, 1]);
    assert_eq!(ids(&ports_of(&after)), vec![3, 1]);
    assert_eq!(balance["data"]["balance"], json!(1.5));
}

#[tokio::test]
async fn shutdown_closes_listener() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let url = format!("{}/balance", fixture.simulator.base_url());
    let (status, _) = fixture.get("/balance", &[]).await;
    assert_eq!(status, 200);

    fixture.simulator.shutdown().await;
    let result = client().get(url).query(&[("token", TOKEN)]).send().await;

    assert!(result.is_err(), "server still accepts requests: {result:?}");
}

#[tokio::test]
async fn dropped_handle_stops_server() {
    let simulator = Simulator::start_on_loopback(usd_account(Vec::new()), TOKEN.to_owned())
        .await
        .expect("start simulator");
    let url = format!("{}/balance", simulator.base_url());

    drop(simulator);
    // The accept loop stops on its own task, so give it a moment.
    let mut result = client().get(&url).query(&[("token", TOKEN)]).send().await;
    for _ in 0..50 {
        if result.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        result = client().get(&url).query(&[("token", TOKEN)]).send().await;
    }

    assert!(result.is_err(), "server still accepts requests: {result:?}");
}

fn demo_now() -> time::OffsetDateTime {
    datetime!(2026-12-04 15:30:00 UTC)
}

#[test]
fn demo_port_counts_and_ids() {
    let account = Account::demo(demo_now());

    let active = account
        .ports
        .iter()
        .filter(|port| !port.is_archived())
        .count();
    let archived = account
        .ports
        .iter()
        .filter(|port| port.is_archived())
        .count();
    let unique_ids: HashSet<u64> = account.ports.iter().map(|port| port.id).collect();
    assert!(active >= 14, "{active} active ports");
    assert!((35..=45).contains(&archived), "{archived} archived ports");
    assert_eq!(unique_ids.len(), account.ports.len(), "duplicate ids");
}

#[test]
fn demo_has_one_port_nearly_out() {
    let account = Account::demo(demo_now());

    let nearly_out: Vec<&Port> = account
        .ports
        .iter()
        .filter(|port| !port.is_archived())
        .filter(|port| (port.traffic_total - port.traffic_used) * 20 < port.traffic_total)
        .collect();
    assert_eq!(nearly_out.len(), 1, "ports under 5 % left");

    let port = nearly_out[0];
    let hour = Duration::from_secs(3600);
    assert!(port.traffic_used_at(Duration::from_secs(600)) < port.traffic_total);
    assert_eq!(port.traffic_used_at(hour), port.traffic_total);
}

#[test]
fn demo_has_one_port_ending_soon() {
    let now = demo_now();
    let account = Account::demo(now);

    let ending_soon = account
        .ports
        .iter()
        .filter(|port| !port.is_archived())
        .filter(|port| {
            port.ends_at
                .is_some_and(|end| end < now + time::Duration::days(3))
        })
        .count();
    let without_end = account
        .ports
        .iter()
        .filter(|port| port.ends_at.is_none())
        .count();
    assert_eq!(ending_soon, 1);
    assert_eq!(without_end, 1);
}

#[test]
fn demo_active_ports_are_current() {
    let now = demo_now();
    let account = Account::demo(now);

    for port in account.ports.iter().filter(|port| !port.is_archived()) {
        assert!(
            port.created_at.is_some_and(|created| created < now),
            "{}",
            port.name
        );
        assert!(port.ends_at.is_none_or(|end| end > now), "{}", port.name);
        let rate = port.consumption_bytes_per_second;
        assert!(
            (20_000..=2_000_000).contains(&rate),
            "{} uses {rate} B/s",
            port.name
        );
    }
}

#[test]
fn demo_archived_ports_are_used_up() {
    let now = demo_now();
    let account = Account::demo(now);

    for port in account.ports.iter().filter(|port| port.is_archived()) {
        assert_eq!(port.traffic_used, port.traffic_total, "{}", port.name);
        assert_eq!(port.consumption_bytes_per_second, 0, "{}", port.name);
        assert!(
            port.archived_at.is_some_and(|archived| archived < now),
            "{}",
            port.name
        );
    }
}

#[test]
fn demo_covers_edge_cases() {
    let account = Account::demo(demo_now());
    let ports = &account.ports;

    assert!(
        ports.iter().any(|port| !port.name.is_ascii()),
        "Unicode name"
    );
    assert!(
        ports.iter().any(|port| port.name.contains('"')),
        "double quote"
    );
    assert!(
        ports.iter().any(|port| port.name.contains('\\')),
        "backslash"
    );
    assert!(
        ports.iter().any(|port| port.network == "Residental"),
        "old spelling"
    );
    assert!(
        ports.iter().any(|port| port.traffic_as_strings),
        "string traffic"
    );
    assert!(ports.iter().any(|port| port.city.is_none()), "no city");
    assert!(
        ports.iter().any(|port| port.operator.is_none()),
        "no operator"
    );
    assert!(
        ports
            .iter()
            .any(|port| port.date_style == DateStyle::SpaceSeparated),
        "space-separated dates"
    );
    assert!(
        ports
            .iter()
            .any(|port| port.date_style == DateStyle::Rfc3339Micros),
        "RFC 3339 dates"
    );
    assert_eq!(account.currency, Currency::Code("USD".to_owned()));
    assert!(account.balance_burn_per_second > 0.0);
}

#[test]
fn demo_uses_documentation_addresses() {
    let account = Account::demo(demo_now());

    for port in &account.ports {
        let ip = &port.node_ip;
        assert!(
            ["192.0.2.", "198.51.100.", "203.0.113."]
                .iter()
                .any(|prefix| ip.starts_with(prefix)),
            "{} uses {ip}",
            port.name
        );
        assert!(
            ip.parse::<std::net::Ipv4Addr>().is_ok(),
            "{ip} is not an IPv4 address"
        );
    }
}

#[tokio::test]
async fn demo_served_over_http() {
    let fixture = Fixture::start(Account::demo(demo_now())).await;

    let ports = fixture.all_ports().await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(ports.len(), Account::demo(demo_now()).ports.len());
    let names: Vec<&str> = ports
        .iter()
        .map(|port| port["name"].as_str().expect("name is a string"))
        .collect();
    assert!(names.contains(&"東京 mobile"));
    assert!(names.contains(&"Dallas \"fast\" lane"));
    assert!(names.contains(&"ads\\mumbai"));
    assert_eq!(balance["data"]["balance"], json!(42.17));
}
