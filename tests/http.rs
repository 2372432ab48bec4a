//! The HTTP endpoints: landing page, health check, errors, content negotiation and
//! the scrape deadline.

mod common;

use std::time::{Duration, Instant};

use astro_exporter::simulator::Reply;
use common::{Options, PROMETHEUS_ACCEPT, TestEnv, empty_account, value};

#[tokio::test]
async fn landing_page_links_to_the_metrics() {
    let env = TestEnv::start(empty_account()).await;
    let response = env.get("/", &[]).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    assert!(body.contains(r#"<a href="/metrics">"#), "{body}");
}

#[tokio::test]
async fn health_check_answers_without_calling_the_api() {
    let env = TestEnv::start(empty_account()).await;
    let response = env.get("/-/healthy", &[]).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "Healthy\n");
    assert_eq!(env.simulator.total_request_count(), 0);
}

#[tokio::test]
async fn unknown_path_is_404() {
    let env = TestEnv::start(empty_account()).await;
    for path in ["/metricsx", "/metrics/extra", "/favicon.ico"] {
        assert_eq!(env.get(path, &[]).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let env = TestEnv::start(empty_account()).await;
    let response = env
        .http
        .post(format!("{}/metrics", env.exporter_url))
        .send()
        .await
        .expect("POST");

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(env.simulator.total_request_count(), 0);
}

#[tokio::test]
async fn head_answers_without_calling_the_api() {
    let env = TestEnv::start(empty_account()).await;
    let response = env
        .http
        .head(format!("{}/metrics", env.exporter_url))
        .send()
        .await
        .expect("HEAD");

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(env.simulator.total_request_count(), 0);
}

#[tokio::test]
async fn prometheus_gets_openmetrics() {
    let env = TestEnv::start(empty_account()).await;
    let response = env.get("/metrics", &[("accept", PROMETHEUS_ACCEPT)]).await;

    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    assert!(body.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    assert!(
        body.contains("# TYPE astro_api_requests counter\n"),
        "{body}"
    );
    assert!(
        body.contains("# UNIT astro_scrape_duration_seconds seconds\n"),
        "{body}"
    );
}

#[tokio::test]
async fn curl_gets_the_classic_format() {
    let env = TestEnv::start(empty_account()).await;
    let response = env.get("/metrics", &[("accept", "*/*")]).await;

    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let body = response.text().await.expect("body");
    assert!(!body.contains("# EOF"), "the classic format has no # EOF");
    assert!(!body.contains("# UNIT"), "the classic format has no # UNIT");
    assert!(
        body.contains("# TYPE astro_api_requests_total counter\n"),
        "{body}"
    );
    assert!(body.contains("# HELP astro_api_requests_total "), "{body}");
}

#[tokio::test]
async fn scrape_timeout_header_bounds_a_slow_api() {
    let env = TestEnv::start_scripted(Options::default(), |_| {
        Some(
            Reply::json(
                200,
                r#"{"status":"ok","data":{"balance":1,"currency":"USD"}}"#,
            )
            .with_delay(Duration::from_secs(4)),
        )
    })
    .await;

    let started = Instant::now();
    let response = env
        .get(
            "/metrics",
            &[("x-prometheus-scrape-timeout-seconds", "1.5")],
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("body");

    assert!(
        elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "gave up early, after {elapsed:?}"
    );
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
        Some(0.0)
    );
}

#[tokio::test]
async fn exporter_timeout_caps_a_longer_scrape_timeout() {
    let options = Options {
        timeout: Duration::from_millis(500),
        ..Options::default()
    };
    let env = TestEnv::start_scripted(options, |_| {
        Some(Reply::json(200, "{}").with_delay(Duration::from_secs(4)))
    })
    .await;

    let started = Instant::now();
    let body = env
        .get("/metrics", &[("x-prometheus-scrape-timeout-seconds", "30")])
        .await
        .text()
        .await
        .expect("body");

    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(value(&body, "astro_up"), Some(0.0));
}
