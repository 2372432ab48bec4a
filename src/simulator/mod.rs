//! A fake of the Astro proxy HTTP API for tests and demos, served on a local
//! listener.
//!
//! # Endpoints
//!
//! All paths are under `/api/v1`, and every request must carry the account
//! token as the query parameter `token`. Successful replies use the envelope
//! `{"status":"ok","data":...}`, and errors `{"status":"error","message":...}`
//! with a 4xx status.
//!
//! - `GET /balance` returns `{"balance":42.17,"currency":"USD"}` under `data`.
//!   The currency is a string or a number, as [`Currency`] sets.
//! - `GET /ports` returns one page of ports as
//!   `{"status":"ok","total":T,"count":C,"currentPage":P,"data":{"ports":[...]}}`,
//!   where `total` counts the matching ports on all pages. Parameters:
//!   `count` (page size), `page` (from 1), `order` (`random`, `created`, `id`
//!   or `name`, default `id`), `orderDirection` (`asc` or `desc`, default
//!   `desc`) and `status` (`active` or `archived`, default all). A page past
//!   the end is empty. An invalid value returns 400 with a message that names
//!   the parameter and the value.
//! - `GET /ports/{id}` returns one port under `data`, or 404.
//!
//! A wrong or missing token returns 401 `Invalid token`, an unknown path 404
//! and any method other than GET 405.
//!
//! # Choices the real API does not document
//!
//! - The default page size is [`DEFAULT_PAGE_SIZE`] (20) and the maximum
//!   [`MAX_PAGE_SIZE`] (1000).
//! - Unknown query parameters are ignored, and a repeated parameter takes
//!   its last value.
//! - `order=random` ignores `orderDirection`. Each list request gets a new
//!   permutation, seeded with the number of earlier list requests, so the
//!   sequence of permutations is the same in every run.
//!
//! # Time
//!
//! Traffic use and balance move with the time elapsed on a [`Clock`], which
//! starts with the server: see [`Port::traffic_used_at`] and
//! [`Account::balance_at`]. Tests that need fixed output use zero rates or a
//! [`ManualClock`] through [`Simulator::start_with_clock`].
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use astro_exporter::simulator::{Account, Simulator};
//!
//! let now = time::OffsetDateTime::now_utc();
//! let simulator = Simulator::start_on_loopback(Account::demo(now), "demo-token".into()).await?;
//! println!("{}/balance?token=demo-token", simulator.base_url());
//! simulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod account;
mod api;
mod clock;
mod demo;
mod render;
mod server;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use account::{
    Access, Account, Currency, DateStyle, MissingStyle, Port, Rotation, RotationUnit,
};
pub use api::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use server::{BASE_PATH, Simulator, SimulatorHandle};

/// A request as the model and a [`Responder`] see it, after the token check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// HTTP method, such as `"GET"`.
    pub method: String,
    /// Path after [`BASE_PATH`], such as `"/ports"` or `"/ports/17"`.
    pub path: String,
    /// Percent-decoded query parameters in request order, without `token`.
    pub query: Vec<(String, String)>,
}

impl ApiRequest {
    /// Returns the last value of the query parameter `name`, the value the
    /// model uses.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An HTTP reply from the model or a [`Responder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
    /// Time the server waits before sending the reply, to test timeouts.
    pub delay: Option<Duration>,
    /// Extra response headers, such as `Retry-After`.
    pub headers: Vec<(String, String)>,
    /// Sends the body in pieces with pauses between them and without a
    /// `Content-Length`, to test slow and unbounded bodies.
    pub drip: Option<Drip>,
}

/// How a dripped body is sent: `chunk_size` bytes at a time, each after a
/// pause of `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drip {
    pub chunk_size: usize,
    pub interval: Duration,
}

impl Reply {
    /// Creates an `application/json` reply with no delay. The body is sent
    /// as given, valid JSON or not.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            content_type: "application/json".to_owned(),
            body: body.into(),
            delay: None,
            headers: Vec::new(),
            drip: None,
        }
    }

    /// Creates a reply with the API's error envelope,
    /// `{"status":"error","message":...}`.
    pub fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, render::error_body(message))
    }

    /// Returns the reply with `delay` before it is sent.
    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// Returns the reply with an extra response header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Returns the reply with another content type, such as `text/html`.
    pub fn with_content_type(mut self, content_type: &str) -> Reply {
        self.content_type = content_type.to_owned();
        self
    }

    /// Returns the reply with its body sent `chunk_size` bytes at a time, each
    /// after a pause of `interval`, and without a `Content-Length`.
    pub fn dripped(mut self, chunk_size: usize, interval: Duration) -> Reply {
        self.drip = Some(Drip {
            chunk_size: chunk_size.max(1),
            interval,
        });
        self
    }
}

/// A function that may build the reply to a request in place of the model,
/// for example to inject errors. Returning `None` leaves the request to the
/// model.
pub type Responder = Arc<dyn Fn(&ApiRequest) -> Option<Reply> + Send + Sync>;
