//! Decoding of Astro API response bodies into the exporter's own types.
//!
//! Every response is an envelope `{"status": "ok" | "error", "data": ...}`. Errors
//! carry their message either at the top level (`message`) or under `data.message`,
//! and may come with HTTP 200. Port lists sit under `data.ports`, with the paging
//! fields `total`, `count` and `currentPage` at the top level.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::lenient::Lenient;

mod scan;

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
/// read into this type. The text fields share one allocation, because a scrape of a
/// large account keeps tens of thousands of them.
#[derive(Clone, PartialEq, Default)]
pub struct Port {
    /// Every text field, one after another, in the order of [`PortText`].
    text: Box<str>,
    /// The end of each text field in `text`.
    ends: [u32; PortText::COUNT],
    pub traffic_limit_bytes: Option<f64>,
    pub traffic_used_bytes: Option<f64>,
    pub traffic_left_bytes: Option<f64>,
    /// `createdAt` as seconds since the Unix epoch.
    pub created_timestamp_seconds: Option<f64>,
    /// `endsAt` as seconds since the Unix epoch.
    pub expiry_timestamp_seconds: Option<f64>,
}

/// The text fields of a [`Port`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortText {
    /// `id`.
    Id,
    /// `name`.
    Name,
    /// `country`.
    Country,
    /// `city`.
    City,
    /// `network`.
    Network,
    /// `operator`.
    Operator,
    /// `node.address`.
    NodeAddress,
    /// `node.ip`.
    NodeIp,
    /// `ports.http`.
    HttpPort,
    /// `ports.socks`.
    SocksPort,
}

impl PortText {
    const COUNT: usize = 10;

    pub const ALL: [PortText; PortText::COUNT] = [
        PortText::Id,
        PortText::Name,
        PortText::Country,
        PortText::City,
        PortText::Network,
        PortText::Operator,
        PortText::NodeAddress,
        PortText::NodeIp,
        PortText::HttpPort,
        PortText::SocksPort,
    ];
}

impl Port {
    /// Creates a port with the given text fields, in the order of [`PortText::ALL`],
    /// and no numbers.
    ///
    /// # Panics
    /// When the text fields together exceed 4 GiB.
    pub fn new(texts: [&str; PortText::COUNT]) -> Port {
        let mut text = String::with_capacity(texts.iter().map(|field| field.len()).sum());
        let mut ends = [0; PortText::COUNT];
        for (end, field) in ends.iter_mut().zip(texts) {
            text.push_str(field);
            *end = u32::try_from(text.len()).expect("port text fields under 4 GiB");
        }
        Port {
            text: text.into_boxed_str(),
            ends,
            ..Port::default()
        }
    }

    /// Returns one text field, empty when the API sent none.
    pub fn text(&self, field: PortText) -> &str {
        let index = field as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start as usize..self.ends[index] as usize]
    }

    /// Returns `id`, which is never empty for a port the decoder returns.
    pub fn id(&self) -> &str {
        self.text(PortText::Id)
    }
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("Port");
        for field in PortText::ALL {
            debug.field(&format!("{field:?}"), &self.text(field));
        }
        debug
            .field("traffic_limit_bytes", &self.traffic_limit_bytes)
            .field("traffic_used_bytes", &self.traffic_used_bytes)
            .field("traffic_left_bytes", &self.traffic_left_bytes)
            .field("created_timestamp_seconds", &self.created_timestamp_seconds)
            .field("expiry_timestamp_seconds", &self.expiry_timestamp_seconds)
            .finish()
    }
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

/// A port entry as sent, with text borrowed from the page where it has no escapes.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPort<'a> {
    #[serde(default, borrow)]
    id: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    created_at: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    ends_at: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    node: Option<RawNode<'a>>,
    #[serde(default, borrow)]
    ports: Option<RawListenPorts<'a>>,
    #[serde(default, borrow)]
    country: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    city: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    operator: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    network: Lenient<Cow<'a, str>>,
    #[serde(default)]
    traffic: Option<RawTraffic>,
}

#[derive(Deserialize)]
struct RawNode<'a> {
    #[serde(default, borrow)]
    address: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    ip: Lenient<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawListenPorts<'a> {
    #[serde(default, borrow)]
    http: Lenient<Cow<'a, str>>,
    #[serde(default, borrow)]
    socks: Lenient<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
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
    // Checking the whole body once is faster than serde_json checking each string.
    let body = std::str::from_utf8(body).ok()?;
    scan::parse_usual_page(body).or_else(|| parse_well_formed_with_serde(body))
}

/// Decodes a well-formed page with serde, for pages that the scanner leaves to it.
fn parse_well_formed_with_serde(body: &str) -> Option<PortsPage> {
    #[derive(Deserialize)]
    struct WellFormedPage<'a> {
        #[serde(default, borrow)]
        status: Lenient<Cow<'a, str>>,
        #[serde(default)]
        total: Lenient<f64>,
        data: WellFormedData,
    }

    #[derive(Deserialize)]
    struct WellFormedData {
        ports: ConvertedPorts,
    }

    let page: WellFormedPage = serde_json::from_str(body).ok()?;
    if page.status.as_value().is_some_and(|status| status != "ok") {
        return None;
    }
    let ConvertedPorts { ports, entries } = page.data.ports;
    Some(PortsPage {
        ports,
        entries,
        total: whole_count(page.total, "total"),
    })
}

/// A list of port objects, each converted to a [`Port`] as soon as it is read, so that
/// the decoded entries are never held all at once. When the list turns out not to be
/// well formed, the entries converted so far are dropped and the slower path converts
/// them again, repeating their debug lines.
struct ConvertedPorts {
    ports: Vec<Port>,
    entries: usize,
}

impl<'de> Deserialize<'de> for ConvertedPorts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> serde::de::Visitor<'de> for ListVisitor {
            type Value = ConvertedPorts;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a list of port objects")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ConvertedPorts, A::Error> {
                let mut list = ConvertedPorts {
                    ports: Vec::new(),
                    entries: 0,
                };
                while let Some(raw) = seq.next_element::<RawPort<'de>>()? {
                    list.ports.extend(convert_port(list.entries, &raw));
                    list.entries += 1;
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(ListVisitor)
    }
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
    let raw: RawPort<'_> = match serde_json::from_str(entry.get()) {
        Ok(raw) => raw,
        Err(error) => {
            tracing::debug!(entry = index, %error, "port entry is unreadable; dropped");
            return None;
        }
    };
    convert_port(index, &raw)
}

/// Converts a decoded port entry, or returns `None` (with a debug log) when it has
/// no usable `id`.
fn convert_port(index: usize, raw: &RawPort<'_>) -> Option<Port> {
    let id = match &raw.id {
        Lenient::Value(id) if !id.is_empty() => id,
        _ => {
            tracing::debug!(entry = index, "port entry has no usable id; dropped");
            return None;
        }
    };

    let traffic = &raw.traffic;
    let traffic_field = |bytes: fn(&RawTraffic) -> &Lenient<f64>,
                         megabytes: fn(&RawTraffic) -> &Lenient<f64>,
                         field: &'static str| {
        let traffic = traffic.as_ref()?;
        bytes_or_megabytes(bytes(traffic), megabytes(traffic), id, field)
    };
    let traffic_limit_bytes = traffic_field(|t| &t.total, |t| &t.total_mb, "traffic.total");
    let traffic_used_bytes = traffic_field(|t| &t.used, |t| &t.used_mb, "traffic.used");
    let traffic_left_bytes = traffic_field(|t| &t.left, |t| &t.left_mb, "traffic.left");

    let created_timestamp_seconds = timestamp(&raw.created_at, id, "createdAt");
    let expiry_timestamp_seconds = timestamp(&raw.ends_at, id, "endsAt");
    let (node_address, node_ip) = match &raw.node {
        Some(node) => (text(&node.address), text(&node.ip)),
        None => ("", ""),
    };
    let (http_port, socks_port) = match &raw.ports {
        Some(ports) => (text(&ports.http), text(&ports.socks)),
        None => ("", ""),
    };

    // In the order of `PortText::ALL`.
    let texts = [
        id,
        text(&raw.name),
        text(&raw.country),
        text(&raw.city),
        text(&raw.network),
        text(&raw.operator),
        node_address,
        node_ip,
        http_port,
        socks_port,
    ];
    Some(Port {
        traffic_limit_bytes,
        traffic_used_bytes,
        traffic_left_bytes,
        created_timestamp_seconds,
        expiry_timestamp_seconds,
        ..Port::new(texts)
    })
}

fn text<'a>(value: &'a Lenient<Cow<'_, str>>) -> &'a str {
    value.as_value().map_or("", |text| text)
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
        (Lenient::Absent, Lenient::Value(megabytes)) if (megabytes * 1e6).is_finite() => {
            Some(megabytes * 1e6)
        }
        (Lenient::Absent, Lenient::Value(megabytes)) => {
            tracing::debug!(
                port,
                field,
                megabytes,
                "traffic value is out of range; sample dropped"
            );
            None
        }
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
fn timestamp(value: &Lenient<Cow<'_, str>>, port: &str, field: &'static str) -> Option<f64> {
    let text = match value {
        Lenient::Value(text) => text,
        Lenient::Absent => return None,
        Lenient::Invalid(reason) => {
            tracing::debug!(port, field, %reason, "date is unreadable; sample dropped");
            return None;
        }
    };
    match parse_date(text) {
        Some(nanoseconds) => Some(nanoseconds as f64 / 1e9),
        None => {
            tracing::debug!(port, field, value = %text, "date has an unknown format; sample dropped");
            None
        }
    }
}

/// Parses a date into nanoseconds since the Unix epoch.
fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(nanoseconds) = parse_usual_date(text.as_bytes()) {
        return Some(nanoseconds);
    }
    if let Ok(date) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(date.unix_timestamp_nanos());
    }
    let utc_format = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(text, utc_format)
        .ok()
        .map(|date| date.assume_utc().unix_timestamp_nanos())
}

/// Parses the two shapes the API sends, `2026-11-02T09:14:55.000000Z` (or with an
/// offset such as `+03:00`) and `2026-11-02 09:14:55`, without the general parser,
/// which costs several times more. Returns `None` for anything else, including dates
/// out of range, and leaves those to the general parser: a date this accepts, the
/// general parser reads to the same instant.
fn parse_usual_date(text: &[u8]) -> Option<i128> {
    fn digits(text: &[u8], range: std::ops::Range<usize>) -> Option<u32> {
        text.get(range)?.iter().try_fold(0, |value, &byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + u32::from(byte - b'0'))
        })
    }
    fn separator(text: &[u8], index: usize, expected: u8) -> Option<()> {
        (text.get(index) == Some(&expected)).then_some(())
    }

    let year = digits(text, 0..4)?;
    separator(text, 4, b'-')?;
    let month = digits(text, 5..7)?;
    separator(text, 7, b'-')?;
    let day = digits(text, 8..10)?;
    let with_offset = match text.get(10)? {
        b'T' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = digits(text, 11..13)?;
    separator(text, 13, b':')?;
    let minute = digits(text, 14..16)?;
    separator(text, 16, b':')?;
    let second = digits(text, 17..19)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let mut rest = &text[19..];
    let mut nanosecond = 0;
    if let Some((b'.', fraction)) = rest.split_first() {
        let length = fraction
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if !(1..=9).contains(&length) {
            return None;
        }
        nanosecond = digits(fraction, 0..length)? * 10_u32.pow(9 - length as u32);
        rest = &fraction[length..];
    }
    let offset_seconds = match (with_offset, rest) {
        (false, []) | (true, [b'Z']) => 0,
        (true, [sign @ (b'+' | b'-'), _, _, b':', _, _]) => {
            let (hours, minutes) = (digits(rest, 1..3)?, digits(rest, 4..6)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };

    let seconds = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_seconds;
    Some(i128::from(seconds) * 1_000_000_000 + i128::from(nanosecond))
}

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar.
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    // Counts from 1 March of year 0, so that the leap day ends each 4-year cycle.
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_formats_parse_as_utc() {
        let rfc = parse_date("2026-11-02T09:14:55.000000Z").expect("RFC 3339 date");
        let plain = parse_date("2026-11-02 09:14:55").expect("space-separated date");
        assert_eq!(rfc, plain);
        assert_eq!(rfc, 1_793_610_895_000_000_000);
    }

    #[test]
    fn date_with_offset_is_converted_to_utc() {
        let date = parse_date("2026-11-02T12:14:55+03:00").expect("date with offset");
        assert_eq!(date, 1_793_610_895_000_000_000);
    }

    /// Parses with the general parsers that `parse_usual_date` replaces for usual dates.
    fn parse_date_generally(text: &str) -> Option<i128> {
        let utc_format = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        OffsetDateTime::parse(text, &Rfc3339)
            .map(OffsetDateTime::unix_timestamp_nanos)
            .or_else(|_| {
                PrimitiveDateTime::parse(text, utc_format)
                    .map(|date| date.assume_utc().unix_timestamp_nanos())
            })
            .ok()
    }

    #[test]
    fn usual_dates_match_general_parsers() {
        let mut accepted = 0;
        for date in [
            "0000-01-01",
            "1969-12-31",
            "2024-02-29",
            "2025-02-29",
            "2026-13-01",
            "2026-04-31",
            "2026-12-31",
            "2100-02-29",
            "2400-02-29",
            "9999-12-31",
        ] {
            for time in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60"] {
                for fraction in ["", ".5", ".000000", ".123456789", ".1234567891", "."] {
                    for (separator, zone) in [
                        (' ', ""),
                        ('T', "Z"),
                        ('T', "+03:00"),
                        ('T', "-11:30"),
                        ('T', "+24:00"),
                        ('T', ""),
                        (' ', "Z"),
                        ('t', "z"),
                    ] {
                        let text = format!("{date}{separator}{time}{fraction}{zone}");
                        let usual = parse_usual_date(text.as_bytes());
                        if usual.is_some() {
                            accepted += 1;
                            assert_eq!(usual, parse_date_generally(&text), "{text}");
                        }
                        assert_eq!(parse_date(&text), parse_date_generally(&text), "{text}");
                    }
                }
            }
        }
        // 6 valid dates, 2 valid times, 4 fractions of 1 to 9 digits or none, 4 zones.
        assert_eq!(accepted, 6 * 2 * 4 * 4);
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
        let ids: Vec<&str> = page.ports.iter().map(Port::id).collect();
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
