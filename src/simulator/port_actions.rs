//! The endpoints that change a port: `POST /ports/{id}/renew` and
//! `GET /ports/{id}/newip`. Both run under the account lock, so every later
//! request returns the changed account.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Serialize;

use super::account::Account;
use super::api::{Moment, mix64, port_not_found, required};
use super::pricing::{self, round_cents};
use super::{ApiRequest, Reply, render};

/// Time that `/renew` adds to a port's end date, counted from the later of
/// the simulator's current time and the current end date. The real API does
/// not document the period, so 30 days is the simulator's own choice.
pub const RENEWAL_PERIOD: time::Duration = time::Duration::days(30);

/// Simulator time after a successful `/newip` request during which the next
/// one on the same port returns 423.
pub const IP_CHANGE_INTERVAL: Duration = Duration::from_secs(30);

/// The documentation networks 192.0.2.0/24, 198.51.100.0/24 and
/// 203.0.113.0/24 that new node addresses come from.
const DOCUMENTATION_PREFIXES: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];

/// Returns the index of the port whose id is `id`, or `None` for an
/// invalid or unknown id.
fn find_port(account: &Account, id: &str) -> Option<usize> {
    let id = id.parse::<u64>().ok()?;
    account.ports.iter().position(|port| port.id == id)
}

/// Serves `POST /ports/{id}/renew?volume=`: adds `volume` gigabytes to the
/// port's traffic, moves its end date [`RENEWAL_PERIOD`] past the later of
/// now and the current end, charges the balance and returns the port as
/// `GET /ports/{id}` does.
///
/// `volume` comes from the body or the query string. A port without an end
/// date keeps none, because it has no paid period to extend. The charge is
/// [`pricing::price_per_gb`] of the port's network times the volume, and the
/// balance after it is rounded to cents.
///
/// Errors: 404 for an unknown port, 400 for a missing or invalid `volume`,
/// 409 for an archived port and 402 when the balance is below the cost. A
/// rejected request changes nothing.
pub(super) fn renew(
    id: &str,
    request: &ApiRequest,
    account: &mut Account,
    moment: Moment,
) -> Reply {
    let Some(index) = find_port(account, id) else {
        return Reply::error(404, &port_not_found(id));
    };
    let volume_value = match required(request.param("volume"), "volume") {
        Ok(value) => value,
        Err(message) => return Reply::error(400, &message),
    };
    let volume = match pricing::parse_volume(volume_value) {
        Ok(volume) => volume,
        Err(message) => return Reply::error(400, &message),
    };
    let port = &account.ports[index];
    if port.is_archived() {
        return Reply::error(409, &format!("Port {id} is archived and cannot be renewed"));
    }

    // NOTE: the price list is in USD, and the charge is the same number
    // whatever the account's currency, because the simulator has no
    // exchange rates.
    let cost = volume.cost(&port.network);
    let balance = account.balance_at(moment.elapsed);
    if cost > balance {
        let message = format!(
            "Insufficient balance: renewing port {id} with {volume_value} GB costs {cost:.2}, \
             but the balance is {balance:.2}. Top up the balance or renew a smaller volume"
        );
        return Reply::error(402, &message);
    }
    let ends_at = match port.ends_at {
        None => None,
        Some(end) => match end.max(moment.now).checked_add(RENEWAL_PERIOD) {
            Some(new_end) => Some(new_end),
            None => {
                let message =
                    format!("Port {id} cannot be renewed: its end date would pass the year 9999");
                return Reply::error(400, &message);
            }
        },
    };

    account.balance = round_cents(account.balance - cost);
    let port = &mut account.ports[index];
    // Store the traffic used so far, so that consumption continues from it
    // and not from a total that the renewal raised.
    port.traffic_used = port.traffic_used_at(moment.elapsed);
    port.traffic_used_since = moment.elapsed;
    port.traffic_total = port.traffic_total.saturating_add(volume.bytes);
    port.ends_at = ends_at;
    tracing::debug!(
        port = port.id,
        bytes = volume.bytes,
        cost,
        "simulator renewed a port"
    );
    Reply::json(200, render::port_body(port, moment.elapsed))
}

#[derive(Serialize)]
struct IpBody<'a> {
    ip: &'a str,
}

/// Serves `GET /ports/{id}/newip`: gives the port a new node IP address and
/// returns it as `{"ip":...}`.
///
/// Within [`IP_CHANGE_INTERVAL`] of the last change the reply is 423 with
/// the message under `data`, as the real API sends it. Errors: 404 for an
/// unknown port and 409 for an archived one, which has no node to change.
pub(super) fn change_ip(id: &str, account: &mut Account, elapsed: Duration) -> Reply {
    let Some(index) = find_port(account, id) else {
        return Reply::error(404, &port_not_found(id));
    };
    let port = &mut account.ports[index];
    if port.is_archived() {
        return Reply::error(
            409,
            &format!("Port {id} is archived and has no IP to change"),
        );
    }
    if let Some(changed_at) = port.ip_changed_at {
        let available_at = changed_at.saturating_add(IP_CHANGE_INTERVAL);
        if elapsed < available_at {
            let wait = available_at - elapsed;
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let message = format!("IP change is not available yet, try again in {seconds} seconds");
            return Reply::json(423, render::error_data_body(&message));
        }
    }

    port.node_ip = next_ip(&port.node_ip, port.id, elapsed).to_string();
    port.ip_changed_at = Some(elapsed);
    Reply::json(200, render::ok_body(IpBody { ip: &port.node_ip }))
}

/// Picks a documentation address other than `current`, the same one for
/// the same port, current address and time.
fn next_ip(current: &str, port_id: u64, elapsed: Duration) -> Ipv4Addr {
    let current_bits = current.parse::<Ipv4Addr>().map_or(0, u32::from);
    let elapsed_millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let mixed = mix64(port_id ^ elapsed_millis.rotate_left(32) ^ u64::from(current_bits));

    let [first, second, third] = DOCUMENTATION_PREFIXES[(mixed % 3) as usize];
    // Host numbers 1 to 254 leave out the network and broadcast addresses.
    let host = 1 + ((mixed >> 8) % 254) as u8;
    let candidate = Ipv4Addr::new(first, second, third, host);
    if u32::from(candidate) != current_bits {
        return candidate;
    }
    Ipv4Addr::new(first, second, third, host % 254 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_ip_is_new_documentation_address() {
        let mut current = "192.0.2.17".to_owned();
        for step in 0..500u64 {
            let next = next_ip(&current, 48213, Duration::from_secs(step * 31));
            let octets = next.octets();

            assert_ne!(next.to_string(), current, "step {step}");
            assert!(
                DOCUMENTATION_PREFIXES.contains(&[octets[0], octets[1], octets[2]]),
                "{next}"
            );
            assert!((1..=254).contains(&octets[3]), "{next}");
            current = next.to_string();
        }
    }

    #[test]
    fn next_ip_repeats_for_same_inputs() {
        let first = next_ip("203.0.113.41", 7, Duration::from_secs(90));
        let second = next_ip("203.0.113.41", 7, Duration::from_secs(90));

        assert_eq!(first, second);
    }
}
