//! The HTTP server: token check, request counting, responder override and
//! graceful shutdown around the model in [`super::api`].

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Sleep;

use super::account::Account;
use super::api::Moment;
use super::clock::{Clock, SystemClock};
use super::params::{self, BodyError};
use super::{ApiRequest, Drip, Reply, Responder, api};

/// Path prefix of every API endpoint.
pub const BASE_PATH: &str = "/api/v1";

/// Time that [`SimulatorHandle::shutdown`] gives open connections to finish
/// before it aborts them. Chosen so that a test with a delayed reply does
/// not hang on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Pause after a failed `accept`, such as running out of file descriptors,
/// so the accept loop does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// Entry point that starts simulator servers.
#[derive(Debug)]
pub struct Simulator;

/// State shared by the accept loop, the connections and the handle.
struct Shared {
    account: Mutex<Account>,
    token: String,
    clock: Arc<dyn Clock>,
    /// Wall-clock time at which `clock` read zero. Renewals count end dates
    /// from this time plus the clock's elapsed time.
    start_time: OffsetDateTime,
    responder: Mutex<Option<Responder>>,
    /// Time every reply waits before it is sent, on top of its own delay.
    latency: Mutex<Duration>,
    request_counts: Mutex<HashMap<String, u64>>,
    /// Number of `/ports` list requests, used as the seed of `order=random`.
    list_requests: AtomicU64,
}

impl Simulator {
    /// Serves `account` on `listener` until the handle is shut down or
    /// dropped. Requests must carry `token` as the `token` query parameter.
    /// Traffic and balance move with wall-clock time from this call on.
    pub async fn start(
        listener: TcpListener,
        account: Account,
        token: String,
    ) -> io::Result<SimulatorHandle> {
        Simulator::start_with_clock(listener, account, token, Arc::new(SystemClock::start())).await
    }

    /// Serves like [`Simulator::start`], with traffic and balance moving by
    /// `clock`, such as a [`super::ManualClock`] in tests.
    pub async fn start_with_clock(
        listener: TcpListener,
        account: Account,
        token: String,
        clock: Arc<dyn Clock>,
    ) -> io::Result<SimulatorHandle> {
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            account: Mutex::new(account),
            token,
            clock,
            start_time: OffsetDateTime::now_utc(),
            responder: Mutex::new(None),
            latency: Mutex::new(Duration::ZERO),
            request_counts: Mutex::new(HashMap::new()),
            list_requests: AtomicU64::new(0),
        });
        let (shutdown_sender, shutdown_receiver) = oneshot::channel();
        let task = tokio::spawn(serve(listener, Arc::clone(&shared), shutdown_receiver));
        tracing::debug!(%local_addr, "simulator started");

        Ok(SimulatorHandle {
            local_addr,
            shared,
            shutdown_sender,
            task,
        })
    }

    /// Binds 127.0.0.1 on a free port and serves like [`Simulator::start`].
    pub async fn start_on_loopback(account: Account, token: String) -> io::Result<SimulatorHandle> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        Simulator::start(listener, account, token).await
    }
}

/// Control of a running simulator. Dropping it stops the server too, but
/// without waiting for open connections.
pub struct SimulatorHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping this sender, as dropping the handle does, also stops the
    /// accept loop.
    shutdown_sender: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SimulatorHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SimulatorHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl SimulatorHandle {
    /// Returns the API base URL, such as `http://127.0.0.1:41234/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Returns the wall-clock time at which the simulator started. The
    /// simulator's current time, which `/renew` extends end dates from, is
    /// this time plus the clock's elapsed time.
    pub fn start_time(&self) -> OffsetDateTime {
        self.shared.start_time
    }

    /// Sets the function that may reply to requests in place of the model.
    ///
    /// It runs for requests that passed the token check. When it returns
    /// `None`, or no responder is set, the model builds the reply.
    pub fn set_responder(&self, responder: Option<Responder>) {
        *lock(&self.shared.responder) = responder;
    }

    /// Makes every later reply wait `latency` before it is sent, as a remote API
    /// takes time to respond. A reply's own delay comes on top.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.shared.latency) = latency;
    }

    /// Returns how many requests arrived for `path`, the part after
    /// [`BASE_PATH`] such as `"/ports"` or `"/ports/17"`.
    ///
    /// Every request under the base path counts, including those rejected
    /// for the token and those the responder replied to. Requests outside
    /// the base path are not counted.
    pub fn request_count(&self, path: &str) -> u64 {
        lock(&self.shared.request_counts)
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Returns how many requests arrived under the base path in total.
    pub fn total_request_count(&self) -> u64 {
        lock(&self.shared.request_counts).values().sum()
    }

    /// Runs `f` on the served account, for example to remove a port
    /// between two scrapes. Requests wait while `f` runs.
    pub fn with_account<R>(&self, f: impl FnOnce(&mut Account) -> R) -> R {
        f(&mut lock(&self.shared.account))
    }

    /// Stops accepting connections and waits for open connections to finish
    /// their current request, for at most 5 seconds before aborting them.
    pub async fn shutdown(self) {
        let SimulatorHandle {
            shutdown_sender,
            task,
            ..
        } = self;
        // An error means the accept loop has already stopped and dropped
        // the receiver, so there is nothing left to signal.
        let _ = shutdown_sender.send(());
        if let Err(error) = task.await {
            tracing::warn!(%error, "simulator server task failed");
        }
    }
}

/// Locks `mutex`, recovering the data if a test closure panicked while
/// holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections until `shutdown` fires or its sender is dropped,
/// then shuts the connections down gracefully.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: oneshot::Receiver<()>) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();

    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "simulator failed to accept a connection");
                        tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                        continue;
                    }
                };
                let shared = Arc::clone(&shared);
                let service = service_fn(move |request| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(handle(request, &shared).await) }
                });
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "simulator connection ended with an error");
                    }
                });
            }
        }
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open_connections = connections.len(),
            "simulator connections did not finish in time, aborting them"
        );
        connections.abort_all();
    }
    tracing::debug!("simulator stopped");
}

/// A response body: whole, or dripped in pieces.
type ReplyBody = Either<Full<Bytes>, DripBody>;

/// Serves one HTTP request, sleeping for the latency and the reply's delay before
/// returning.
async fn handle(request: Request<Incoming>, shared: &Shared) -> Response<ReplyBody> {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let full_path = parts.uri.path().to_owned();
    let reply = match api_path(&full_path) {
        Some(path) => {
            let (token, query) = params::split_query(parts.uri.query().unwrap_or(""));
            let content_type = parts
                .headers
                .get(CONTENT_TYPE)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            let received = RawRequest {
                method: method.clone(),
                path: path.to_owned(),
                query,
                token,
                content_type,
                body: params::read_body(body).await,
            };
            build_reply(received, shared)
        }
        None => Reply::error(404, &format!("Unknown endpoint: {full_path}")),
    };

    let delay = *lock(&shared.latency) + reply.delay.unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    tracing::debug!(%method, path = %full_path, status = reply.status, "simulator request");
    into_response(reply)
}

/// Returns the part of `path` after [`BASE_PATH`], or `None` when `path` is
/// outside it.
fn api_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(BASE_PATH)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// A request under [`BASE_PATH`] before the token check and body decoding.
struct RawRequest {
    method: String,
    /// Path after [`BASE_PATH`].
    path: String,
    /// Query parameters without `token`.
    query: Vec<(String, String)>,
    token: Option<String>,
    content_type: Option<String>,
    body: Result<Bytes, BodyError>,
}

/// Counts the request, checks the token and decodes the body, then builds
/// the reply with the responder or, when it returns `None`, the model.
///
/// A body that cannot be read or decoded gets its error reply before the
/// responder runs, because the responder gets only decoded parameters.
fn build_reply(received: RawRequest, shared: &Shared) -> Reply {
    *lock(&shared.request_counts)
        .entry(received.path.clone())
        .or_insert(0) += 1;

    if received.token.as_deref() != Some(shared.token.as_str()) {
        return Reply::error(401, "Invalid token");
    }

    let body_bytes = match received.body {
        Ok(bytes) => bytes,
        Err(error) => return error.into_reply(),
    };
    let body = match params::decode_body(received.content_type.as_deref(), &body_bytes) {
        Ok(body) => body,
        Err(error) => return error.into_reply(),
    };
    let request = ApiRequest {
        method: received.method,
        path: received.path,
        query: received.query,
        body,
    };

    // Clone the responder out so that it runs without the lock held and may
    // call back into the handle.
    let responder = lock(&shared.responder).clone();
    if let Some(reply) = responder.and_then(|responder| responder(&request)) {
        return reply;
    }

    let seed = if request.path == "/ports" {
        shared.list_requests.fetch_add(1, Ordering::Relaxed)
    } else {
        0
    };
    let elapsed = shared.clock.elapsed();
    let moment = Moment {
        elapsed,
        now: simulator_now(shared.start_time, elapsed),
    };
    let mut account = lock(&shared.account);
    api::respond(&request, &mut account, moment, seed)
}

/// Returns `start_time` plus `elapsed`, in whole seconds. An elapsed time
/// too large for a date saturates at the latest date `time` supports.
fn simulator_now(start_time: OffsetDateTime, elapsed: Duration) -> OffsetDateTime {
    let now = start_time
        .checked_add(time::Duration::try_from(elapsed).unwrap_or(time::Duration::MAX))
        .unwrap_or(OffsetDateTime::new_utc(
            time::Date::MAX,
            time::Time::MIDNIGHT,
        ));
    now.replace_nanosecond(0).expect("0 is a valid nanosecond")
}

fn into_response(reply: Reply) -> Response<ReplyBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or_else(|_| {
        tracing::warn!(
            status = reply.status,
            "responder returned an invalid HTTP status, sending 500"
        );
        StatusCode::INTERNAL_SERVER_ERROR
    });
    let body = match reply.drip {
        Some(drip) => Either::Right(DripBody::new(&reply.body, drip)),
        None => Either::Left(Full::new(reply.body)),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    for (name, value) in &reply.headers {
        match (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(%name, "responder returned an invalid header, leaving it out"),
        }
    }
    match http::HeaderValue::from_str(&reply.content_type) {
        Ok(content_type) => {
            response.headers_mut().insert(CONTENT_TYPE, content_type);
        }
        Err(error) => {
            tracing::warn!(%error, "responder returned an invalid content type, sending none");
        }
    }
    response
}

/// A body sent in pieces, each after a pause, with no size known in advance.
struct DripBody {
    chunks: VecDeque<Bytes>,
    interval: Duration,
    pause: Option<Pin<Box<Sleep>>>,
}

impl DripBody {
    fn new(body: &Bytes, drip: Drip) -> DripBody {
        let chunks = body
            .chunks(drip.chunk_size)
            .map(|chunk| body.slice_ref(chunk))
            .collect();
        DripBody {
            chunks,
            interval: drip.interval,
            pause: None,
        }
    }
}

impl Body for DripBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        if this.chunks.is_empty() {
            return Poll::Ready(None);
        }
        let interval = this.interval;
        let pause = this
            .pause
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
        if pause.as_mut().poll(context).is_pending() {
            return Poll::Pending;
        }
        this.pause = None;
        Poll::Ready(this.chunks.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_path_requires_base_prefix() {
        assert_eq!(api_path("/api/v1/ports"), Some("/ports"));
        assert_eq!(api_path("/api/v1"), Some(""));
        assert_eq!(api_path("/api/v10/ports"), None);
        assert_eq!(api_path("/ports"), None);
    }
}
