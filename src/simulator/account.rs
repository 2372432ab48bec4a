//! The account model that the simulator serves: balance, currency and ports.
//!
//! Values here are the state at the moment the simulator starts. Traffic and
//! balance move with time only when rendered, through [`Port::traffic_used_at`]
//! and [`Account::balance_at`], so the stored fields stay as configured until
//! a request to `/renew` or `/newip` changes them.

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

/// An Astro account as the API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Balance when the simulator starts, less the charges of renewals, in
    /// units of `currency`.
    pub balance: f64,
    pub currency: Currency,
    /// Balance spent per second of simulator time, in units of `currency`.
    pub balance_burn_per_second: f64,
    /// Active and archived ports, in any order.
    pub ports: Vec<Port>,
}

/// The `currency` field of the balance response, which the real API sends as
/// either an ISO 4217 code or a numeric code, depending on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    /// An ISO 4217 code such as `"USD"`.
    Code(String),
    /// A numeric code such as `2`, which the real API uses for roubles.
    Number(i64),
}

/// The format of a port's date fields. The real API uses both, chosen per port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// RFC 3339 in UTC with six fractional digits: `2026-11-02T09:14:55.000000Z`.
    Rfc3339Micros,
    /// Date and time in UTC separated by a space: `2026-11-20 18:02:11`.
    SpaceSeparated,
}

/// Rendering of an optional field (`city`, `operator`, `group`, `vpn`,
/// `access.ip`) that has no value. The real API uses both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingStyle {
    /// The key is present with the value `null`.
    Null,
    /// The key is left out of the object.
    Omitted,
}

/// The `rotation` object: when the port changes its exit IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// Rotates every `interval` hours or minutes:
    /// `{"by":"time","type":"minutes","time":10}`.
    Time { unit: RotationUnit, interval: u32 },
    /// Rotates when the owner opens the port's rotation link: `{"by":"link"}`.
    Link,
    /// Rotates on every proxied request: `{"by":"request"}`.
    Request,
}

/// The `rotation.type` field of a time-based rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationUnit {
    Hours,
    Minutes,
}

/// The `access` object: the credentials a client uses on the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub login: String,
    pub password: String,
    /// Client address allowed without a password, if any.
    pub ip: Option<String>,
}

/// One proxy port. A port is archived when `archived_at` is `Some`.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub id: u64,
    pub name: String,
    pub created_at: Option<OffsetDateTime>,
    /// End of the paid period, or `None` for a port without an end date.
    pub ends_at: Option<OffsetDateTime>,
    pub archived_at: Option<OffsetDateTime>,
    pub country: String,
    pub city: Option<String>,
    pub operator: Option<String>,
    /// Network type as the API spells it: `Mobile`, `Residential`, `Business`,
    /// `Hosting`, `College`, `Travel`, or `Residental` on old accounts.
    pub network: String,
    pub group: Option<String>,
    /// NOTE: the real API's type for `vpn` is not known, so the simulator
    /// sends it as a string.
    pub vpn: Option<String>,
    /// Host name of the proxy node, for example `node-de-17.astroproxy.com`.
    pub node_address: String,
    pub node_ip: String,
    pub http_port: u16,
    pub socks_port: u16,
    pub access: Access,
    /// Traffic bought for the port, in bytes.
    pub traffic_total: u64,
    /// Traffic used at the simulator time `traffic_used_since`, in bytes.
    pub traffic_used: u64,
    /// Simulator time at which `traffic_used` was measured: zero, the start,
    /// unless a renewal stored the traffic used at that moment.
    pub traffic_used_since: Duration,
    /// Traffic added to `traffic_used` per second of simulator time after
    /// `traffic_used_since`, in bytes.
    pub consumption_bytes_per_second: u64,
    pub date_style: DateStyle,
    /// Sends the six `traffic` numbers as numeric strings (`"1000000000"`), as
    /// some real responses do.
    pub traffic_as_strings: bool,
    pub missing_style: MissingStyle,
    pub rotation: Rotation,
    /// Simulator time of the last successful `/newip` request, which starts
    /// the interval in which the next one is rejected.
    pub ip_changed_at: Option<Duration>,
}

impl Port {
    /// Creates an active port with 10 GB of unused traffic, no consumption,
    /// creation date 2026-01-01 00:00:00 UTC and no end date.
    ///
    /// The node is `node-1.astroproxy.com` at 192.0.2.1, a documentation
    /// address that is never contacted.
    pub fn new(id: u64, name: &str, country: &str) -> Port {
        Port {
            id,
            name: name.to_owned(),
            created_at: Some(datetime!(2026-01-01 00:00:00 UTC)),
            ends_at: None,
            archived_at: None,
            country: country.to_owned(),
            city: None,
            operator: None,
            network: "Mobile".to_owned(),
            group: None,
            vpn: None,
            node_address: "node-1.astroproxy.com".to_owned(),
            node_ip: "192.0.2.1".to_owned(),
            http_port: 10_000,
            socks_port: 10_001,
            access: Access {
                login: format!("user{id}"),
                password: "fake-password".to_owned(),
                ip: None,
            },
            traffic_total: 10_000_000_000,
            traffic_used: 0,
            traffic_used_since: Duration::ZERO,
            consumption_bytes_per_second: 0,
            date_style: DateStyle::Rfc3339Micros,
            traffic_as_strings: false,
            missing_style: MissingStyle::Null,
            rotation: Rotation::Time {
                unit: RotationUnit::Minutes,
                interval: 10,
            },
            ip_changed_at: None,
        }
    }

    /// Returns whether the port is archived, which is when `archived_at` is set.
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    /// Returns the used traffic in bytes after `elapsed` simulator time.
    ///
    /// Consumption adds `consumption_bytes_per_second` for each second after
    /// `traffic_used_since` and stops at `traffic_total`. A configured
    /// `traffic_used` above the total is returned unchanged.
    pub fn traffic_used_at(&self, elapsed: Duration) -> u64 {
        if self.traffic_used >= self.traffic_total {
            return self.traffic_used;
        }
        let consuming = elapsed.saturating_sub(self.traffic_used_since);
        let consumed_bytes = u128::from(self.consumption_bytes_per_second)
            .saturating_mul(consuming.as_millis())
            / 1000;
        let used = u128::from(self.traffic_used).saturating_add(consumed_bytes);
        let capped = used.min(u128::from(self.traffic_total));
        u64::try_from(capped).expect("capped at traffic_total, which is a u64")
    }
}

impl Account {
    /// Returns the balance after `elapsed` simulator time.
    ///
    /// With a zero burn rate this is `balance` unchanged. Otherwise the
    /// result is rounded to cents, like the real API's two decimals, and the
    /// burn stops at zero, so a positive balance never turns negative and a
    /// configured negative balance does not fall further.
    pub fn balance_at(&self, elapsed: Duration) -> f64 {
        if self.balance_burn_per_second == 0.0 {
            return self.balance;
        }
        let burned = self.balance_burn_per_second * elapsed.as_secs_f64();
        let floor = self.balance.min(0.0);
        let balance = (self.balance - burned).max(floor);
        (balance * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_used_grows_with_time() {
        let mut port = Port::new(1, "p", "Germany");
        port.traffic_used = 1_000;
        port.consumption_bytes_per_second = 500;

        assert_eq!(port.traffic_used_at(Duration::ZERO), 1_000);
        assert_eq!(port.traffic_used_at(Duration::from_millis(1_500)), 1_750);
        assert_eq!(port.traffic_used_at(Duration::from_secs(10)), 6_000);
    }

    #[test]
    fn traffic_used_stops_at_total() {
        let mut port = Port::new(1, "p", "Germany");
        port.traffic_total = 2_000;
        port.traffic_used = 1_000;
        port.consumption_bytes_per_second = u64::MAX;

        assert_eq!(port.traffic_used_at(Duration::from_secs(u64::MAX)), 2_000);
    }

    #[test]
    fn traffic_used_counts_from_measurement() {
        let mut port = Port::new(1, "p", "Germany");
        port.traffic_used = 1_000;
        port.traffic_used_since = Duration::from_secs(60);
        port.consumption_bytes_per_second = 10;

        assert_eq!(port.traffic_used_at(Duration::from_secs(30)), 1_000);
        assert_eq!(port.traffic_used_at(Duration::from_secs(60)), 1_000);
        assert_eq!(port.traffic_used_at(Duration::from_secs(70)), 1_100);
    }

    #[test]
    fn traffic_used_above_total_is_kept() {
        let mut port = Port::new(1, "p", "Germany");
        port.traffic_total = 2_000;
        port.traffic_used = 3_000;
        port.consumption_bytes_per_second = 10;

        assert_eq!(port.traffic_used_at(Duration::from_secs(5)), 3_000);
    }

    fn account(balance: f64, burn: f64) -> Account {
        Account {
            balance,
            currency: Currency::Code("USD".to_owned()),
            balance_burn_per_second: burn,
            ports: Vec::new(),
        }
    }

    #[test]
    fn balance_without_burn_is_unchanged() {
        let account = account(12.345, 0.0);

        assert_eq!(account.balance_at(Duration::from_secs(3600)), 12.345);
    }

    #[test]
    fn balance_burns_in_cents() {
        let account = account(42.17, 0.01);

        assert_eq!(account.balance_at(Duration::from_secs(3)), 42.14);
        assert_eq!(account.balance_at(Duration::from_millis(1_400)), 42.16);
    }

    #[test]
    fn balance_burn_stops_at_zero() {
        let account = account(1.0, 0.5);

        assert_eq!(account.balance_at(Duration::from_secs(60)), 0.0);
    }

    #[test]
    fn negative_balance_does_not_fall() {
        let account = account(-3.5, 0.5);

        assert_eq!(account.balance_at(Duration::from_secs(60)), -3.5);
    }
}
