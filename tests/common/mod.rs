//! Shared set-up for the integration tests: a simulated Astro API and an exporter,
//! both in this process on loopback port 0.

#![allow(dead_code)]

pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use astro_exporter::api::{Client, ClientConfig};
use astro_exporter::collect::Scraper;
use astro_exporter::config::parse_api_url;
use astro_exporter::metrics::ExporterMetrics;
use astro_exporter::secret::Token;
use astro_exporter::server::{Exporter, serve};
use astro_exporter::simulator::{Account, ApiRequest, Reply, Simulator, SimulatorHandle};
use astro_exporter::sources::Source;
use astro_exporter::web::WebConfigHandle;
use reqwest::dns::Resolve;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The token the simulated API accepts in these tests.
pub const TOKEN: &str = "0123456789abcdef";

/// The Accept header Prometheus sends.
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
    application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Reads a sample API response body from `tests/fixtures/astro-api/`.
pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/astro-api/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

/// A simulated API and an exporter pointed at it.
pub struct TestEnv {
    pub simulator: SimulatorHandle,
    pub exporter_url: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    watcher: tokio::task::JoinHandle<()>,
}

/// Options for [`TestEnv::start_with`].
#[derive(Clone)]
pub struct Options {
    pub page_size: u32,
    pub timeout: Duration,
    pub max_body_size: u64,
    pub cache_ttl: Duration,
    pub rate_limit_pause: Duration,
    /// The API URL the exporter uses, when it is not the simulator's.
    pub api_url: Option<String>,
    /// A host name resolver that replaces the system's.
    pub resolver: Option<Arc<dyn Resolve>>,
    /// CA certificates the exporter trusts for the API.
    pub extra_root_certificates: Vec<reqwest::Certificate>,
    /// The exporter's web configuration file, checked for changes every 50 ms.
    pub web_config_file: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            page_size: 100,
            timeout: Duration::from_secs(5),
            max_body_size: 32 * 1024 * 1024,
            cache_ttl: Duration::ZERO,
            rate_limit_pause: Duration::from_secs(60),
            api_url: None,
            resolver: None,
            extra_root_certificates: Vec::new(),
            web_config_file: None,
        }
    }
}

/// Returns the configuration of a client for the API at `api_url` with `options`.
pub fn client_config(api_url: &str, options: &Options) -> ClientConfig {
    ClientConfig {
        account: String::new(),
        base_url: parse_api_url(api_url).expect("API URL"),
        token: Token::new(TOKEN).expect("test token"),
        page_size: options.page_size,
        max_body_size: options.max_body_size,
        rate_limit_pause: options.rate_limit_pause,
        extra_root_certificates: options.extra_root_certificates.clone(),
    }
}

impl TestEnv {
    /// Starts a simulator serving `account` and an exporter with default options.
    pub async fn start(account: Account) -> TestEnv {
        TestEnv::start_with(account, Options::default()).await
    }

    pub async fn start_with(account: Account, options: Options) -> TestEnv {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the simulator");
        let simulator = Simulator::start(listener, account, TOKEN.to_owned())
            .await
            .expect("starting the simulator");

        let web = Arc::new(
            WebConfigHandle::load(options.web_config_file.clone()).expect("web config file"),
        );
        let metrics = ExporterMetrics::default();
        let api_url = options
            .api_url
            .clone()
            .unwrap_or_else(|| simulator.base_url());
        let config = client_config(&api_url, &options);
        let client = match options.resolver.clone() {
            Some(resolver) => Client::with_resolver(config, metrics.api_requests.clone(), resolver),
            None => Client::new(config, metrics.api_requests.clone()),
        }
        .expect("HTTP client");
        let exporter = Arc::new(Exporter {
            default: Some(Source {
                name: String::new(),
                scraper: Scraper::new(client, options.cache_ttl),
                timeout: options.timeout,
            }),
            accounts: std::collections::BTreeMap::new(),
            metrics,
            telemetry_path: "/metrics".to_owned(),
            timeout_offset: Duration::from_millis(500),
            web: Arc::clone(&web),
            encoded: Default::default(),
        });

        let watcher = tokio::spawn(Arc::clone(&web).watch(Duration::from_millis(50)));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the exporter");
        let exporter_url = format!(
            "http://{}",
            listener.local_addr().expect("exporter address")
        );
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(serve(exporter, listener, async {
            let _ = stopped.await;
        }));

        TestEnv {
            simulator,
            exporter_url,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("test HTTP client"),
            stop: Some(stop),
            watcher,
        }
    }

    /// Starts an exporter whose simulated API replies to every request through
    /// `respond`, on an empty account.
    pub async fn start_scripted(
        options: Options,
        respond: impl Fn(&ApiRequest) -> Option<Reply> + Send + Sync + 'static,
    ) -> TestEnv {
        let env = TestEnv::start_with(empty_account(), options).await;
        env.simulator.set_responder(Some(Arc::new(respond)));
        env
    }

    /// Scrapes `/metrics` in the classic text format and returns the body.
    pub async fn scrape(&self) -> String {
        let response = self.get("/metrics", &[]).await;
        assert_eq!(response.status(), 200, "scrape status");
        response.text().await.expect("scrape body")
    }

    /// Sends a GET request to the exporter with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.exporter_url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request to the exporter")
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.watcher.abort();
    }
}

/// Returns an account with no ports and a zero balance.
pub fn empty_account() -> Account {
    let mut account = Account::demo(time::OffsetDateTime::now_utc());
    account.ports.clear();
    account.balance = 0.0;
    account.balance_burn_per_second = 0.0;
    account
}

/// Returns the sample lines (no comments) of an exposition whose name starts with
/// `prefix`, in order.
pub fn samples<'a>(exposition: &'a str, prefix: &str) -> Vec<&'a str> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && line.starts_with(prefix))
        .collect()
}

/// Returns the value of the one sample written exactly as `series` (name and labels).
pub fn value(exposition: &str, series: &str) -> Option<f64> {
    let values: Vec<f64> = exposition
        .lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("sample value is a number"))
        .collect();
    assert!(
        values.len() <= 1,
        "series {series} appears {} times",
        values.len()
    );
    values.first().copied()
}

/// Serves fixed bodies by path and query: the key is the path followed by the
/// `status` and `page` query values, such as `/ports active 2`.
pub fn by_page(
    bodies: HashMap<String, Reply>,
) -> impl Fn(&ApiRequest) -> Option<Reply> + Send + Sync {
    move |request: &ApiRequest| {
        let mut key = request.path.clone();
        for name in ["status", "page"] {
            if let Some(value) = request.query_value(name) {
                key.push(' ');
                key.push_str(value);
            }
        }
        Some(bodies.get(&key).cloned().unwrap_or_else(empty_page))
    }
}

/// Returns an empty page of ports without a total.
pub fn empty_page() -> Reply {
    Reply::json(200, r#"{"status":"ok","count":0,"data":{"ports":[]}}"#)
}
