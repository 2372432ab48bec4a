//! Protection of the exporter by `--web.config.file`: TLS and mutual TLS with real
//! handshakes, basic authentication on every path but the health check, security
//! headers, reloads, and a server that keeps serving under slow or oversized clients.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use astro_exporter::simulator::Account;
use base64::Engine;
use common::tls::TestCertificates;
use common::{Options, TestEnv, value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Cost 4 is the lowest bcrypt allows, which keeps the tests fast; real files use 10
/// or more.
const TEST_BCRYPT_COST: u32 = 4;

fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash(password, TEST_BCRYPT_COST).expect("bcrypt hash")
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// Writes the web configuration file, and the certificates it names, into a fresh
/// temporary folder.
struct WebFiles {
    directory: tempfile::TempDir,
}

impl WebFiles {
    fn new() -> WebFiles {
        WebFiles {
            directory: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.directory.path().join("web.yml")
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.directory.path().join(name), contents).expect("writing a test file");
    }

    fn write_config(&self, contents: &str) {
        self.write("web.yml", contents);
    }

    /// Writes the server certificate and key, named relative to the file as users
    /// usually do.
    fn write_certificates(&self, certificates: &TestCertificates) {
        self.write("server.crt", &certificates.server_certificate_pem);
        self.write("server.key", &certificates.server_key_pem);
        self.write("ca.crt", &certificates.ca_pem);
    }
}

async fn start_with_file(files: &WebFiles) -> TestEnv {
    let options = Options {
        web_config_file: Some(files.config_path()),
        ..Options::default()
    };
    TestEnv::start_with(Account::demo(time::OffsetDateTime::now_utc()), options).await
}

fn https_url(env: &TestEnv, path: &str) -> String {
    format!(
        "{}{path}",
        env.exporter_url.replacen("http://", "https://", 1)
    )
}

fn tls_client(certificates: &TestCertificates) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([certificates.ca()])
}

/// Sends a request as raw bytes, so that no client library normalises the path, and
/// returns the status code of the response, or `None` when the server closed the
/// connection without one.
async fn raw_status(address: &str, request: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(address).await.expect("connecting");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sending the request");
    let mut response = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    assert!(read.is_ok(), "no answer within 10 s to {request:?}");
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn address(env: &TestEnv) -> String {
    env.exporter_url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn tls_scrape_works_and_plain_http_fails() {
    let certificates = TestCertificates::new();
    let files = WebFiles::new();
    files.write_certificates(&certificates);
    files.write_config("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    let env = start_with_file(&files).await;

    let client = tls_client(&certificates).build().expect("TLS client");
    let response = client
        .get(https_url(&env, "/metrics"))
        .send()
        .await
        .expect("TLS scrape");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "ALPN offers HTTP/2"
    );
    let body = response.text().await.expect("body");
    assert_eq!(value(&body, "astro_up"), Some(1.0));

    let plain = env
        .http
        .get(format!("{}/metrics", env.exporter_url))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");
}

#[tokio::test]
async fn tls13_minimum_rejects_tls12_clients() {
    let certificates = TestCertificates::new();
    let files = WebFiles::new();
    files.write_certificates(&certificates);
    files.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n",
    );
    let env = start_with_file(&files).await;

    let tls12 = tls_client(&certificates)
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .expect("TLS 1.2 client");
    assert!(
        tls12
            .get(https_url(&env, "/-/healthy"))
            .send()
            .await
            .is_err()
    );
    let tls13 = tls_client(&certificates).build().expect("TLS client");
    let response = tls13
        .get(https_url(&env, "/-/healthy"))
        .send()
        .await
        .expect("TLS 1.3");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn mutual_tls_requires_trusted_client_certificate() {
    let certificates = TestCertificates::new();
    let files = WebFiles::new();
    files.write_certificates(&certificates);
    files.write_config(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
         \x20 client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let env = start_with_file(&files).await;

    let with_certificate = tls_client(&certificates)
        .identity(certificates.client_identity())
        .build()
        .expect("client with a certificate");
    let response = with_certificate
        .get(https_url(&env, "/metrics"))
        .send()
        .await
        .expect("mutual TLS scrape");
    assert_eq!(response.status(), 200);

    let without_certificate = tls_client(&certificates)
        .build()
        .expect("client without a certificate");
    let refused = without_certificate
        .get(https_url(&env, "/metrics"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client without a certificate must be refused: {refused:?}"
    );

    let stranger = TestCertificates::new();
    let foreign = tls_client(&certificates)
        .identity(stranger.client_identity())
        .build()
        .expect("client with a certificate from another CA");
    let refused = foreign.get(https_url(&env, "/metrics")).send().await;
    assert!(
        refused.is_err(),
        "a certificate from another CA must be refused: {refused:?}"
    );
}

#[tokio::test]
async fn basic_auth_accepts_right_and_rejects_wrong_credentials() {
    let files = WebFiles::new();
    files.write_config(&format!(
        "basic_auth_users:\n  alice: {}\n",
        bcrypt_hash("wonderland")
    ));
    let env = start_with_file(&files).await;

    let right = env
        .get(
            "/metrics",
            &[("authorization", &basic("alice", "wonderland"))],
        )
        .await;
    assert_eq!(right.status(), 200);

    for (case, authorization) in [
        ("wrong password", Some(basic("alice", "rabbit"))),
        ("unknown user", Some(basic("mallory", "wonderland"))),
        ("other scheme", Some("Bearer wonderland".to_owned())),
        ("missing", None),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let response = env.get("/metrics", &headers).await;
        assert_eq!(response.status(), 401, "{case}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|value| value.to_str().unwrap_or(""));
        assert!(
            challenge.is_some_and(|value| value.starts_with("Basic")),
            "{case}: {challenge:?}"
        );
    }

    let health = env.get("/-/healthy", &[]).await;
    assert_eq!(
        health.status(),
        200,
        "the health check needs no credentials"
    );
    let landing = env.get("/", &[]).await;
    assert_eq!(landing.status(), 401, "the landing page needs credentials");
}

#[tokio::test]
async fn no_path_spelling_gets_around_authentication() {
    let files = WebFiles::new();
    files.write_config(&format!(
        "basic_auth_users:\n  alice: {}\n",
        bcrypt_hash("wonderland")
    ));
    let env = start_with_file(&files).await;
    let address = address(&env);
    let credentials = basic("alice", "wonderland");

    for path in [
        "/metrics",
        "//metrics",
        "/metrics/",
        "/%6Detrics",
        "/metrics?x",
        "/./metrics",
        "/-/healthy/../../metrics",
    ] {
        let anonymous =
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        assert_eq!(
            raw_status(&address, &anonymous).await,
            Some(401),
            "{path} without credentials"
        );

        let authorized = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {credentials}\r\nConnection: close\r\n\r\n"
        );
        let expected = if path == "/metrics" || path == "/metrics?x" {
            200
        } else {
            404
        };
        assert_eq!(
            raw_status(&address, &authorized).await,
            Some(expected),
            "{path} with credentials"
        );
    }
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let files = WebFiles::new();
    files.write_config(&format!(
        "basic_auth_users:\n  alice: {}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n\
         \x20   Strict-Transport-Security: max-age=31536000\n",
        bcrypt_hash("wonderland")
    ));
    let env = start_with_file(&files).await;

    for (path, authorization) in [
        ("/metrics", Some(basic("alice", "wonderland"))),
        ("/metrics", None),
        ("/-/healthy", None),
        ("/nope", Some(basic("alice", "wonderland"))),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let response = env.get(path, &headers).await;
        assert_eq!(response.headers()["x-frame-options"], "deny", "{path}");
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

#[tokio::test]
async fn changed_file_reloads_unless_invalid() {
    let files = WebFiles::new();
    files.write_config(&format!(
        "basic_auth_users:\n  alice: {}\n",
        bcrypt_hash("wonderland")
    ));
    let env = start_with_file(&files).await;
    let alice = basic("alice", "wonderland");
    let bob = basic("bob", "builder");
    assert_eq!(
        env.get("/metrics", &[("authorization", &alice)])
            .await
            .status(),
        200
    );

    files.write_config(&format!(
        "basic_auth_users:\n  bob: {}\n# changed\n",
        bcrypt_hash("builder")
    ));
    wait_for_status(&env, &bob, 200).await;
    assert_eq!(
        env.get("/metrics", &[("authorization", &alice)])
            .await
            .status(),
        401
    );

    files.write_config("basic_auth_users:\n  bob: not-a-hash\n");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.get("/metrics", &[("authorization", &bob)])
            .await
            .status(),
        200,
        "an invalid file keeps the last good configuration"
    );
}

/// Polls until a scrape with `authorization` gets `status`, for at most five seconds.
async fn wait_for_status(env: &TestEnv, authorization: &str, status: u16) {
    let started = Instant::now();
    loop {
        let response = env
            .get("/metrics", &[("authorization", authorization)])
            .await;
        if response.status() == status {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {} after 5 s",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn slow_client_is_cut_off_without_blocking() {
    let env = TestEnv::start(common::empty_account()).await;
    let address = address(&env);
    let mut slow = TcpStream::connect(&address)
        .await
        .expect("connecting the slow client");
    let drip = tokio::spawn(async move {
        let request =
            format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa");
        let started = Instant::now();
        for byte in request.bytes() {
            if slow.write_all(&[byte]).await.is_err() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        None
    });

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let body = env.scrape().await;
    assert_eq!(
        value(&body, "astro_up"),
        Some(1.0),
        "a normal scrape succeeds meanwhile"
    );

    let cut_off = drip.await.expect("slow client task");
    let cut_off =
        cut_off.expect("the server must close a connection that sends its headers this slowly");
    assert!(
        cut_off < Duration::from_secs(20),
        "closed after {cut_off:?}"
    );
}

#[tokio::test]
async fn oversized_header_is_rejected() {
    let env = TestEnv::start(common::empty_account()).await;
    let address = address(&env);
    let padding = "a".repeat(64 * 1024);
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nX-Padding: {padding}\r\nConnection: close\r\n\r\n"
    );

    let mut stream = TcpStream::connect(&address).await.expect("connecting");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "expected 431 or a closed connection, got {:?}",
        text.lines().next()
    );
    assert_eq!(env.simulator.total_request_count(), 0, "no scrape was made");
}

#[tokio::test]
async fn request_body_is_rejected() {
    let env = TestEnv::start(common::empty_account()).await;
    let response = env
        .http
        .get(format!("{}/metrics", env.exporter_url))
        .body("unexpected")
        .send()
        .await
        .expect("request with a body");

    assert_eq!(response.status(), 413);
    assert_eq!(env.simulator.total_request_count(), 0);
}

#[tokio::test]
async fn metrics_are_gzipped_when_accepted() {
    let env = TestEnv::start(common::empty_account()).await;
    let response = env.get("/metrics", &[("accept-encoding", "gzip")]).await;

    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["vary"], "Accept-Encoding");
    let compressed = response.bytes().await.expect("body");
    let mut text = String::new();
    flate2::read::GzDecoder::new(compressed.as_ref())
        .read_to_string(&mut text)
        .expect("valid gzip");
    assert_eq!(value(&text, "astro_up"), Some(1.0));

    let plain = env.get("/metrics", &[]).await;
    assert!(plain.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn http2_is_served_without_tls() {
    let env = TestEnv::start(common::empty_account()).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("HTTP/2 client");
    let response = client
        .get(format!("{}/metrics", env.exporter_url))
        .send()
        .await
        .expect("HTTP/2 scrape");

    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn http2_can_be_turned_off() {
    let files = WebFiles::new();
    files.write_config("http_server_config:\n  http2: false\n");
    let env = start_with_file(&files).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("HTTP/2 client");

    assert!(
        client
            .get(format!("{}/metrics", env.exporter_url))
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        env.get("/metrics", &[]).await.status(),
        200,
        "HTTP/1.1 still works"
    );
}

#[test]
fn invalid_file_at_start_exits_2() {
    let files = WebFiles::new();
    files.write_config("basic_auth_users:\n  alice: x\n");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_astro-exporter"))
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(files.config_path())
        .env_remove("ASTRO_EXPORTER_WEB_CONFIG_FILE")
        .output()
        .expect("running astro-exporter");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("bcrypt"), "{stderr}");
}

/// Keeps the file's size and modification time, so that only SIGHUP can make the
/// exporter notice the change.
fn rewrite_unnoticed(path: &Path, contents: &str) {
    let before = std::fs::metadata(path).expect("file metadata");
    assert_eq!(
        before.len(),
        contents.len() as u64,
        "the new contents must have the same size"
    );
    std::fs::write(path, contents).expect("rewriting the file");
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("opening the file");
    file.set_modified(before.modified().expect("modification time"))
        .expect("restoring the modification time");
}

#[tokio::test]
async fn sighup_reloads_the_file() {
    let files = WebFiles::new();
    let alice_hash = bcrypt_hash("wonderland");
    let carol_hash = bcrypt_hash("wonderland");
    files.write_config(&format!("basic_auth_users:\n  alice: {alice_hash}\n"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_astro-exporter"))
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(files.config_path())
        .env_remove("ASTRO_EXPORTER_WEB_CONFIG_FILE")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting astro-exporter");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut start_line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut start_line).expect("start line");
    let address = start_line
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("address="))
        .expect("address in the start line")
        .to_owned();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client");
    let status_of = |user: &'static str| {
        let request = http
            .get(format!("http://{address}/metrics"))
            .header("authorization", basic(user, "wonderland"));
        async move { request.send().await.expect("request").status().as_u16() }
    };

    assert_eq!(status_of("alice").await, 200);
    rewrite_unnoticed(
        &files.config_path(),
        &format!("basic_auth_users:\n  carol: {carol_hash}\n"),
    );
    // Longer than the exporter's check interval: the unchanged size and time hide the edit.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        status_of("alice").await,
        200,
        "the edit is not noticed without SIGHUP"
    );

    let sent = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(sent.success());
    let started = Instant::now();
    while status_of("carol").await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "SIGHUP did not reload the file"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status_of("alice").await, 401);
    let _ = child.kill();
    let _ = child.wait();
}
