//! The shipped rules, Alertmanager example and dashboards, proven with the real
//! programs: a simulated account in trouble and a healthy one, each with its own
//! exporter, scraped every second by Prometheus loaded with alerts/astro.rules.yml,
//! which sends to Alertmanager configured from alerts/alertmanager.example.yml, which
//! notifies a webhook run by this test. Everything listens on 127.0.0.1.
//!
//! Prometheus and Alertmanager come with Debian's `prometheus` and
//! `prometheus-alertmanager` packages.

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astro_exporter::simulator::{Account, Port};
use bytes::Bytes;
use common::TestEnv;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// How long the test waits for the expected notifications.
const ALERT_TIMEOUT: Duration = Duration::from_secs(120);

/// The alerts the account in trouble must raise at the webhook, with the port each
/// is about ("" for account-wide alerts).
const EXPECTED: [(&str, &str); 5] = [
    ("AstroBalanceRunningOut", ""),
    ("AstroPortTrafficLow", "1"),
    ("AstroPortTrafficRunningOut", "1"),
    ("AstroPortOutOfTraffic", "2"),
    ("AstroPortExpiringSoon", "3"),
];

/// A child process that is killed when the test ends, pass or fail.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(program: &str, args: &[String], log: &Path) -> Process {
    let log = std::fs::File::create(log).expect("creating the log file");
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run {program} ({error}); install Debian's prometheus and prometheus-alertmanager packages")
        });
    Process(child)
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    listener.local_addr().expect("local address").port()
}

fn repository_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Returns an account about to run out of money: 4 USD spent at 0.1 cent a second.
/// It has a port nearly out of traffic and using it fast, a port out of traffic, a
/// port that expires tomorrow, a healthy port and an archived one.
fn account_in_trouble(now: OffsetDateTime) -> Account {
    let mut account = common::empty_account();
    account.balance = 4.0;
    account.balance_burn_per_second = 0.001;

    let mut nearly_out = Port::new(1, "nearly out", "Germany");
    nearly_out.operator = Some("Vodafone".to_owned());
    nearly_out.traffic_total = 10_000_000_000;
    nearly_out.traffic_used = 9_700_000_000;
    nearly_out.consumption_bytes_per_second = 2_000_000;

    let mut out = Port::new(2, "out of traffic", "Brazil");
    out.traffic_total = 1_000_000_000;
    out.traffic_used = 1_000_000_000;

    let mut expiring = Port::new(3, "expiring", "Japan");
    expiring.ends_at = Some(now + time::Duration::days(1));

    let mut archived = Port::new(4, "old", "Poland");
    archived.archived_at = Some(now - time::Duration::days(30));

    account.ports = vec![nearly_out, out, expiring, healthy_port(5, now), archived];
    account
}

/// Returns an account with plenty of money, traffic and time.
fn healthy_account(now: OffsetDateTime) -> Account {
    let mut account = common::empty_account();
    account.balance = 500.0;
    account.ports = vec![healthy_port(1, now), healthy_port(2, now)];
    account
}

fn healthy_port(id: u64, now: OffsetDateTime) -> Port {
    let mut port = Port::new(id, "healthy", "France");
    port.traffic_total = 50_000_000_000;
    port.traffic_used = 1_000_000_000;
    port.consumption_bytes_per_second = 1_000;
    port.ends_at = Some(now + time::Duration::days(25));
    port
}

/// Returns the rules with every `for:` shortened to one second, so that alerts fire within
/// the test. The expressions, labels and annotations are the shipped ones.
fn rules_for_test() -> String {
    let rules = std::fs::read_to_string(repository_file("alerts/astro.rules.yml"))
        .expect("reading the rules");
    let mut shortened = 0;
    let lines: Vec<String> = rules
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("for: ") {
                shortened += 1;
                let indent = &line[..line.len() - line.trim_start().len()];
                format!("{indent}for: 1s")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(
        shortened >= 10,
        "expected a for: on every alert, found {shortened}"
    );
    lines.join("\n")
}

/// Returns the Alertmanager example with its webhooks pointed at `webhook` and its waits
/// shortened to a second.
fn alertmanager_config_for_test(webhook: &str) -> String {
    let example = std::fs::read_to_string(repository_file("alerts/alertmanager.example.yml"))
        .expect("reading the Alertmanager example");
    let mut config = example;
    for (from, to) in [
        ("http://127.0.0.1:5001", webhook),
        ("group_wait: 30s", "group_wait: 1s"),
        ("group_interval: 5m", "group_interval: 1s"),
    ] {
        assert!(
            config.contains(from),
            "the example no longer contains {from:?}"
        );
        config = config.replace(from, to);
    }
    config
}

/// Serves the webhook and stores every alert of every notification.
async fn start_webhook(alerts: Arc<Mutex<Vec<Value>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the webhook");
    let address = listener.local_addr().expect("webhook address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let alerts = Arc::clone(&alerts);
            let service = service_fn(move |request: Request<Incoming>| {
                let alerts = Arc::clone(&alerts);
                async move {
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|body| body.to_bytes());
                    if let Ok(body) = body
                        && let Ok(notification) = serde_json::from_slice::<Value>(&body)
                        && let Some(received) = notification["alerts"].as_array()
                    {
                        alerts
                            .lock()
                            .expect("webhook alerts")
                            .extend(received.iter().cloned());
                    }
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

fn label<'a>(alert: &'a Value, name: &str) -> &'a str {
    alert["labels"][name].as_str().unwrap_or("")
}

/// Runs an instant query and returns its result vector.
async fn query(http: &reqwest::Client, prometheus: &str, expression: &str) -> Vec<Value> {
    let body = http
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", expression)])
        .send()
        .await
        .expect("query request")
        .text()
        .await
        .expect("query response");
    let response: Value = serde_json::from_str(&body).expect("query response JSON");
    assert_eq!(
        response["status"], "success",
        "query {expression} failed: {response}"
    );
    response["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Returns every query of every dashboard panel, with the dashboard variables
/// replaced by values that select everything.
fn dashboard_queries() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let directory = repository_file("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("reading dashboards/")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboard in {}", directory.display());

    for file in files {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("reading a dashboard"))
                .expect("dashboard JSON");
        let mut panels: Vec<&Value> = Vec::new();
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            panels.push(panel);
            panels.extend(panel["panels"].as_array().into_iter().flatten());
        }
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("untitled").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expression) = target["expr"].as_str() {
                    queries.push((title.clone(), substitute_variables(expression)));
                }
            }
        }
    }
    queries
}

fn substitute_variables(expression: &str) -> String {
    let mut expression = expression.to_owned();
    for (variable, value) in [
        ("$__rate_interval", "1m"),
        ("$__interval", "1m"),
        ("$__range", "1m"),
        ("${job}", "astro"),
        ("$job", "astro"),
        ("${instance}", ".*"),
        ("$instance", ".*"),
        ("${country}", ".*"),
        ("$country", ".*"),
        ("${operator}", ".*"),
        ("$operator", ".*"),
        ("${port}", ".*"),
        ("$port", ".*"),
    ] {
        expression = expression.replace(variable, value);
    }
    assert!(
        !expression.contains('$'),
        "unknown dashboard variable in {expression}"
    );
    expression
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_alertmanager_and_dashboards_work_end_to_end() {
    let now = OffsetDateTime::now_utc();
    let trouble = TestEnv::start(account_in_trouble(now)).await;
    let healthy = TestEnv::start(healthy_account(now)).await;
    let trouble_target = trouble
        .exporter_url
        .trim_start_matches("http://")
        .to_owned();
    let healthy_target = healthy
        .exporter_url
        .trim_start_matches("http://")
        .to_owned();

    let alerts = Arc::new(Mutex::new(Vec::new()));
    let webhook = start_webhook(Arc::clone(&alerts)).await;

    let directory = tempfile::tempdir().expect("temporary directory");
    let work = directory.path();
    let alertmanager_port = free_port();
    std::fs::write(
        work.join("alertmanager.yml"),
        alertmanager_config_for_test(&webhook),
    )
    .expect("writing");
    let _alertmanager = start(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", work.join("alertmanager.yml").display()),
            format!(
                "--storage.path={}",
                work.join("alertmanager-data").display()
            ),
            format!("--web.listen-address=127.0.0.1:{alertmanager_port}"),
            "--cluster.listen-address=".to_owned(),
        ],
        &work.join("alertmanager.log"),
    );

    std::fs::write(work.join("astro.rules.yml"), rules_for_test()).expect("writing");
    let prometheus_config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - astro.rules.yml\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{alertmanager_port}\"]\n\
         scrape_configs:\n  - job_name: astro\n    static_configs:\n      - targets: [\"{trouble_target}\", \"{healthy_target}\"]\n"
    );
    std::fs::write(work.join("prometheus.yml"), prometheus_config).expect("writing");
    let prometheus_port = free_port();
    let _prometheus = start(
        "prometheus",
        &[
            format!("--config.file={}", work.join("prometheus.yml").display()),
            format!(
                "--storage.tsdb.path={}",
                work.join("prometheus-data").display()
            ),
            format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
        ],
        &work.join("prometheus.log"),
    );
    let prometheus = format!("http://127.0.0.1:{prometheus_port}");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client");

    // Wait for every expected notification.
    let started = Instant::now();
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(name, port)| (name.to_string(), port.to_string()))
        .collect();
    loop {
        let received: BTreeSet<(String, String)> = alerts
            .lock()
            .expect("webhook alerts")
            .iter()
            .filter(|alert| label(alert, "instance") == trouble_target)
            .map(|alert| {
                (
                    label(alert, "alertname").to_owned(),
                    label(alert, "port").to_owned(),
                )
            })
            .collect();
        if expected.is_subset(&received) {
            break;
        }
        if started.elapsed() > ALERT_TIMEOUT {
            let prometheus_log =
                std::fs::read_to_string(work.join("prometheus.log")).unwrap_or_default();
            let alertmanager_log =
                std::fs::read_to_string(work.join("alertmanager.log")).unwrap_or_default();
            panic!(
                "missing notifications {:?}\nreceived {received:?}\n--- prometheus log\n{prometheus_log}\n--- alertmanager log\n{alertmanager_log}",
                expected.difference(&received).collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Give any alert about the healthy account the same time again to show up.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let received = alerts.lock().expect("webhook alerts").clone();

    // Labels and annotations as routed.
    for alert in received
        .iter()
        .filter(|alert| label(alert, "instance") == trouble_target)
    {
        let name = label(alert, "alertname");
        assert_eq!(label(alert, "job"), "astro", "{alert}");
        assert!(
            matches!(label(alert, "severity"), "warning" | "critical"),
            "{alert}"
        );
        assert!(
            !alert["annotations"]["summary"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{alert}"
        );
        assert!(
            !alert["annotations"]["description"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{alert}"
        );
        if name.starts_with("AstroPort") {
            assert!(
                !label(alert, "name").is_empty(),
                "port alerts carry the port name: {alert}"
            );
        }
    }
    let out_of_traffic = received
        .iter()
        .find(|alert| label(alert, "alertname") == "AstroPortOutOfTraffic")
        .expect("AstroPortOutOfTraffic");
    assert_eq!(label(out_of_traffic, "name"), "out of traffic");
    assert_eq!(label(out_of_traffic, "country"), "Brazil");
    assert_eq!(label(out_of_traffic, "severity"), "critical");

    // The healthy account raised nothing.
    let healthy_alerts: Vec<&Value> = received
        .iter()
        .filter(|alert| label(alert, "instance") == healthy_target)
        .collect();
    assert!(
        healthy_alerts.is_empty(),
        "the healthy account raised {healthy_alerts:#?}"
    );

    // AstroBalanceLow fires in Prometheus, and Alertmanager suppresses it while
    // AstroBalanceRunningOut fires for the same exporter. (A notification sent before
    // the inhibiting alert fired is allowed: inhibition only acts from then on.)
    let firing = query(
        &http,
        &prometheus,
        r#"ALERTS{alertname="AstroBalanceLow", alertstate="firing"}"#,
    )
    .await;
    assert_eq!(
        firing.len(),
        1,
        "AstroBalanceLow fires in Prometheus: {firing:?}"
    );
    let body = http
        .get(format!(
            "http://127.0.0.1:{alertmanager_port}/api/v2/alerts"
        ))
        .query(&[("filter", r#"alertname="AstroBalanceLow""#)])
        .send()
        .await
        .expect("Alertmanager alerts request")
        .text()
        .await
        .expect("Alertmanager alerts");
    let held: Vec<Value> = serde_json::from_str(&body).expect("Alertmanager alerts JSON");
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["status"]["state"], "suppressed", "{:#?}", held[0]);
    assert!(
        held[0]["status"]["inhibitedBy"]
            .as_array()
            .is_some_and(|by| !by.is_empty()),
        "AstroBalanceLow must be inhibited: {:#?}",
        held[0]
    );

    // Every dashboard query returns data from this Prometheus.
    for (panel, expression) in dashboard_queries() {
        let result = query(&http, &prometheus, &expression).await;
        assert!(
            !result.is_empty(),
            "panel {panel:?}: no data for {expression}"
        );
    }
}
