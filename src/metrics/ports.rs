//! The per-port families, rendered page by page while a scrape's next page is fetched.
//!
//! An account with 10,000 ports has about 60,000 per-port samples, nearly all of a
//! response. Their lines are the same in both text formats, so they are rendered once,
//! into one buffer a family, as each page of ports is decoded. A response then sends
//! those buffers as they are, between family headers written for its format.
//! prometheus-client would encode each label through `fmt::Write`, and writing them
//! here with a fast check for characters that need escaping costs a fraction of that.
//! A test checks that the output matches prometheus-client's byte for byte in both
//! formats.

use std::borrow::Cow;
use std::sync::LazyLock;

use bytes::Bytes;

use crate::api::{Port, PortSink, PortText};

use super::{
    Format, Metric, PORT_CREATED, PORT_EXPIRY, PORT_INFO, PORT_TRAFFIC_LEFT, PORT_TRAFFIC_LIMIT,
    PORT_TRAFFIC_USED, Sample,
};

/// The labels of `astro_port_info`, in the order written, with the field each comes from.
const INFO_LABELS: [(&str, PortText); 10] = [
    ("port", PortText::Id),
    ("name", PortText::Name),
    ("country", PortText::Country),
    ("city", PortText::City),
    ("network", PortText::Network),
    ("operator", PortText::Operator),
    ("node_address", PortText::NodeAddress),
    ("node_ip", PortText::NodeIp),
    ("http_port", PortText::HttpPort),
    ("socks_port", PortText::SocksPort),
];

/// The label set of the samples of a per-port family.
#[derive(Debug, Clone, Copy)]
enum Labels {
    /// `port`, `country` and `operator`.
    Traffic,
    /// Every label of [`INFO_LABELS`].
    Info,
    /// `port` alone.
    Port,
}

/// A per-port family: its metric, its labels, and how to read its value from a port.
struct Family {
    metric: &'static Metric,
    labels: Labels,
    value: fn(&Port) -> Option<f64>,
}

const FAMILY_COUNT: usize = 6;

/// The per-port families in the order they are written.
const FAMILIES: [Family; FAMILY_COUNT] = [
    Family {
        metric: &PORT_TRAFFIC_LEFT,
        labels: Labels::Traffic,
        value: |port| port.traffic_left_bytes,
    },
    Family {
        metric: &PORT_TRAFFIC_USED,
        labels: Labels::Traffic,
        value: |port| port.traffic_used_bytes,
    },
    Family {
        metric: &PORT_TRAFFIC_LIMIT,
        labels: Labels::Traffic,
        value: |port| port.traffic_limit_bytes,
    },
    Family {
        metric: &PORT_INFO,
        labels: Labels::Info,
        value: |_| Some(1.0),
    },
    Family {
        metric: &PORT_EXPIRY,
        labels: Labels::Port,
        value: |port| port.expiry_timestamp_seconds,
    },
    Family {
        metric: &PORT_CREATED,
        labels: Labels::Port,
        value: |port| port.created_timestamp_seconds,
    },
];

/// The names of [`FAMILIES`] with their unit suffixes, built once rather than for
/// every page.
static NAMES: LazyLock<[Cow<'static, str>; FAMILY_COUNT]> =
    LazyLock::new(|| FAMILIES.map(|family| full_name(family.metric)));

/// The sample lines of the per-port families, as they are rendered.
#[derive(Debug, Default)]
pub struct PortSeries {
    lines: [String; FAMILY_COUNT],
    /// How many ports are rendered.
    ports: usize,
    /// How many ports are expected in all, until room is made for them.
    expected: Option<usize>,
    /// The label sets of the port being rendered.
    labels: String,
}

impl PortSeries {
    /// Renders the samples of `ports` at once, for ports that did not arrive through
    /// [`PortSink`].
    pub fn rendered(ports: &[Port]) -> PortSeries {
        let mut series = PortSeries::default();
        series.add(ports);
        series
    }

    /// Ends rendering. The lines can then be shared by any number of responses.
    pub fn finish(self) -> PortLines {
        PortLines {
            lines: self.lines.map(|mut lines| {
                lines.shrink_to_fit();
                Bytes::from(lines)
            }),
        }
    }

    /// Makes room for the expected ports that are still to come, at the size of
    /// those rendered so far, so that the buffers do not grow by doubling.
    fn make_room(&mut self) {
        let Some(expected) = self.expected.take() else {
            return;
        };
        let coming = expected.saturating_sub(self.ports);
        for lines in &mut self.lines {
            let per_port = lines.len().div_ceil(self.ports);
            // A little more than the average, as later ids may be longer.
            lines.reserve(coming * per_port * 21 / 20);
        }
    }
}

impl PortSink for PortSeries {
    fn expect(&mut self, total_ports: usize) {
        self.expected = Some(total_ports);
    }

    fn add(&mut self, new_ports: &[Port]) {
        let labels = &mut self.labels;
        for port in new_ports {
            // Each label set is escaped once and then copied into every family that
            // uses it: `{port="…"`, then `,country="…",operator="…"`, then the info
            // labels, which start with `{port="…"` again.
            labels.clear();
            push_label(labels, '{', "port", port.id());
            let port_only = labels.len();
            push_label(labels, ',', "country", port.text(PortText::Country));
            push_label(labels, ',', "operator", port.text(PortText::Operator));
            let traffic = labels.len();
            let mut separator = '{';
            for (label, field) in INFO_LABELS {
                push_label(labels, separator, label, port.text(field));
                separator = ',';
            }

            for ((family, name), lines) in FAMILIES.iter().zip(&*NAMES).zip(&mut self.lines) {
                let Some(value) = (family.value)(port) else {
                    continue;
                };
                lines.push_str(name);
                lines.push_str(match family.labels {
                    Labels::Traffic => &labels[..traffic],
                    Labels::Info => &labels[traffic..],
                    Labels::Port => &labels[..port_only],
                });
                lines.push_str("} ");
                push_value(lines, value);
                lines.push('\n');
            }
        }
        self.ports += new_ports.len();
        if self.ports > 0 {
            self.make_room();
        }
    }
}

/// The rendered sample lines of the per-port families, one buffer a family.
#[derive(Clone, Default, PartialEq)]
pub struct PortLines {
    lines: [Bytes; FAMILY_COUNT],
}

impl std::fmt::Debug for PortLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes = self.lines.each_ref().map(Bytes::len);
        f.debug_struct("PortLines").field("bytes", &sizes).finish()
    }
}

impl PortLines {
    /// Appends the families to `chunks` in `format`: for each, its header written
    /// into `text`, which is then moved into `chunks`, followed by its lines. A family
    /// without samples is still described, as prometheus-client would describe it.
    pub fn write(&self, text: &mut String, chunks: &mut Vec<Bytes>, format: Format) {
        for (family, lines) in FAMILIES.iter().zip(&self.lines) {
            describe(text, family.metric, format);
            chunks.push(Bytes::from(std::mem::take(text)));
            chunks.push(lines.clone());
        }
    }
}

/// Writes the `HELP`, `TYPE` and, for OpenMetrics, `UNIT` lines of a gauge family.
fn describe(output: &mut String, metric: &Metric, format: Format) {
    let name = full_name(metric);
    output.push_str("# HELP ");
    output.push_str(&name);
    output.push(' ');
    output.push_str(metric.help);
    output.push_str("\n# TYPE ");
    output.push_str(&name);
    output.push_str(" gauge\n");
    if let (Format::OpenMetrics, Some(unit)) = (format, &metric.unit) {
        output.push_str("# UNIT ");
        output.push_str(&name);
        output.push(' ');
        output.push_str(unit.as_str());
        output.push('\n');
    }
}

/// Returns the name of a family with its unit suffix, such as
/// `astro_port_traffic_left_bytes`.
fn full_name(metric: &Metric) -> Cow<'static, str> {
    match &metric.unit {
        Some(unit) => Cow::Owned(format!("{}_{}", metric.name, unit.as_str())),
        None => Cow::Borrowed(metric.name),
    }
}

/// Writes `separator`, then `label="value"`.
fn push_label(output: &mut String, separator: char, label: &str, value: &str) {
    output.push(separator);
    output.push_str(label);
    output.push_str("=\"");
    push_label_value(output, value);
    output.push('"');
}

/// Writes a label value, escaping backslash, double quote and line feed.
fn push_label_value(output: &mut String, value: &str) {
    if !value
        .bytes()
        .any(|byte| matches!(byte, b'\\' | b'"' | b'\n'))
    {
        output.push_str(value);
        return;
    }
    for character in value.chars() {
        match character {
            '\\' => output.push_str("\\\\"),
            '"' => output.push_str("\\\""),
            '\n' => output.push_str("\\n"),
            other => output.push(other),
        }
    }
}

/// Writes a sample value as [`super::Sample`] does: whole numbers as integers, others
/// in the shortest form that reads back exactly.
fn push_value(output: &mut String, value: f64) {
    if let Some(integer) = Sample(value).as_exact_integer() {
        output.push_str(itoa::Buffer::new().format(integer));
    } else if value.is_finite() {
        output.push_str(dtoa::Buffer::new().format_finite(value));
    } else if value.is_nan() {
        output.push_str("NaN");
    } else if value > 0.0 {
        output.push_str("+Inf");
    } else {
        output.push_str("-Inf");
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, prometheus_text, text};
    use prometheus_client::registry::Registry;

    use super::super::describe as describe_for_client;
    use super::*;

    type ValueOf = fn(&Port) -> Option<f64>;

    /// The per-port families as prometheus-client encodes them.
    #[derive(Debug)]
    struct Reference(Vec<Port>);

    impl Collector for Reference {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            let traffic: [(&Metric, ValueOf); 3] = [
                (&PORT_TRAFFIC_LEFT, |port| port.traffic_left_bytes),
                (&PORT_TRAFFIC_USED, |port| port.traffic_used_bytes),
                (&PORT_TRAFFIC_LIMIT, |port| port.traffic_limit_bytes),
            ];
            for (metric, value) in traffic {
                let mut family = describe_for_client(&mut encoder, metric)?;
                for port in &self.0 {
                    if let Some(value) = value(port) {
                        let labels = [
                            ("port", port.id()),
                            ("country", port.text(PortText::Country)),
                            ("operator", port.text(PortText::Operator)),
                        ];
                        family
                            .encode_family(&labels)?
                            .encode_gauge(&Sample(value))?;
                    }
                }
            }
            let mut family = describe_for_client(&mut encoder, &PORT_INFO)?;
            for port in &self.0 {
                let labels = INFO_LABELS.map(|(label, field)| (label, port.text(field)));
                family.encode_family(&labels)?.encode_gauge(&1_i64)?;
            }
            let timestamps: [(&Metric, ValueOf); 2] = [
                (&PORT_EXPIRY, |port| port.expiry_timestamp_seconds),
                (&PORT_CREATED, |port| port.created_timestamp_seconds),
            ];
            for (metric, value) in timestamps {
                let mut family = describe_for_client(&mut encoder, metric)?;
                for port in &self.0 {
                    if let Some(value) = value(port) {
                        family
                            .encode_family(&[("port", port.id())])?
                            .encode_gauge(&Sample(value))?;
                    }
                }
            }
            Ok(())
        }
    }

    fn reference(ports: &[Port], format: Format) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Reference(ports.to_vec())));
        let mut output = String::new();
        match format {
            Format::OpenMetrics => text::encode_registry(&mut output, &registry),
            Format::Text => prometheus_text::encode(&mut output, &registry),
        }
        .expect("encoding into a string");
        output
    }

    /// Sets the numbers of a port: traffic left, used and limit, created and expiry.
    fn with_numbers(mut port: Port, numbers: [Option<f64>; 5]) -> Port {
        [
            port.traffic_left_bytes,
            port.traffic_used_bytes,
            port.traffic_limit_bytes,
            port.created_timestamp_seconds,
            port.expiry_timestamp_seconds,
        ] = numbers;
        port
    }

    fn ports() -> Vec<Port> {
        let plain = with_numbers(
            Port::new([
                "100999",
                "port 999",
                "Japan",
                "Capital",
                "Mobile",
                "NTT Docomo",
                "node-1.astroproxy.com",
                "192.0.2.1",
                "10000",
                "10001",
            ]),
            [
                Some(9_992_088_919.0),
                Some(7_911_081.0),
                Some(1e10),
                Some(1_767_225_600.0),
                Some(1_797_268_279.685_898),
            ],
        );
        let awkward = with_numbers(
            Port::new([
                "7",
                "quote \" and \\ and\nline",
                "Côte d'Ivoire",
                "",
                "",
                "\\\\",
                "",
                "",
                "",
                "",
            ]),
            [
                Some(0.5),
                Some(-3.0),
                Some(1e300),
                None,
                Some(9_007_199_254_740_993.0),
            ],
        );
        let empty = Port::new(["8", "", "", "", "", "", "", "", "", ""]);
        vec![plain, awkward, empty]
    }

    #[test]
    fn output_matches_prometheus_client_in_both_formats() {
        let ports = ports();
        for format in [Format::Text, Format::OpenMetrics] {
            for ports in [&ports[..], &[]] {
                let mut text = String::new();
                let mut chunks = Vec::new();
                PortSeries::rendered(ports)
                    .finish()
                    .write(&mut text, &mut chunks, format);
                let output: Vec<u8> = chunks.concat();
                assert_eq!(
                    String::from_utf8(output).expect("UTF-8"),
                    reference(ports, format),
                    "{format:?}"
                );
            }
        }
    }
}
