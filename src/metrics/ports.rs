//! The per-port families, written straight into the response text.
//!
//! An account with 10,000 ports has about 60,000 per-port samples, nearly all of a
//! response. prometheus-client would encode each label through `fmt::Write`; writing
//! them here with a fast check for characters that need escaping costs a fraction of
//! that. The output is the same, byte for byte, in both formats: a test holds it
//! against prometheus-client.

use crate::api::{Port, PortText};

use super::{
    EXACT_INTEGER_LIMIT, Format, Metric, PORT_CREATED, PORT_EXPIRY, PORT_INFO, PORT_TRAFFIC_LEFT,
    PORT_TRAFFIC_LIMIT, PORT_TRAFFIC_USED,
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

/// A per-port family and how to read its value from a port.
type PortFamily = (&'static Metric, fn(&Port) -> Option<f64>);

/// Bytes of a port's samples beyond its label values: names, label names, quotes and
/// values, rounded up.
const FIXED_BYTES_PER_PORT: usize = 640;

/// Returns about how many bytes [`write`] adds for `ports`, so that the response can be
/// allocated once.
pub fn size_hint(ports: &[Port]) -> usize {
    ports
        .iter()
        .map(|port| {
            let traffic_labels = port.id().len()
                + port.text(PortText::Country).len()
                + port.text(PortText::Operator).len();
            let info_labels: usize = PortText::ALL
                .iter()
                .map(|&field| port.text(field).len())
                .sum();
            FIXED_BYTES_PER_PORT + 3 * traffic_labels + info_labels + 2 * port.id().len()
        })
        .sum()
}

/// Appends the per-port families of `ports` in `format`. A family whose value no
/// port has is still described, as prometheus-client would describe it.
pub fn write(output: &mut String, ports: &[Port], format: Format) {
    let traffic: [PortFamily; 3] = [
        (&PORT_TRAFFIC_LEFT, |port| port.traffic_left_bytes),
        (&PORT_TRAFFIC_USED, |port| port.traffic_used_bytes),
        (&PORT_TRAFFIC_LIMIT, |port| port.traffic_limit_bytes),
    ];
    for (metric, value) in traffic {
        let name = describe(output, metric, format);
        for port in ports {
            if let Some(value) = value(port) {
                start_sample(output, &name, "port", port.id());
                push_label(output, "country", port.text(PortText::Country));
                push_label(output, "operator", port.text(PortText::Operator));
                end_sample(output, value);
            }
        }
    }

    let name = describe(output, &PORT_INFO, format);
    for port in ports {
        let [(first_label, first_field), rest @ ..] = &INFO_LABELS;
        start_sample(output, &name, first_label, port.text(*first_field));
        for (label, field) in rest {
            push_label(output, label, port.text(*field));
        }
        end_sample(output, 1.0);
    }

    let timestamps: [PortFamily; 2] = [
        (&PORT_EXPIRY, |port| port.expiry_timestamp_seconds),
        (&PORT_CREATED, |port| port.created_timestamp_seconds),
    ];
    for (metric, value) in timestamps {
        let name = describe(output, metric, format);
        for port in ports {
            if let Some(value) = value(port) {
                start_sample(output, &name, "port", port.id());
                end_sample(output, value);
            }
        }
    }
}

/// Writes the `HELP`, `TYPE` and, for OpenMetrics, `UNIT` lines of a gauge family, and
/// returns the family's full name.
fn describe(output: &mut String, metric: &Metric, format: Format) -> String {
    let name = full_name(metric);
    let unit = metric.unit.as_ref().map(|unit| unit.as_str());
    output.push_str("# HELP ");
    output.push_str(&name);
    output.push(' ');
    output.push_str(metric.help);
    output.push_str("\n# TYPE ");
    output.push_str(&name);
    output.push_str(" gauge\n");
    if let (Format::OpenMetrics, Some(unit)) = (format, unit) {
        output.push_str("# UNIT ");
        output.push_str(&name);
        output.push(' ');
        output.push_str(unit);
        output.push('\n');
    }
    name
}

/// The name of a family with its unit suffix, such as `astro_port_traffic_left_bytes`.
fn full_name(metric: &Metric) -> String {
    match &metric.unit {
        Some(unit) => format!("{}_{}", metric.name, unit.as_str()),
        None => metric.name.to_owned(),
    }
}

/// Writes the name and first label of a sample: `name{label="value"`.
fn start_sample(output: &mut String, name: &str, label: &str, value: &str) {
    output.push_str(name);
    output.push('{');
    output.push_str(label);
    output.push_str("=\"");
    push_label_value(output, value);
    output.push('"');
}

/// Writes one more label of a sample: `,label="value"`.
fn push_label(output: &mut String, label: &str, value: &str) {
    output.push(',');
    output.push_str(label);
    output.push_str("=\"");
    push_label_value(output, value);
    output.push('"');
}

/// Closes the labels of a sample and writes its value: `} value` and a line break.
fn end_sample(output: &mut String, value: f64) {
    output.push_str("} ");
    push_value(output, value);
    output.push('\n');
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
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        output.push_str(itoa::Buffer::new().format(value as i64));
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

    use super::super::{Sample, describe as describe_for_client};
    use super::*;

    /// The per-port families as prometheus-client encodes them.
    #[derive(Debug)]
    struct Reference(Vec<Port>);

    impl Collector for Reference {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            let traffic: [PortFamily; 3] = [
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
            let timestamps: [PortFamily; 2] = [
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
                let mut output = String::new();
                write(&mut output, ports, format);
                assert_eq!(output, reference(ports, format), "{format:?}");
            }
        }
    }

    #[test]
    fn size_hint_covers_the_output_of_usual_ports() {
        let ports = vec![ports().remove(0); 100];
        let mut output = String::new();
        write(&mut output, &ports, Format::OpenMetrics);
        assert!(output.len() <= size_hint(&ports), "{} bytes", output.len());
    }
}
