//! Log output on standard error, in logfmt or JSON.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogLevel};

/// Installs the global log subscriber.
///
/// `level` applies to the exporter's own messages. Libraries log at `warn` and above
/// only, because their debug and trace output can contain request URLs, and the API
/// token travels in the URL's query string.
pub fn init(level: LogLevel, format: LogFormat) {
    let registry = tracing_subscriber::registry().with(filter(level));
    match format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

/// Returns the log filter: `level` for the exporter's own messages, `warn` for
/// libraries.
pub fn filter(level: LogLevel) -> EnvFilter {
    let level = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    EnvFilter::new(format!("warn,astro_exporter={level}"))
}
