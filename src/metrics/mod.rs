//! Every metric the exporter publishes, with its help text, and their encoding.
//!
//! Series are written straight from a scrape's [`Snapshot`], so a port that is gone
//! upstream is gone from the next scrape, and nothing is kept between scrapes except
//! the request counter. Two text formats are served: OpenMetrics for scrapers that ask
//! for it, the classic format 0.0.4 for everyone else. prometheus-client encodes every
//! family except the per-port ones, which hold nearly all of the samples of a large
//! account, are rendered by [`ports`] while the pages of a scrape arrive.

mod ports;
mod process;

pub use ports::{PortLines, PortSeries};

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeMetric, GaugeValueEncoder, prometheus_text, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::api::RequestCounter;
use crate::collect::{Part, Snapshot};

/// A metric's name (without the unit suffix that the encoder appends), help text,
/// unit and type.
struct Metric {
    name: &'static str,
    help: &'static str,
    unit: Option<Unit>,
    kind: MetricType,
}

const BALANCE: Metric = Metric {
    name: "astro_balance",
    help: "Account balance in the account's currency, from data.balance of GET /balance. \
           The currency label is data.currency as the API sends it.",
    unit: None,
    kind: MetricType::Gauge,
};

const PORTS: Metric = Metric {
    name: "astro_ports_total",
    help: "Number of ports by status, from the total field of GET /ports with that status \
           (for active ports the number received when the API sends no total).",
    unit: None,
    kind: MetricType::Gauge,
};

const PORT_TRAFFIC_LEFT: Metric = Metric {
    name: "astro_port_traffic_left",
    help: "Traffic the active port may still use, from traffic.left of GET /ports \
           (traffic.left_mb times 1e6 when the byte count is missing).",
    unit: Some(Unit::Bytes),
    kind: MetricType::Gauge,
};

const PORT_TRAFFIC_USED: Metric = Metric {
    name: "astro_port_traffic_used",
    help: "Traffic the active port has used, from traffic.used of GET /ports \
           (traffic.used_mb times 1e6 when the byte count is missing).",
    unit: Some(Unit::Bytes),
    kind: MetricType::Gauge,
};

const PORT_TRAFFIC_LIMIT: Metric = Metric {
    name: "astro_port_traffic_limit",
    help: "Traffic allowance of the active port, from traffic.total of GET /ports \
           (traffic.total_mb times 1e6 when the byte count is missing).",
    unit: Some(Unit::Bytes),
    kind: MetricType::Gauge,
};

const PORT_INFO: Metric = Metric {
    name: "astro_port_info",
    help: "Descriptive labels of an active port, value always 1, from id, name, country, \
           city, network, operator, node.address, node.ip, ports.http and ports.socks of GET /ports.",
    unit: None,
    kind: MetricType::Gauge,
};

const PORT_EXPIRY: Metric = Metric {
    name: "astro_port_expiry_timestamp",
    help: "End of the active port's paid period in seconds since the Unix epoch, from endsAt \
           of GET /ports. Absent when the port has no end date.",
    unit: Some(Unit::Seconds),
    kind: MetricType::Gauge,
};

const PORT_CREATED: Metric = Metric {
    name: "astro_port_created_timestamp",
    help: "Creation time of the active port in seconds since the Unix epoch, from createdAt \
           of GET /ports.",
    unit: Some(Unit::Seconds),
    kind: MetricType::Gauge,
};

const UP: Metric = Metric {
    name: "astro_up",
    help: "1 if every Astro API call of this scrape succeeded, 0 otherwise.",
    unit: None,
    kind: MetricType::Gauge,
};

const COLLECTOR_SUCCESS: Metric = Metric {
    name: "astro_scrape_collector_success",
    help: "1 if this part of the scrape succeeded, 0 otherwise. The balance collector calls \
           GET /balance, the ports collector GET /ports for active ports and the archived count.",
    unit: None,
    kind: MetricType::Gauge,
};

const SCRAPE_DURATION: Metric = Metric {
    name: "astro_scrape_duration",
    help: "Time the Astro API calls of the data served took: those of this scrape, or of the \
           fetch it shared or took from the cache.",
    unit: Some(Unit::Seconds),
    kind: MetricType::Gauge,
};

const LAST_SUCCESS: Metric = Metric {
    name: "astro_last_success_timestamp",
    help: "When the data served was fetched by a scrape in which every Astro API call \
           succeeded, in seconds since the Unix epoch. Older than this scrape when the data \
           comes from the cache (--astro.cache-ttl) or when this scrape failed. Absent until \
           the first success.",
    unit: Some(Unit::Seconds),
    kind: MetricType::Gauge,
};

const API_REQUESTS: Metric = Metric {
    name: "astro_api_requests",
    help: "Astro API requests sent since the exporter started, by endpoint and HTTP status \
           code. The code is error when the request failed without a response, and timeout \
           when the scrape deadline cut it off.",
    unit: None,
    kind: MetricType::Counter,
};

const BUILD_INFO: Metric = Metric {
    name: "astro_exporter_build_info",
    help: "A metric with a constant value 1, labeled by the version of astro-exporter and \
           of the Rust compiler that built it.",
    unit: None,
    kind: MetricType::Gauge,
};

/// An exposition format and its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4.
    Text,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => prometheus_text::CONTENT_TYPE,
        }
    }

    /// Picks the format for an `Accept` header the way the Go client library does.
    ///
    /// Media ranges are tried from the highest `q` down, with ties in the order given.
    /// The first that names OpenMetrics (version 1.0.0 or 0.0.1) or `text/plain`
    /// (version 0.0.4) wins. Without such a range the classic format is used.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut ranges: Vec<(f32, Option<Format>)> =
            accept.split(',').map(parse_media_range).collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges
            .into_iter()
            .filter(|(quality, _)| *quality > 0.0)
            .find_map(|(_, format)| format)
            .unwrap_or(Format::Text)
    }
}

/// Parses one media range of an `Accept` header into its quality and the format it
/// names, if any.
fn parse_media_range(range: &str) -> (f32, Option<Format>) {
    let mut parts = range.split(';').map(str::trim);
    let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
    let mut quality = 1.0;
    let mut version = None;
    for parameter in parts {
        let Some((key, value)) = parameter.split_once('=') else {
            continue;
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "q" => quality = value.trim().parse().unwrap_or(0.0),
            "version" => version = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let format = match (media_type.as_str(), version.as_deref()) {
        ("application/openmetrics-text", None | Some("1.0.0" | "0.0.1")) => {
            Some(Format::OpenMetrics)
        }
        ("text/plain", None | Some("0.0.4")) => Some(Format::Text),
        _ => None,
    };
    (quality, format)
}

/// A gauge sample. Whole numbers are written as integers (`5000000000`) rather than
/// in prometheus-client's float form (`5000000000.0`), which is easier to read.
#[derive(Debug, Clone, Copy)]
struct Sample(f64);

/// Largest magnitude below which every whole `f64` is exact as an `i64`.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

impl Sample {
    /// Returns the value as an integer when it is whole and exact as one.
    fn as_exact_integer(self) -> Option<i64> {
        (self.0.fract() == 0.0 && self.0.abs() < EXACT_INTEGER_LIMIT).then_some(self.0 as i64)
    }
}

impl EncodeGaugeValue for Sample {
    fn encode(&self, encoder: &mut GaugeValueEncoder) -> Result<(), fmt::Error> {
        match self.as_exact_integer() {
            Some(integer) => integer.encode(encoder),
            None => self.0.encode(encoder),
        }
    }
}

impl From<bool> for Sample {
    fn from(value: bool) -> Sample {
        Sample(if value { 1.0 } else { 0.0 })
    }
}

/// Metrics that live as long as the process, shared by every scrape.
#[derive(Debug, Clone, Default)]
pub struct ExporterMetrics {
    /// `astro_api_requests_total`, incremented by the API client.
    pub api_requests: RequestCounter,
}

/// An encoded response: the chunks it was built from, in order. The per-port
/// samples are shared with the snapshot they were rendered for, not copied.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    chunks: Vec<Bytes>,
}

impl Exposition {
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    pub fn into_chunks(self) -> Vec<Bytes> {
        self.chunks
    }
}

impl fmt::Display for Exposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in &self.chunks {
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// Encodes one response: the account data and scrape metrics of `snapshot`, and, for
/// the metrics path, the exporter's own and the process metrics. A probe response
/// has no `exporter` part.
pub fn encode(
    snapshot: Option<Arc<Snapshot>>,
    exporter: Option<&ExporterMetrics>,
    format: Format,
) -> Result<Exposition, fmt::Error> {
    let mut text = String::with_capacity(4096);
    let mut chunks = Vec::new();
    encode_collector(
        &mut text,
        format,
        AccountTotals {
            snapshot: snapshot.clone(),
        },
    )?;
    if let Some(snapshot) = &snapshot
        && let Some(list) = &snapshot.active_ports
    {
        match &snapshot.port_lines {
            Some(lines) => lines.write(&mut text, &mut chunks, format),
            None => {
                PortSeries::rendered(&list.ports)
                    .finish()
                    .write(&mut text, &mut chunks, format)
            }
        }
    }
    encode_collector(
        &mut text,
        format,
        ScrapeAndExporter {
            snapshot,
            exporter: exporter.cloned(),
        },
    )?;
    if format == Format::OpenMetrics {
        text::encode_eof(&mut text)?;
    }
    chunks.push(Bytes::from(text));
    Ok(Exposition { chunks })
}

/// Appends the families of `collector` to `output`, without the OpenMetrics end marker.
fn encode_collector(
    output: &mut String,
    format: Format,
    collector: impl Collector + 'static,
) -> Result<(), fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    match format {
        Format::OpenMetrics => text::encode_registry(output, &registry),
        Format::Text => prometheus_text::encode(output, &registry),
    }
}

/// The account-wide families written before the per-port ones.
#[derive(Debug)]
struct AccountTotals {
    snapshot: Option<Arc<Snapshot>>,
}

impl Collector for AccountTotals {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        match &self.snapshot {
            Some(snapshot) => encode_account(snapshot, &mut encoder),
            None => Ok(()),
        }
    }
}

/// The families written after the per-port ones.
#[derive(Debug)]
struct ScrapeAndExporter {
    snapshot: Option<Arc<Snapshot>>,
    exporter: Option<ExporterMetrics>,
}

impl Collector for ScrapeAndExporter {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        if let Some(snapshot) = &self.snapshot {
            encode_scrape(snapshot, &mut encoder)?;
        }
        if let Some(exporter) = &self.exporter {
            encode_exporter(exporter, &mut encoder)?;
            process::encode(&mut encoder)?;
        }
        Ok(())
    }
}

fn describe<'s>(
    encoder: &'s mut DescriptorEncoder,
    metric: &'s Metric,
) -> Result<prometheus_client::encoding::MetricEncoder<'s>, fmt::Error> {
    encoder.encode_descriptor(metric.name, metric.help, metric.unit.as_ref(), metric.kind)
}

fn encode_account(snapshot: &Snapshot, encoder: &mut DescriptorEncoder) -> Result<(), fmt::Error> {
    if let Some(balance) = &snapshot.balance
        && let Some(amount) = balance.amount
    {
        describe(encoder, &BALANCE)?
            .encode_family(&[("currency", balance.currency.as_str())])?
            .encode_gauge(&Sample(amount))?;
    }

    let active_count = snapshot
        .active_ports
        .as_ref()
        .map(|list| list.total.unwrap_or(list.ports.len() as u64));
    let counts = [
        ("active", active_count),
        ("archived", snapshot.archived_port_count),
    ];
    if counts.iter().any(|(_, count)| count.is_some()) {
        let mut family = describe(encoder, &PORTS)?;
        for (status, count) in counts {
            if let Some(count) = count {
                family
                    .encode_family(&[("status", status)])?
                    .encode_gauge(&count)?;
            }
        }
    }

    Ok(())
}

fn encode_scrape(snapshot: &Snapshot, encoder: &mut DescriptorEncoder) -> Result<(), fmt::Error> {
    describe(encoder, &UP)?.encode_gauge(&Sample::from(snapshot.up()))?;

    let mut family = describe(encoder, &COLLECTOR_SUCCESS)?;
    for part in Part::ALL {
        family
            .encode_family(&[("collector", part.as_str())])?
            .encode_gauge(&Sample::from(snapshot.success(part)))?;
    }

    describe(encoder, &SCRAPE_DURATION)?.encode_gauge(&snapshot.duration.as_secs_f64())?;

    let last_success = snapshot
        .last_success
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok());
    if let Some(last_success) = last_success {
        describe(encoder, &LAST_SUCCESS)?.encode_gauge(&last_success.as_secs_f64())?;
    }
    Ok(())
}

fn encode_exporter(
    exporter: &ExporterMetrics,
    encoder: &mut DescriptorEncoder,
) -> Result<(), fmt::Error> {
    exporter
        .api_requests
        .encode(describe(encoder, &API_REQUESTS)?)?;
    describe(encoder, &BUILD_INFO)?
        .encode_family(&[
            ("version", env!("CARGO_PKG_VERSION")),
            ("rustc_version", env!("ASTRO_EXPORTER_RUSTC_VERSION")),
        ])?
        .encode_gauge(&1_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_accept_header_gets_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                      version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
    }

    #[test]
    fn plain_clients_get_the_classic_format() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        assert_eq!(Format::negotiate(Some("application/json")), Format::Text);
    }

    #[test]
    fn quality_decides_between_formats() {
        let accept = "application/openmetrics-text;q=0.2,text/plain;version=0.0.4;q=0.9";
        assert_eq!(Format::negotiate(Some(accept)), Format::Text);
        let accept = "text/plain;q=0,application/openmetrics-text";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
    }

    #[test]
    fn unknown_openmetrics_version_is_skipped() {
        let accept = "application/openmetrics-text;version=9.9.9";
        assert_eq!(Format::negotiate(Some(accept)), Format::Text);
    }

    #[test]
    fn refused_openmetrics_is_not_chosen() {
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }
}
