//! JSON bodies of the API. Serde structs keep the keys in field order, which
//! reads like a real response, where `serde_json::Value` would sort them.

use std::time::Duration;

use bytes::Bytes;
use serde::{Serialize, Serializer};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::account::{Account, Currency, DateStyle, MissingStyle, Port, Rotation, RotationUnit};

/// Serializes `body` to JSON bytes.
fn to_bytes(body: &impl Serialize) -> Bytes {
    let json = serde_json::to_vec(body).expect("response bodies contain only string keys");
    Bytes::from(json)
}

/// The envelope `{"status":...,"data":...}` of successful replies and of
/// errors that carry their message under `data`.
#[derive(Serialize)]
struct DataEnvelope<T> {
    status: &'static str,
    data: T,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    status: &'static str,
    message: &'a str,
}

/// Renders `{"status":"error","message":...}`.
pub(super) fn error_body(message: &str) -> Bytes {
    to_bytes(&ErrorEnvelope {
        status: "error",
        message,
    })
}

#[derive(Serialize)]
struct MessageBody<'a> {
    message: &'a str,
}

/// Renders `{"status":"error","data":{"message":...}}`, the error shape the
/// real API uses for a rejected IP change.
pub(super) fn error_data_body(message: &str) -> Bytes {
    to_bytes(&DataEnvelope {
        status: "error",
        data: MessageBody { message },
    })
}

/// Renders `{"status":"ok","data":...}` with `data` as given.
pub(super) fn ok_body(data: impl Serialize) -> Bytes {
    to_bytes(&DataEnvelope { status: "ok", data })
}

#[derive(Serialize)]
#[serde(untagged)]
enum CurrencyBody<'a> {
    Code(&'a str),
    Number(i64),
}

#[derive(Serialize)]
struct BalanceBody<'a> {
    balance: f64,
    currency: CurrencyBody<'a>,
}

/// Renders the `/balance` response after `elapsed` simulator time.
pub(super) fn balance_body(account: &Account, elapsed: Duration) -> Bytes {
    let currency = match &account.currency {
        Currency::Code(code) => CurrencyBody::Code(code),
        Currency::Number(number) => CurrencyBody::Number(*number),
    };
    to_bytes(&DataEnvelope {
        status: "ok",
        data: BalanceBody {
            balance: account.balance_at(elapsed),
            currency,
        },
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortPage<'a> {
    status: &'static str,
    total: usize,
    count: usize,
    current_page: u64,
    data: PortList<'a>,
}

#[derive(Serialize)]
struct PortList<'a> {
    ports: Vec<PortBody<'a>>,
}

/// Renders one page of the `/ports` list. `total` is the number of ports
/// that match the filter on all pages.
pub(super) fn port_page_body(
    page_ports: &[&Port],
    total: usize,
    current_page: u64,
    elapsed: Duration,
) -> Bytes {
    let ports = page_ports
        .iter()
        .map(|port| PortBody::new(port, elapsed))
        .collect();
    to_bytes(&PortPage {
        status: "ok",
        total,
        count: page_ports.len(),
        current_page,
        data: PortList { ports },
    })
}

/// Renders the `/ports/{id}` response.
pub(super) fn port_body(port: &Port, elapsed: Duration) -> Bytes {
    to_bytes(&DataEnvelope {
        status: "ok",
        data: PortBody::new(port, elapsed),
    })
}

/// An optional string field that is a value, `null`, or left out of the
/// object through `skip_serializing_if`.
enum OptionalText<'a> {
    Value(&'a str),
    Null,
    Omitted,
}

impl<'a> OptionalText<'a> {
    fn new(value: Option<&'a String>, style: MissingStyle) -> OptionalText<'a> {
        match (value, style) {
            (Some(text), _) => OptionalText::Value(text),
            (None, MissingStyle::Null) => OptionalText::Null,
            (None, MissingStyle::Omitted) => OptionalText::Omitted,
        }
    }

    fn is_omitted(&self) -> bool {
        matches!(self, OptionalText::Omitted)
    }
}

impl Serialize for OptionalText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OptionalText::Value(text) => serializer.serialize_str(text),
            OptionalText::Null | OptionalText::Omitted => serializer.serialize_none(),
        }
    }
}

/// A traffic byte count, sent as a JSON number or as a numeric string.
struct TrafficNumber {
    value: u64,
    as_string: bool,
}

impl Serialize for TrafficNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.as_string {
            serializer.serialize_str(&self.value.to_string())
        } else {
            serializer.serialize_u64(self.value)
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortBody<'a> {
    id: u64,
    name: &'a str,
    created_at: Option<String>,
    ends_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
    node: NodeBody<'a>,
    ports: ProxyPortsBody,
    country: &'a str,
    #[serde(skip_serializing_if = "OptionalText::is_omitted")]
    city: OptionalText<'a>,
    #[serde(skip_serializing_if = "OptionalText::is_omitted")]
    operator: OptionalText<'a>,
    #[serde(skip_serializing_if = "OptionalText::is_omitted")]
    group: OptionalText<'a>,
    #[serde(skip_serializing_if = "OptionalText::is_omitted")]
    vpn: OptionalText<'a>,
    network: &'a str,
    access: AccessBody<'a>,
    traffic: TrafficBody,
    rotation: RotationBody,
}

#[derive(Serialize)]
struct NodeBody<'a> {
    address: &'a str,
    ip: &'a str,
}

#[derive(Serialize)]
struct ProxyPortsBody {
    http: u16,
    socks: u16,
}

#[derive(Serialize)]
struct AccessBody<'a> {
    login: &'a str,
    password: &'a str,
    #[serde(skip_serializing_if = "OptionalText::is_omitted")]
    ip: OptionalText<'a>,
}

#[derive(Serialize)]
struct TrafficBody {
    total: TrafficNumber,
    used: TrafficNumber,
    left: TrafficNumber,
    total_mb: TrafficNumber,
    used_mb: TrafficNumber,
    left_mb: TrafficNumber,
}

#[derive(Serialize)]
struct RotationBody {
    by: &'static str,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<u32>,
}

const BYTES_PER_MB: u64 = 1_000_000;

impl<'a> PortBody<'a> {
    fn new(port: &'a Port, elapsed: Duration) -> PortBody<'a> {
        let style = port.missing_style;
        PortBody {
            id: port.id,
            name: &port.name,
            created_at: port
                .created_at
                .map(|date| format_date(date, port.date_style)),
            ends_at: port.ends_at.map(|date| format_date(date, port.date_style)),
            archived_at: port
                .archived_at
                .map(|date| format_date(date, port.date_style)),
            node: NodeBody {
                address: &port.node_address,
                ip: &port.node_ip,
            },
            ports: ProxyPortsBody {
                http: port.http_port,
                socks: port.socks_port,
            },
            country: &port.country,
            city: OptionalText::new(port.city.as_ref(), style),
            operator: OptionalText::new(port.operator.as_ref(), style),
            group: OptionalText::new(port.group.as_ref(), style),
            vpn: OptionalText::new(port.vpn.as_ref(), style),
            network: &port.network,
            access: AccessBody {
                login: &port.access.login,
                password: &port.access.password,
                ip: OptionalText::new(port.access.ip.as_ref(), style),
            },
            traffic: TrafficBody::new(port, elapsed),
            rotation: RotationBody::new(port.rotation),
        }
    }
}

impl TrafficBody {
    fn new(port: &Port, elapsed: Duration) -> TrafficBody {
        let total = port.traffic_total;
        let used = port.traffic_used_at(elapsed);
        let left = total.saturating_sub(used);
        let number = |value: u64| TrafficNumber {
            value,
            as_string: port.traffic_as_strings,
        };
        TrafficBody {
            total: number(total),
            used: number(used),
            left: number(left),
            total_mb: number(total / BYTES_PER_MB),
            used_mb: number(used / BYTES_PER_MB),
            left_mb: number(left / BYTES_PER_MB),
        }
    }
}

impl RotationBody {
    fn new(rotation: Rotation) -> RotationBody {
        match rotation {
            Rotation::Time { unit, interval } => RotationBody {
                by: "time",
                unit: Some(match unit {
                    RotationUnit::Hours => "hours",
                    RotationUnit::Minutes => "minutes",
                }),
                time: Some(interval),
            },
            Rotation::Link => RotationBody {
                by: "link",
                unit: None,
                time: None,
            },
            Rotation::Request => RotationBody {
                by: "request",
                unit: None,
                time: None,
            },
        }
    }
}

/// Formats `date` in UTC in the given style.
pub(super) fn format_date(date: OffsetDateTime, style: DateStyle) -> String {
    let utc = date.to_offset(UtcOffset::UTC);
    let formatted = match style {
        DateStyle::Rfc3339Micros => utc.format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        )),
        DateStyle::SpaceSeparated => utc.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        )),
    };
    formatted.expect("an OffsetDateTime has every component of both formats")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn date_styles_use_utc() {
        let date = datetime!(2026-11-02 12:14:55.123456789 +03:00);

        assert_eq!(
            format_date(date, DateStyle::Rfc3339Micros),
            "2026-11-02T09:14:55.123456Z"
        );
        assert_eq!(
            format_date(date, DateStyle::SpaceSeparated),
            "2026-11-02 09:14:55"
        );
    }

    #[test]
    fn missing_fields_follow_style() {
        let mut port = Port::new(7, "p", "Germany");
        port.missing_style = MissingStyle::Omitted;
        let omitted: serde_json::Value =
            serde_json::from_slice(&port_body(&port, Duration::ZERO)).expect("valid JSON");
        port.missing_style = MissingStyle::Null;
        let null: serde_json::Value =
            serde_json::from_slice(&port_body(&port, Duration::ZERO)).expect("valid JSON");

        for key in ["city", "operator", "group", "vpn"] {
            assert!(
                omitted["data"].get(key).is_none(),
                "{key} should be omitted"
            );
            assert!(null["data"][key].is_null(), "{key} should be null");
            assert!(null["data"].get(key).is_some(), "{key} should be present");
        }
        assert!(omitted["data"]["access"].get("ip").is_none());
        assert!(null["data"]["access"]["ip"].is_null());
    }

    #[test]
    fn rotation_by_link_has_no_interval() {
        let body = serde_json::to_value(RotationBody::new(Rotation::Link)).expect("serializes");

        assert_eq!(body, serde_json::json!({"by": "link"}));
    }

    #[test]
    fn rotation_by_time_has_interval() {
        let rotation = Rotation::Time {
            unit: RotationUnit::Hours,
            interval: 2,
        };
        let body = serde_json::to_value(RotationBody::new(rotation)).expect("serializes");

        assert_eq!(
            body,
            serde_json::json!({"by": "time", "type": "hours", "time": 2})
        );
    }

    #[test]
    fn port_keys_have_fixed_order() {
        let port = Port::new(7, "p", "Germany");
        let json = String::from_utf8(port_body(&port, Duration::ZERO).to_vec()).expect("UTF-8");

        let positions: Vec<usize> = [
            "\"id\"",
            "\"name\"",
            "\"createdAt\"",
            "\"endsAt\"",
            "\"node\"",
            "\"ports\"",
            "\"country\"",
            "\"network\"",
            "\"access\"",
            "\"traffic\"",
            "\"rotation\"",
        ]
        .iter()
        .map(|key| json.find(key).expect("key present"))
        .collect();
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        assert_eq!(positions, sorted, "keys out of order in {json}");
    }
}
