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
//! - `POST /ports/{id}/renew` with `volume` in decimal gigabytes adds that
//!   traffic, extends the end date by [`RENEWAL_PERIOD`], charges the balance
//!   and returns the port as `GET /ports/{id}` does.
//! - `GET /ports/{id}/newip` gives the port a new node IP address and returns
//!   `{"ip":...}` under `data`. Another call within [`IP_CHANGE_INTERVAL`]
//!   returns 423 with `{"status":"error","data":{"message":...}}`, the one
//!   error that carries its message under `data`, as in the real API.
//! - `GET /countries?network=`, `GET /cities?country=` and
//!   `GET /operators?country=&city=&network=` return `[{"name":...}]` from
//!   the simulator's catalogue, and `GET /lists` the whole catalogue as
//!   `[{"name","code","cities":[{"name","operators":[{"name"}]}]}]`.
//! - `POST /calculate` returns the price of a new port as
//!   `{"cost":...,"currency":"USD"}` under `data`.
//!
//! `POST` endpoints read parameters from a form-urlencoded or JSON object
//! body, or from the query string, and `GET` endpoints from the query
//! string. A body of another content type returns 415, and one over 64 KiB
//! returns 413. A missing or invalid parameter returns 400 with a message
//! that names it. A wrong or missing token returns 401 `Invalid token`, an
//! unknown path 404, and a known path with another method 405 with an
//! `Allow` header.
//!
//! # Choices the real API does not document
//!
//! - The default page size is [`DEFAULT_PAGE_SIZE`] (20) and the maximum
//!   [`MAX_PAGE_SIZE`] (1000).
//! - Unknown parameters are ignored, and a repeated parameter takes its last
//!   value. A `POST` parameter in the body takes precedence over the query
//!   string.
//! - Prices come from the simulator's own list in [`price_per_gb`], in USD
//!   per gigabyte: Mobile 4.00, Residential 3.00, Business and Hosting 1.50,
//!   and 2.00 for other networks. An unlimited port costs
//!   [`UNLIMITED_PRICE_GB_EQUIVALENT`] (50) gigabytes a month. Renewing costs
//!   the volume times the price, rounded to cents, and a balance below the
//!   cost returns 402 and changes nothing. The volume is at most
//!   [`MAX_VOLUME_GB`].
//! - Renewing extends the end date from the later of now and the current
//!   end. A port without an end date keeps none. Renewing or changing the
//!   IP of an archived port returns 409.
//! - The catalogue of countries, cities, operators and network types is the
//!   simulator's own and covers every port of [`Account::demo`]. An unknown
//!   country or city returns an empty list.
//! - `order=random` ignores `orderDirection`. Each list request gets a new
//!   permutation, seeded with the number of earlier list requests, so the
//!   sequence of permutations is the same in every run.
//!
//! # Time
//!
//! Traffic use and balance move with the time elapsed on a [`Clock`], which
//! starts with the server: see [`Port::traffic_used_at`] and
//! [`Account::balance_at`]. Tests that need fixed output use zero rates or a
//! [`ManualClock`] through [`Simulator::start_with_clock`]. The interval
//! between IP changes is measured on the same clock, and renewals count end
//! dates from [`SimulatorHandle::start_time`] plus the elapsed time.
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
mod catalogue;
mod clock;
mod demo;
mod params;
mod port_actions;
mod pricing;
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
pub use port_actions::{IP_CHANGE_INTERVAL, RENEWAL_PERIOD};
pub use pricing::{MAX_VOLUME_GB, UNLIMITED_PRICE_GB_EQUIVALENT, price_per_gb};
pub use server::{BASE_PATH, Simulator, SimulatorHandle};

/// A request as the model and a [`Responder`] see it, after the token check
/// and body decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// HTTP method, such as `"GET"`.
    pub method: String,
    /// Path after [`BASE_PATH`], such as `"/ports"` or `"/ports/17"`.
    pub path: String,
    /// Percent-decoded query parameters in request order, without `token`.
    pub query: Vec<(String, String)>,
    /// Parameters of a form-urlencoded body in request order, or the members
    /// of a JSON object body sorted by name. Empty when the body is empty.
    /// JSON numbers and booleans are kept as their JSON text, such as `"2.5"`
    /// or `"true"`.
    pub body: Vec<(String, String)>,
}

impl ApiRequest {
    /// Returns the last value of the query parameter `name`, the value the
    /// model uses for `GET` endpoints.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        last_value(&self.query, name)
    }

    /// Returns the last value of the parameter `name` in the body, or in the
    /// query string when the body does not contain it. `POST` endpoints read
    /// their parameters this way.
    pub fn param(&self, name: &str) -> Option<&str> {
        last_value(&self.body, name).or_else(|| self.query_value(name))
    }
}

fn last_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
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

/// The pacing of a dripped body: `chunk_size` bytes at a time, each after a
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
