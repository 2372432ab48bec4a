//! Accepting connections: TLS when configured, HTTP/1.1 and HTTP/2, and limits that
//! keep slow or greedy clients from starving Prometheus.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::Exporter;

/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Most connections served at once; further ones are closed at once. Prometheus
/// needs one or two.
pub const MAX_CONNECTIONS: usize = 256;

/// Time a client has to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a client has to send a request's headers, counted from when the server
/// starts waiting for them, idle time between keep-alive requests included.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers) accepted over HTTP/1.1, and
/// largest header list over HTTP/2, in bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most concurrent requests on one HTTP/2 connection.
const MAX_HTTP2_STREAMS: u32 = 16;

/// Serves on `listener` until `shutdown` completes, then waits up to ten seconds
/// for open connections to finish.
pub async fn serve(
    exporter: Arc<Exporter>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Usually a full file descriptor table: pause instead of spinning.
                        tracing::error!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // A response goes out as several chunks, and with Nagle's algorithm the
                // last small one waits for the client's delayed acknowledgement.
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, %error, "setting TCP_NODELAY failed");
                }
                let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::warn!(%peer, limit = MAX_CONNECTIONS, "too many open connections; closing the new one");
                    continue;
                };
                let exporter = Arc::clone(&exporter);
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    serve_connection(exporter, stream, peer, watcher).await;
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }

    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("open connections did not finish within {SHUTDOWN_GRACE:?}; closing them");
        }
    }
}

/// Serves one connection, after a TLS handshake when the web configuration
/// enables TLS.
async fn serve_connection(
    exporter: Arc<Exporter>,
    stream: TcpStream,
    peer: SocketAddr,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let web = exporter.web.current();
    let http2 = web.http2;
    match &web.tls {
        None => serve_http(exporter, stream, peer, http2, watcher).await,
        Some(config) => {
            let acceptor = TlsAcceptor::from(Arc::clone(config));
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => serve_http(exporter, stream, peer, http2, watcher).await,
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_http<S>(
    exporter: Arc<Exporter>,
    stream: S,
    peer: SocketAddr,
    http2: bool,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .max_concurrent_streams(MAX_HTTP2_STREAMS)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    if !http2 {
        builder = builder.http1_only();
    }

    let service = service_fn(move |request: Request<Incoming>| {
        let exporter = Arc::clone(&exporter);
        async move { Ok::<_, Infallible>(exporter.handle(request).await) }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}
