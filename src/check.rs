//! The `check` command: one call of each API endpoint per account, and a short
//! summary that shows an operator whether the setup works.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::api::{ApiError, Port, PortText};
use crate::sources::{Source, Sources};

/// Checks every account and writes one block per account to `output`. Returns
/// whether every account worked.
pub async fn run(sources: &Sources, output: &mut dyn Write) -> bool {
    let mut all_ok = true;
    for source in sources.all() {
        let report = check_account(source).await;
        all_ok &= report.is_ok();
        let name = if source.name.is_empty() {
            "default"
        } else {
            source.name.as_str()
        };
        let text = match report {
            Ok(summary) => format!("{name}: OK\n{summary}"),
            Err(reason) => format!("{name}: FAILED: {reason}\n"),
        };
        // A closed standard output leaves nothing to report to.
        let _ = output.write_all(text.as_bytes());
    }
    all_ok
}

/// Calls balance, active ports and the archived count, and summarises them, or
/// returns the first failure in an operator's words.
async fn check_account(source: &Source) -> Result<String, String> {
    let client = source.scraper.client();
    let deadline = Instant::now() + source.timeout;
    let within = |seconds: Duration| format!("timed out after {}s", seconds.as_secs_f64());

    let (balance, ports, archived) = tokio::join!(
        tokio::time::timeout_at(deadline, client.balance(deadline)),
        tokio::time::timeout_at(deadline, client.active_ports(deadline, ())),
        tokio::time::timeout_at(deadline, client.archived_port_count(deadline)),
    );
    let balance = balance
        .map_err(|_| within(source.timeout))?
        .map_err(describe)?;
    let (ports, ()) = ports
        .map_err(|_| within(source.timeout))?
        .map_err(describe)?;
    let archived = archived
        .map_err(|_| within(source.timeout))?
        .map_err(describe)?;

    let amount = balance
        .amount
        .map(|amount| format!("{amount:.2}"))
        .unwrap_or_else(|| "unreadable".to_owned());
    let active = ports.total.unwrap_or(ports.ports.len() as u64);
    let mut summary = format!(
        "  balance: {amount} {}\n  ports: {active} active, {archived} archived\n",
        balance.currency
    );
    if let Some(port) = least_traffic_left(&ports.ports) {
        let left = port.traffic_left_bytes.unwrap_or_default();
        summary.push_str(&format!(
            "  least traffic left: port {} ({}) with {}\n",
            port.id(),
            port.text(PortText::Name),
            gigabytes(left)
        ));
    }
    if let Some(port) = expires_soonest(&ports.ports) {
        let ends = port.expiry_timestamp_seconds.unwrap_or_default();
        summary.push_str(&format!(
            "  expires soonest: port {} ({}) in {}\n",
            port.id(),
            port.text(PortText::Name),
            time_until(ends)
        ));
    }
    if !ports.complete {
        summary.push_str("  warning: the port list stopped short of the API's total\n");
    }
    Ok(summary)
}

fn describe(error: ApiError) -> String {
    match &error {
        _ if error.is_token_rejected() => {
            format!("token rejected ({error}); check the token's value and source")
        }
        ApiError::Transport { .. } => format!("API unreachable ({error})"),
        ApiError::RateLimited { .. } => format!("rate limited ({error})"),
        _ => error.to_string(),
    }
}

fn least_traffic_left(ports: &[Port]) -> Option<&Port> {
    ports
        .iter()
        .filter(|port| port.traffic_left_bytes.is_some())
        .min_by(|a, b| {
            a.traffic_left_bytes
                .unwrap_or_default()
                .total_cmp(&b.traffic_left_bytes.unwrap_or_default())
        })
}

fn expires_soonest(ports: &[Port]) -> Option<&Port> {
    ports
        .iter()
        .filter(|port| port.expiry_timestamp_seconds.is_some())
        .min_by(|a, b| {
            a.expiry_timestamp_seconds
                .unwrap_or_default()
                .total_cmp(&b.expiry_timestamp_seconds.unwrap_or_default())
        })
}

/// Formats bytes in decimal gigabytes, the unit Astro sells traffic in.
fn gigabytes(bytes: f64) -> String {
    format!("{:.2} GB", bytes / 1e9)
}

/// Formats the time from now until a Unix timestamp in days and hours.
fn time_until(timestamp: f64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs_f64())
        .unwrap_or_default();
    let seconds = timestamp - now;
    if seconds < 0.0 {
        return "the past (already ended)".to_owned();
    }
    let hours = (seconds / 3600.0).floor() as u64;
    let plural = |count: u64, unit: &str| {
        if count == 1 {
            format!("1 {unit}")
        } else {
            format!("{count} {unit}s")
        }
    };
    format!(
        "{} {}",
        plural(hours / 24, "day"),
        plural(hours % 24, "hour")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gigabytes_are_decimal() {
        assert_eq!(gigabytes(99_953_920.0), "0.10 GB");
        assert_eq!(gigabytes(5e9), "5.00 GB");
    }

    #[test]
    fn past_end_is_named() {
        assert_eq!(time_until(0.0), "the past (already ended)");
    }
}
