//! The Astro accounts one exporter process watches: the account of `ASTRO_API_TOKEN`
//! or `--astro.token-file` (or the simulated one of `--demo`), served on the metrics
//! path, and the accounts of `--config.file`, served on `/probe`.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use reqwest::Url;

use crate::RunError;
use crate::accounts::{self, AccountConfig};
use crate::api::{self, Client, ClientConfig, RequestCounter};
use crate::collect::Scraper;
use crate::config::{self, Cli, ConfigError};
use crate::secret::Token;
use crate::simulator::{Account, Simulator, SimulatorHandle};

/// An account to scrape, with its own deadline.
#[derive(Debug, Clone)]
pub struct Source {
    /// The account's name; empty for the account of the metrics path.
    pub name: String,
    pub scraper: Scraper,
    /// Maximum time a scrape of this account may spend on API calls.
    pub timeout: Duration,
}

/// Every account the process watches.
#[derive(Debug)]
pub struct Sources {
    /// The account of the metrics path, if a token or `--demo` gives one.
    pub default: Option<Source>,
    /// The accounts of `--config.file`, by name.
    pub accounts: BTreeMap<String, Source>,
    /// The simulated API of `--demo`, which lives as long as the sources.
    pub simulator: Option<SimulatorHandle>,
}

impl Sources {
    /// Builds the accounts from the command line and the environment, starting the
    /// simulated API for `--demo`. `env` returns an environment variable's value.
    pub async fn build(
        cli: &Cli,
        env: &dyn Fn(&str) -> Option<String>,
        requests: &RequestCounter,
    ) -> Result<Sources, RunError> {
        let extra_root_certificates = match &cli.ca_file {
            Some(path) => config::load_ca_file(path)?,
            None => Vec::new(),
        };
        let configured = match &cli.config_file {
            Some(path) => accounts::load(path, env).map_err(ConfigError::from)?,
            None => Vec::new(),
        };

        let mut simulator = None;
        let default_account = if cli.demo {
            let token = demo_token();
            let now = time::OffsetDateTime::now_utc();
            let handle =
                Simulator::start_on_loopback(Account::demo(now), token.expose().to_owned())
                    .await
                    .map_err(RunError::Simulator)?;
            let api_url = config::parse_api_url(&handle.base_url())?;
            simulator = Some(handle);
            Some((api_url, token))
        } else {
            let token = config::load_token(cli.token_file.as_ref(), env(config::TOKEN_ENV));
            match token {
                Ok(token) => Some((config::parse_api_url(&cli.api_url)?, token)),
                Err(ConfigError::MissingToken) if !configured.is_empty() => None,
                Err(error) => return Err(error.into()),
            }
        };

        let client = |account: &str, base_url: Url, token: Token| {
            let config = ClientConfig {
                account: account.to_owned(),
                base_url,
                token,
                page_size: cli.page_size,
                max_body_size: cli.max_body_size,
                rate_limit_pause: api::DEFAULT_RATE_LIMIT_PAUSE,
                extra_root_certificates: extra_root_certificates.clone(),
            };
            Client::new(config, requests.clone()).map_err(RunError::HttpClient)
        };
        let default = match default_account {
            Some((api_url, token)) => Some(Source {
                name: String::new(),
                scraper: Scraper::new(client("", api_url, token)?, cli.cache_ttl),
                timeout: cli.timeout,
            }),
            None => None,
        };
        let mut accounts = BTreeMap::new();
        for AccountConfig {
            name,
            token,
            api_url,
            timeout,
        } in configured
        {
            let source = Source {
                name: name.clone(),
                scraper: Scraper::new(client(&name, api_url, token)?, cli.cache_ttl),
                timeout: timeout.unwrap_or(cli.timeout),
            };
            accounts.insert(name, source);
        }
        Ok(Sources {
            default,
            accounts,
            simulator,
        })
    }

    /// Returns every account, the default one first.
    pub fn all(&self) -> impl Iterator<Item = &Source> {
        self.default.iter().chain(self.accounts.values())
    }
}

/// Creates a random token of 16 hex digits, the shape of real Astro tokens, for the
/// simulated account.
pub fn demo_token() -> Token {
    let random = RandomState::new().hash_one(std::process::id());
    Token::new(format!("{random:016x}")).expect("a 16-digit hex string is never empty")
}
