//! Tests of `POST /ports/{id}/renew` and `GET /ports/{id}/newip`, and of the
//! token, method, counting and responder rules on every new endpoint.

use super::*;
use crate::simulator::render::format_date;

const GB: u64 = 1_000_000_000;

/// A Mobile port with 10 GB of traffic, 4 GB used, ending 2099-01-01.
fn renewable_port(id: u64) -> Port {
    let mut port = Port::new(id, "renewable", "Germany");
    port.traffic_total = 10 * GB;
    port.traffic_used = 4 * GB;
    port.ends_at = Some(datetime!(2099-01-01 00:00 UTC));
    port
}

fn message_of(body: &Value) -> &str {
    body["message"].as_str().expect("message is a string")
}

#[tokio::test]
async fn renew_adds_traffic_and_days() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    let (status, body) = fixture.post("/ports/7/renew", &[("volume", "2.5")]).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body["status"], json!("ok"));
    assert_eq!(body["data"]["id"], json!(7));
    assert_eq!(body["data"]["endsAt"], json!("2099-01-31T00:00:00.000000Z"));
    assert_eq!(
        body["data"]["traffic"],
        json!({
            "total": 12_500_000_000u64,
            "used": 4_000_000_000u64,
            "left": 8_500_000_000u64,
            "total_mb": 12_500,
            "used_mb": 4_000,
            "left_mb": 8_500
        })
    );
}

#[tokio::test]
async fn renew_reply_matches_port() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    let (_, renewed) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;
    let (_, shown) = fixture.get("/ports/7", &[]).await;

    assert_eq!(renewed, shown);
}

#[tokio::test]
async fn renew_visible_in_ports_and_balance() {
    let account = Account {
        balance: 10.0,
        balance_burn_per_second: 0.01,
        ..usd_account(vec![renewable_port(7), renewable_port(8)])
    };
    let fixture = Fixture::start(account).await;
    fixture.clock.advance(Duration::from_secs(100));

    let (status, body) = fixture.post("/ports/8/renew", &[("volume", "1")]).await;
    assert_eq!(status, 200, "body: {body}");
    let (_, balance) = fixture.get("/balance", &[]).await;
    let ports = fixture.all_ports().await;
    fixture.clock.advance(Duration::from_secs(100));
    let (_, later) = fixture.get("/balance", &[]).await;

    // 10.00 - 100 s × 0.01 - 1 GB × 4.00 (Mobile) = 5.00, then 1.00 less.
    assert_eq!(balance["data"]["balance"], json!(5.0));
    assert_eq!(later["data"]["balance"], json!(4.0));
    let renewed = ports
        .iter()
        .find(|port| port["id"] == json!(8))
        .expect("port 8 listed");
    let untouched = ports
        .iter()
        .find(|port| port["id"] == json!(7))
        .expect("port 7 listed");
    assert_eq!(renewed["traffic"]["total"], json!(11 * GB));
    assert_eq!(renewed["endsAt"], json!("2099-01-31T00:00:00.000000Z"));
    assert_eq!(untouched["traffic"]["total"], json!(10 * GB));
    assert_eq!(untouched["endsAt"], json!("2099-01-01T00:00:00.000000Z"));
}

#[tokio::test]
async fn renew_expired_port_counts_from_now() {
    let mut port = renewable_port(7);
    port.ends_at = Some(datetime!(2020-05-01 00:00 UTC));
    let fixture = Fixture::start(usd_account(vec![port])).await;
    fixture.clock.advance(Duration::from_millis(100_500));

    let (status, body) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;

    assert_eq!(status, 200, "body: {body}");
    let now = fixture.simulator.start_time() + time::Duration::milliseconds(100_500);
    let expected_end = now.replace_nanosecond(0).expect("valid") + RENEWAL_PERIOD;
    assert_eq!(
        body["data"]["endsAt"],
        json!(format_date(expected_end, DateStyle::Rfc3339Micros))
    );
}

#[tokio::test]
async fn renew_keeps_null_end_date() {
    let mut port = renewable_port(7);
    port.ends_at = None;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (status, body) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body["data"]["endsAt"], Value::Null);
    assert_eq!(body["data"]["traffic"]["total"], json!(11 * GB));
}

#[tokio::test]
async fn renew_space_separated_end_date() {
    let mut port = renewable_port(7);
    port.date_style = DateStyle::SpaceSeparated;
    let fixture = Fixture::start(usd_account(vec![port])).await;

    let (_, body) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;

    assert_eq!(body["data"]["endsAt"], json!("2099-01-31 00:00:00"));
}

#[tokio::test]
async fn renew_exhausted_port_gets_full_volume() {
    let mut port = Port::new(7, "exhausted", "Germany");
    port.traffic_total = GB;
    port.consumption_bytes_per_second = 10_000_000;
    let fixture = Fixture::start(usd_account(vec![port])).await;
    fixture.clock.advance(Duration::from_secs(200));

    let (_, before) = fixture.get("/ports/7", &[]).await;
    let (_, renewed) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;
    fixture.clock.advance(Duration::from_secs(10));
    let (_, later) = fixture.get("/ports/7", &[]).await;

    assert_eq!(before["data"]["traffic"]["left"], json!(0));
    assert_eq!(renewed["data"]["traffic"]["used"], json!(GB));
    assert_eq!(renewed["data"]["traffic"]["left"], json!(GB));
    assert_eq!(later["data"]["traffic"]["used"], json!(1_100_000_000u64));
    assert_eq!(later["data"]["traffic"]["left"], json!(900_000_000u64));
}

#[tokio::test]
async fn renew_reads_volume_from_body() {
    let cases: [(&str, Value); 4] = [
        ("form", json!("0.5")),
        ("JSON string", json!("0.5")),
        ("JSON number", json!(0.5)),
        ("query", json!("0.5")),
    ];
    for (label, volume) in cases {
        let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

        let (status, body) = match label {
            "form" => {
                fixture
                    .post_form("/ports/7/renew", &[("volume", "0.5")])
                    .await
            }
            "query" => fixture.post("/ports/7/renew", &[("volume", "0.5")]).await,
            _ => {
                fixture
                    .post_json("/ports/7/renew", &json!({"volume": volume}))
                    .await
            }
        };

        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(
            body["data"]["traffic"]["total"],
            json!(10_500_000_000u64),
            "{label}"
        );
    }
}

#[tokio::test]
async fn renew_body_overrides_query() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;
    let body = ("application/json", br#"{"volume":2}"#.to_vec());

    let (status, reply) = fixture
        .send_with(
            reqwest::Method::POST,
            "/ports/7/renew",
            &[("volume", "1")],
            Some(body),
        )
        .await;

    assert_eq!(status, 200, "body: {reply}");
    assert_eq!(reply["data"]["traffic"]["total"], json!(12 * GB));
}

#[tokio::test]
async fn renew_charges_network_price() {
    let cases = [
        ("Mobile", 32.17),
        ("Residential", 34.67),
        ("Residental", 34.67),
        ("Business", 38.42),
        ("Hosting", 38.42),
        ("College", 37.17),
        ("Travel", 37.17),
    ];
    for (network, expected_balance) in cases {
        let mut port = renewable_port(7);
        port.network = network.to_owned();
        let fixture = Fixture::start(usd_account(vec![port])).await;

        let (status, body) = fixture.post("/ports/7/renew", &[("volume", "2.5")]).await;
        let (_, balance) = fixture.get("/balance", &[]).await;

        assert_eq!(status, 200, "{network}: {body}");
        assert_eq!(
            balance["data"]["balance"],
            json!(expected_balance),
            "{network}"
        );
    }
}

#[tokio::test]
async fn renew_unknown_port_returns_404() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    for id in ["99", "abc", ""] {
        let (status, body) = fixture
            .post(&format!("/ports/{id}/renew"), &[("volume", "1")])
            .await;

        assert_eq!(status, 404, "id {id:?}");
        assert_eq!(body["status"], json!("error"), "id {id:?}");
        assert!(message_of(&body).contains(id), "{body}");
    }
}

#[tokio::test]
async fn renew_archived_port_returns_409() {
    let fixture = Fixture::start(usd_account(numbered_ports(1, 1))).await;

    let (status, body) = fixture.post("/ports/2/renew", &[("volume", "1")]).await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"status": "error", "message": "Port 2 is archived and cannot be renewed"})
    );
    assert_eq!(balance["data"]["balance"], json!(42.17));
}

#[tokio::test]
async fn renew_missing_volume_returns_400() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    for query in [&[][..], &[("volume", "")][..], &[("size", "1")][..]] {
        let (status, body) = fixture.post("/ports/7/renew", query).await;

        assert_eq!(status, 400, "{query:?}");
        assert_eq!(
            body,
            json!({"status": "error", "message": "Missing required parameter volume"}),
            "{query:?}"
        );
    }
}

#[tokio::test]
async fn renew_invalid_volume_returns_400() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    for volume in ["0", "-1", "abc", "1e3", "NaN", "100001", "0.0000000001"] {
        let (status, body) = fixture.post("/ports/7/renew", &[("volume", volume)]).await;

        assert_eq!(status, 400, "volume {volume}");
        let message = message_of(&body);
        assert!(message.contains("volume"), "{message:?}");
        assert!(message.contains(volume), "{message:?}");
    }
    let (_, port) = fixture.get("/ports/7", &[]).await;
    assert_eq!(port["data"]["traffic"]["total"], json!(10 * GB));
}

#[tokio::test]
async fn renew_low_balance_returns_402() {
    let account = Account {
        balance: 3.5,
        ..usd_account(vec![renewable_port(7)])
    };
    let fixture = Fixture::start(account).await;
    let (_, before) = fixture.get("/ports/7", &[]).await;

    let (status, body) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;
    let (_, after) = fixture.get("/ports/7", &[]).await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(status, 402);
    assert_eq!(body["status"], json!("error"));
    assert_eq!(
        message_of(&body),
        "Insufficient balance: renewing port 7 with 1 GB costs 4.00, but the balance is 3.50. \
         Top up the balance or renew a smaller volume"
    );
    assert_eq!(before, after);
    assert_eq!(balance["data"]["balance"], json!(3.5));
}

#[tokio::test]
async fn renew_exact_balance_is_allowed() {
    let account = Account {
        balance: 4.0,
        ..usd_account(vec![renewable_port(7)])
    };
    let fixture = Fixture::start(account).await;

    let (status, _) = fixture.post("/ports/7/renew", &[("volume", "1")]).await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(status, 200);
    assert_eq!(balance["data"]["balance"], json!(0.0));
}

#[tokio::test]
async fn renew_rejects_other_content_type() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;
    let body = ("text/plain", b"volume=1".to_vec());

    let (status, reply) = fixture
        .send_with(reqwest::Method::POST, "/ports/7/renew", &[], Some(body))
        .await;

    assert_eq!(status, 415);
    assert_eq!(reply["status"], json!("error"));
}

#[tokio::test]
async fn renew_rejects_oversized_body() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;
    let padding = "x".repeat(70_000);
    let form = format!("volume=1&padding={padding}").into_bytes();
    let body = ("application/x-www-form-urlencoded", form);

    let (status, reply) = fixture
        .send_with(reqwest::Method::POST, "/ports/7/renew", &[], Some(body))
        .await;

    assert_eq!(status, 413);
    assert_eq!(
        reply,
        json!({"status": "error", "message": "Request body is larger than 65536 bytes"})
    );
}

fn is_documentation_address(ip: &str) -> bool {
    ["192.0.2.", "198.51.100.", "203.0.113."]
        .iter()
        .any(|prefix| ip.starts_with(prefix))
        && ip.parse::<std::net::Ipv4Addr>().is_ok()
}

#[tokio::test]
async fn newip_returns_new_address() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    let (status, body) = fixture.get("/ports/7/newip", &[]).await;
    let (_, port) = fixture.get("/ports/7", &[]).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body["status"], json!("ok"));
    let ip = body["data"]["ip"].as_str().expect("ip is a string");
    assert_eq!(
        body["data"].as_object().map(|data| data.len()),
        Some(1),
        "{body}"
    );
    assert_ne!(ip, "192.0.2.1", "the address should change");
    assert!(is_documentation_address(ip), "{ip}");
    assert_eq!(port["data"]["node"]["ip"], json!(ip));
}

#[tokio::test]
async fn newip_locked_for_30_seconds() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;
    fixture.clock.advance(Duration::from_secs(5));

    let (first_status, first) = fixture.get("/ports/7/newip", &[]).await;
    let (locked_status, locked) = fixture.get("/ports/7/newip", &[]).await;
    fixture.clock.advance(Duration::from_millis(10_500));
    let (later_status, later) = fixture.get("/ports/7/newip", &[]).await;
    fixture.clock.advance(Duration::from_millis(19_499));
    let (last_status, _) = fixture.get("/ports/7/newip", &[]).await;
    let (_, port_while_locked) = fixture.get("/ports/7", &[]).await;
    fixture.clock.advance(Duration::from_millis(1));
    let (open_status, open) = fixture.get("/ports/7/newip", &[]).await;
    let (_, port) = fixture.get("/ports/7", &[]).await;

    assert_eq!(first_status, 200);
    assert_eq!(locked_status, 423);
    assert_eq!(
        locked,
        json!({
            "status": "error",
            "data": {"message": "IP change is not available yet, try again in 30 seconds"}
        })
    );
    assert_eq!(later_status, 423);
    assert_eq!(
        later["data"]["message"],
        json!("IP change is not available yet, try again in 20 seconds")
    );
    assert_eq!(last_status, 423);
    assert_eq!(port_while_locked["data"]["node"]["ip"], first["data"]["ip"]);
    assert_eq!(open_status, 200, "body: {open}");
    assert_ne!(open["data"]["ip"], first["data"]["ip"]);
    assert_eq!(port["data"]["node"]["ip"], open["data"]["ip"]);
}

#[tokio::test]
async fn newip_allowed_after_31_seconds() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    let (_, first) = fixture.get("/ports/7/newip", &[]).await;
    fixture.clock.advance(Duration::from_secs(31));
    let (status, second) = fixture.get("/ports/7/newip", &[]).await;

    assert_eq!(status, 200, "body: {second}");
    assert_ne!(first["data"]["ip"], second["data"]["ip"]);
}

#[tokio::test]
async fn newip_lock_is_per_port() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7), renewable_port(8)])).await;

    let (first, _) = fixture.get("/ports/7/newip", &[]).await;
    let (other, _) = fixture.get("/ports/8/newip", &[]).await;

    assert_eq!(first, 200);
    assert_eq!(other, 200);
}

#[tokio::test]
async fn newip_unknown_port_returns_404() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(7)])).await;

    for id in ["99", "x"] {
        let (status, body) = fixture.get(&format!("/ports/{id}/newip"), &[]).await;

        assert_eq!(status, 404, "id {id}");
        assert_eq!(
            body,
            json!({"status": "error", "message": format!("Port {id} not found")})
        );
    }
}

#[tokio::test]
async fn newip_archived_port_returns_409() {
    let fixture = Fixture::start(usd_account(numbered_ports(1, 1))).await;

    let (status, body) = fixture.get("/ports/2/newip", &[]).await;

    assert_eq!(status, 409);
    assert_eq!(body["status"], json!("error"));
}

/// Every endpoint added beside `/balance` and `/ports`, with a valid method.
const NEW_ENDPOINTS: [(&str, &str); 7] = [
    ("POST", "/ports/1/renew"),
    ("GET", "/ports/1/newip"),
    ("GET", "/countries"),
    ("GET", "/cities"),
    ("GET", "/operators"),
    ("GET", "/lists"),
    ("POST", "/calculate"),
];

#[tokio::test]
async fn new_endpoints_require_token() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(1)])).await;

    for (method, path) in NEW_ENDPOINTS {
        let url = format!("{}{path}", fixture.simulator.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        for token in [Some("wrong"), None] {
            let mut request = fixture
                .client
                .request(method.clone(), &url)
                .query(&[("volume", "1")]);
            if let Some(token) = token {
                request = request.query(&[("token", token)]);
            }

            let (status, body) = send(request).await;

            assert_eq!(status, 401, "{method} {path} with token {token:?}");
            assert_eq!(
                body,
                json!({"status": "error", "message": "Invalid token"}),
                "{method} {path}"
            );
        }
    }
    let (_, port) = fixture.get("/ports/1", &[]).await;
    assert_eq!(port["data"]["traffic"]["total"], json!(10 * GB));
    assert_eq!(port["data"]["node"]["ip"], json!("192.0.2.1"));
}

#[tokio::test]
async fn wrong_method_returns_405() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(1)])).await;
    let cases = [
        ("GET", "/ports/1/renew", "POST"),
        ("PUT", "/ports/1/renew", "POST"),
        ("POST", "/ports/1/newip", "GET"),
        ("POST", "/countries", "GET"),
        ("DELETE", "/cities", "GET"),
        ("POST", "/operators", "GET"),
        ("PATCH", "/lists", "GET"),
        ("GET", "/calculate", "POST"),
        ("POST", "/ports/1", "GET"),
    ];

    for (method, path, allowed) in cases {
        let url = format!("{}{path}", fixture.simulator.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("valid method");
        let response = fixture
            .client
            .request(method.clone(), url)
            .query(&[("token", TOKEN)])
            .send()
            .await
            .expect("request reaches the simulator");

        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        let allow = response
            .headers()
            .get(http::header::ALLOW)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        assert_eq!(allow.as_deref(), Some(allowed), "{method} {path}");
        let body: Value = serde_json::from_slice(&response.bytes().await.expect("body arrives"))
            .expect("body is JSON");
        assert_eq!(
            body["message"],
            json!(format!(
                "Method {method} is not allowed on {path}, use {allowed}"
            ))
        );
    }
    let (_, port) = fixture.get("/ports/1", &[]).await;
    assert_eq!(port["data"]["node"]["ip"], json!("192.0.2.1"));
}

#[tokio::test]
async fn unknown_port_action_returns_404() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(1)])).await;

    let (status, body) = fixture.post("/ports/1/delete", &[]).await;

    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"status": "error", "message": "Unknown endpoint: /ports/1/delete"})
    );
}

#[tokio::test]
async fn new_endpoints_are_counted() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(1)])).await;

    fixture.post("/ports/1/renew", &[("volume", "1")]).await;
    fixture.get("/ports/1/newip", &[]).await;
    fixture.get("/ports/1/newip", &[]).await;
    fixture.get("/lists", &[]).await;
    fixture.get("/ports/1/renew", &[]).await;

    assert_eq!(fixture.simulator.request_count("/ports/1/renew"), 2);
    assert_eq!(fixture.simulator.request_count("/ports/1/newip"), 2);
    assert_eq!(fixture.simulator.request_count("/lists"), 1);
    assert_eq!(fixture.simulator.request_count("/ports/1"), 0);
    assert_eq!(fixture.simulator.total_request_count(), 5);
}

#[tokio::test]
async fn responder_sees_body_parameters() {
    let fixture = Fixture::start(usd_account(vec![renewable_port(1)])).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = Arc::clone(&seen);
    fixture
        .simulator
        .set_responder(Some(Arc::new(move |request: &ApiRequest| {
            recorded.lock().expect("test mutex").push(request.clone());
            (request.path == "/ports/1/newip").then(|| Reply::error(429, "Too many requests"))
        })));

    let (renew_status, _) = fixture
        .post_form("/ports/1/renew", &[("volume", "2"), ("note", "São")])
        .await;
    let (newip_status, newip) = fixture.get("/ports/1/newip", &[]).await;

    assert_eq!(renew_status, 200);
    assert_eq!(newip_status, 429);
    assert_eq!(
        newip,
        json!({"status": "error", "message": "Too many requests"})
    );
    let requests = seen.lock().expect("test mutex").clone();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].param("volume"), Some("2"));
    assert_eq!(
        requests[0].body,
        vec![
            ("volume".to_owned(), "2".to_owned()),
            ("note".to_owned(), "São".to_owned()),
        ]
    );
    assert!(requests[0].query.is_empty(), "{:?}", requests[0].query);
    let (_, port) = fixture.get("/ports/1", &[]).await;
    assert_eq!(port["data"]["node"]["ip"], json!("192.0.2.1"));
    assert_eq!(port["data"]["traffic"]["total"], json!(12 * GB));
}
