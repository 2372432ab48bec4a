//! One scrape's work: call the Astro API within a deadline and gather the results
//! into a [`Snapshot`] that the metrics are built from.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::{ApiError, Balance, Client, Endpoint, PortList};

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

/// What one scrape collected. A failed part leaves its fields `None` and its success
/// flag false; the other part's data is kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub balance: Option<Balance>,
    pub active_ports: Option<PortList>,
    pub archived_port_count: Option<u64>,
    pub balance_success: bool,
    pub ports_success: bool,
    /// How long the API calls took.
    pub duration: Duration,
}

impl Snapshot {
    /// Whether every API call of the scrape succeeded.
    pub fn up(&self) -> bool {
        self.balance_success && self.ports_success
    }

    /// Whether the given part succeeded.
    pub fn success(&self, part: Part) -> bool {
        match part {
            Part::Balance => self.balance_success,
            Part::Ports => self.ports_success,
        }
    }
}

/// Collects snapshots of one account.
#[derive(Debug, Clone)]
pub struct Scraper {
    client: Client,
}

impl Scraper {
    pub fn new(client: Client) -> Scraper {
        Scraper { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Calls the API for balance, active ports and archived count concurrently, and
    /// gives up on whatever has not finished by `deadline`.
    pub async fn scrape(&self, deadline: Instant) -> Arc<Snapshot> {
        let started = Instant::now();
        let (balance, active_ports, archived_port_count) = tokio::join!(
            within(deadline, Endpoint::Balance, self.client.balance()),
            within(deadline, Endpoint::Ports, self.client.active_ports()),
            within(deadline, Endpoint::Ports, self.client.archived_port_count()),
        );

        let balance_success = balance.is_some();
        let ports_complete = active_ports.as_ref().is_some_and(|list| list.complete);
        let ports_success = ports_complete && archived_port_count.is_some();
        let snapshot = Snapshot {
            balance,
            active_ports,
            archived_port_count,
            balance_success,
            ports_success,
            duration: started.elapsed(),
        };
        tracing::debug!(
            up = snapshot.up(),
            balance = balance_success,
            ports = ports_success,
            duration_seconds = snapshot.duration.as_secs_f64(),
            "scrape finished"
        );
        Arc::new(snapshot)
    }
}

/// Runs one API call until `deadline`, logging a failure or a timeout once.
async fn within<T>(
    deadline: Instant,
    endpoint: Endpoint,
    call: impl Future<Output = Result<T, ApiError>>,
) -> Option<T> {
    match tokio::time::timeout_at(deadline, call).await {
        Ok(Ok(value)) => Some(value),
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
                "Astro API call timed out before the scrape deadline"
            );
            None
        }
    }
}
