//! astro-exporter: a Prometheus exporter for the Astro proxy provider's HTTP API.
//!
//! Each scrape of the metrics path calls `GET /balance` and `GET /ports` and
//! publishes the account balance, the port counts and each active port's traffic and
//! expiry. The binary is a thin wrapper around [`run`]; tests drive the same library
//! on port 0 against the [`simulator`].

pub mod accounts;
pub mod api;
mod check;
pub mod collect;
pub mod config;
mod form;
pub mod logging;
pub mod metrics;
pub mod secret;
pub mod server;
pub mod simulator;
pub mod sources;
pub mod web;

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::{Cli, ConfigError};
use crate::metrics::ExporterMetrics;
use crate::secret::Token;
use crate::server::Exporter;
use crate::simulator::{Account, Simulator};
use crate::sources::Sources;
use crate::web::{WebConfigError, WebConfigHandle};

/// An error that stops the exporter from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Invalid flags or environment; the process exits with code 2.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An invalid web configuration file; the process exits with code 2.
    #[error(transparent)]
    WebConfig(#[from] WebConfigError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start the simulated Astro API: {0}")]
    Simulator(std::io::Error),
    /// The HTTP client rejected its settings, such as a CA certificate; the process
    /// exits with code 2.
    #[error("cannot create the HTTP client: {}", error_chain(.0))]
    HttpClient(reqwest::Error),
}

impl RunError {
    /// Returns the process exit code: 2 for configuration errors, as Go exporters
    /// use, and 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Config(_) | RunError::WebConfig(_) | RunError::HttpClient(_) => 2,
            _ => 1,
        }
    }
}

/// Runs the exporter until `shutdown` completes.
///
/// `env` returns the value of an environment variable, such as `ASTRO_API_TOKEN`.
/// With `--demo` the simulated Astro API is started on a loopback port and the
/// exporter points itself at it.
pub async fn run(
    cli: Cli,
    env: &dyn Fn(&str) -> Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    config::check_telemetry_path(&cli.telemetry_path)?;
    config::check_listen_address(&cli.listen_address)?;
    let metrics = ExporterMetrics::default();
    let sources = Sources::build(&cli, env, &metrics.api_requests).await?;
    let web = Arc::new(WebConfigHandle::load(cli.web_config_file.clone())?);
    let listener = bind(&cli.listen_address).await?;
    let address = listener.local_addr().map_err(|source| RunError::Listen {
        address: cli.listen_address.clone(),
        source,
    })?;

    let api_url = sources
        .default
        .as_ref()
        .map(|source| source.scraper.client().base_url().to_string())
        .unwrap_or_default();
    let accounts: Vec<&str> = sources.accounts.keys().map(String::as_str).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        address = %address,
        telemetry_path = %cli.telemetry_path,
        api_url,
        accounts = accounts.join(","),
        demo = cli.demo,
        tls = web.current().tls.is_some(),
        basic_auth = web.current().auth.is_enabled(),
        cache_ttl_seconds = cli.cache_ttl.as_secs_f64(),
        "astro-exporter started"
    );
    let Sources {
        default,
        accounts,
        simulator,
    } = sources;
    let exporter = Arc::new(Exporter {
        default,
        accounts,
        metrics,
        telemetry_path: cli.telemetry_path,
        timeout_offset: cli.timeout_offset,
        web: Arc::clone(&web),
        encoded: Default::default(),
    });
    let watcher = tokio::spawn(Arc::clone(&web).watch(web::RELOAD_CHECK_INTERVAL));
    server::serve(exporter, listener, shutdown).await;
    watcher.abort();

    if let Some(simulator) = simulator {
        simulator.shutdown().await;
    }
    tracing::info!("astro-exporter stopped");
    Ok(())
}

/// Checks `--config.file` and returns its problems as an error.
pub fn check_config(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> Result<usize, RunError> {
    let Some(path) = &cli.config_file else {
        return Err(ConfigError::MissingConfigFile.into());
    };
    let accounts = accounts::load(path, env).map_err(ConfigError::from)?;
    Ok(accounts.len())
}

/// Runs the `check` command: calls the API once for every account and writes a
/// summary to `output`. Returns whether every account worked.
pub async fn run_check(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
    output: &mut dyn std::io::Write,
) -> Result<bool, RunError> {
    let metrics = ExporterMetrics::default();
    let sources = Sources::build(cli, env, &metrics.api_requests).await?;
    let all_ok = check::run(&sources, output).await;
    if let Some(simulator) = sources.simulator {
        simulator.shutdown().await;
    }
    Ok(all_ok)
}

/// Runs the `simulate` command: serves the simulated Astro API with the demo
/// account on `listen`, each reply after `latency`, until `shutdown` completes.
pub async fn run_simulate(
    listen: &str,
    token: Option<String>,
    ports: Option<u64>,
    latency: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| RunError::Listen {
            address: listen.to_owned(),
            source,
        })?;
    let token = match token.and_then(Token::new) {
        Some(token) => token,
        None => sources::demo_token(),
    };
    let now = time::OffsetDateTime::now_utc();
    let account = match ports {
        Some(count) => generated_account(count, now),
        None => Account::demo(now),
    };
    let simulator = Simulator::start(listener, account, token.expose().to_owned())
        .await
        .map_err(RunError::Simulator)?;
    simulator.set_latency(latency);
    // The simulated account's token is no secret, so the operator can copy it. A
    // closed standard output must not stop the server, so write errors are ignored.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "Simulated Astro API at {}", simulator.base_url());
    let _ = writeln!(stdout, "Token: {}", token.expose());
    let _ = stdout.flush();
    tracing::info!(api_url = %simulator.base_url(), "simulated Astro API started");
    shutdown.await;
    simulator.shutdown().await;
    Ok(())
}

/// Builds an account with `count` active ports of varied countries, operators and
/// traffic, and no consumption, so that every scrape gets the same data.
fn generated_account(count: u64, now: time::OffsetDateTime) -> Account {
    const COUNTRIES: [(&str, &str); 6] = [
        ("Germany", "Vodafone"),
        ("Brazil", "Vivo"),
        ("United States", "T-Mobile"),
        ("Japan", "NTT Docomo"),
        ("Poland", "Play"),
        ("France", "Orange"),
    ];
    let mut account = Account::demo(now);
    account.balance_burn_per_second = 0.0;
    account.ports = (0..count)
        .map(|index| {
            let (country, operator) = COUNTRIES[(index % COUNTRIES.len() as u64) as usize];
            let mut port = simulator::Port::new(100_000 + index, &format!("port {index}"), country);
            port.operator = Some(operator.to_owned());
            port.city = Some("Capital".to_owned());
            port.traffic_used = (index * 7_919) % port.traffic_total;
            port.ends_at = Some(now + time::Duration::days(1 + (index % 30) as i64));
            port
        })
        .collect();
    account
}

/// Formats an error with its chain of causes.
fn error_chain(error: &dyn std::error::Error) -> String {
    with_causes(error, error.source())
}

/// Formats `message` followed by every cause in the chain that starts at `source`,
/// separated by ": ".
pub(crate) fn with_causes(
    message: &dyn std::fmt::Display,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    let mut text = message.to_string();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Binds the listen address. `:PORT` binds the IPv6 wildcard address, which accepts
/// IPv4 too unless the system sets `net.ipv6.bindv6only`, or the IPv4 wildcard
/// address on a system without IPv6.
async fn bind(address: &str) -> Result<TcpListener, RunError> {
    let listen_error = |source| RunError::Listen {
        address: address.to_owned(),
        source,
    };
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| {
            listen_error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the port must be a number from 0 to 65535",
            ))
        })?;
        let any_v6 = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
        return match TcpListener::bind(any_v6).await {
            Ok(listener) => Ok(listener),
            Err(_) => TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port))
                .await
                .map_err(listen_error),
        };
    }
    TcpListener::bind(address).await.map_err(listen_error)
}

/// Completes on SIGINT or SIGTERM (Ctrl-C on other systems), logging which arrived.
/// A second signal during the graceful shutdown ends the process at once.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        let mut terminate = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "shutting down");
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::warn!("second signal received; exiting without waiting for open connections");
            std::process::exit(1);
        });
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}
