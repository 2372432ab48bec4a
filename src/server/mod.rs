//! The HTTP server: the metrics endpoint, a landing page and a health check, behind
//! the protection of the web configuration file.

mod body;
mod encoded;
mod listen;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::header::{
    ACCEPT_ENCODING, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Body;
use tokio::time::Instant;

pub use encoded::EncodedBodies;
pub use listen::serve;

use body::ChunkedBody;
use encoded::BodyKind;

use crate::form::percent_decode;
use crate::metrics::{self, ExporterMetrics, Format};
use crate::sources::Source;
use crate::web::{WebConfig, WebConfigHandle};

/// The health check path, which returns 200 while the process serves requests.
pub const HEALTH_PATH: &str = "/-/healthy";

/// The header in which Prometheus sends its scrape timeout.
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// The path that scrapes one account of the configuration file.
pub const PROBE_PATH: &str = "/probe";

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Exporter {
    /// The account of the metrics path, if any.
    pub default: Option<Source>,
    /// The accounts of `/probe?account=NAME`.
    pub accounts: BTreeMap<String, Source>,
    pub metrics: ExporterMetrics,
    pub telemetry_path: String,
    /// Time subtracted from the scraper's own timeout.
    pub timeout_offset: Duration,
    /// TLS, authentication and headers, as the web configuration file sets them.
    pub web: Arc<WebConfigHandle>,
    /// Responses encoded for one snapshot, shared by the scrapes that share it.
    pub encoded: EncodedBodies,
}

type HttpResponse = Response<ChunkedBody>;

impl Exporter {
    /// Handles one HTTP request under the web configuration in force.
    ///
    /// Every path but the health check needs the credentials when basic
    /// authentication is configured, so no other spelling of a path gets around it.
    pub async fn handle<B: Body>(&self, request: Request<B>) -> HttpResponse {
        let web = self.web.current();
        let mut response = self.route(&web, request).await;
        for (name, value) in &web.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }

    async fn route<B: Body>(&self, web: &WebConfig, request: Request<B>) -> HttpResponse {
        let path = request.uri().path();
        if path != HEALTH_PATH && web.auth.is_enabled() {
            let authorization = request
                .headers()
                .get(AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            if !web.auth.check(authorization).await {
                tracing::debug!(path, "request without valid credentials");
                let mut response = plain(StatusCode::UNAUTHORIZED, "401 unauthorized\n");
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"astro-exporter\", charset=\"UTF-8\""),
                );
                return response;
            }
        }
        if request.body().size_hint().upper() != Some(0) {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 request bodies are not accepted\n",
            );
        }

        let known =
            path == "/" || path == HEALTH_PATH || path == PROBE_PATH || path == self.telemetry_path;
        if !known {
            return plain(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }

        if path == HEALTH_PATH {
            plain(StatusCode::OK, "Healthy\n")
        } else if path == "/" {
            self.landing_page()
        } else if path == PROBE_PATH {
            let name = query_parameter(request.uri().query(), "account");
            let source = match name.as_deref() {
                None | Some("") => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "missing parameter account\n".to_owned(),
                    );
                }
                Some(name) => match self.accounts.get(name) {
                    Some(source) => source,
                    None => {
                        let reason =
                            format!("unknown account {name:?}: it is not in --config.file\n");
                        return plain(StatusCode::BAD_REQUEST, reason);
                    }
                },
            };
            self.scrape(
                Some(source),
                false,
                request.method() == Method::HEAD,
                request.headers(),
            )
            .await
        } else {
            let head_only = request.method() == Method::HEAD;
            self.scrape(self.default.as_ref(), true, head_only, request.headers())
                .await
        }
    }

    /// Scrapes `source` and encodes its metrics, with the exporter's own metrics when
    /// `with_exporter` is set.
    async fn scrape(
        &self,
        source: Option<&Source>,
        with_exporter: bool,
        head_only: bool,
        headers: &HeaderMap,
    ) -> HttpResponse {
        let accept = headers
            .get(http::header::ACCEPT)
            .and_then(|value| value.to_str().ok());
        let format = Format::negotiate(accept);
        if head_only {
            return with_content_type(StatusCode::OK, format.content_type(), Bytes::new().into());
        }

        self.encoded.prune();
        let snapshot = match source {
            Some(source) => {
                let deadline = Instant::now() + self.scrape_timeout(headers, source.timeout);
                Some(source.scraper.scrape(deadline).await)
            }
            None => None,
        };
        let kind = BodyKind {
            with_exporter,
            format,
            gzip: accepts_gzip(headers),
        };
        let encode = || {
            let exporter = with_exporter.then_some(&self.metrics);
            let exposition = metrics::encode(snapshot.clone(), exporter, format)
                .map_err(|error| ("encoding", error.to_string()))?;
            if kind.gzip {
                let compressed = gzip(exposition.chunks())
                    .map_err(|error| ("compressing", error.to_string()))?;
                Ok(vec![Bytes::from(compressed)])
            } else {
                Ok(exposition.into_chunks())
            }
        };
        let body = match &snapshot {
            Some(snapshot) => self.encoded.get_or_encode(snapshot, kind, encode),
            None => encode(),
        };
        let body = match body {
            Ok(body) => body,
            Err((step, error)) => {
                tracing::error!(%error, "{step} the metrics failed");
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encoding the metrics failed\n",
                );
            }
        };

        let mut response = with_content_type(StatusCode::OK, format.content_type(), body.into());
        if kind.gzip {
            response
                .headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
            .headers_mut()
            .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        response
    }

    /// Returns the time this scrape may spend on API calls: the scraper's timeout
    /// header minus the offset, capped by the account's `timeout`.
    fn scrape_timeout(&self, headers: &HeaderMap, timeout: Duration) -> Duration {
        let requested = headers
            .get(SCRAPE_TIMEOUT_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok())
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .filter(|timeout| !timeout.is_zero());
        match requested {
            // A timeout shorter than the offset is used as given rather than as zero.
            Some(requested) if requested > self.timeout_offset => {
                (requested - self.timeout_offset).min(timeout)
            }
            Some(requested) => requested.min(timeout),
            None => timeout,
        }
    }

    fn landing_page(&self) -> HttpResponse {
        let path = escape_html(&self.telemetry_path);
        let version = env!("CARGO_PKG_VERSION");
        let probes: String = self
            .accounts
            .keys()
            .map(|name| {
                let name = escape_html(name);
                format!(
                    "<li><a href=\"{PROBE_PATH}?account={name}\">Probe account {name}</a></li>\n"
                )
            })
            .collect();
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
             <title>Astro Exporter</title></head>\n<body>\n<h1>Astro Exporter</h1>\n\
             <p>Prometheus exporter for the Astro proxy API, version {version}.</p>\n\
             <ul>\n<li><a href=\"{path}\">Metrics</a></li>\n{probes}\
             <li><a href=\"{HEALTH_PATH}\">Health</a></li>\n</ul>\n</body>\n</html>\n"
        );
        with_content_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from(body).into(),
        )
    }
}

/// Returns the first value of a query parameter, form-decoded.
fn query_parameter(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(value))
    })
}

fn plain(status: StatusCode, text: impl Into<Bytes>) -> HttpResponse {
    with_content_type(status, "text/plain; charset=utf-8", text.into().into())
}

fn with_content_type(
    status: StatusCode,
    content_type: &'static str,
    body: ChunkedBody,
) -> HttpResponse {
    let mut response = Response::new(body);
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

/// Returns whether the `Accept-Encoding` header accepts gzip (or anything) with a nonzero
/// quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(accept) = headers
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let quality = parts
            .filter_map(|parameter| parameter.strip_prefix("q="))
            .find_map(|quality| quality.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name == "*") && quality > 0.0
    })
}

fn gzip(chunks: &[Bytes]) -> std::io::Result<Vec<u8>> {
    let length: usize = chunks.iter().map(Bytes::len).sum();
    let mut encoder = GzEncoder::new(Vec::with_capacity(length / 4), Compression::fast());
    for chunk in chunks {
        encoder.write_all(chunk)?;
    }
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_encoding(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("header value"),
        );
        headers
    }

    #[test]
    fn gzip_is_chosen_when_accepted() {
        assert!(accepts_gzip(&accept_encoding("gzip")));
        assert!(accepts_gzip(&accept_encoding("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(&accept_encoding("*")));
    }

    #[test]
    fn gzip_is_not_chosen_when_refused_or_absent() {
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(!accepts_gzip(&accept_encoding("identity")));
        assert!(!accepts_gzip(&accept_encoding("gzip;q=0")));
    }

    #[test]
    fn query_parameters_are_found_and_decoded() {
        assert_eq!(
            query_parameter(Some("account=main"), "account"),
            Some("main".to_owned())
        );
        assert_eq!(
            query_parameter(Some("x=1&account=re%2Dsale"), "account"),
            Some("re-sale".to_owned())
        );
        assert_eq!(query_parameter(Some("accounts=main"), "account"), None);
        assert_eq!(query_parameter(None, "account"), None);
        assert_eq!(
            query_parameter(Some("account"), "account"),
            Some(String::new())
        );
    }

    #[test]
    fn malformed_escape_in_a_query_stays_as_written() {
        assert_eq!(
            query_parameter(Some("account=%+1"), "account"),
            Some("% 1".to_owned())
        );
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(escape_html("/m<\"&'>"), "/m&lt;&quot;&amp;&#39;&gt;");
    }
}
