//! One scrape's work: call the Astro API within a deadline and gather the results
//! into a [`Snapshot`] that the metrics are built from.
//!
//! Concurrent scrapes share one set of API calls (single flight), and with a cache
//! time set, a scrape shortly after a successful one reuses its result.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::{ApiError, Balance, Client, Endpoint, PortList};
use crate::metrics::{PortLines, PortSeries};

/// Time a fetch leaves between giving up on its API calls and the deadline of the
/// scrape that started it, to build and publish the snapshot. Without it the scrape
/// would race its own fetch.
const PUBLISH_MARGIN: Duration = Duration::from_millis(100);

/// A part of the scrape that succeeds or fails on its own, as reported by
/// `astro_scrape_collector_success{collector}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `GET /balance`.
    Balance,
    /// `GET /ports`, for the active ports and the archived count.
    Ports,
}

impl Part {
    pub const ALL: [Part; 2] = [Part::Balance, Part::Ports];

    pub fn as_str(self) -> &'static str {
        match self {
            Part::Balance => "balance",
            Part::Ports => "ports",
        }
    }
}

/// The data one scrape collected. A failed part leaves its fields `None` and its success
/// flag false; the other part's data is kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub balance: Option<Balance>,
    pub active_ports: Option<PortList>,
    pub archived_port_count: Option<u64>,
    /// The samples of `active_ports`, rendered while the pages arrived. Without them,
    /// encoding renders them from `active_ports`.
    pub port_lines: Option<PortLines>,
    pub balance_success: bool,
    pub ports_success: bool,
    /// How long the API calls took.
    pub duration: Duration,
    /// When the data served was fetched by a scrape in which every call succeeded:
    /// this snapshot's own fetch when it succeeded, else the last earlier success.
    /// `None` until the first success.
    pub last_success: Option<SystemTime>,
}

impl Snapshot {
    /// Returns whether every API call of the scrape succeeded.
    pub fn up(&self) -> bool {
        self.balance_success && self.ports_success
    }

    /// Returns whether the given part succeeded.
    pub fn success(&self, part: Part) -> bool {
        match part {
            Part::Balance => self.balance_success,
            Part::Ports => self.ports_success,
        }
    }
}

/// Collects snapshots of one account. Clones share the in-flight fetch and the cache.
#[derive(Debug, Clone)]
pub struct Scraper {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    cache_ttl: Duration,
    state: Mutex<State>,
    /// Set while the API rejects the token, so that the rejection is logged once.
    token_rejected: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    /// The fetch under way, which every concurrent scrape waits for.
    in_flight: Option<watch::Receiver<Option<Arc<Snapshot>>>>,
    /// The last fetch in which every call succeeded.
    last_success: Option<LastSuccess>,
}

#[derive(Debug)]
struct LastSuccess {
    fetched: Instant,
    at: SystemTime,
    /// The snapshot, kept only with a cache time: otherwise it is never served again,
    /// and holding it would double the memory of a scrape of a large account.
    snapshot: Option<Arc<Snapshot>>,
}

impl Scraper {
    /// Creates a scraper. With a nonzero `cache_ttl`, a scrape within that time of a
    /// successful fetch reuses it instead of calling the API.
    pub fn new(client: Client, cache_ttl: Duration) -> Scraper {
        Scraper {
            inner: Arc::new(Inner {
                client,
                cache_ttl,
                state: Mutex::default(),
                token_rejected: AtomicBool::new(false),
            }),
        }
    }

    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Returns a snapshot of the account by `deadline`.
    ///
    /// The snapshot comes from the cache when it is fresh enough, else from the fetch
    /// under way, else from a new fetch. A scrape whose deadline passes while it waits
    /// for another scrape's fetch gets a snapshot in which every part failed.
    pub async fn scrape(&self, deadline: Instant) -> Arc<Snapshot> {
        let mut result = {
            let mut state = self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(cached) = state.fresh_success(self.inner.cache_ttl) {
                tracing::debug!("serving the cached snapshot");
                return cached;
            }
            match &state.in_flight {
                Some(in_flight) => in_flight.clone(),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    state.in_flight = Some(receiver.clone());
                    // The fetch stops a moment before the deadline, so that its result
                    // reaches this scrape in time.
                    let fetch_deadline = deadline
                        .checked_sub(PUBLISH_MARGIN)
                        .unwrap_or(deadline)
                        .max(Instant::now());
                    tokio::spawn(self.clone().fetch_and_publish(fetch_deadline, sender));
                    receiver
                }
            }
        };

        let published = tokio::time::timeout_at(deadline, result.wait_for(Option::is_some)).await;
        if let Ok(Ok(snapshot)) = published
            && let Some(snapshot) = snapshot.as_ref()
        {
            return Arc::clone(snapshot);
        }
        tracing::warn!("the scrape deadline passed before the Astro API calls finished");
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::new(Snapshot {
            last_success: state.last_success_time(),
            ..Snapshot::default()
        })
    }

    async fn fetch_and_publish(
        self,
        deadline: Instant,
        sender: watch::Sender<Option<Arc<Snapshot>>>,
    ) {
        // Clears the in-flight fetch even if this task is aborted or panics, so that
        // later scrapes start a new fetch instead of waiting for this one.
        let _clear = ClearInFlight(&self.inner);
        let mut snapshot = self.fetch(deadline).await;
        let snapshot = {
            let mut state = self
                .inner
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            state.in_flight = None;
            if snapshot.up() {
                let at = SystemTime::now();
                snapshot.last_success = Some(at);
                let snapshot = Arc::new(snapshot);
                state.last_success = Some(LastSuccess {
                    fetched: Instant::now(),
                    at,
                    snapshot: (!self.inner.cache_ttl.is_zero()).then(|| Arc::clone(&snapshot)),
                });
                snapshot
            } else {
                snapshot.last_success = state.last_success_time();
                Arc::new(snapshot)
            }
        };
        // Every waiting scrape may have given up already; the result is then unused.
        let _ = sender.send(Some(snapshot));
    }

    /// Calls the API for balance, active ports and archived count concurrently, and
    /// gives up on whatever has not finished by `deadline`.
    async fn fetch(&self, deadline: Instant) -> Snapshot {
        let started = Instant::now();
        let client = &self.inner.client;
        let (balance, active_ports, archived_port_count) = tokio::join!(
            self.within(deadline, Endpoint::Balance, client.balance(deadline)),
            self.within(
                deadline,
                Endpoint::Ports,
                client.active_ports(deadline, PortSeries::default())
            ),
            self.within(
                deadline,
                Endpoint::Ports,
                client.archived_port_count(deadline)
            ),
        );

        let (active_ports, port_lines) = match active_ports {
            Some((list, series)) => (Some(list), Some(series.finish())),
            None => (None, None),
        };
        let balance_success = balance.is_some();
        let ports_complete = active_ports.as_ref().is_some_and(|list| list.complete);
        let ports_success = ports_complete && archived_port_count.is_some();
        let snapshot = Snapshot {
            balance,
            active_ports,
            archived_port_count,
            port_lines,
            balance_success,
            ports_success,
            duration: started.elapsed(),
            last_success: None,
        };
        tracing::debug!(
            up = snapshot.up(),
            balance = balance_success,
            ports = ports_success,
            duration_seconds = snapshot.duration.as_secs_f64(),
            "scrape finished"
        );
        snapshot
    }

    /// Runs one API call until `deadline`, logging a failure or a timeout once.
    async fn within<T>(
        &self,
        deadline: Instant,
        endpoint: Endpoint,
        call: impl Future<Output = Result<T, ApiError>>,
    ) -> Option<T> {
        match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(value)) => {
                if self.inner.token_rejected.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        endpoint = endpoint.as_str(),
                        "the Astro API accepts the token again"
                    );
                }
                Some(value)
            }
            Ok(Err(error)) if error.is_token_rejected() => {
                if self.inner.token_rejected.swap(true, Ordering::Relaxed) {
                    tracing::debug!(endpoint = endpoint.as_str(), %error, "the Astro API still rejects the token");
                } else {
                    tracing::error!(
                        endpoint = endpoint.as_str(),
                        status = error.status(),
                        %error,
                        "the Astro API rejected the token: check ASTRO_API_TOKEN or --astro.token-file"
                    );
                }
                None
            }
            Ok(Err(error @ ApiError::RateLimited { .. })) => {
                // The 429 that started the pause was logged when it arrived.
                tracing::debug!(endpoint = endpoint.as_str(), %error, "Astro API call skipped");
                None
            }
            Ok(Err(error)) => {
                tracing::warn!(
                    endpoint = endpoint.as_str(),
                    status = error.status(),
                    %error,
                    "Astro API call failed"
                );
                None
            }
            Err(_) => {
                tracing::warn!(
                    endpoint = endpoint.as_str(),
                    "Astro API call did not finish by the scrape deadline"
                );
                None
            }
        }
    }
}

/// Clears [`State::in_flight`] when dropped.
struct ClearInFlight<'a>(&'a Inner);

impl Drop for ClearInFlight<'_> {
    fn drop(&mut self) {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .in_flight = None;
    }
}

impl State {
    /// Returns when the last fully successful snapshot was fetched.
    fn last_success_time(&self) -> Option<SystemTime> {
        self.last_success.as_ref().map(|success| success.at)
    }

    /// Returns the last successful snapshot if it is younger than `ttl`.
    fn fresh_success(&self, ttl: Duration) -> Option<Arc<Snapshot>> {
        let success = self.last_success.as_ref()?;
        let snapshot = success.snapshot.as_ref()?;
        (success.fetched.elapsed() < ttl).then(|| Arc::clone(snapshot))
    }
}
