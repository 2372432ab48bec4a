//! Protection of the HTTP server by `--web.config.file`: TLS, basic authentication
//! and security headers, in the file format of the Prometheus exporter-toolkit.
//!
//! The file is read at start, where an invalid file stops the exporter, and again
//! when it changes or on SIGHUP, where an invalid file is logged and the last good
//! configuration stays in force.

pub mod auth;
pub mod file;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue};
use tokio_rustls::rustls::ServerConfig;

use auth::BasicAuth;
use file::WebConfigFile;

/// How often the file is checked for changes.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// An invalid web configuration file.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid web config file {path}{}: {reason}", line.map(|line| format!(", line {line}")).unwrap_or_default())]
    File {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },
    /// A field that failed a check after parsing; [`WebConfig::load`] turns it into
    /// [`WebConfigError::File`] with the field's line.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

/// The protection in force: how connections are accepted and requests admitted.
#[derive(Debug)]
pub struct WebConfig {
    /// TLS for every connection, or `None` for plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    pub auth: Arc<BasicAuth>,
    /// Extra headers on every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Whether HTTP/2 is offered.
    pub http2: bool,
}

impl Default for WebConfig {
    /// Plain HTTP/1.1 and HTTP/2 without authentication, as without a file.
    fn default() -> WebConfig {
        WebConfig {
            tls: None,
            auth: Arc::default(),
            headers: Vec::new(),
            http2: true,
        }
    }
}

impl WebConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        WebConfig::parse(&text, base).map_err(|error| match error {
            WebConfigError::Invalid { field, reason } => WebConfigError::File {
                path: path.to_path_buf(),
                line: line_of_field(&text, &field),
                reason: format!("{field}: {reason}"),
            },
            WebConfigError::File { line, reason, .. } => WebConfigError::File {
                path: path.to_path_buf(),
                line,
                reason,
            },
            other => other,
        })
    }

    /// Parses and checks file contents; relative file names are taken relative to
    /// `base`.
    pub fn parse(text: &str, base: &Path) -> Result<WebConfig, WebConfigError> {
        let file: WebConfigFile = if text.trim().is_empty() {
            WebConfigFile::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|error| WebConfigError::File {
                path: PathBuf::new(),
                line: error.location().map(|location| location.line()),
                reason: error.to_string(),
            })?
        };

        let http2 = file
            .http_server_config
            .as_ref()
            .and_then(|http| http.http2)
            .unwrap_or(true);
        let tls = match &file.tls_server_config {
            Some(tls) => Some(tls::server_config(tls, base, http2)?),
            None => None,
        };
        let mut headers = Vec::new();
        if let Some(http) = &file.http_server_config {
            for (header, value) in &http.headers {
                let value = HeaderValue::from_str(value).map_err(|_| WebConfigError::Invalid {
                    field: format!("http_server_config.headers.{}", header.name()),
                    reason: "the value is not a valid header value".to_owned(),
                })?;
                headers.push((
                    HeaderName::from_static(lowercase_name(header.name())),
                    value,
                ));
            }
        }
        Ok(WebConfig {
            tls,
            auth: Arc::new(BasicAuth::new(file.basic_auth_users)),
            headers,
            http2,
        })
    }
}

/// Returns a static lowercase header name, as `HeaderName::from_static` requires.
fn lowercase_name(name: &'static str) -> &'static str {
    match name {
        "Content-Security-Policy" => "content-security-policy",
        "X-Frame-Options" => "x-frame-options",
        "X-Content-Type-Options" => "x-content-type-options",
        "X-XSS-Protection" => "x-xss-protection",
        _ => "strict-transport-security",
    }
}

/// Finds the line of the last key of a dotted field name, such as `key_file` of
/// `tls_server_config.key_file`.
fn line_of_field(text: &str, field: &str) -> Option<usize> {
    let key = field.rsplit('.').next()?;
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

/// The web configuration in force, replaced when the file changes.
#[derive(Debug)]
pub struct WebConfigHandle {
    path: Option<PathBuf>,
    current: RwLock<Arc<WebConfig>>,
}

impl WebConfigHandle {
    /// Loads the file at `path`, or uses plain HTTP without one.
    pub fn load(path: Option<PathBuf>) -> Result<WebConfigHandle, WebConfigError> {
        let config = match &path {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
        Ok(WebConfigHandle {
            path,
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Creates a handle with a fixed configuration and no file.
    pub fn fixed(config: WebConfig) -> WebConfigHandle {
        WebConfigHandle {
            path: None,
            current: RwLock::new(Arc::new(config)),
        }
    }

    pub fn current(&self) -> Arc<WebConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Reads the file again. An invalid file is logged and the configuration in
    /// force is kept.
    pub fn reload(&self) {
        let Some(path) = &self.path else {
            return;
        };
        match WebConfig::load(path) {
            Ok(config) => {
                tracing::info!(
                    path = %path.display(),
                    tls = config.tls.is_some(),
                    basic_auth = config.auth.is_enabled(),
                    "web config file reloaded"
                );
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
            }
            Err(error) => {
                tracing::error!(%error, "web config file is invalid; keeping the previous configuration");
            }
        }
    }

    /// Reloads the file whenever its modification time or size changes, checking
    /// every `interval`, and on SIGHUP. Runs until the task is dropped.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let mut last_seen = fingerprint(&path);
        let mut hangup = hangup_signals();
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {
                    let seen = fingerprint(&path);
                    if seen != last_seen {
                        last_seen = seen;
                        self.reload();
                    }
                }
                () = next_hangup(&mut hangup) => {
                    tracing::info!(signal = "SIGHUP", "reloading the web config file");
                    last_seen = fingerprint(&path);
                    self.reload();
                }
            }
        }
    }
}

fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

#[cfg(unix)]
type HangupSignals = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type HangupSignals = ();

#[cfg(unix)]
fn hangup_signals() -> HangupSignals {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(signals) => Some(signals),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; the web config file reloads only when it changes");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signals() -> HangupSignals {}

#[cfg(unix)]
async fn next_hangup(signals: &mut HangupSignals) {
    match signals {
        Some(signals) => {
            if signals.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_signals: &mut HangupSignals) {
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(text, Path::new("."))
    }

    #[test]
    fn empty_file_is_plain_http() {
        let config = parse("").expect("empty file");
        assert!(config.tls.is_none());
        assert!(!config.auth.is_enabled());
        assert!(config.http2);
    }

    #[test]
    fn unknown_key_names_its_line() {
        let error = parse("basic_auth_users: {}\ntls_server_confg:\n  cert_file: x\n")
            .expect_err("unknown key");
        let WebConfigError::File { line, reason, .. } = error else {
            panic!("expected a file error, got {error:?}");
        };
        assert_eq!(line, Some(2));
        assert!(reason.contains("tls_server_confg"), "{reason}");
    }

    #[test]
    fn invalid_bcrypt_hash_names_its_line() {
        let error = parse("basic_auth_users:\n  alice: plaintext\n").expect_err("invalid hash");
        let WebConfigError::File { line, reason, .. } = error else {
            panic!("expected a file error, got {error:?}");
        };
        assert_eq!(line, Some(2));
        assert!(reason.contains("bcrypt"), "{reason}");
    }

    #[test]
    fn unknown_client_auth_type_is_rejected() {
        let text =
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n";
        assert!(parse(text).is_err());
    }

    #[test]
    fn header_outside_the_allowed_set_is_rejected() {
        let text = "http_server_config:\n  headers:\n    Content-Length: \"5\"\n";
        assert!(parse(text).is_err());
    }

    #[test]
    fn allowed_headers_are_kept() {
        let text = "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n";
        let config = parse(text).expect("headers");
        let names: Vec<&str> = config
            .headers
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["x-frame-options", "strict-transport-security"]);
    }

    #[test]
    fn missing_certificate_file_names_the_field_and_line() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("web.yml");
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
        )
        .expect("writing");
        let error = WebConfig::load(&path).expect_err("missing certificate");
        let text = error.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("cert_file"), "{text}");
        assert!(text.contains("missing.crt"), "{text}");
    }

    #[test]
    fn field_lines_are_found() {
        let text = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
        assert_eq!(line_of_field(text, "tls_server_config.key_file"), Some(3));
        assert_eq!(
            line_of_field(text, "tls_server_config.client_ca_file"),
            None
        );
    }
}
