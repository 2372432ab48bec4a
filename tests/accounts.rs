//! Several Astro accounts in one exporter: `--config.file`, `/probe?account=NAME`,
//! `--config.check`, and the `check` and `simulate` commands.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use astro_exporter::simulator::{Reply, Simulator, SimulatorHandle};
use common::{empty_account, samples, value};
use tokio::net::TcpListener;

const BINARY: &str = env!("CARGO_BIN_EXE_astro-exporter");
const MAIN_TOKEN: &str = "0123456789abcdef";
const RESALE_TOKEN: &str = "fedcba9876543210";

/// Returns a command for the binary that inherits none of the exporter's variables.
fn exporter_command() -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("ASTRO_") {
            command.env_remove(name);
        }
    }
    command
}

async fn simulator_with_balance(token: &str, balance: f64) -> SimulatorHandle {
    let mut account = empty_account();
    account.balance = balance;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a simulator");
    Simulator::start(listener, account, token.to_owned())
        .await
        .expect("starting a simulator")
}

/// Writes a configuration with the accounts main (token file) and resale (token
/// variable `RESALE_TOKEN`).
fn write_config(
    directory: &Path,
    main: &SimulatorHandle,
    resale: &SimulatorHandle,
    extra: &str,
) -> String {
    std::fs::write(directory.join("main.token"), format!("{MAIN_TOKEN}\n"))
        .expect("writing the token");
    let config = format!(
        "accounts:\n  main:\n    token_file: main.token\n    api_url: {}\n  resale:\n    token_env: RESALE_TOKEN\n\
         \x20   api_url: {}\n    timeout: 1s\n{extra}",
        main.base_url(),
        resale.base_url()
    );
    let path = directory.join("astro.yml");
    std::fs::write(&path, config).expect("writing the config");
    path.to_str().expect("UTF-8 path").to_owned()
}

/// A running exporter, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mut command: Command) -> Running {
    let mut child = command
        .args(["--web.listen-address", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting astro-exporter");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("start line");
    let address = line
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("address="))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // Keep reading so that the exporter never blocks on a full pipe.
    std::thread::spawn(move || for _ in stderr.lines() {});
    Running {
        child,
        url: format!("http://{address}"),
    }
}

async fn get(url: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client");
    let response = client.get(url).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test]
async fn probe_scrapes_each_configured_account() {
    let main = simulator_with_balance(MAIN_TOKEN, 10.0).await;
    let resale = simulator_with_balance(RESALE_TOKEN, 20.0).await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = write_config(directory.path(), &main, &resale, "");
    let mut command = exporter_command();
    command
        .args(["--config.file", &config])
        .env("RESALE_TOKEN", RESALE_TOKEN);
    let exporter = start(command);

    let (status, body) = get(&format!("{}/probe?account=main", exporter.url)).await;
    assert_eq!(status, 200);
    assert_eq!(value(&body, r#"astro_balance{currency="USD"}"#), Some(10.0));
    assert_eq!(value(&body, "astro_up"), Some(1.0));
    assert!(
        !body.contains("process_"),
        "a probe carries only the account's metrics"
    );

    let (_, body) = get(&format!("{}/probe?account=resale", exporter.url)).await;
    assert_eq!(value(&body, r#"astro_balance{currency="USD"}"#), Some(20.0));

    let (status, body) = get(&format!("{}/metrics", exporter.url)).await;
    assert_eq!(status, 200);
    assert!(
        samples(&body, "astro_balance").is_empty(),
        "no default account: {body}"
    );
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{account="main",endpoint="balance",code="200"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &body,
            r#"astro_api_requests_total{account="resale",endpoint="balance",code="200"}"#
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn unknown_or_missing_account_is_400() {
    let main = simulator_with_balance(MAIN_TOKEN, 10.0).await;
    let resale = simulator_with_balance(RESALE_TOKEN, 20.0).await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = write_config(directory.path(), &main, &resale, "");
    let mut command = exporter_command();
    command
        .args(["--config.file", &config])
        .env("RESALE_TOKEN", RESALE_TOKEN);
    let exporter = start(command);

    for path in ["/probe?account=nobody", "/probe", "/probe?account="] {
        let (status, body) = get(&format!("{}{path}", exporter.url)).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(body.lines().count(), 1, "{path}: {body:?}");
    }
    let (_, body) = get(&format!("{}/probe?account=nobody", exporter.url)).await;
    assert!(body.contains("nobody"), "{body}");
}

#[tokio::test]
async fn account_timeout_bounds_its_probe() {
    let main = simulator_with_balance(MAIN_TOKEN, 10.0).await;
    let resale = simulator_with_balance(RESALE_TOKEN, 20.0).await;
    resale.set_responder(Some(Arc::new(
        |_: &astro_exporter::simulator::ApiRequest| {
            Some(Reply::json(200, "{}").with_delay(Duration::from_secs(10)))
        },
    )));
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = write_config(directory.path(), &main, &resale, "");
    let mut command = exporter_command();
    command
        .args(["--config.file", &config])
        .env("RESALE_TOKEN", RESALE_TOKEN);
    let exporter = start(command);

    let started = Instant::now();
    let (status, body) = get(&format!("{}/probe?account=resale", exporter.url)).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(value(&body, "astro_up"), Some(0.0));
}

#[tokio::test]
async fn metrics_path_keeps_the_token_account() {
    let main = simulator_with_balance(MAIN_TOKEN, 10.0).await;
    let resale = simulator_with_balance(RESALE_TOKEN, 20.0).await;
    let single = simulator_with_balance("1111222233334444", 30.0).await;
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = write_config(directory.path(), &main, &resale, "");
    let mut command = exporter_command();
    command
        .args([
            "--config.file",
            &config,
            "--astro.api-url",
            &single.base_url(),
        ])
        .env("RESALE_TOKEN", RESALE_TOKEN)
        .env("ASTRO_API_TOKEN", "1111222233334444");
    let exporter = start(command);

    let (_, body) = get(&format!("{}/metrics", exporter.url)).await;
    assert_eq!(value(&body, r#"astro_balance{currency="USD"}"#), Some(30.0));
    let (_, body) = get(&format!("{}/probe?account=main", exporter.url)).await;
    assert_eq!(value(&body, r#"astro_balance{currency="USD"}"#), Some(10.0));
}

#[test]
fn config_check_accepts_a_valid_file() {
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::write(directory.path().join("t"), "abc\n").expect("writing the token");
    let path = directory.path().join("astro.yml");
    std::fs::write(&path, "accounts:\n  main:\n    token_file: t\n").expect("writing the config");
    let output = exporter_command()
        .args(["--config.check", "--config.file"])
        .arg(&path)
        .output()
        .expect("running astro-exporter");

    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 accounts"));
}

#[test]
fn config_check_lists_every_problem_and_exits_2() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("astro.yml");
    std::fs::write(
        &path,
        "accounts:\n  main:\n    token_env: UNSET_VARIABLE_FOR_TEST\n  resale:\n    token_file: missing.token\n",
    )
    .expect("writing the config");
    let output = exporter_command()
        .args(["--config.check", "--config.file"])
        .arg(&path)
        .output()
        .expect("running astro-exporter");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2: account \"main\""), "{stderr}");
    assert!(stderr.contains("UNSET_VARIABLE_FOR_TEST"), "{stderr}");
    assert!(stderr.contains("line 4: account \"resale\""), "{stderr}");
    assert!(stderr.contains("missing.token"), "{stderr}");
}

#[test]
fn config_check_names_unknown_key() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("astro.yml");
    std::fs::write(
        &path,
        "accounts:\n  main:\n    token_env: X\n    timeuot: 5s\n",
    )
    .expect("writing");
    let output = exporter_command()
        .args(["--config.check", "--config.file"])
        .arg(&path)
        .output()
        .expect("running astro-exporter");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("timeuot"), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
}

#[test]
fn check_command_summarises_the_demo_account() {
    let output = exporter_command()
        .args(["check", "--demo"])
        .output()
        .expect("running check");

    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("default: OK\n"), "{stdout}");
    assert!(stdout.contains("balance: 42.17 USD"), "{stdout}");
    assert!(stdout.contains("17 active, 40 archived"), "{stdout}");
    assert!(stdout.contains("least traffic left: port"), "{stdout}");
    assert!(stdout.contains("expires soonest: port"), "{stdout}");
}

#[tokio::test]
async fn check_command_reports_each_failing_account() {
    let main = simulator_with_balance(MAIN_TOKEN, 10.0).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
    let closed = listener.local_addr().expect("address").port();
    drop(listener);
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::write(directory.path().join("main.token"), MAIN_TOKEN).expect("writing the token");
    let config = format!(
        "accounts:\n  main:\n    token_file: main.token\n    api_url: {}\n  wrong-token:\n    token_env: WRONG\n\
         \x20   api_url: {}\n  unreachable:\n    token_env: WRONG\n    api_url: http://127.0.0.1:{closed}/api/v1\n",
        main.base_url(),
        main.base_url()
    );
    let path = directory.path().join("astro.yml");
    std::fs::write(&path, config).expect("writing the config");

    let output = tokio::task::spawn_blocking(move || {
        exporter_command()
            .args(["check", "--config.file"])
            .arg(&path)
            .env("WRONG", "0000000000000000")
            .output()
            .expect("running check")
    })
    .await
    .expect("check command");

    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("main: OK"), "{stdout}");
    assert!(
        stdout.contains("wrong-token: FAILED: token rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unreachable: FAILED: API unreachable"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("0000000000000000"),
        "no token in the output"
    );
}

/// Starts `astro-exporter simulate` on a free loopback port with the token
/// `abcdef0123456789` and `extra` flags, and returns it with its base URL.
fn start_simulate_command(extra: &[&str]) -> (Child, String) {
    let mut child = exporter_command()
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--token",
            "abcdef0123456789",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the simulator");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("first line");
    let base_url = line.trim().rsplit(' ').next().expect("base URL").to_owned();
    (child, base_url)
}

#[tokio::test]
async fn simulate_command_serves_the_api() {
    let (mut child, base_url) = start_simulate_command(&[]);

    let (status, body) = get(&format!("{base_url}/balance?token=abcdef0123456789")).await;
    let (wrong_status, _) = get(&format!("{base_url}/balance?token=wrong")).await;
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"balance\""), "{body}");
    assert_eq!(wrong_status, 401);
}

#[tokio::test]
async fn simulate_command_waits_the_latency() {
    let (mut child, base_url) = start_simulate_command(&["--latency", "300ms"]);

    let started = Instant::now();
    let (status, body) = get(&format!("{base_url}/balance?token=abcdef0123456789")).await;
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(status, 200, "{body}");
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
}

#[test]
fn simulate_command_rejects_an_invalid_latency() {
    let mut child = exporter_command()
        .args(["simulate", "--listen", "127.0.0.1:0", "--latency", "soon"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the simulate command");
    // A command that accepted the value would serve until killed.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the command") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the simulate command accepted --latency soon and kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped stderr"), &mut stderr)
        .expect("reading stderr");

    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--latency"), "{stderr}");
    assert!(stderr.contains("invalid duration"), "{stderr}");
}
