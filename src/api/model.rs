//! Decoding of Astro API response bodies into the exporter's own types.
//!
//! Every response is an envelope `{"status": "ok" | "error", "data": ...}`. Errors
//! carry their message either at the top level (`message`) or under `data.message`,
//! and may come with HTTP 200. Port lists sit under `data.ports`, with the paging
//! fields `total`, `count` and `currentPage` at the top level.

use serde::Deserialize;
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::lenient::Lenient;

/// An error in a response body that makes it unusable.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("API error: {0}")]
    Api(String),
    #[error("unexpected envelope status {0:?}")]
    UnexpectedStatus(String),
    #[error("response has no data")]
    MissingData,
    #[error("response has no data.ports list")]
    MissingPorts,
    #[error("response data is not an object")]
    DataNotObject,
}

/// The account balance from `GET /balance`.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    /// `data.balance`, or `None` when the API sent a value that is not a finite number.
    pub amount: Option<f64>,
    /// `data.currency` as given: a code such as "USD", or a number such as "2".
    /// Empty when the API sends none.
    pub currency: String,
}

/// One proxy port from `GET /ports`, reduced to what the metrics use.
///
/// Text fields are empty when the API omits them. Credentials (`access`) are never
/// read into this type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub country: String,
    pub city: String,
    pub network: String,
    pub operator: String,
    pub node_address: String,
    pub node_ip: String,
    pub http_port: String,
    pub socks_port: String,
    pub traffic_limit_bytes: Option<f64>,
    pub traffic_used_bytes: Option<f64>,
    pub traffic_left_bytes: Option<f64>,
    /// `createdAt` as seconds since the Unix epoch.
    pub created_timestamp_seconds: Option<f64>,
    /// `endsAt` as seconds since the Unix epoch.
    pub expiry_timestamp_seconds: Option<f64>,
}

/// One page of `GET /ports`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortsPage {
    /// The ports that could be read; an entry without a usable `id` is dropped.
    pub ports: Vec<Port>,
    /// How many entries the page held, readable or not.
    pub entries: usize,
    /// The top-level `total`: how many ports match the query on all pages.
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    status: Lenient<String>,
    #[serde(default)]
    message: Lenient<String>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    total: Lenient<f64>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    message: Lenient<String>,
}

#[derive(Deserialize)]
struct BalanceData {
    #[serde(default)]
    balance: Lenient<f64>,
    #[serde(default)]
    currency: Lenient<String>,
}

#[derive(Deserialize)]
struct PortsData<'a> {
    #[serde(default, borrow)]
    ports: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPort {
    #[serde(default)]
    id: Lenient<String>,
    #[serde(default)]
    name: Lenient<String>,
    #[serde(default)]
    created_at: Lenient<String>,
    #[serde(default)]
    ends_at: Lenient<String>,
    #[serde(default)]
    node: Option<RawNode>,
    #[serde(default)]
    ports: Option<RawListenPorts>,
    #[serde(default)]
    country: Lenient<String>,
    #[serde(default)]
    city: Lenient<String>,
    #[serde(default)]
    operator: Lenient<String>,
    #[serde(default)]
    network: Lenient<String>,
    #[serde(default)]
    traffic: Option<RawTraffic>,
}

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    address: Lenient<String>,
    #[serde(default)]
    ip: Lenient<String>,
}

#[derive(Deserialize)]
struct RawListenPorts {
    #[serde(default)]
    http: Lenient<String>,
    #[serde(default)]
    socks: Lenient<String>,
}

#[derive(Deserialize)]
struct RawTraffic {
    #[serde(default)]
    total: Lenient<f64>,
    #[serde(default)]
    used: Lenient<f64>,
    #[serde(default)]
    left: Lenient<f64>,
    #[serde(default)]
    total_mb: Lenient<f64>,
    #[serde(default)]
    used_mb: Lenient<f64>,
    #[serde(default)]
    left_mb: Lenient<f64>,
}

/// Returns the error message of an error envelope, for responses with an HTTP error
/// status. `None` when the body is not an envelope or carries no message.
pub fn error_message(body: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    envelope_message(&envelope)
}

/// Decodes the body of `GET /balance`.
pub fn parse_balance(body: &[u8]) -> Result<Balance, BodyError> {
    let data = open_envelope(body)?.data.ok_or(BodyError::MissingData)?;
    // serde would read a struct from an array too, so `[1, "USD"]` must be rejected here.
    if !data.get().trim_start().starts_with('{') {
        return Err(BodyError::DataNotObject);
    }
    let data: BalanceData = serde_json::from_str(data.get())?;

    let amount = match data.balance {
        Lenient::Value(amount) => Some(amount),
        Lenient::Absent => {
            tracing::debug!(field = "data.balance", "balance is missing; sample dropped");
            None
        }
        Lenient::Invalid(reason) => {
            tracing::debug!(field = "data.balance", %reason, "balance is unreadable; sample dropped");
            None
        }
    };
    Ok(Balance {
        amount,
        currency: data.currency.value().unwrap_or_default(),
    })
}

/// Decodes one page of `GET /ports`.
///
/// Accepts the list under `data.ports` (what the API sends) and, defensively, directly
/// under `data` (what the provider's documentation shows).
pub fn parse_ports_page(body: &[u8]) -> Result<PortsPage, BodyError> {
    if let Some(page) = parse_well_formed_page(body) {
        return Ok(page);
    }
    let envelope = open_envelope(body)?;
    let data = envelope.data.ok_or(BodyError::MissingData)?;
    let entries: Vec<&RawValue> = if data.get().trim_start().starts_with('[') {
        serde_json::from_str(data.get())?
    } else {
        let data: PortsData = serde_json::from_str(data.get())?;
        data.ports.ok_or(BodyError::MissingPorts)?
    };

    let ports = entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| decode_port(index, entry))
        .collect();
    Ok(PortsPage {
        ports,
        entries: entries.len(),
        total: whole_count(envelope.total, "total"),
    })
}

/// Decodes a page in one pass when it has the usual shape: status "ok" and a list of
/// port objects under `data.ports`. Returns `None` for anything else (an error, a
/// list in another place, an entry that is not an object), which the slower path
/// of [`parse_ports_page`] then handles entry by entry.
fn parse_well_formed_page(body: &[u8]) -> Option<PortsPage> {
    #[derive(Deserialize)]
    struct WellFormedPage {
        #[serde(default)]
        status: Lenient<String>,
        #[serde(default)]
        total: Lenient<f64>,
        data: WellFormedData,
    }

    #[derive(Deserialize)]
    struct WellFormedData {
        ports: Vec<RawPort>,
    }

    let page: WellFormedPage = serde_json::from_slice(body).ok()?;
    if page.status.as_value().is_some_and(|status| status != "ok") {
        return None;
    }
    let entries = page.data.ports.len();
    let ports = page
        .data
        .ports
        .into_iter()
        .enumerate()
        .filter_map(|(index, raw)| convert_port(index, raw))
        .collect();
    Some(PortsPage {
        ports,
        entries,
        total: whole_count(page.total, "total"),
    })
}

/// Parses the envelope and turns an error envelope into [`BodyError::Api`].
fn open_envelope(body: &[u8]) -> Result<Envelope<'_>, BodyError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    match envelope.status.as_value().map(String::as_str) {
        Some("ok") | None => Ok(envelope),
        Some("error") => Err(BodyError::Api(
            envelope_message(&envelope).unwrap_or_else(|| "no message".to_owned()),
        )),
        Some(other) => Err(BodyError::UnexpectedStatus(other.to_owned())),
    }
}

fn envelope_message(envelope: &Envelope) -> Option<String> {
    if let Some(message) = envelope.message.as_value() {
        return Some(message.clone());
    }
    let data: ErrorData = serde_json::from_str(envelope.data?.get()).ok()?;
    data.message.value()
}

/// Converts a count such as `total` to an integer, or `None` with a debug log when it
/// is missing, negative or fractional.
fn whole_count(value: Lenient<f64>, field: &'static str) -> Option<u64> {
    match value {
        Lenient::Value(count)
            if count >= 0.0 && count.fract() == 0.0 && count <= u64::MAX as f64 =>
        {
            Some(count as u64)
        }
        Lenient::Value(count) => {
            tracing::debug!(
                field,
                count,
                "count is not a whole non-negative number; ignored"
            );
            None
        }
        Lenient::Absent => None,
        Lenient::Invalid(reason) => {
            tracing::debug!(field, %reason, "count is unreadable; ignored");
            None
        }
    }
}

/// Decodes one entry of a port list, or returns `None` (with a debug log) when the
/// entry is not an object or has no usable `id`.
fn decode_port(index: usize, entry: &RawValue) -> Option<Port> {
    let raw: RawPort = match serde_json::from_str(entry.get()) {
        Ok(raw) => raw,
        Err(error) => {
            tracing::debug!(entry = index, %error, "port entry is unreadable; dropped");
            return None;
        }
    };
    convert_port(index, raw)
}

/// Converts a decoded port entry, or returns `None` (with a debug log) when it has
/// no usable `id`.
fn convert_port(index: usize, raw: RawPort) -> Option<Port> {
    let id = match raw.id {
        Lenient::Value(id) if !id.is_empty() => id,
        _ => {
            tracing::debug!(entry = index, "port entry has no usable id; dropped");
            return None;
        }
    };

    let traffic = raw.traffic;
    let traffic_field = |bytes: fn(&RawTraffic) -> &Lenient<f64>,
                         megabytes: fn(&RawTraffic) -> &Lenient<f64>,
                         field: &'static str| {
        let traffic = traffic.as_ref()?;
        bytes_or_megabytes(bytes(traffic), megabytes(traffic), &id, field)
    };
    let traffic_limit_bytes = traffic_field(|t| &t.total, |t| &t.total_mb, "traffic.total");
    let traffic_used_bytes = traffic_field(|t| &t.used, |t| &t.used_mb, "traffic.used");
    let traffic_left_bytes = traffic_field(|t| &t.left, |t| &t.left_mb, "traffic.left");

    let created_timestamp_seconds = timestamp(raw.created_at, &id, "createdAt");
    let expiry_timestamp_seconds = timestamp(raw.ends_at, &id, "endsAt");
    let (node_address, node_ip) = match raw.node {
        Some(node) => (text(node.address), text(node.ip)),
        None => Default::default(),
    };
    let (http_port, socks_port) = match raw.ports {
        Some(ports) => (text(ports.http), text(ports.socks)),
        None => Default::default(),
    };

    Some(Port {
        id,
        name: text(raw.name),
        country: text(raw.country),
        city: text(raw.city),
        network: text(raw.network),
        operator: text(raw.operator),
        node_address,
        node_ip,
        http_port,
        socks_port,
        traffic_limit_bytes,
        traffic_used_bytes,
        traffic_left_bytes,
        created_timestamp_seconds,
        expiry_timestamp_seconds,
    })
}

fn text(value: Lenient<String>) -> String {
    value.value().unwrap_or_default()
}

/// Reads a traffic amount in bytes, falling back to the field's `_mb` twin (decimal
/// megabytes, as the API sells traffic in decimal gigabytes) when bytes are absent.
fn bytes_or_megabytes(
    bytes: &Lenient<f64>,
    megabytes: &Lenient<f64>,
    port: &str,
    field: &'static str,
) -> Option<f64> {
    match (bytes, megabytes) {
        (Lenient::Value(bytes), _) => Some(*bytes),
        (Lenient::Absent, Lenient::Value(megabytes)) => Some(megabytes * 1e6),
        (Lenient::Invalid(reason), _) | (Lenient::Absent, Lenient::Invalid(reason)) => {
            tracing::debug!(port, field, %reason, "traffic value is unreadable; sample dropped");
            None
        }
        (Lenient::Absent, Lenient::Absent) => None,
    }
}

/// Reads `createdAt` or `endsAt` as seconds since the Unix epoch.
///
/// The API sends RFC 3339 (`2026-11-02T09:14:55.000000Z`) or `2026-11-20 18:02:11`,
/// which is taken as UTC.
fn timestamp(value: Lenient<String>, port: &str, field: &'static str) -> Option<f64> {
    let text = match value {
        Lenient::Value(text) => text,
        Lenient::Absent => return None,
        Lenient::Invalid(reason) => {
            tracing::debug!(port, field, %reason, "date is unreadable; sample dropped");
            return None;
        }
    };
    match parse_date(&text) {
        Some(date) => Some(date.unix_timestamp_nanos() as f64 / 1e9),
        None => {
            tracing::debug!(port, field, value = %text, "date has an unknown format; sample dropped");
            None
        }
    }
}

fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(date) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(date);
    }
    let utc_format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(text, utc_format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_formats_parse_as_utc() {
        let rfc = parse_date("2026-11-02T09:14:55.000000Z").expect("RFC 3339 date");
        let plain = parse_date("2026-11-02 09:14:55").expect("space-separated date");
        assert_eq!(rfc, plain);
        assert_eq!(rfc.unix_timestamp(), 1_793_610_895);
    }

    #[test]
    fn date_with_offset_is_converted_to_utc() {
        let date = parse_date("2026-11-02T12:14:55+03:00").expect("date with offset");
        assert_eq!(date.unix_timestamp(), 1_793_610_895);
    }

    #[test]
    fn unknown_date_formats_are_rejected() {
        for text in ["", "tomorrow", "02.11.2026", "2026-11-02"] {
            assert!(parse_date(text).is_none(), "{text:?} must not parse");
        }
    }

    #[test]
    fn error_envelope_message_at_top_level() {
        let error = parse_balance(br#"{"status":"error","message":"Invalid token"}"#)
            .expect_err("error envelope");
        assert_eq!(error.to_string(), "API error: Invalid token");
    }

    #[test]
    fn error_envelope_message_under_data() {
        let error = parse_balance(br#"{"status":"error","data":{"message":"Locked"}}"#)
            .expect_err("error envelope");
        assert_eq!(error.to_string(), "API error: Locked");
    }

    #[test]
    fn error_message_of_non_envelope_is_none() {
        assert_eq!(error_message(b"<html>Bad gateway</html>"), None);
        assert_eq!(
            error_message(br#"{"status":"error","message":"Too many requests"}"#),
            Some("Too many requests".to_owned())
        );
    }

    #[test]
    fn unknown_envelope_status_is_an_error() {
        let error = parse_balance(br#"{"status":"maintenance","data":{}}"#).expect_err("status");
        assert!(matches!(error, BodyError::UnexpectedStatus(status) if status == "maintenance"));
    }

    #[test]
    fn balance_with_string_amount_and_numeric_currency() {
        let balance =
            parse_balance(br#"{"status":"ok","data":{"balance":"1530.50","currency":2}}"#)
                .expect("balance");
        assert_eq!(balance.amount, Some(1530.5));
        assert_eq!(balance.currency, "2");
    }

    #[test]
    fn balance_with_unreadable_amount_keeps_currency() {
        let balance =
            parse_balance(br#"{"status":"ok","data":{"balance":"n/a","currency":"USD"}}"#)
                .expect("balance");
        assert_eq!(balance.amount, None);
        assert_eq!(balance.currency, "USD");
    }

    #[test]
    fn ports_page_drops_only_unreadable_entries() {
        let body = br#"{"status":"ok","total":4,"data":{"ports":[
            {"id":1,"country":"Germany","traffic":{"left":"5"}},
            "not a port",
            {"name":"no id"},
            {"id":"2","country":"Brazil","traffic":{"left":true,"left_mb":3}}
        ]}}"#;
        let page = parse_ports_page(body).expect("page");
        assert_eq!(page.entries, 4);
        assert_eq!(page.total, Some(4));
        let ids: Vec<&str> = page.ports.iter().map(|port| port.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert_eq!(page.ports[0].traffic_left_bytes, Some(5.0));
        assert_eq!(page.ports[1].traffic_left_bytes, None);
    }

    #[test]
    fn ports_page_falls_back_to_megabytes() {
        let body = br#"{"status":"ok","data":{"ports":[{"id":7,"traffic":{"total_mb":1000,"used_mb":250}}]}}"#;
        let page = parse_ports_page(body).expect("page");
        assert_eq!(page.ports[0].traffic_limit_bytes, Some(1e9));
        assert_eq!(page.ports[0].traffic_used_bytes, Some(2.5e8));
        assert_eq!(page.ports[0].traffic_left_bytes, None);
    }

    #[test]
    fn ports_list_directly_under_data_is_accepted() {
        let page = parse_ports_page(br#"{"status":"ok","data":[{"id":3}]}"#).expect("page");
        assert_eq!(page.ports.len(), 1);
        assert_eq!(page.total, None);
    }

    #[test]
    fn ports_page_without_list_is_an_error() {
        let error = parse_ports_page(br#"{"status":"ok","data":{}}"#).expect_err("no list");
        assert!(matches!(error, BodyError::MissingPorts));
    }

    #[test]
    fn fractional_or_negative_total_is_ignored() {
        for total in ["-1", "2.5", "\"x\""] {
            let body = format!(r#"{{"status":"ok","total":{total},"data":{{"ports":[]}}}}"#);
            let page = parse_ports_page(body.as_bytes()).expect("page");
            assert_eq!(page.total, None, "total {total}");
        }
    }
}
