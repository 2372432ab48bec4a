//! A realistic-looking demo account: 17 active ports that use traffic while
//! the simulator runs, and 40 archived ones.
//!
//! Node addresses are from the documentation ranges 192.0.2.0/24,
//! 198.51.100.0/24 and 203.0.113.0/24, node host names are never resolved,
//! and every password is a placeholder.

use time::{Duration, OffsetDateTime, UtcOffset};

use super::account::{
    Access, Account, Currency, DateStyle, MissingStyle, Port, Rotation, RotationUnit,
};

const GB: u64 = 1_000_000_000;
const MB: u64 = 1_000_000;
const KB: u64 = 1_000;

/// Number of archived ports in the demo account.
const ARCHIVED_PORT_COUNT: u64 = 40;

impl Account {
    /// Creates the demo account with dates relative to `now`.
    ///
    /// Besides ordinary ports it contains the cases an exporter must handle.
    /// Dates come in both styles, one end date is `null`, one port sends
    /// traffic as numeric strings and one uses the old `Residental` spelling.
    /// Some ports have no city or operator. Names contain Unicode, a double
    /// quote and a backslash. One port has about 2 % of its traffic left and
    /// runs out within an hour, and another ends 31 hours after `now`.
    /// The balance starts at 42.17 USD and falls by 4 cents an hour.
    pub fn demo(now: OffsetDateTime) -> Account {
        let now = now
            .to_offset(UtcOffset::UTC)
            .replace_nanosecond(0)
            .expect("0 is a valid nanosecond");
        let mut ports = active_ports(now);
        ports.extend((0..ARCHIVED_PORT_COUNT).map(|index| archived_port(now, index)));

        Account {
            balance: 42.17,
            currency: Currency::Code("USD".to_owned()),
            balance_burn_per_second: 0.04 / 3600.0,
            ports,
        }
    }
}

fn access(id: u64, ip: Option<&str>) -> Access {
    Access {
        login: format!("demo{id}"),
        password: format!("demo-password-{id}"),
        ip: ip.map(str::to_owned),
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

fn every_minutes(interval: u32) -> Rotation {
    Rotation::Time {
        unit: RotationUnit::Minutes,
        interval,
    }
}

fn every_hours(interval: u32) -> Rotation {
    Rotation::Time {
        unit: RotationUnit::Hours,
        interval,
    }
}

/// Creates a port with the fields every active demo port sets, paid for 30
/// days from `created_days_ago` days before `now`.
fn active_port(
    now: OffsetDateTime,
    id: u64,
    name: &str,
    country: &str,
    created_days_ago: i64,
) -> Port {
    // The minute offset spreads creation times over the day.
    let created_at =
        now - Duration::days(created_days_ago) - Duration::minutes(17 * (id % 60) as i64);
    Port {
        created_at: Some(created_at),
        ends_at: Some(created_at + Duration::days(30)),
        http_port: 20_000 + (id % 10_000) as u16,
        socks_port: 30_000 + (id % 10_000) as u16,
        access: access(id, None),
        ..Port::new(id, name, country)
    }
}

fn active_ports(now: OffsetDateTime) -> Vec<Port> {
    vec![
        Port {
            city: some("Berlin"),
            operator: some("Vodafone"),
            network: "Mobile".to_owned(),
            group: some("scrapers"),
            node_address: "node-de-17.astroproxy.com".to_owned(),
            node_ip: "192.0.2.17".to_owned(),
            traffic_total: 50 * GB,
            traffic_used: 12_400 * MB,
            consumption_bytes_per_second: 350 * KB,
            rotation: every_minutes(10),
            ..active_port(now, 48213, "Berlin mobile", "Germany", 12)
        },
        Port {
            city: some("São Paulo"),
            network: "Residential".to_owned(),
            node_address: "node-br-3.astroproxy.com".to_owned(),
            node_ip: "198.51.100.23".to_owned(),
            traffic_total: 20 * GB,
            traffic_used: 3_100 * MB,
            consumption_bytes_per_second: 120 * KB,
            date_style: DateStyle::SpaceSeparated,
            missing_style: MissingStyle::Omitted,
            rotation: every_hours(1),
            ..active_port(now, 48220, "São Paulo residential", "Brazil", 9)
        },
        Port {
            city: some("Dallas"),
            operator: some("T-Mobile"),
            network: "Mobile".to_owned(),
            group: some("scrapers"),
            node_address: "node-us-41.astroproxy.com".to_owned(),
            node_ip: "203.0.113.41".to_owned(),
            access: access(48231, Some("203.0.113.200")),
            traffic_total: 500 * GB,
            traffic_used: 180 * GB,
            consumption_bytes_per_second: 2_000 * KB,
            rotation: Rotation::Request,
            ..active_port(now, 48231, "Dallas \"fast\" lane", "United States", 6)
        },
        Port {
            city: some("London"),
            operator: some("EE"),
            network: "Mobile".to_owned(),
            node_address: "node-gb-8.astroproxy.com".to_owned(),
            node_ip: "192.0.2.88".to_owned(),
            traffic_total: 10 * GB,
            traffic_used: 2_500 * MB,
            consumption_bytes_per_second: 40 * KB,
            traffic_as_strings: true,
            rotation: Rotation::Link,
            ..active_port(now, 48236, "London EE", "United Kingdom", 5)
        },
        Port {
            city: some("Kraków"),
            operator: some("Play"),
            network: "Mobile".to_owned(),
            group: some("ads-check"),
            node_address: "node-pl-2.astroproxy.com".to_owned(),
            node_ip: "198.51.100.52".to_owned(),
            traffic_total: 30 * GB,
            traffic_used: 9 * GB,
            consumption_bytes_per_second: 80 * KB,
            date_style: DateStyle::SpaceSeparated,
            rotation: every_minutes(5),
            ..active_port(now, 48240, "Kraków office", "Poland", 20)
        },
        Port {
            city: some("Tokyo"),
            operator: some("NTT Docomo"),
            network: "Mobile".to_owned(),
            node_address: "node-jp-5.astroproxy.com".to_owned(),
            node_ip: "203.0.113.5".to_owned(),
            traffic_total: 40 * GB,
            traffic_used: 22 * GB,
            consumption_bytes_per_second: 500 * KB,
            rotation: every_minutes(30),
            ..active_port(now, 48244, "東京 mobile", "Japan", 14)
        },
        Port {
            city: some("Paris"),
            operator: some("Orange"),
            network: "Residential".to_owned(),
            node_address: "node-fr-11.astroproxy.com".to_owned(),
            node_ip: "192.0.2.111".to_owned(),
            traffic_total: 25 * GB,
            traffic_used: 4_200 * MB,
            consumption_bytes_per_second: 60 * KB,
            date_style: DateStyle::SpaceSeparated,
            rotation: every_hours(2),
            ..active_port(now, 48251, "Paris residential", "France", 3)
        },
        Port {
            city: some("Amsterdam"),
            network: "Hosting".to_owned(),
            group: some("infra"),
            node_address: "node-nl-1.astroproxy.com".to_owned(),
            node_ip: "198.51.100.10".to_owned(),
            ends_at: None,
            access: access(48255, Some("198.51.100.200")),
            traffic_total: 1_000 * GB,
            traffic_used: 420 * GB,
            consumption_bytes_per_second: 1_200 * KB,
            rotation: Rotation::Link,
            ..active_port(now, 48255, "Amsterdam hosting", "Netherlands", 200)
        },
        Port {
            city: some("Almaty"),
            operator: some("Kazakhtelecom"),
            network: "Residental".to_owned(),
            node_address: "node-kz-1.astroproxy.com".to_owned(),
            node_ip: "203.0.113.71".to_owned(),
            traffic_total: 15 * GB,
            traffic_used: 6_300 * MB,
            consumption_bytes_per_second: 20 * KB,
            date_style: DateStyle::SpaceSeparated,
            rotation: every_hours(6),
            ..active_port(now, 48190, "Almaty home", "Kazakhstan", 24)
        },
        Port {
            city: some("İstanbul"),
            operator: some("Turkcell"),
            network: "Mobile".to_owned(),
            group: some("ads-check"),
            node_address: "node-tr-4.astroproxy.com".to_owned(),
            node_ip: "192.0.2.44".to_owned(),
            // 100 MB left at 30 KB/s runs out after about 56 minutes.
            traffic_total: 5 * GB,
            traffic_used: 4_900 * MB,
            consumption_bytes_per_second: 30 * KB,
            rotation: every_minutes(2),
            ..active_port(now, 48262, "İstanbul mobile", "Turkey", 11)
        },
        Port {
            city: some("Toronto"),
            operator: some("Bell"),
            network: "Business".to_owned(),
            node_address: "node-ca-2.astroproxy.com".to_owned(),
            node_ip: "198.51.100.62".to_owned(),
            traffic_total: 60 * GB,
            traffic_used: 18 * GB,
            consumption_bytes_per_second: 250 * KB,
            rotation: every_minutes(15),
            ..active_port(now, 48266, "Toronto business", "Canada", 8)
        },
        Port {
            network: "Residential".to_owned(),
            node_address: "node-it-3.astroproxy.com".to_owned(),
            node_ip: "203.0.113.33".to_owned(),
            traffic_total: 20 * GB,
            traffic_used: 7_700 * MB,
            consumption_bytes_per_second: 90 * KB,
            missing_style: MissingStyle::Omitted,
            rotation: every_hours(1),
            ..active_port(now, 48270, "Italy residential", "Italy", 16)
        },
        Port {
            city: some("Madrid"),
            operator: some("Movistar"),
            network: "Mobile".to_owned(),
            node_address: "node-es-6.astroproxy.com".to_owned(),
            node_ip: "192.0.2.66".to_owned(),
            // Ends 31 hours after `now`, so an expiry alert with a two-day
            // window fires.
            created_at: Some(now - Duration::days(30) + Duration::hours(31)),
            ends_at: Some(now + Duration::hours(31)),
            traffic_total: 20 * GB,
            traffic_used: 11 * GB,
            consumption_bytes_per_second: 150 * KB,
            rotation: every_minutes(10),
            ..active_port(now, 48274, "Madrid mobile", "Spain", 29)
        },
        Port {
            city: some("Mumbai"),
            operator: some("Jio"),
            network: "Mobile".to_owned(),
            group: some("ads-check"),
            node_address: "node-in-9.astroproxy.com".to_owned(),
            node_ip: "198.51.100.99".to_owned(),
            traffic_total: 30 * GB,
            traffic_used: 5 * GB,
            consumption_bytes_per_second: 200 * KB,
            date_style: DateStyle::SpaceSeparated,
            rotation: every_minutes(20),
            ..active_port(now, 48279, "ads\\mumbai", "India", 4)
        },
        Port {
            city: some("Boston"),
            network: "College".to_owned(),
            node_address: "node-us-12.astroproxy.com".to_owned(),
            node_ip: "203.0.113.112".to_owned(),
            traffic_total: 10 * GB,
            traffic_used: 1_200 * MB,
            consumption_bytes_per_second: 25 * KB,
            rotation: every_hours(12),
            ..active_port(now, 48283, "Boston campus", "United States", 2)
        },
        Port {
            city: some("Bangkok"),
            operator: some("AIS"),
            network: "Travel".to_owned(),
            node_address: "node-th-1.astroproxy.com".to_owned(),
            node_ip: "192.0.2.130".to_owned(),
            traffic_total: 15 * GB,
            traffic_used: 2 * GB,
            consumption_bytes_per_second: 70 * KB,
            rotation: every_minutes(60),
            ..active_port(now, 48288, "Bangkok travel SIM", "Thailand", 7)
        },
        Port {
            city: some("Kyiv"),
            operator: some("Kyivstar"),
            network: "Mobile".to_owned(),
            node_address: "node-ua-3.astroproxy.com".to_owned(),
            node_ip: "198.51.100.133".to_owned(),
            traffic_total: 40 * GB,
            traffic_used: 13 * GB,
            consumption_bytes_per_second: 300 * KB,
            rotation: Rotation::Link,
            ..active_port(now, 48291, "Kyiv mobile", "Ukraine", 1)
        },
    ]
}

/// Country, city, operator and network of the archived ports, used in turn.
const ARCHIVED_LOCATIONS: [(&str, Option<&str>, Option<&str>, &str); 8] = [
    ("Germany", Some("Hamburg"), Some("Telekom"), "Mobile"),
    ("United States", Some("Miami"), Some("AT&T"), "Mobile"),
    ("Brazil", Some("Rio de Janeiro"), None, "Residential"),
    ("Poland", Some("Warsaw"), Some("Orange"), "Mobile"),
    ("Netherlands", None, None, "Hosting"),
    ("France", Some("Lyon"), Some("SFR"), "Residential"),
    ("Japan", Some("Osaka"), Some("SoftBank"), "Mobile"),
    ("Turkey", Some("Ankara"), Some("Vodafone"), "Business"),
];

/// Creates the archived port number `index`, created 69 to 420 days before
/// `now` and archived when its traffic ran out, 10 to 29 days later.
fn archived_port(now: OffsetDateTime, index: u64) -> Port {
    let id = 47_001 + index * 29;
    let location = ARCHIVED_LOCATIONS[index as usize % ARCHIVED_LOCATIONS.len()];
    let (country, city, operator, network) = location;
    // The oldest quarter of the history uses the old `Residental` spelling.
    let network = if index < 10 && network == "Residential" {
        "Residental"
    } else {
        network
    };
    let label = city.unwrap_or(country);
    let name = format!("{label} {} {}", network.to_lowercase(), index / 8 + 1);

    let created_at =
        now - Duration::days(420 - 9 * index as i64) + Duration::minutes(37 * index as i64);
    let ends_at = created_at + Duration::days(30);
    let archived_at = created_at + Duration::days(10 + (index % 20) as i64);
    let traffic_total = [5, 10, 20, 50][(index % 4) as usize] * GB;
    let ip_prefix = ["192.0.2", "198.51.100", "203.0.113"][(index % 3) as usize];

    Port {
        created_at: Some(created_at),
        ends_at: Some(ends_at),
        archived_at: Some(archived_at),
        city: city.map(str::to_owned),
        operator: operator.map(str::to_owned),
        network: network.to_owned(),
        group: (index.is_multiple_of(5)).then(|| "scrapers".to_owned()),
        node_address: format!("node-old-{}.astroproxy.com", index % 7 + 1),
        node_ip: format!("{ip_prefix}.{}", 150 + index),
        http_port: 20_000 + (id % 10_000) as u16,
        socks_port: 30_000 + (id % 10_000) as u16,
        access: access(id, None),
        traffic_total,
        traffic_used: traffic_total,
        date_style: if index.is_multiple_of(2) {
            DateStyle::Rfc3339Micros
        } else {
            DateStyle::SpaceSeparated
        },
        missing_style: if index.is_multiple_of(3) {
            MissingStyle::Omitted
        } else {
            MissingStyle::Null
        },
        rotation: if index.is_multiple_of(4) {
            Rotation::Link
        } else {
            every_minutes(10)
        },
        ..Port::new(id, &name, country)
    }
}
