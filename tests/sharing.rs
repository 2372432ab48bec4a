//! Sparing the API: concurrent scrapes share one set of calls, the optional cache
//! reuses a recent success, and the age of the data served is always exported.

mod common;

use std::sync::Arc;
use std::time::Duration;

use astro_exporter::simulator::{ApiRequest, Port, Reply};
use common::{Options, TestEnv, empty_account, value};

const LAST_SUCCESS: &str = "astro_last_success_timestamp_seconds";

fn slow_balance(request: &ApiRequest) -> Option<Reply> {
    (request.path == "/balance").then(|| {
        Reply::json(
            200,
            r#"{"status":"ok","data":{"balance":5,"currency":"USD"}}"#,
        )
        .with_delay(Duration::from_millis(300))
    })
}

fn account_with_one_port() -> astro_exporter::simulator::Account {
    let mut account = empty_account();
    account.ports = vec![Port::new(1, "only", "Germany")];
    account
}

#[tokio::test]
async fn concurrent_scrapes_share_one_set_of_calls() {
    let env = TestEnv::start(account_with_one_port()).await;
    env.simulator.set_responder(Some(Arc::new(slow_balance)));

    let mut scrapes = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let request = env.http.get(format!("{}/metrics", env.exporter_url));
        scrapes.spawn(async move { request.send().await?.text().await });
    }
    let bodies: Vec<String> = scrapes
        .join_all()
        .await
        .into_iter()
        .map(|body| body.expect("scrape"))
        .collect();

    assert_eq!(env.simulator.request_count("/balance"), 1);
    assert_eq!(
        env.simulator.request_count("/ports"),
        2,
        "one active page and one archived page"
    );
    for body in &bodies {
        assert_eq!(value(body, "astro_up"), Some(1.0));
        assert_eq!(value(body, r#"astro_balance{currency="USD"}"#), Some(5.0));
    }
}

#[tokio::test]
async fn sequential_scrapes_without_cache_call_again() {
    let env = TestEnv::start(account_with_one_port()).await;
    env.scrape().await;
    env.scrape().await;

    assert_eq!(env.simulator.request_count("/balance"), 2);
}

#[tokio::test]
async fn cache_serves_a_recent_success() {
    let options = Options {
        cache_ttl: Duration::from_secs(60),
        ..Options::default()
    };
    let env = TestEnv::start_with(account_with_one_port(), options).await;
    let first = env.scrape().await;
    env.simulator.set_responder(Some(Arc::new(|_: &ApiRequest| {
        Some(Reply::error(500, "down"))
    })));
    let second = env.scrape().await;

    assert_eq!(env.simulator.request_count("/balance"), 1);
    assert_eq!(value(&second, "astro_up"), Some(1.0));
    assert_eq!(value(&first, LAST_SUCCESS), value(&second, LAST_SUCCESS));
}

#[tokio::test]
async fn cache_expires_after_its_time() {
    let options = Options {
        cache_ttl: Duration::from_millis(200),
        ..Options::default()
    };
    let env = TestEnv::start_with(account_with_one_port(), options).await;
    env.scrape().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.scrape().await;

    assert_eq!(env.simulator.request_count("/balance"), 2);
}

#[tokio::test]
async fn failed_scrape_is_not_cached() {
    let options = Options {
        cache_ttl: Duration::from_secs(60),
        ..Options::default()
    };
    let env = TestEnv::start_with(account_with_one_port(), options).await;
    env.simulator
        .set_responder(Some(Arc::new(|request: &ApiRequest| {
            (request.path == "/balance").then(|| Reply::error(500, "down"))
        })));
    let failed = env.scrape().await;
    env.simulator.set_responder(None);
    let recovered = env.scrape().await;

    assert_eq!(value(&failed, "astro_up"), Some(0.0));
    assert_eq!(value(&failed, LAST_SUCCESS), None, "no success yet");
    assert_eq!(value(&recovered, "astro_up"), Some(1.0));
    assert!(value(&recovered, LAST_SUCCESS).is_some());
}

#[tokio::test]
async fn last_success_keeps_its_time_through_failures() {
    let env = TestEnv::start(account_with_one_port()).await;
    let good = env.scrape().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    env.simulator
        .set_responder(Some(Arc::new(|request: &ApiRequest| {
            (request.path == "/balance").then(|| Reply::error(500, "down"))
        })));
    let bad = env.scrape().await;

    let succeeded = value(&good, LAST_SUCCESS).expect("time of the success");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    assert!(
        (now - succeeded).abs() < 10.0,
        "{succeeded} is not the time of the scrape"
    );
    assert_eq!(value(&bad, "astro_up"), Some(0.0));
    assert_eq!(value(&bad, LAST_SUCCESS), Some(succeeded));
}

#[tokio::test]
async fn shorter_deadline_stops_waiting_for_shared_fetch() {
    let env = TestEnv::start(account_with_one_port()).await;
    env.simulator
        .set_responder(Some(Arc::new(|request: &ApiRequest| {
            (request.path == "/balance").then(|| {
                Reply::json(
                    200,
                    r#"{"status":"ok","data":{"balance":5,"currency":"USD"}}"#,
                )
                .with_delay(Duration::from_millis(1500))
            })
        })));

    let patient = env.get("/metrics", &[("x-prometheus-scrape-timeout-seconds", "10")]);
    let hasty = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        env.get(
            "/metrics",
            &[("x-prometheus-scrape-timeout-seconds", "0.8")],
        )
        .await
    };
    let (patient, hasty) = tokio::join!(patient, hasty);
    let patient = patient.text().await.expect("body");
    let hasty = hasty.text().await.expect("body");

    assert_eq!(value(&patient, "astro_up"), Some(1.0));
    assert_eq!(value(&hasty, "astro_up"), Some(0.0));
    assert_eq!(env.simulator.request_count("/balance"), 1);
}
