//! The exporter facing a misbehaving Astro API: every scrape still responds with 200 before
//! its deadline, reports what failed, recovers on the next scrape, logs one clear line,
//! and never shows the token.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astro_exporter::config::LogLevel;
use astro_exporter::logging;
use astro_exporter::simulator::{ApiRequest, Reply, Simulator};
use common::{Options, TOKEN, TestEnv, empty_account, value};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::net::TcpListener;
use tracing::subscriber::DefaultGuard;

/// The scrape timeout sent with every scrape; the exporter's deadline is half a second
/// earlier.
const SCRAPE_TIMEOUT_SECONDS: &str = "2";
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

/// Log output captured from the current thread.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("captured logs")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Captures every log line of this thread at trace level, filtered as the binary
    /// filters them, until the guard is dropped. Tests that use it run on a
    /// current-thread runtime so that the exporter's tasks log on this thread.
    fn start() -> (CapturedLogs, DefaultGuard) {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(logging::filter(LogLevel::Trace))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("captured logs")).into_owned()
    }

    /// Returns the lines logged at warn or error level.
    fn problems(&self) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
            .map(str::to_owned)
            .collect()
    }
}

/// Scrapes with Prometheus's timeout header and checks that the response is a 200 that
/// came before the timeout.
async fn scrape_in_time(env: &TestEnv) -> String {
    let started = Instant::now();
    let response = env
        .get(
            "/metrics",
            &[(
                "x-prometheus-scrape-timeout-seconds",
                SCRAPE_TIMEOUT_SECONDS,
            )],
        )
        .await;
    let status = response.status();
    let body = response.text().await.expect("scrape body");
    let elapsed = started.elapsed();

    assert_eq!(status, 200);
    assert!(elapsed < SCRAPE_TIMEOUT, "the scrape took {elapsed:?}");
    assert!(!body.contains(TOKEN), "token in /metrics:\n{body}");
    assert!(
        !body.contains("NaN") && !body.contains("Inf"),
        "non-finite sample:\n{body}"
    );
    body
}

fn success(body: &str, collector: &str) -> Option<f64> {
    value(
        body,
        &format!(r#"astro_scrape_collector_success{{collector="{collector}"}}"#),
    )
}

/// A fault of one endpoint, served in place of its normal reply.
struct Fault {
    name: &'static str,
    /// "/balance" or "/ports".
    path: &'static str,
    reply: Reply,
    /// Text that each warning line must contain.
    cause: &'static str,
}

impl Fault {
    fn new(name: &'static str, path: &'static str, reply: Reply, cause: &'static str) -> Fault {
        Fault {
            name,
            path,
            reply,
            cause,
        }
    }
}

/// Runs one fault: a scrape during the fault, then a scrape after recovery.
async fn check_fault(fault: Fault, options: Options) {
    let (logs, _guard) = CapturedLogs::start();
    let path = fault.path;
    let reply = fault.reply.clone();
    let env = TestEnv::start_scripted(options, move |request: &ApiRequest| {
        (request.path == path).then(|| reply.clone())
    })
    .await;

    let body = scrape_in_time(&env).await;
    let (failed, kept) = if path == "/balance" {
        ("balance", "ports")
    } else {
        ("ports", "balance")
    };
    assert_eq!(
        value(&body, "astro_up"),
        Some(0.0),
        "{}: astro_up",
        fault.name
    );
    assert_eq!(
        success(&body, failed),
        Some(0.0),
        "{}: {failed} collector",
        fault.name
    );
    assert_eq!(
        success(&body, kept),
        Some(1.0),
        "{}: {kept} collector",
        fault.name
    );

    // One line per failed call: the balance part makes one call, the ports part two
    // (active ports and the archived count).
    let calls = if path == "/balance" { 1 } else { 2 };
    let problems = logs.problems();
    assert_eq!(
        problems.len(),
        calls,
        "{}: expected {calls} warnings, got {problems:#?}",
        fault.name
    );
    for line in &problems {
        assert!(
            line.contains(failed),
            "{}: endpoint missing in {line:?}",
            fault.name
        );
        assert!(
            line.contains(fault.cause),
            "{}: cause {:?} missing in {line:?}",
            fault.name,
            fault.cause
        );
    }

    env.simulator.set_responder(None);
    let recovered = scrape_in_time(&env).await;
    assert_eq!(
        value(&recovered, "astro_up"),
        Some(1.0),
        "{}: recovery",
        fault.name
    );

    let text = logs.text();
    assert!(
        !text.contains(TOKEN),
        "{}: token in the logs:\n{text}",
        fault.name
    );
}

fn balance_json() -> &'static str {
    r#"{"status":"ok","data":{"balance":1,"currency":"USD"}}"#
}

#[tokio::test(flavor = "current_thread")]
async fn error_statuses_fail_their_collector() {
    for (name, status) in [("500", 500), ("502", 502), ("503", 503), ("423", 423)] {
        let fault = Fault::new(
            name,
            "/balance",
            Reply::error(status, "try later"),
            "try later",
        );
        check_fault(fault, Options::default()).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn gateway_errors_are_retried_once() {
    let (_logs, _guard) = CapturedLogs::start();
    let env = TestEnv::start_scripted(Options::default(), |request: &ApiRequest| {
        (request.path == "/balance").then(|| Reply::error(503, "busy"))
    })
    .await;
    let body = scrape_in_time(&env).await;

    assert_eq!(env.simulator.request_count("/balance"), 2);
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="balance",code="503"}"#
        ),
        Some(2.0)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn other_errors_are_not_retried() {
    let (_logs, _guard) = CapturedLogs::start();
    let env = TestEnv::start_scripted(Options::default(), |request: &ApiRequest| {
        (request.path == "/balance").then(|| Reply::error(500, "broken"))
    })
    .await;
    scrape_in_time(&env).await;

    assert_eq!(env.simulator.request_count("/balance"), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn unusable_bodies_fail_their_collector() {
    let faults = [
        Fault::new(
            "status error with 200",
            "/balance",
            Reply::json(200, r#"{"status":"error","message":"Account blocked"}"#),
            "Account blocked",
        ),
        Fault::new(
            "HTML page with 200",
            "/balance",
            Reply::json(200, "<html><body>Maintenance</body></html>")
                .with_content_type("text/html"),
            "invalid JSON",
        ),
        Fault::new(
            "HTML page with 404",
            "/balance",
            Reply::json(404, "<html><body>Not Found</body></html>").with_content_type("text/html"),
            "HTTP 404",
        ),
        Fault::new(
            "truncated JSON",
            "/balance",
            Reply::json(200, r#"{"status":"ok","data":{"bal"#),
            "invalid JSON",
        ),
        Fault::new(
            "empty body",
            "/balance",
            Reply::json(200, ""),
            "invalid JSON",
        ),
        Fault::new(
            "data of the wrong type",
            "/balance",
            Reply::json(200, r#"{"status":"ok","data":[1,"USD"]}"#),
            "not an object",
        ),
        Fault::new(
            "ports without a list",
            "/ports",
            Reply::json(200, r#"{"status":"ok","data":{}}"#),
            "no data.ports",
        ),
    ];
    for fault in faults {
        check_fault(fault, Options::default()).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn slow_answers_fail_at_the_deadline() {
    let faults = [
        Fault::new(
            "no answer",
            "/balance",
            Reply::json(200, balance_json()).with_delay(Duration::from_secs(30)),
            "did not finish by the scrape deadline",
        ),
        Fault::new(
            "dripping body",
            "/balance",
            Reply::json(200, balance_json()).dripped(1, Duration::from_millis(100)),
            "did not finish by the scrape deadline",
        ),
    ];
    for fault in faults {
        check_fault(fault, Options::default()).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn oversized_bodies_are_rejected_early() {
    let padding = "x".repeat(4 * 1024 * 1024);
    let body = format!(
        r#"{{"status":"ok","data":{{"balance":1,"currency":"USD"}},"padding":"{padding}"}}"#
    );
    let options = Options {
        max_body_size: 1024,
        ..Options::default()
    };
    // The dripped body would take about 3 s to send in full, longer than the scrape
    // may take, so a scrape that ends in time with this cause stopped reading early.
    let faults = [
        Fault::new(
            "declared length over the limit",
            "/balance",
            Reply::json(200, body.clone()),
            "exceeds the limit of 1024 bytes",
        ),
        Fault::new(
            "streamed body over the limit",
            "/balance",
            Reply::json(200, body).dripped(64 * 1024, Duration::from_millis(50)),
            "exceeds the limit of 1024 bytes",
        ),
    ];
    for fault in faults {
        check_fault(fault, options.clone()).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn rejected_token_is_logged_once() {
    for status in [401, 403] {
        let (logs, _guard) = CapturedLogs::start();
        let env = TestEnv::start_scripted(Options::default(), move |_: &ApiRequest| {
            Some(Reply::error(status, "Invalid token"))
        })
        .await;

        for _ in 0..3 {
            let body = scrape_in_time(&env).await;
            assert_eq!(value(&body, "astro_up"), Some(0.0));
        }
        let problems = logs.problems();
        assert_eq!(problems.len(), 1, "{status}: {problems:#?}");
        assert!(
            problems[0].contains("rejected the token"),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains(&status.to_string()), "{}", problems[0]);

        env.simulator.set_responder(None);
        let body = scrape_in_time(&env).await;
        assert_eq!(value(&body, "astro_up"), Some(1.0));
        assert!(logs.text().contains("accepts the token again"));
        assert!(!logs.text().contains(TOKEN));
    }
}

/// Checks that after a 429 the endpoint is not called until the pause ends.
async fn check_rate_limit(reply: Reply, options: Options, pause: Duration) {
    let (logs, _guard) = CapturedLogs::start();
    let env = TestEnv::start_scripted(options, move |request: &ApiRequest| {
        (request.path == "/balance").then(|| reply.clone())
    })
    .await;

    let first = scrape_in_time(&env).await;
    assert_eq!(
        value(
            &first,
            r#"astro_api_requests_total{endpoint="balance",code="429"}"#
        ),
        Some(1.0)
    );
    assert_eq!(success(&first, "balance"), Some(0.0));

    let second = scrape_in_time(&env).await;
    assert_eq!(
        env.simulator.request_count("/balance"),
        1,
        "no call during the pause"
    );
    assert_eq!(value(&second, "astro_up"), Some(0.0));
    assert_eq!(success(&second, "balance"), Some(0.0));
    assert_eq!(success(&second, "ports"), Some(1.0));
    let problems = logs.problems();
    assert_eq!(
        problems.len(),
        1,
        "only the 429 itself is a warning: {problems:#?}"
    );
    let text = logs.text();
    assert!(
        text.contains("rate limit pause"),
        "the skipped call is logged:\n{text}"
    );

    tokio::time::sleep(pause).await;
    env.simulator.set_responder(None);
    let third = scrape_in_time(&env).await;
    assert_eq!(
        env.simulator.request_count("/balance"),
        2,
        "called again after the pause"
    );
    assert_eq!(value(&third, "astro_up"), Some(1.0));
    assert!(!logs.text().contains(TOKEN));
}

#[tokio::test(flavor = "current_thread")]
async fn rate_limit_with_retry_after_seconds() {
    let reply = Reply::error(429, "Too many requests").with_header("Retry-After", "1");
    check_rate_limit(reply, Options::default(), Duration::from_millis(1100)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn rate_limit_with_retry_after_date() {
    let until = std::time::SystemTime::now() + Duration::from_secs(2);
    let reply = Reply::error(429, "Too many requests")
        .with_header("Retry-After", &httpdate::fmt_http_date(until));
    check_rate_limit(reply, Options::default(), Duration::from_millis(2100)).await;
}

#[tokio::test(flavor = "current_thread")]
async fn rate_limit_without_retry_after() {
    let options = Options {
        rate_limit_pause: Duration::from_millis(700),
        ..Options::default()
    };
    check_rate_limit(
        Reply::error(429, "Too many requests"),
        options,
        Duration::from_millis(800),
    )
    .await;
}

/// Returns a loopback port on which nothing listens.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a port");
    listener.local_addr().expect("local address").port()
}

#[tokio::test(flavor = "current_thread")]
async fn refused_connection_recovers_when_the_api_returns() {
    let (logs, _guard) = CapturedLogs::start();
    let port = closed_port().await;
    let options = Options {
        api_url: Some(format!("http://127.0.0.1:{port}/api/v1")),
        ..Options::default()
    };
    let env = TestEnv::start_with(empty_account(), options).await;

    let body = scrape_in_time(&env).await;
    assert_eq!(value(&body, "astro_up"), Some(0.0));
    assert_eq!(success(&body, "balance"), Some(0.0));
    assert_eq!(success(&body, "ports"), Some(0.0));
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="balance",code="error"}"#
        ),
        Some(2.0),
        "one retry"
    );
    let problems = logs.problems();
    assert_eq!(problems.len(), 3, "one line per call: {problems:#?}");
    assert!(
        problems
            .iter()
            .all(|line| line.contains("connection failed")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|line| line.contains("balance")),
        "{problems:#?}"
    );

    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("binding the API port again");
    let _api = Simulator::start(listener, empty_account(), TOKEN.to_owned())
        .await
        .expect("starting the API");
    let recovered = scrape_in_time(&env).await;
    assert_eq!(value(&recovered, "astro_up"), Some(1.0));
    assert!(!logs.text().contains(TOKEN));
}

/// Resolves one host name to a loopback address while `resolvable` is set, and fails
/// otherwise, without any DNS query.
#[derive(Debug)]
struct FakeResolver {
    resolvable: AtomicBool,
    address: Mutex<Option<SocketAddr>>,
}

impl Resolve for FakeResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let address = *self.address.lock().expect("resolver address");
        let result: Result<Addrs, Box<dyn std::error::Error + Send + Sync>> =
            match (self.resolvable.load(Ordering::SeqCst), address) {
                (true, Some(address)) => Ok(Box::new(std::iter::once(address))),
                _ => Err(format!("no such host: {}", name.as_str()).into()),
            };
        Box::pin(async move { result })
    }
}

#[tokio::test(flavor = "current_thread")]
async fn unresolvable_host_recovers_when_it_resolves() {
    let (logs, _guard) = CapturedLogs::start();
    let resolver = Arc::new(FakeResolver {
        resolvable: AtomicBool::new(false),
        address: Mutex::new(None),
    });
    let port = closed_port().await;
    let options = Options {
        api_url: Some(format!("http://api.astro.invalid:{port}/api/v1")),
        resolver: Some(resolver.clone()),
        ..Options::default()
    };
    let env = TestEnv::start_with(empty_account(), options).await;

    let body = scrape_in_time(&env).await;
    assert_eq!(value(&body, "astro_up"), Some(0.0));
    let problems = logs.problems();
    assert_eq!(problems.len(), 3, "one line per call: {problems:#?}");
    assert!(
        problems.iter().all(|line| line.contains("no such host")),
        "{problems:#?}"
    );

    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("binding the API port");
    let _api = Simulator::start(listener, empty_account(), TOKEN.to_owned())
        .await
        .expect("starting the API");
    *resolver.address.lock().expect("resolver address") =
        Some(SocketAddr::from(([127, 0, 0, 1], port)));
    resolver.resolvable.store(true, Ordering::SeqCst);
    let recovered = scrape_in_time(&env).await;
    assert_eq!(value(&recovered, "astro_up"), Some(1.0));
    assert!(!logs.text().contains(TOKEN));
}

/// Accepts connections on `listener`. Until `tls_ready` is set it replies to a TLS
/// client hello with plain text and hangs up. From then on it terminates TLS and
/// forwards the connection to `upstream`.
fn start_tls_front(
    listener: TcpListener,
    server: Arc<tokio_rustls::rustls::ServerConfig>,
    tls_ready: Arc<AtomicBool>,
    upstream: SocketAddr,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            if !tls_ready.load(Ordering::SeqCst) {
                use tokio::io::AsyncWriteExt;
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS")
                    .await;
                continue;
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut backend) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
            });
        }
    });
}

#[tokio::test(flavor = "current_thread")]
async fn failed_tls_handshake_recovers_when_tls_works() {
    let (logs, _guard) = CapturedLogs::start();
    let certificates = common::tls::TestCertificates::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
    let port = listener.local_addr().expect("local address").port();
    let options = Options {
        api_url: Some(format!("https://127.0.0.1:{port}/api/v1")),
        extra_root_certificates: vec![certificates.ca()],
        ..Options::default()
    };
    let env = TestEnv::start_with(empty_account(), options).await;
    let tls_ready = Arc::new(AtomicBool::new(false));
    start_tls_front(
        listener,
        certificates.server_config(),
        Arc::clone(&tls_ready),
        env.simulator.local_addr(),
    );

    let body = scrape_in_time(&env).await;
    assert_eq!(value(&body, "astro_up"), Some(0.0));
    assert_eq!(success(&body, "balance"), Some(0.0));
    assert_eq!(success(&body, "ports"), Some(0.0));
    let problems = logs.problems();
    assert_eq!(problems.len(), 3, "one line per call: {problems:#?}");
    assert!(
        problems.iter().all(|line| line.contains("request failed")),
        "{problems:#?}"
    );

    tls_ready.store(true, Ordering::SeqCst);
    let recovered = scrape_in_time(&env).await;
    assert_eq!(
        value(&recovered, "astro_up"),
        Some(1.0),
        "TLS through the test CA works"
    );
    assert!(!logs.text().contains(TOKEN));
}

#[tokio::test(flavor = "current_thread")]
async fn echoed_token_is_redacted_everywhere() {
    let echo = format!("token {TOKEN} is invalid");
    let fault = Fault::new(
        "echoed token",
        "/balance",
        Reply::error(500, &echo),
        "[REDACTED]",
    );
    check_fault(fault, Options::default()).await;
}

#[tokio::test(flavor = "current_thread")]
async fn odd_numbers_become_finite_samples_or_none() {
    let (logs, _guard) = CapturedLogs::start();
    let page = r#"{"status":"ok","total":4,"data":{"ports":[
        {"id":1,"country":"A","traffic":{"left":-5,"used":"NaN","total":"Infinity"}},
        {"id":2,"country":"B","traffic":{"left":1e300,"used":"-0","total":1.7976931348623157e308}},
        {"id":3,"country":"C","traffic":{"left":"1e400","used":18446744073709551616,"total":-1e-400}},
        {"id":4,"country":"D","traffic":{"left":"0x10","used":" 12 ","total":"1_000"}}
    ]}}"#;
    let env = TestEnv::start_scripted(Options::default(), move |request: &ApiRequest| {
        if request.path != "/ports" {
            return None;
        }
        if request.query_value("status") == Some("archived") {
            return Some(Reply::json(
                200,
                r#"{"status":"ok","total":0,"data":{"ports":[]}}"#,
            ));
        }
        Some(Reply::json(200, page))
    })
    .await;
    let body = scrape_in_time(&env).await;

    let left = |port: &str, country: &str| {
        value(
            &body,
            &format!(
                r#"astro_port_traffic_left_bytes{{port="{port}",country="{country}",operator=""}}"#
            ),
        )
    };
    let used = |port: &str, country: &str| {
        value(
            &body,
            &format!(
                r#"astro_port_traffic_used_bytes{{port="{port}",country="{country}",operator=""}}"#
            ),
        )
    };
    assert_eq!(left("1", "A"), Some(-5.0));
    assert_eq!(used("1", "A"), None, "NaN is dropped");
    assert_eq!(left("2", "B"), Some(1e300));
    assert_eq!(used("2", "B"), Some(0.0));
    assert_eq!(left("3", "C"), None, "a string beyond f64 is dropped");
    assert_eq!(used("3", "C"), Some(18446744073709551616.0));
    assert_eq!(left("4", "D"), None, "hexadecimal is not a number here");
    assert_eq!(used("4", "D"), Some(12.0));
    assert_eq!(value(&body, "astro_up"), Some(1.0));
    assert!(!logs.text().contains(TOKEN));
}

#[tokio::test(flavor = "current_thread")]
async fn number_beyond_f64_drops_its_port_entry() {
    let (logs, _guard) = CapturedLogs::start();
    let page = r#"{"status":"ok","total":2,"data":{"ports":[
        {"id":1,"country":"A","traffic":{"left":1e309}},
        {"id":2,"country":"B","traffic":{"left":5}}
    ]}}"#;
    let env = TestEnv::start_scripted(Options::default(), move |request: &ApiRequest| {
        (request.path == "/ports" && request.query_value("status") == Some("active"))
            .then(|| Reply::json(200, page))
    })
    .await;
    let body = scrape_in_time(&env).await;

    assert!(
        !body.contains(r#"port="1""#),
        "port 1 is unreadable:\n{body}"
    );
    assert!(body.contains(r#"astro_port_traffic_left_bytes{port="2",country="B",operator=""} 5"#));
    assert_eq!(
        success(&body, "ports"),
        Some(1.0),
        "the unreadable entry counts toward the total"
    );
    assert_eq!(
        env.simulator.request_count("/ports"),
        2,
        "one active page and one archived page"
    );
    let text = logs.text();
    assert!(
        text.contains("out of range"),
        "the debug line names the cause:\n{text}"
    );
    assert_eq!(logs.problems(), Vec::<String>::new());
}

#[tokio::test(flavor = "current_thread")]
async fn request_cut_off_at_the_deadline_is_counted() {
    let (_logs, _guard) = CapturedLogs::start();
    let env = TestEnv::start_scripted(Options::default(), |request: &ApiRequest| {
        (request.path == "/balance")
            .then(|| Reply::json(200, balance_json()).with_delay(Duration::from_secs(30)))
    })
    .await;
    scrape_in_time(&env).await;
    let body = scrape_in_time(&env).await;

    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{endpoint="balance",code="timeout"}"#
        ),
        Some(2.0),
        "the request of each scrape was cut off"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn oversized_error_body_keeps_its_status() {
    let (logs, _guard) = CapturedLogs::start();
    let padding = "x".repeat(8 * 1024);
    let body = format!(r#"{{"status":"error","message":"down","padding":"{padding}"}}"#);
    let options = Options {
        max_body_size: 1024,
        ..Options::default()
    };
    let env = TestEnv::start_scripted(options, move |request: &ApiRequest| {
        (request.path == "/balance").then(|| Reply::json(503, body.clone()))
    })
    .await;
    let scraped = scrape_in_time(&env).await;

    assert_eq!(env.simulator.request_count("/balance"), 2, "503 is retried");
    assert_eq!(success(&scraped, "balance"), Some(0.0));
    let problems = logs.problems();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("HTTP 503"), "{}", problems[0]);
}
