//! The astro-exporter binary as an operator runs it: exit codes, log lines, signals,
//! and the token kept out of every log line and response.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use astro_exporter::simulator::{Reply, Simulator, SimulatorHandle};
use common::{TOKEN, empty_account};
use tokio::net::TcpListener;

const BINARY: &str = env!("CARGO_BIN_EXE_astro-exporter");

/// The exporter's environment variables, removed so that the caller's own settings
/// cannot change a test.
const EXPORTER_ENV: [&str; 15] = [
    "ASTRO_API_TOKEN",
    "ASTRO_API_TOKEN_FILE",
    "ASTRO_API_URL",
    "ASTRO_EXPORTER_WEB_LISTEN_ADDRESS",
    "ASTRO_EXPORTER_WEB_TELEMETRY_PATH",
    "ASTRO_EXPORTER_WEB_TIMEOUT_OFFSET",
    "ASTRO_EXPORTER_CA_FILE",
    "ASTRO_EXPORTER_TIMEOUT",
    "ASTRO_EXPORTER_CACHE_TTL",
    "ASTRO_EXPORTER_PAGE_SIZE",
    "ASTRO_EXPORTER_MAX_BODY_SIZE",
    "ASTRO_EXPORTER_DEMO",
    "ASTRO_EXPORTER_LOG_LEVEL",
    "ASTRO_EXPORTER_LOG_FORMAT",
    "RUST_LOG",
];

fn exporter_command() -> Command {
    let mut command = Command::new(BINARY);
    for name in EXPORTER_ENV {
        command.env_remove(name);
    }
    command
}

/// A running exporter process whose standard error is collected line by line.
struct RunningExporter {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    url: String,
}

impl RunningExporter {
    /// Starts the binary with `args` on a free loopback port and waits for its start
    /// line.
    fn start(mut command: Command, args: &[&str]) -> RunningExporter {
        let mut child = command
            .args(args)
            .args(["--web.listen-address", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting astro-exporter");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = BufReader::new(child.stderr.take().expect("piped stderr"));
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                collected.lock().expect("log lines").push(line);
            }
        });

        let started = Instant::now();
        let address = loop {
            let found = stderr
                .lock()
                .expect("log lines")
                .iter()
                .find(|line| line.contains("astro-exporter started"))
                .and_then(|line| field(line, "address"));
            if let Some(address) = found {
                break address;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no start line; stderr: {:?}",
                stderr.lock().expect("log lines")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        RunningExporter {
            child,
            stderr,
            url: format!("http://{address}"),
        }
    }

    /// Sends SIGTERM and returns the exit code and every line written to stderr.
    fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM failed");
        let code = self.child.wait().expect("waiting for the exporter").code();
        // The reader thread ends at end of file; give it a moment to store the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let lines = self.stderr.lock().expect("log lines").clone();
        (code, lines)
    }
}

impl Drop for RunningExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns the value of `key=value` in a logfmt line.
fn field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .map(|value| value.trim_matches('"').to_owned())
}

async fn start_simulator() -> SimulatorHandle {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding the simulator");
    Simulator::start(listener, empty_account(), TOKEN.to_owned())
        .await
        .expect("starting the simulator")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

#[test]
fn missing_token_exits_2_with_one_line() {
    let output = exporter_command().output().expect("running astro-exporter");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    assert!(lines[0].contains("ASTRO_API_TOKEN"), "{}", lines[0]);
    assert!(lines[0].contains("--astro.token-file"), "{}", lines[0]);
    assert!(lines[0].contains("--demo"), "{}", lines[0]);
}

#[test]
fn unreadable_token_file_exits_2_naming_the_file() {
    let output = exporter_command()
        .args(["--astro.token-file", "/nonexistent/astro.token"])
        .output()
        .expect("running astro-exporter");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 stderr");
    assert!(stderr.contains("/nonexistent/astro.token"), "{stderr}");
}

#[test]
fn invalid_flag_values_exit_2() {
    for args in [
        vec!["--demo", "--astro.timeout", "soon"],
        vec!["--demo", "--log.format", "xml"],
        vec!["--demo", "--astro.page-size", "0"],
        vec!["--demo", "--web.telemetry-path", "metrics"],
        vec!["--astro.api-url", "ftp://example.invalid/api"],
        vec!["--astro.ca-file", "/nonexistent/ca.pem"],
        vec!["--demo", "--astro.timeout", "1e19"],
        vec!["--demo", "--astro.timeout", "0"],
        vec!["--demo", "--astro.cache-ttl", "99999999999d"],
        vec!["--demo", "--web.listen-address", "nonsense"],
        vec!["--demo", "--web.listen-address", ":70000"],
        vec!["--demo", "--web.telemetry-path", "/"],
    ] {
        let output = exporter_command()
            .env("ASTRO_API_TOKEN", TOKEN)
            .args(&args)
            .output()
            .expect("running astro-exporter");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn help_lists_every_flag() {
    let output = exporter_command()
        .arg("--help")
        .output()
        .expect("running astro-exporter");
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");

    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--web.timeout-offset",
        "--astro.api-url",
        "--astro.token-file",
        "--astro.ca-file",
        "--astro.timeout",
        "--astro.cache-ttl",
        "--astro.page-size",
        "--astro.max-body-size",
        "--demo",
        "--log.level",
        "--log.format",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[tokio::test]
async fn token_is_absent_from_logs_and_responses() {
    let simulator = start_simulator().await;
    let echo = format!("token {TOKEN} is not allowed here");
    simulator.set_responder(Some(Arc::new(move |request| {
        (request.path == "/balance").then(|| Reply::error(500, &echo))
    })));
    let mut command = exporter_command();
    command.env("ASTRO_API_TOKEN", TOKEN);
    let exporter = RunningExporter::start(
        command,
        &[
            "--astro.api-url",
            &simulator.base_url(),
            "--log.level",
            "trace",
        ],
    );

    let client = http();
    let mut bodies = Vec::new();
    for path in ["/metrics", "/", "/-/healthy", "/no-such-page", "/metrics"] {
        let response = client
            .get(format!("{}{path}", exporter.url))
            .send()
            .await
            .expect("request to the exporter");
        let headers = format!("{:?}", response.headers());
        bodies.push(headers + &response.text().await.expect("body"));
    }
    simulator.set_responder(None);
    simulator.shutdown().await;
    let response = client
        .get(format!("{}/metrics", exporter.url))
        .send()
        .await
        .expect("scrape with the API down");
    bodies.push(response.text().await.expect("body"));
    let (code, lines) = exporter.terminate();

    assert_eq!(code, Some(0), "graceful exit on SIGTERM");
    for body in &bodies {
        assert!(!body.contains(TOKEN), "token in a response:\n{body}");
    }
    assert!(
        bodies[0].contains("astro_up 0"),
        "the balance call failed:\n{}",
        bodies[0]
    );
    let logs = lines.join("\n");
    assert!(!logs.contains(TOKEN), "token in the logs:\n{logs}");
    assert!(
        logs.contains("[REDACTED]"),
        "the echoed token must be redacted:\n{logs}"
    );
    assert!(
        logs.contains("level=trace") || logs.contains("level=debug"),
        "verbose logs expected:\n{logs}"
    );
    assert!(
        logs.contains("signal=SIGTERM"),
        "shutdown line expected:\n{logs}"
    );
}

#[tokio::test]
async fn failed_call_logs_one_warning() {
    let simulator = start_simulator().await;
    simulator.set_responder(Some(Arc::new(|request| {
        (request.path == "/balance").then(|| Reply::error(502, "upstream unavailable"))
    })));
    let mut command = exporter_command();
    command.env("ASTRO_API_TOKEN", TOKEN);
    let exporter = RunningExporter::start(command, &["--astro.api-url", &simulator.base_url()]);

    let response = http()
        .get(format!("{}/metrics", exporter.url))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let (_, lines) = exporter.terminate();

    let warnings: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("level=warn"))
        .collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert_eq!(field(warnings[0], "endpoint").as_deref(), Some("balance"));
    assert_eq!(field(warnings[0], "status").as_deref(), Some("502"));
    assert!(
        warnings[0].contains("upstream unavailable"),
        "{}",
        warnings[0]
    );
}

#[tokio::test]
async fn token_file_and_json_logs_work() {
    let simulator = start_simulator().await;
    let mut token_file = tempfile::NamedTempFile::new().expect("token file");
    std::io::Write::write_all(&mut token_file, format!("{TOKEN}\n").as_bytes())
        .expect("writing the token");
    let path = token_file.path().to_str().expect("UTF-8 path").to_owned();

    let mut command = exporter_command();
    command.args(["--log.format", "json"]);
    let mut child = command
        .args([
            "--astro.api-url",
            &simulator.base_url(),
            "--astro.token-file",
            &path,
        ])
        .args(["--web.listen-address", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting astro-exporter");
    let mut reader = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut first_line = String::new();
    reader.read_line(&mut first_line).expect("start line");
    let start: serde_json::Value = serde_json::from_str(&first_line).expect("JSON log line");
    let address = start["address"].as_str().expect("address field").to_owned();

    let body = http()
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(start["message"], "astro-exporter started");
    assert_eq!(start["level"], "INFO");
    assert!(
        body.contains("astro_up 1"),
        "token from the file must be accepted:\n{body}"
    );
}

#[tokio::test]
async fn demo_serves_a_simulated_account() {
    let exporter = RunningExporter::start(exporter_command(), &["--demo"]);
    let body = http()
        .get(format!("{}/metrics", exporter.url))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");

    assert!(body.contains("astro_up 1"), "{body}");
    let ports = body
        .lines()
        .filter(|line| line.starts_with("astro_port_info{"))
        .count();
    assert!(ports >= 12, "the demo account has {ports} active ports");
    assert!(
        body.contains("astro_ports_total{status=\"archived\"}"),
        "{body}"
    );
    assert!(body.contains("astro_balance{currency=\"USD\"}"), "{body}");
}
