//! The HTTP server: the metrics endpoint, a landing page and a health check.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::collect::Scraper;
use crate::metrics::{self, ExporterMetrics, Format};

/// The health check path, which returns 200 while the process serves requests.
pub const HEALTH_PATH: &str = "/-/healthy";

/// The header in which Prometheus sends its scrape timeout.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// How long shutdown waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Exporter {
    pub scraper: Scraper,
    pub metrics: ExporterMetrics,
    pub telemetry_path: String,
    /// Maximum time a scrape may spend on API calls.
    pub timeout: Duration,
    /// Time subtracted from the scraper's own timeout.
    pub timeout_offset: Duration,
}

type HttpResponse = Response<Full<Bytes>>;

impl Exporter {
    /// Handles one HTTP request.
    pub async fn handle<B>(&self, request: Request<B>) -> HttpResponse {
        let path = request.uri().path();
        let known = path == "/" || path == HEALTH_PATH || path == self.telemetry_path;
        if !known {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, http::HeaderValue::from_static("GET, HEAD"));
            return response;
        }

        if path == HEALTH_PATH {
            plain(StatusCode::OK, "Healthy\n")
        } else if path == "/" {
            self.landing_page()
        } else {
            self.scrape(request.method() == Method::HEAD, request.headers())
                .await
        }
    }

    async fn scrape(&self, head_only: bool, headers: &HeaderMap) -> HttpResponse {
        let accept = headers
            .get(http::header::ACCEPT)
            .and_then(|value| value.to_str().ok());
        let format = Format::negotiate(accept);
        if head_only {
            return with_content_type(StatusCode::OK, format.content_type(), Bytes::new());
        }

        let deadline = Instant::now() + self.scrape_timeout(headers);
        let snapshot = self.scraper.scrape(deadline).await;
        match metrics::encode(snapshot, &self.metrics, format) {
            Ok(body) => with_content_type(StatusCode::OK, format.content_type(), Bytes::from(body)),
            Err(error) => {
                tracing::error!(%error, "encoding the metrics failed");
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encoding the metrics failed\n",
                )
            }
        }
    }

    /// Returns the time this scrape may spend on API calls: the scraper's timeout
    /// header minus the offset, capped by the exporter's own timeout.
    fn scrape_timeout(&self, headers: &HeaderMap) -> Duration {
        let requested = headers
            .get(SCRAPE_TIMEOUT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok())
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .filter(|timeout| !timeout.is_zero());
        match requested {
            // A timeout shorter than the offset is used as given rather than as zero.
            Some(timeout) if timeout > self.timeout_offset => {
                (timeout - self.timeout_offset).min(self.timeout)
            }
            Some(timeout) => timeout.min(self.timeout),
            None => self.timeout,
        }
    }

    fn landing_page(&self) -> HttpResponse {
        let path = escape_html(&self.telemetry_path);
        let version = env!("CARGO_PKG_VERSION");
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
             <title>Astro Exporter</title></head>\n<body>\n<h1>Astro Exporter</h1>\n\
             <p>Prometheus exporter for the Astro proxy API, version {version}.</p>\n\
             <ul>\n<li><a href=\"{path}\">Metrics</a></li>\n\
             <li><a href=\"{HEALTH_PATH}\">Health</a></li>\n</ul>\n</body>\n</html>\n"
        );
        with_content_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from(body),
        )
    }
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    with_content_type(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

fn with_content_type(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Serves HTTP/1.1 and HTTP/2 on `listener` until `shutdown` completes, then waits up
/// to ten seconds for open connections to finish.
pub async fn serve(
    exporter: Arc<Exporter>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
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
                let exporter = Arc::clone(&exporter);
                let service = service_fn(move |request: Request<Incoming>| {
                    let exporter = Arc::clone(&exporter);
                    async move { Ok::<_, Infallible>(exporter.handle(request).await) }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(escape_html("/m<\"&'>"), "/m&lt;&quot;&amp;&#39;&gt;");
    }
}
