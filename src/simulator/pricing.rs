//! The simulator's price list, used by `/renew` and `POST /calculate`, and
//! the `/calculate` endpoint.
//!
//! The real API does not publish its prices, so the simulator uses its own
//! list, in USD per decimal gigabyte (10^9 bytes): Mobile 4.00, Residential
//! 3.00, Business and Hosting 1.50, and 2.00 for College, Travel and any
//! other network. An unlimited port costs the price of
//! [`UNLIMITED_PRICE_GB_EQUIVALENT`] gigabytes for one month. Costs are
//! rounded to cents.

use std::net::IpAddr;

use serde::Serialize;

use super::api::{invalid, optional, required};
use super::catalogue::{self, Network};
use super::{ApiRequest, Reply, render};

/// Largest `volume` that `/renew` and `/calculate` accept, in gigabytes.
/// The real API does not document a maximum, so this is the simulator's own
/// choice.
pub const MAX_VOLUME_GB: u64 = 100_000;

/// Number of gigabytes whose price is the monthly price of an unlimited
/// port in `/calculate`, the simulator's own choice: 200.00 USD for Mobile,
/// 150.00 for Residential, 75.00 for Business and Hosting and 100.00 for
/// other networks.
pub const UNLIMITED_PRICE_GB_EQUIVALENT: f64 = 50.0;

const BYTES_PER_GB: u64 = 1_000_000_000;

/// Most decimal places of `volume`, which makes one unit of the last place
/// a byte.
const MAX_VOLUME_DECIMALS: usize = 9;

/// Returns the simulator's price in USD per gigabyte of `network`, a network
/// type as a port's `network` field spells it. Unknown names cost as much
/// as College and Travel.
pub fn price_per_gb(network: &str) -> f64 {
    match Network::parse(network) {
        Some(Network::Mobile) => 4.00,
        Some(Network::Residential) => 3.00,
        Some(Network::Business | Network::Hosting) => 1.50,
        Some(Network::College | Network::Travel) | None => 2.00,
    }
}

/// Rounds an amount of money to cents, half away from zero.
pub(super) fn round_cents(amount: f64) -> f64 {
    (amount * 100.0).round() / 100.0
}

/// A validated `volume` parameter: an amount of traffic bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Volume {
    pub(super) bytes: u64,
}

impl Volume {
    pub(super) fn gigabytes(self) -> f64 {
        self.bytes as f64 / BYTES_PER_GB as f64
    }

    /// Returns the price of the volume on `network`, rounded to cents.
    pub(super) fn cost(self, network: &str) -> f64 {
        round_cents(self.gigabytes() * price_per_gb(network))
    }
}

/// Parses `volume`, a decimal number of gigabytes such as `10` or `0.5`.
///
/// The value must be plain decimal notation with at most nine decimal
/// places, above zero and at most [`MAX_VOLUME_GB`]. It converts to bytes
/// exactly, without floating point. The error is the message of the 400
/// reply.
pub(super) fn parse_volume(value: &str) -> Result<Volume, String> {
    let rejected = || {
        invalid(
            "volume",
            value,
            &format!(
                "a decimal number of gigabytes above 0 and at most {MAX_VOLUME_GB}, \
                 with at most {MAX_VOLUME_DECIMALS} decimal places"
            ),
        )
    };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > MAX_VOLUME_DECIMALS
    {
        return Err(rejected());
    }

    let whole_bytes = if whole.is_empty() {
        0
    } else {
        whole
            .parse::<u64>()
            .ok()
            .and_then(|gigabytes| gigabytes.checked_mul(BYTES_PER_GB))
            .ok_or_else(rejected)?
    };
    let padded_fraction = format!("{fraction:0<MAX_VOLUME_DECIMALS$}");
    let fraction_bytes = padded_fraction.parse::<u64>().map_err(|_| rejected())?;
    let bytes = whole_bytes
        .checked_add(fraction_bytes)
        .ok_or_else(rejected)?;

    if bytes == 0 || bytes > MAX_VOLUME_GB * BYTES_PER_GB {
        return Err(rejected());
    }
    Ok(Volume { bytes })
}

#[derive(Serialize)]
struct CostBody {
    cost: f64,
    currency: &'static str,
}

/// Serves `POST /calculate`: the price of a new port, from parameters in the
/// body or the query string.
///
/// Required: `country` (a name or code in the catalogue), `network` (offered
/// in that country, or in `city` when given), `rotation_by` (`time`, `link`
/// or `request`), and `volume` unless `is_unlimited` is true. With
/// `rotation_by=time`, `rotation_time_type` (`hours` or `minutes`) and
/// `rotation_time` (a positive integer) are required too. Optional: `city`,
/// `is_unlimited` (`true`, `false`, `1` or `0`), and `ip` (an IP address).
/// `name`, `username` and `password` are accepted and not checked.
pub(super) fn calculate(request: &ApiRequest) -> Reply {
    match calculate_cost(request) {
        Ok(cost) => Reply::json(
            200,
            render::ok_body(CostBody {
                cost,
                currency: "USD",
            }),
        ),
        Err(message) => Reply::error(400, &message),
    }
}

/// Validates the `/calculate` parameters and returns the cost in USD, or the
/// message of the 400 reply.
fn calculate_cost(request: &ApiRequest) -> Result<f64, String> {
    let network_value = required(request.param("network"), "network")?;
    let network = Network::parse_parameter(network_value)?;
    let country_value = required(request.param("country"), "country")?;
    let country = catalogue::find_country(country_value).ok_or_else(|| {
        format!("Unknown country {country_value:?} for parameter country: use a name or code from /lists")
    })?;
    let city = match optional(request.param("city")) {
        None => None,
        Some(city_value) => Some(country.find_city(city_value).ok_or_else(|| {
            format!(
                "Unknown city {city_value:?} for parameter city in {}: use a city from /cities",
                country.name
            )
        })?),
    };
    let offered = match city {
        Some(city) => city.offers(network),
        None => country.offers(network),
    };
    if !offered {
        let place = city.map_or(country.name, |city| city.name);
        return Err(format!(
            "Invalid value {network_value:?} for parameter network: {place} does not offer {} ports",
            network.name()
        ));
    }

    validate_rotation(request)?;
    if let Some(ip) = optional(request.param("ip"))
        && ip.parse::<IpAddr>().is_err()
    {
        return Err(invalid("ip", ip, "an IPv4 or IPv6 address"));
    }

    let unlimited = match optional(request.param("is_unlimited")) {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => return Err(invalid("is_unlimited", other, "true, false, 1 or 0")),
    };
    if unlimited {
        return Ok(round_cents(
            UNLIMITED_PRICE_GB_EQUIVALENT * price_per_gb(network.name()),
        ));
    }
    let volume = parse_volume(required(request.param("volume"), "volume")?)?;
    Ok(volume.cost(network.name()))
}

/// Checks `rotation_by` and, for rotation by time, `rotation_time_type` and
/// `rotation_time`.
fn validate_rotation(request: &ApiRequest) -> Result<(), String> {
    match required(request.param("rotation_by"), "rotation_by")? {
        "link" | "request" => Ok(()),
        "time" => {
            let unit = required(request.param("rotation_time_type"), "rotation_time_type")?;
            if !matches!(unit, "hours" | "minutes") {
                return Err(invalid("rotation_time_type", unit, "hours or minutes"));
            }
            let interval = required(request.param("rotation_time"), "rotation_time")?;
            match interval.parse::<u32>() {
                Ok(interval) if interval >= 1 => Ok(()),
                _ => Err(invalid("rotation_time", interval, "a positive integer")),
            }
        }
        other => Err(invalid("rotation_by", other, "time, link or request")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_converts_to_exact_bytes() {
        let cases = [
            ("1", 1_000_000_000),
            ("2.5", 2_500_000_000),
            ("0.1", 100_000_000),
            (".5", 500_000_000),
            ("3.", 3_000_000_000),
            ("0.000000001", 1),
            ("100000", 100_000_000_000_000),
        ];
        for (value, bytes) in cases {
            assert_eq!(parse_volume(value), Ok(Volume { bytes }), "{value}");
        }
    }

    #[test]
    fn volume_rejects_invalid_values() {
        let cases = [
            "",
            ".",
            "0",
            "0.0",
            "-1",
            "+1",
            "1e3",
            "inf",
            "NaN",
            " 1",
            "1,5",
            "1.2.3",
            "0.0000000001",
            "100000.000000001",
            "99999999999999999999999",
        ];
        for value in cases {
            let error = parse_volume(value).expect_err(value);
            assert!(error.contains("volume"), "{error:?} should name volume");
        }
    }

    #[test]
    fn prices_follow_network() {
        assert_eq!(price_per_gb("Mobile"), 4.00);
        assert_eq!(price_per_gb("Residential"), 3.00);
        assert_eq!(price_per_gb("Residental"), 3.00);
        assert_eq!(price_per_gb("Business"), 1.50);
        assert_eq!(price_per_gb("Hosting"), 1.50);
        assert_eq!(price_per_gb("College"), 2.00);
        assert_eq!(price_per_gb("Travel"), 2.00);
        assert_eq!(price_per_gb("Satellite"), 2.00);
    }

    #[test]
    fn cost_is_rounded_to_cents() {
        let volume = parse_volume("0.1").expect("valid volume");
        let tiny = parse_volume("0.001").expect("valid volume");

        assert_eq!(volume.cost("Residential"), 0.3);
        assert_eq!(tiny.cost("Mobile"), 0.0);
        assert_eq!(round_cents(40.004999), 40.0);
        assert_eq!(round_cents(12.345_1), 12.35);
    }
}
