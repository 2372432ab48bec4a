//! Command-line flags and environment variables, and their validation into the
//! settings the exporter runs with.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use reqwest::Url;

use crate::api::DEFAULT_API_URL;
use crate::secret::Token;

/// The environment variable that contains the API token.
pub const TOKEN_ENV: &str = "ASTRO_API_TOKEN";

/// Prometheus exporter for the Astro proxy provider: account balance, port traffic and
/// expiry, fetched from the Astro API on every scrape.
///
/// The API token comes from the ASTRO_API_TOKEN environment variable or from
/// --astro.token-file. Without a token, --demo serves a built-in simulated account.
#[derive(Debug, Clone, Parser)]
#[command(name = "astro-exporter", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// YAML file of Astro accounts, each scraped through /probe?account=NAME.
    #[arg(
        global = true,
        long = "config.file",
        env = "ASTRO_EXPORTER_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub config_file: Option<PathBuf>,

    /// Check --config.file and exit: 0 when it is valid, 2 with every problem found.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Address to listen on for HTTP requests, as HOST:PORT or :PORT for every interface.
    #[arg(
        global = true,
        long = "web.listen-address",
        env = "ASTRO_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":9866",
        value_name = "ADDRESS"
    )]
    pub listen_address: String,

    /// Path under which the metrics are served.
    #[arg(
        global = true,
        long = "web.telemetry-path",
        env = "ASTRO_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    pub telemetry_path: String,

    /// Web configuration file in the Prometheus exporter-toolkit format: TLS, basic
    /// authentication and response headers. Reloaded when it changes and on SIGHUP.
    #[arg(
        global = true,
        long = "web.config.file",
        env = "ASTRO_EXPORTER_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    pub web_config_file: Option<PathBuf>,

    /// Time subtracted from the scraper's X-Prometheus-Scrape-Timeout-Seconds header to
    /// leave room for sending the response, such as 500ms or 1s.
    #[arg(
        global = true,
        long = "web.timeout-offset",
        env = "ASTRO_EXPORTER_WEB_TIMEOUT_OFFSET",
        default_value = "500ms",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub timeout_offset: Duration,

    /// Base URL of the Astro API.
    #[arg(
        global = true,
        long = "astro.api-url",
        env = "ASTRO_API_URL",
        default_value = DEFAULT_API_URL,
        value_name = "URL"
    )]
    pub api_url: String,

    /// File that contains the API token; a trailing newline is ignored. Takes precedence
    /// over the ASTRO_API_TOKEN environment variable.
    #[arg(
        global = true,
        long = "astro.token-file",
        env = "ASTRO_API_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub token_file: Option<PathBuf>,

    /// PEM file of CA certificates to trust for the Astro API in addition to the
    /// system's, for networks that inspect TLS.
    #[arg(
        global = true,
        long = "astro.ca-file",
        env = "ASTRO_EXPORTER_CA_FILE",
        value_name = "PATH"
    )]
    pub ca_file: Option<PathBuf>,

    /// Maximum time one scrape may spend on API calls, such as 10s. A shorter scrape
    /// timeout sent by Prometheus takes precedence.
    #[arg(
        global = true,
        long = "astro.timeout",
        env = "ASTRO_EXPORTER_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = parse_timeout
    )]
    pub timeout: Duration,

    /// Time for which a successful scrape's result is reused by later scrapes, such as
    /// 30s; 0 turns the cache off. astro_last_success_timestamp_seconds shows the age
    /// of the data served.
    #[arg(
        global = true,
        long = "astro.cache-ttl",
        env = "ASTRO_EXPORTER_CACHE_TTL",
        default_value = "0s",
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub cache_ttl: Duration,

    /// Ports requested per page of GET /ports, from 1 to 1000.
    #[arg(
        global = true,
        long = "astro.page-size",
        env = "ASTRO_EXPORTER_PAGE_SIZE",
        default_value_t = 100,
        value_name = "COUNT",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub page_size: u32,

    /// Maximum size of an API response body in bytes. A larger response fails the call
    /// and is not read to the end.
    #[arg(
        global = true,
        long = "astro.max-body-size",
        env = "ASTRO_EXPORTER_MAX_BODY_SIZE",
        default_value_t = 32 * 1024 * 1024,
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_body_size: u64,

    /// Serve a built-in simulated Astro account instead of the real API. Needs no token
    /// and no network.
    #[arg(
        global = true,
        long = "demo",
        env = "ASTRO_EXPORTER_DEMO",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue
    )]
    pub demo: bool,

    /// Lowest level of log messages written to standard error.
    #[arg(
        global = true,
        long = "log.level",
        env = "ASTRO_EXPORTER_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub log_level: LogLevel,

    /// Format of log messages.
    #[arg(
        global = true,
        long = "log.format",
        env = "ASTRO_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// A subcommand, run instead of the exporter.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Call the Astro API once for every configured account and print a summary.
    /// Exits with 1 when any account fails.
    Check,
    /// Serve the simulated Astro API on its own, to test automation against it.
    Simulate {
        /// Address to serve the simulated API on.
        #[arg(
            long = "listen",
            default_value = "127.0.0.1:8080",
            value_name = "ADDRESS"
        )]
        listen: String,
        /// Token the simulated API accepts; a random one is printed when not given.
        #[arg(long = "token", env = "ASTRO_SIMULATOR_TOKEN", value_name = "TOKEN")]
        token: Option<String>,
        /// Serve a generated account with this many active ports in place of the demo
        /// account, for load tests and benchmarks.
        #[arg(long = "ports", value_name = "COUNT", value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
        ports: Option<u64>,
        /// Wait this long before every reply, as a remote API takes time to respond
        /// (such as 50ms).
        #[arg(
            long = "latency",
            default_value = "0s",
            value_name = "DURATION",
            value_parser = parse_duration
        )]
        latency: Duration,
    },
}

/// Log levels, from the most to the least verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `key=value` pairs, as Go exporters write them.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// A configuration problem, reported with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no Astro API token: set the {TOKEN_ENV} environment variable or pass \
         --astro.token-file PATH, give accounts with --config.file, or try the simulated \
         account with --demo"
    )]
    MissingToken,
    #[error("{0}")]
    Accounts(#[from] crate::accounts::AccountsError),
    #[error("--config.check needs --config.file PATH")]
    MissingConfigFile,
    #[error("cannot read token file {path}: {source}")]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file {0} is empty")]
    EmptyTokenFile(PathBuf),
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("invalid --astro.api-url {url:?}: {reason}")]
    ApiUrl { url: String, reason: String },
    #[error(
        "invalid --web.listen-address {0:?}: expected HOST:PORT or :PORT with a port from 0 to 65535"
    )]
    ListenAddress(String),
    #[error(
        "invalid --web.telemetry-path {0:?}: it must start with / and must not be / or /-/healthy"
    )]
    TelemetryPath(String),
}

/// Reads the API token from `--astro.token-file`, or else from the value of the
/// `ASTRO_API_TOKEN` environment variable passed as `env_token`.
pub fn load_token(
    token_file: Option<&PathBuf>,
    env_token: Option<String>,
) -> Result<Token, ConfigError> {
    if let Some(path) = token_file {
        let contents = std::fs::read_to_string(path).map_err(|source| ConfigError::TokenFile {
            path: path.clone(),
            source,
        })?;
        return Token::new(contents).ok_or_else(|| ConfigError::EmptyTokenFile(path.clone()));
    }
    env_token
        .and_then(Token::new)
        .ok_or(ConfigError::MissingToken)
}

/// Reads the PEM certificates of `--astro.ca-file`.
pub fn load_ca_file(path: &PathBuf) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let invalid = |reason: String| ConfigError::CaFile {
        path: path.clone(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| invalid(error.to_string()))?;
    let certificates =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| invalid(error.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("it contains no PEM certificate".to_owned()));
    }
    Ok(certificates)
}

/// Checks an API base URL and removes a trailing slash.
pub fn parse_api_url(text: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::ApiUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(text).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain credentials"));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

/// Checks that a listen address has the form `HOST:PORT` or `:PORT`. Whether the
/// host exists is found out when the address is bound.
pub fn check_listen_address(address: &str) -> Result<(), ConfigError> {
    let invalid = || ConfigError::ListenAddress(address.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    port.parse::<u16>().map_err(|_| invalid())?;
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.contains(':') && !bracketed {
        return Err(invalid());
    }
    Ok(())
}

/// Checks the telemetry path.
pub fn check_telemetry_path(path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') || path == "/" || path == crate::server::HEALTH_PATH {
        return Err(ConfigError::TelemetryPath(path.to_owned()));
    }
    Ok(())
}

/// Parses a duration in the Prometheus style (`500ms`, `10s`, `1m30s`, `2h`) or as a
/// plain number of seconds (`0.5`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_any_duration(text)?;
    if duration > MAX_DURATION {
        return Err(format!(
            "invalid duration {:?}: the maximum is 24h",
            text.trim()
        ));
    }
    Ok(duration)
}

/// Parses a duration like [`parse_duration`] that must not be zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if timeout.is_zero() {
        return Err(format!(
            "invalid timeout {:?}: it must be longer than zero",
            text.trim()
        ));
    }
    Ok(timeout)
}

/// Maximum duration a flag accepts. No timeout or cache time of this exporter
/// makes sense beyond a day, and the bound keeps deadlines far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(86_400);

fn parse_any_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| {
            format!("invalid duration {text:?}: seconds must be a non-negative number")
        });
    }

    let invalid = || {
        format!(
            "invalid duration {text:?}: expected a number with a unit, such as 500ms, 10s or 1m30s"
        )
    };
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        if digits == 0 {
            return Err(invalid());
        }
        let amount: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: the maximum is 24h"))?;
        rest = &rest[digits..];
        let unit_length = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_length] {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(invalid()),
        };
        let too_long = || format!("invalid duration {text:?}: the maximum is 24h");
        let amount = u32::try_from(amount).map_err(|_| too_long())?;
        total = unit
            .checked_mul(amount)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(too_long)?;
        rest = &rest[unit_length..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_prometheus_style() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn zero_timeout_is_rejected() {
        assert!(parse_timeout("0s").is_err());
        assert_eq!(parse_timeout("1s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn durations_beyond_a_day_are_rejected() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("1e19").is_err());
        assert!(parse_duration("25h").is_err());
        assert!(parse_duration("99999999999d").is_err());
    }

    #[test]
    fn invalid_durations_are_rejected() {
        for text in ["", "s", "-1", "10x", "1.5s", "ms10", "NaN"] {
            assert!(parse_duration(text).is_err(), "{text:?} must be rejected");
        }
    }

    #[test]
    fn api_url_loses_trailing_slash() {
        let url = parse_api_url("https://astroproxy.com/api/v1/").expect("valid URL");
        assert_eq!(url.as_str(), "https://astroproxy.com/api/v1");
    }

    #[test]
    fn invalid_api_urls_are_rejected() {
        for text in [
            "ftp://example.test/api",
            "https://example.test/api?token=x",
            "not a url",
        ] {
            assert!(parse_api_url(text).is_err(), "{text:?} must be rejected");
        }
    }

    #[test]
    fn token_file_wins_over_environment() {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        std::io::Write::write_all(&mut file, b"fromfile\n").expect("write token");
        let path = file.path().to_path_buf();
        let token = load_token(Some(&path), Some("fromenv".into())).expect("token");
        assert_eq!(token.expose(), "fromfile");
    }

    #[test]
    fn missing_and_empty_tokens_are_errors() {
        assert!(matches!(
            load_token(None, None),
            Err(ConfigError::MissingToken)
        ));
        assert!(matches!(
            load_token(None, Some("\n".into())),
            Err(ConfigError::MissingToken)
        ));
        let file = tempfile::NamedTempFile::new().expect("temporary file");
        let path = file.path().to_path_buf();
        assert!(matches!(
            load_token(Some(&path), None),
            Err(ConfigError::EmptyTokenFile(_))
        ));
    }

    #[test]
    fn listen_addresses_are_checked() {
        for valid in [":9866", "127.0.0.1:9866", "localhost:0", "[::1]:9866"] {
            assert!(check_listen_address(valid).is_ok(), "{valid}");
        }
        for invalid in ["nonsense", ":abc", ":70000", "::1:9866", "host:"] {
            assert!(check_listen_address(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn telemetry_path_must_be_absolute() {
        assert!(check_telemetry_path("/metrics").is_ok());
        assert!(check_telemetry_path("metrics").is_err());
        assert!(check_telemetry_path("/").is_err());
        assert!(check_telemetry_path("/-/healthy").is_err());
    }
}
