//! Client for the two read-only Astro API calls the exporter needs: `GET /balance`
//! and `GET /ports`.
//!
//! The token travels as the query parameter `token`, as the API requires. It is kept
//! out of every error this module returns: transport errors are stripped of their URL,
//! and upstream messages are redacted before they are stored.

pub mod lenient;
pub mod model;

use std::collections::{HashMap, HashSet};
use std::error::Error as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use reqwest::dns::Resolve;
use reqwest::header::RETRY_AFTER;
use reqwest::{StatusCode, Url};
use tokio::time::Instant;

pub use model::{Balance, BodyError, Port, PortText, PortsPage};

use crate::secret::Token;

/// The production API's base URL.
pub const DEFAULT_API_URL: &str = "https://astroproxy.com/api/v1";

/// Upper bound on the pages fetched for one port list, so that a server that keeps
/// inventing new ports cannot keep a scrape busy forever. At the default page size
/// this allows 100,000 ports.
const MAX_PAGES: u32 = 1000;

/// The most ports room is made for before they arrive.
const MAX_RESERVED_PORTS: u64 = 100_000;

/// Pause before the one retry of a call that failed to connect or got 502, 503 or 504.
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// Pause after a 429 response that has no usable `Retry-After` header.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// Maximum pause a `Retry-After` header can impose, so that a wrong date cannot stop
/// the exporter for days.
const MAX_RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(3600);

/// Labels of `astro_api_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RequestLabels {
    /// The account's name in the configuration file; empty for the account of
    /// `ASTRO_API_TOKEN`, whose series carry no `account` label.
    pub account: String,
    /// "balance" or "ports".
    pub endpoint: String,
    /// The HTTP status code, "error" when the request failed without a response, or
    /// "timeout" when the caller gave up waiting for one.
    pub code: String,
}

impl EncodeLabelSet for RequestLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        if !self.account.is_empty() {
            ("account", self.account.as_str()).encode(encoder.encode_label())?;
        }
        ("endpoint", self.endpoint.as_str()).encode(encoder.encode_label())?;
        ("code", self.code.as_str()).encode(encoder.encode_label())
    }
}

/// Counts API requests by endpoint and outcome over the life of the process.
pub type RequestCounter = Family<RequestLabels, Counter>;

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The account's name in the configuration file, or empty for the account of
    /// `ASTRO_API_TOKEN`; it labels the request counter.
    pub account: String,
    /// Base URL without a trailing slash, such as [`DEFAULT_API_URL`].
    pub base_url: Url,
    pub token: Token,
    /// Ports requested per page of `GET /ports`.
    pub page_size: u32,
    /// Largest response body accepted, in bytes.
    pub max_body_size: u64,
    /// Pause after a 429 response without a usable `Retry-After` header.
    pub rate_limit_pause: Duration,
    /// CA certificates trusted for the API besides the system's.
    pub extra_root_certificates: Vec<reqwest::Certificate>,
}

/// An API endpoint, as named in logs and in the `endpoint` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Balance,
    Ports,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Balance => "balance",
            Endpoint::Ports => "ports",
        }
    }
}

/// A failed API call. The message names the request and never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No HTTP response arrived: connection, TLS or protocol failure.
    #[error("{request}: request failed: {detail}")]
    Transport { request: String, detail: String },
    /// The server responded with a status other than 2xx.
    #[error("{request}: HTTP {status}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status {
        request: String,
        status: u16,
        message: Option<String>,
    },
    /// The body was larger than the configured maximum.
    #[error("{request}: response body exceeds the limit of {limit} bytes")]
    BodyTooLarge { request: String, limit: u64 },
    /// The body arrived but could not be used.
    #[error("{request}: {detail}")]
    Body { request: String, detail: String },
    /// The call was not sent because the API responded 429 earlier and the pause it
    /// requested has not ended.
    #[error("{request}: not sent, the API rate limit pause ends in {}s", remaining.as_secs().max(1))]
    RateLimited {
        request: String,
        remaining: Duration,
    },
}

impl ApiError {
    /// Returns the HTTP status of the response, when one arrived with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Returns whether the API rejected the token (HTTP 401 or 403).
    pub fn is_token_rejected(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }
}

/// All active ports, read page by page.
#[derive(Debug, Clone, PartialEq)]
pub struct PortList {
    /// The distinct ports received, in the order the API listed them.
    pub ports: Vec<Port>,
    /// The API's `total`: the number of ports that match, as the API reports it.
    pub total: Option<u64>,
    /// False when paging stopped before every port arrived: the server repeated a
    /// page, ignored the page parameter, or never reached its own `total`.
    pub complete: bool,
}

/// Receives the ports of a port list page by page, as each page is decoded.
///
/// Runs while the API prepares the next page, so work done here, such as rendering the
/// ports' samples, adds nothing to the time of a scrape except on the last page. It
/// runs on the task that fetches the pages, so it should take well under a
/// millisecond a page.
pub trait PortSink: Send {
    /// Receives the API's total of ports, before the first page's ports
    /// arrive, so that room can be made for them at once.
    fn expect(&mut self, _total_ports: usize) {}

    /// Takes the ports of one page that earlier pages did not bring.
    fn add(&mut self, new_ports: &[Port]);
}

/// Takes the ports and does nothing with them.
impl PortSink for () {
    fn add(&mut self, _new_ports: &[Port]) {}
}

/// What the pages of a port list brought so far.
struct Received<S> {
    /// The distinct ports, in the order the API listed them.
    ports: Vec<Port>,
    seen: SeenIds,
    /// Entries without a usable id. They count toward the total, because the API
    /// counts them, but nothing distinguishes one from another across pages.
    unreadable: u64,
    /// The API's `total`, from the last page that had one.
    total: Option<u64>,
    sink: S,
}

/// The ids of the ports received, to drop a port that a later page repeats.
///
/// The client requests the ports in ascending order of id. While the ids are numbers
/// that keep increasing, none can repeat an earlier one, so only the last is kept.
/// From the first id that breaks that order on, every id goes into a set.
#[derive(Debug, Default)]
enum SeenIds {
    #[default]
    None,
    Increasing(u64),
    Set(HashSet<Box<str>>),
}

impl SeenIds {
    /// Records `id` and returns whether it is new. `received` contains the ports with
    /// every id recorded so far.
    fn insert(&mut self, id: &str, received: &[Port]) -> bool {
        let number = id
            .parse::<u64>()
            .ok()
            .filter(|_| !id.starts_with(['+', '0']));
        match (&*self, number) {
            (SeenIds::None, Some(number)) => *self = SeenIds::Increasing(number),
            (SeenIds::Increasing(last), Some(number)) if number > *last => {
                *self = SeenIds::Increasing(number);
            }
            (SeenIds::Set(_), _) => {}
            (SeenIds::None | SeenIds::Increasing(_), _) => {
                let set = received.iter().map(|port| Box::from(port.id())).collect();
                *self = SeenIds::Set(set);
            }
        }
        match self {
            SeenIds::Set(set) => set.insert(id.into()),
            SeenIds::None | SeenIds::Increasing(_) => true,
        }
    }
}

/// The result of adding one page of a port list to [`Received`].
struct PageAdded {
    /// How many entries the page held, readable or not.
    entries: usize,
    /// True when the page had readable ports and every one was known already.
    repeated: bool,
}

impl<S: PortSink> Received<S> {
    /// Decodes one page and adds its new ports.
    fn add_page(&mut self, body: &[u8]) -> Result<PageAdded, BodyError> {
        let page = model::parse_ports_page(body)?;
        if self.total.is_none()
            && let Some(total) = page.total
        {
            // Room for every port at once, rather than doubling page after page,
            // within reason: the total is the API's word.
            let total = total.min(MAX_RESERVED_PORTS) as usize;
            self.ports.reserve(total);
            self.sink.expect(total);
        }
        self.total = page.total.or(self.total);
        let readable = page.ports.len();
        self.unreadable += (page.entries - readable) as u64;
        let before = self.ports.len();
        for port in page.ports {
            if self.seen.insert(port.id(), &self.ports) {
                self.ports.push(port);
            }
        }
        self.sink.add(&self.ports[before..]);
        let added = PageAdded {
            entries: page.entries,
            repeated: readable > 0 && self.ports.len() == before,
        };
        Ok(added)
    }
}

impl<S> Received<S> {
    fn into_list(self, complete: bool) -> (PortList, S) {
        let list = PortList {
            ports: self.ports,
            total: self.total,
            complete,
        };
        (list, self.sink)
    }
}

/// A client for one Astro account.
///
/// Clones share the connection pool and the rate limit pauses.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    requests: RequestCounter,
    /// When each endpoint may be called again after a 429 response.
    paused_until: Arc<Mutex<HashMap<Endpoint, Instant>>>,
}

impl Client {
    /// Creates a client. Requests are counted in `requests`.
    ///
    /// Redirects are not followed, because the token would travel to wherever the
    /// redirect points. Proxy environment variables are honoured except for loopback
    /// addresses.
    pub fn new(config: ClientConfig, requests: RequestCounter) -> Result<Client, reqwest::Error> {
        Client::build(config, requests, None)
    }

    /// Creates a client that resolves host names with `resolver` instead of the
    /// system resolver, and uses no proxy. Tests use it to simulate names that do
    /// not resolve without sending a DNS query.
    pub fn with_resolver(
        config: ClientConfig,
        requests: RequestCounter,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Client, reqwest::Error> {
        Client::build(config, requests, Some(resolver))
    }

    fn build(
        config: ClientConfig,
        requests: RequestCounter,
        resolver: Option<Arc<dyn Resolve>>,
    ) -> Result<Client, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("astro-exporter/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90));
        if is_loopback(&config.base_url) {
            builder = builder.no_proxy();
        }
        if !config.extra_root_certificates.is_empty() {
            builder = builder.tls_certs_merge(config.extra_root_certificates.iter().cloned());
        }
        if let Some(resolver) = resolver {
            builder = builder.dns_resolver(resolver).no_proxy();
        }
        Ok(Client {
            http: builder.build()?,
            config,
            requests,
            paused_until: Arc::default(),
        })
    }

    /// Returns the base URL, which never contains the token.
    pub fn base_url(&self) -> &Url {
        &self.config.base_url
    }

    /// Fetches the account balance. `deadline` bounds the retry, not the call: the
    /// caller cancels the call at its deadline.
    pub async fn balance(&self, deadline: Instant) -> Result<Balance, ApiError> {
        let request = "GET /balance".to_owned();
        let body = self.get(Endpoint::Balance, &request, &[], deadline).await?;
        model::parse_balance(&body).map_err(|error| self.body_error(request, error))
    }

    /// Fetches every active port, following the pages until the API's `total` is
    /// reached, a page is empty, or a page brings no new port. `sink` receives the
    /// new ports of each page as the page is decoded, and is returned with them.
    pub async fn active_ports<S: PortSink>(
        &self,
        deadline: Instant,
        sink: S,
    ) -> Result<(PortList, S), ApiError> {
        let page_size = self.config.page_size.to_string();
        let mut received = Received {
            ports: Vec::new(),
            seen: SeenIds::default(),
            unreadable: 0,
            total: None,
            sink,
        };
        let mut body = self
            .fetch_ports_page("active", &page_size, 1, deadline)
            .await?;
        for page_number in 1..=MAX_PAGES {
            // While this page is decoded, the next page is already requested when the
            // API's total shows that it exists, so decoding costs no time of its own
            // except on the last page. No page is requested that the sequential loop
            // would not request, unless the server misbehaves.
            let fetched = received.ports.len() as u64 + received.unreadable;
            let next_exists = received
                .total
                .is_some_and(|total| fetched + u64::from(self.config.page_size) < total);
            // Decoding runs on this task, about 0.1 ms for 100 ports. A blocking thread
            // cost about 300 context switches and 1,200 page faults a 10,000-port scrape.
            let decode = async {
                // The yields let the connection task write the next request first. One
                // is not enough, because the connection coming back to the pool can wake
                // this task before the request is written.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                received.add_page(&body)
            };
            let (decoded, prefetched) = if next_exists && page_number < MAX_PAGES {
                let next = self.fetch_ports_page("active", &page_size, page_number + 1, deadline);
                let (decoded, next) = tokio::join!(decode, next);
                (decoded, Some(next))
            } else {
                (decode.await, None)
            };
            let page = decoded.map_err(|error| {
                let request = format!("GET /ports (status=active, page {page_number})");
                self.body_error(request, error)
            })?;

            let ports = received.ports.len() as u64;
            if let Some(total) = received.total
                && ports + received.unreadable >= total
            {
                return Ok(received.into_list(true));
            }
            if page.entries == 0
                || (received.total.is_none() && page.entries < self.config.page_size as usize)
            {
                let complete = received.total.is_none();
                return Ok(self.partial_list(received, complete, page_number));
            }
            if page.repeated {
                return Ok(self.partial_list(received, false, page_number));
            }
            body = match prefetched {
                Some(next) => next?,
                None => {
                    self.fetch_ports_page("active", &page_size, page_number + 1, deadline)
                        .await?
                }
            };
        }
        Ok(self.partial_list(received, false, MAX_PAGES))
    }

    /// Fetches how many archived ports the account has, from the `total` of a
    /// one-port page.
    pub async fn archived_port_count(&self, deadline: Instant) -> Result<u64, ApiError> {
        let page = self.ports_page("archived", "1", 1, deadline).await?;
        page.total.ok_or_else(|| ApiError::Body {
            request: "GET /ports (status=archived)".to_owned(),
            detail: "response has no usable total".to_owned(),
        })
    }

    fn partial_list<S>(&self, received: Received<S>, complete: bool, pages: u32) -> (PortList, S) {
        if !complete {
            tracing::warn!(
                endpoint = Endpoint::Ports.as_str(),
                received = received.ports.len(),
                total = received
                    .total
                    .map(|total| total.to_string())
                    .unwrap_or_default(),
                pages,
                "port list is incomplete: the API stopped paging before its total was reached"
            );
        }
        received.into_list(complete)
    }

    async fn ports_page(
        &self,
        status: &str,
        count: &str,
        page: u32,
        deadline: Instant,
    ) -> Result<PortsPage, ApiError> {
        let body = self.fetch_ports_page(status, count, page, deadline).await?;
        let request = format!("GET /ports (status={status}, page {page})");
        model::parse_ports_page(&body).map_err(|error| self.body_error(request, error))
    }

    /// Fetches one page of `GET /ports` without decoding it.
    async fn fetch_ports_page(
        &self,
        status: &str,
        count: &str,
        page: u32,
        deadline: Instant,
    ) -> Result<Bytes, ApiError> {
        let request = format!("GET /ports (status={status}, page {page})");
        let page = page.to_string();
        let query = [
            ("status", status),
            ("count", count),
            ("page", page.as_str()),
            ("order", "id"),
            ("orderDirection", "asc"),
        ];
        self.get(Endpoint::Ports, &request, &query, deadline).await
    }

    /// Sends one GET request and returns the body of a 2xx response.
    ///
    /// A call that fails to connect or gets 502, 503 or 504 is retried once, after a
    /// short pause, when the pause still ends well before `deadline`. A 429 response
    /// pauses the endpoint for the time its `Retry-After` header gives.
    async fn get(
        &self,
        endpoint: Endpoint,
        request: &str,
        query: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Bytes, ApiError> {
        self.check_rate_limit_pause(endpoint, request)?;
        let mut retried = false;
        loop {
            let result = self.send_once(endpoint, request, query).await;
            let retryable = match &result {
                Err(SendError::Connect(_)) => true,
                Err(SendError::Api(error)) => matches!(error.status(), Some(502..=504)),
                Ok(_) => false,
            };
            if retryable && !retried && Instant::now() + 2 * RETRY_DELAY < deadline {
                tracing::debug!(endpoint = endpoint.as_str(), request, "retrying once");
                retried = true;
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
            return result.map_err(|error| match error {
                SendError::Connect(error) | SendError::Api(error) => error,
            });
        }
    }

    /// Sends one GET request without retrying.
    async fn send_once(
        &self,
        endpoint: Endpoint,
        request: &str,
        query: &[(&str, &str)],
    ) -> Result<Bytes, SendError> {
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .expect("the base URL is an http(s) URL, which has path segments")
            .pop_if_empty()
            .push(endpoint.as_str());

        // Counts the request as "timeout" if the caller gives up before a response
        // arrives, which drops this future at an await below.
        let mut unanswered = UnansweredRequest {
            client: self,
            endpoint,
            armed: true,
        };
        let result = self
            .http
            .get(url)
            .query(&[("token", self.config.token.expose())])
            .query(query)
            .send()
            .await;
        unanswered.armed = false;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                self.count_request(endpoint, "error");
                let api_error = ApiError::Transport {
                    request: request.to_owned(),
                    detail: self.describe(&error),
                };
                return Err(if error.is_connect() {
                    SendError::Connect(api_error)
                } else {
                    SendError::Api(api_error)
                });
            }
        };

        let status = response.status();
        self.count_request(endpoint, status.as_str());
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.pause(endpoint, retry_after(response.headers()));
        }
        if !status.is_success() {
            // The body of an error only supplies its message, so a body too large to
            // read costs the message but keeps the status, and the retry with it.
            let body = self
                .read_body(
                    response,
                    request,
                    MAX_ERROR_BODY_BYTES.min(self.config.max_body_size),
                )
                .await
                .unwrap_or_default();
            return Err(SendError::Api(self.status_error(request, status, &body)));
        }
        let body = self
            .read_body(response, request, self.config.max_body_size)
            .await
            .map_err(SendError::Api)?;
        Ok(body)
    }

    /// Fails at once while the endpoint is paused after a 429 response.
    fn check_rate_limit_pause(&self, endpoint: Endpoint, request: &str) -> Result<(), ApiError> {
        let paused_until = self
            .paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match paused_until.get(&endpoint) {
            Some(until) if *until > Instant::now() => Err(ApiError::RateLimited {
                request: request.to_owned(),
                remaining: *until - Instant::now(),
            }),
            _ => Ok(()),
        }
    }

    fn pause(&self, endpoint: Endpoint, backoff: Option<Duration>) {
        let backoff = backoff
            .unwrap_or(self.config.rate_limit_pause)
            .min(MAX_RATE_LIMIT_BACKOFF);
        tracing::debug!(
            endpoint = endpoint.as_str(),
            backoff_seconds = backoff.as_secs_f64(),
            "rate limited, pausing calls to the endpoint"
        );
        self.paused_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(endpoint, Instant::now() + backoff);
    }

    /// Reads a body of at most `limit` bytes, rejecting a larger one as soon as its
    /// declared length or the bytes received exceed the limit.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        request: &str,
        limit: u64,
    ) -> Result<Bytes, ApiError> {
        let too_large = || ApiError::BodyTooLarge {
            request: request.to_owned(),
            limit,
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large());
        }

        // The declared length is at most the limit here; a response without one grows
        // the buffer as it arrives.
        let mut body = BytesMut::with_capacity(response.content_length().unwrap_or(0) as usize);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body.freeze()),
                Err(error) => {
                    return Err(ApiError::Transport {
                        request: request.to_owned(),
                        detail: format!("reading the body: {}", self.describe(&error)),
                    });
                }
            }
        }
    }

    fn status_error(&self, request: &str, status: StatusCode, body: &[u8]) -> ApiError {
        let message = if status.is_redirection() {
            Some("redirect not followed, because the token would travel with it".to_owned())
        } else {
            model::error_message(body).map(|message| self.clean_message(&message))
        };
        ApiError::Status {
            request: request.to_owned(),
            status: status.as_u16(),
            message,
        }
    }

    fn body_error(&self, request: String, error: BodyError) -> ApiError {
        ApiError::Body {
            request,
            detail: self.clean_message(&error.to_string()),
        }
    }

    /// Redacts the token from an upstream text and cuts it to a log-friendly length.
    fn clean_message(&self, text: &str) -> String {
        let redacted = self.config.token.redact(text);
        match redacted.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}...", &redacted[..cut]),
            None => redacted,
        }
    }

    fn count_request(&self, endpoint: Endpoint, code: &str) {
        let labels = RequestLabels {
            account: self.config.account.clone(),
            endpoint: endpoint.as_str().to_owned(),
            code: code.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// Describes a transport error with its chain of causes, without the URL.
    fn describe(&self, error: &reqwest::Error) -> String {
        let text = crate::with_causes(&ErrorWithoutUrl(error), error.source());
        self.config.token.redact(&text)
    }
}

/// A borrowed reqwest error whose `Display` leaves out the URL, because the URL
/// carries the token in its query string.
struct ErrorWithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for ErrorWithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let error = self.0;
        let kind = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_body() || error.is_decode() {
            "invalid response body"
        } else if error.is_request() {
            "request failed"
        } else {
            "HTTP error"
        };
        f.write_str(kind)
    }
}

/// Largest error body read for its message, in bytes.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// Maximum length of an upstream error message kept, in characters. The rest is cut.
const MAX_MESSAGE_CHARS: usize = 300;

/// A request sent without a response yet, as [`Client::send_once`] tracks it.
struct UnansweredRequest<'a> {
    client: &'a Client,
    endpoint: Endpoint,
    armed: bool,
}

impl Drop for UnansweredRequest<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.client.count_request(self.endpoint, "timeout");
        }
    }
}

/// The outcome of a failed send, split by whether a retry may help.
enum SendError {
    /// The connection could not be made, so the request never reached the API.
    Connect(ApiError),
    /// Anything else.
    Api(ApiError),
}

/// Reads a `Retry-After` header: a number of seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    /// Records `ids` in order and returns those found new.
    fn new_ids<'a>(ids: &[&'a str]) -> Vec<&'a str> {
        let mut seen = SeenIds::default();
        let mut received = Vec::new();
        let mut new = Vec::new();
        for id in ids {
            if seen.insert(id, &received) {
                received.push(Port::new([id, "", "", "", "", "", "", "", "", ""]));
                new.push(*id);
            }
        }
        new
    }

    #[test]
    fn increasing_ids_are_all_new() {
        assert_eq!(new_ids(&["1", "5", "100"]), ["1", "5", "100"]);
    }

    #[test]
    fn repeated_ids_are_found_in_any_order() {
        assert_eq!(
            new_ids(&["1", "5", "3", "5", "1", "4"]),
            ["1", "5", "3", "4"]
        );
        assert_eq!(new_ids(&["1", "2", "2"]), ["1", "2"]);
        assert_eq!(new_ids(&["b", "a", "b"]), ["b", "a"]);
    }

    #[test]
    fn ids_of_equal_numbers_stay_distinct() {
        assert_eq!(new_ids(&["7", "007", "+7", "7"]), ["7", "007", "+7"]);
        assert_eq!(new_ids(&["0", "1", "0"]), ["0", "1"]);
    }

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(retry_after).expect("header value"),
        );
        headers
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after(&headers("120")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&headers(" 0 ")), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_http_date() {
        let future = SystemTime::now() + Duration::from_secs(30);
        let pause = retry_after(&headers(&httpdate::fmt_http_date(future))).expect("a date");
        assert!(pause <= Duration::from_secs(30), "{pause:?}");
        assert!(pause >= Duration::from_secs(28), "{pause:?}");
    }

    #[test]
    fn retry_after_in_the_past_is_zero() {
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn unreadable_retry_after_is_none() {
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-5")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn loopback_urls_are_recognised() {
        for url in [
            "http://127.0.0.1:1/api",
            "http://[::1]:1/api",
            "http://localhost/api",
        ] {
            assert!(is_loopback(&Url::parse(url).expect("URL")), "{url}");
        }
        assert!(!is_loopback(
            &Url::parse("https://astroproxy.com/api/v1").expect("URL")
        ));
    }
}
