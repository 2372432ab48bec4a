//! Routing and query validation for the model: turns an [`ApiRequest`] that
//! passed the token check into a [`Reply`] computed from the account.

use std::cmp::Ordering;
use std::time::Duration;

use super::account::{Account, Port};
use super::render;
use super::{ApiRequest, Reply};

/// Page size of `/ports` when the request has no `count`. The real API does
/// not document its default, so this is the simulator's own choice.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Largest `count` that `/ports` accepts. The real API does not document its
/// maximum, so this is the simulator's own choice.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Builds the reply to `request` from `account` after `elapsed` simulator
/// time. `shuffle_seed` fixes the permutation for `order=random`.
pub(super) fn respond(
    request: &ApiRequest,
    account: &Account,
    elapsed: Duration,
    shuffle_seed: u64,
) -> Reply {
    if request.method != "GET" {
        let message = format!("Method {} is not allowed, use GET", request.method);
        return Reply::error(405, &message);
    }

    let path = request.path.as_str();
    if path == "/balance" {
        return Reply::json(200, render::balance_body(account, elapsed));
    }
    if path == "/ports" {
        return list_ports(&request.query, account, elapsed, shuffle_seed);
    }
    if let Some(id) = path.strip_prefix("/ports/") {
        return show_port(id, account, elapsed);
    }
    Reply::error(404, &format!("Unknown endpoint: {path}"))
}

fn show_port(id: &str, account: &Account, elapsed: Duration) -> Reply {
    let port = id
        .parse::<u64>()
        .ok()
        .and_then(|id| account.ports.iter().find(|port| port.id == id));
    match port {
        Some(port) => Reply::json(200, render::port_body(port, elapsed)),
        None => Reply::error(404, &format!("Port {id} not found")),
    }
}

fn list_ports(
    query: &[(String, String)],
    account: &Account,
    elapsed: Duration,
    shuffle_seed: u64,
) -> Reply {
    let list_query = match ListQuery::parse(query) {
        Ok(list_query) => list_query,
        Err(message) => return Reply::error(400, &message),
    };

    let mut ports: Vec<&Port> = account
        .ports
        .iter()
        .filter(|port| list_query.status.is_none_or(|status| status.matches(port)))
        .collect();
    sort_ports(
        &mut ports,
        list_query.order,
        list_query.direction,
        shuffle_seed,
    );

    let total = ports.len();
    let skipped = (list_query.page - 1).saturating_mul(list_query.count);
    let start = usize::try_from(skipped).unwrap_or(usize::MAX).min(total);
    let page_size = usize::try_from(list_query.count).expect("count is at most MAX_PAGE_SIZE");
    let end = start.saturating_add(page_size).min(total);

    let body = render::port_page_body(&ports[start..end], total, list_query.page, elapsed);
    Reply::json(200, body)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Random,
    Created,
    Id,
    Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ascending,
    Descending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusFilter {
    Active,
    Archived,
}

impl StatusFilter {
    fn matches(self, port: &Port) -> bool {
        match self {
            StatusFilter::Active => !port.is_archived(),
            StatusFilter::Archived => port.is_archived(),
        }
    }
}

/// Validated query parameters of `/ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ListQuery {
    count: u64,
    page: u64,
    order: Order,
    direction: Direction,
    status: Option<StatusFilter>,
}

impl ListQuery {
    /// Parses the `/ports` parameters, ignoring unknown ones. A repeated
    /// parameter takes its last value. The error is the message for the
    /// HTTP 400 reply.
    fn parse(query: &[(String, String)]) -> Result<ListQuery, String> {
        let mut list_query = ListQuery {
            count: DEFAULT_PAGE_SIZE,
            page: 1,
            order: Order::Id,
            direction: Direction::Descending,
            status: None,
        };
        for (name, value) in query {
            match name.as_str() {
                "count" => list_query.count = parse_count(value)?,
                "page" => list_query.page = parse_page(value)?,
                "order" => list_query.order = parse_order(value)?,
                "orderDirection" => list_query.direction = parse_direction(value)?,
                "status" => list_query.status = Some(parse_status(value)?),
                _ => {}
            }
        }
        Ok(list_query)
    }
}

fn invalid(name: &str, value: &str, expected: &str) -> String {
    format!("Invalid value {value:?} for parameter {name}: expected {expected}")
}

fn parse_count(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(count) if (1..=MAX_PAGE_SIZE).contains(&count) => Ok(count),
        _ => Err(invalid(
            "count",
            value,
            &format!("an integer from 1 to {MAX_PAGE_SIZE}"),
        )),
    }
}

fn parse_page(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(page) if page >= 1 => Ok(page),
        _ => Err(invalid("page", value, "an integer of 1 or more")),
    }
}

fn parse_order(value: &str) -> Result<Order, String> {
    match value {
        "random" => Ok(Order::Random),
        "created" => Ok(Order::Created),
        "id" => Ok(Order::Id),
        "name" => Ok(Order::Name),
        _ => Err(invalid("order", value, "random, created, id or name")),
    }
}

fn parse_direction(value: &str) -> Result<Direction, String> {
    match value {
        "asc" => Ok(Direction::Ascending),
        "desc" => Ok(Direction::Descending),
        _ => Err(invalid("orderDirection", value, "asc or desc")),
    }
}

fn parse_status(value: &str) -> Result<StatusFilter, String> {
    match value {
        "active" => Ok(StatusFilter::Active),
        "archived" => Ok(StatusFilter::Archived),
        _ => Err(invalid("status", value, "active or archived")),
    }
}

/// Sorts `ports` in place. Ties break by id so that every order is total.
/// `order=random` ignores the direction.
fn sort_ports(ports: &mut [&Port], order: Order, direction: Direction, shuffle_seed: u64) {
    let compare: fn(&Port, &Port) -> Ordering = match order {
        Order::Random => {
            shuffle(ports, shuffle_seed);
            return;
        }
        Order::Created => |a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)),
        Order::Id => |a, b| a.id.cmp(&b.id),
        Order::Name => |a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)),
    };
    match direction {
        Direction::Ascending => ports.sort_by(|a, b| compare(a, b)),
        Direction::Descending => ports.sort_by(|a, b| compare(b, a)),
    }
}

/// Shuffles `ports` with a Fisher-Yates pass driven by SplitMix64, so the
/// same seed always gives the same permutation.
fn shuffle(ports: &mut [&Port], seed: u64) {
    let mut state = seed;
    for upper in (1..ports.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^= mixed >> 31;
        let bound = u64::try_from(upper + 1).expect("slice lengths fit in u64");
        let index = usize::try_from(mixed % bound).expect("index is below the slice length");
        ports.swap(upper, index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn list_query_defaults() {
        let parsed = ListQuery::parse(&[]).expect("empty query is valid");

        assert_eq!(parsed.count, DEFAULT_PAGE_SIZE);
        assert_eq!(parsed.page, 1);
        assert_eq!(parsed.order, Order::Id);
        assert_eq!(parsed.direction, Direction::Descending);
        assert_eq!(parsed.status, None);
    }

    #[test]
    fn list_query_last_value_wins() {
        let parsed = ListQuery::parse(&query(&[("page", "2"), ("page", "5")]))
            .expect("both values are valid");

        assert_eq!(parsed.page, 5);
    }

    #[test]
    fn list_query_ignores_unknown_parameters() {
        let parsed = ListQuery::parse(&query(&[("lang", "en")]));

        assert!(parsed.is_ok());
    }

    #[test]
    fn list_query_rejects_invalid_values() {
        let cases = [
            ("count", "0"),
            ("count", "1001"),
            ("count", "-1"),
            ("count", ""),
            ("count", "ten"),
            ("page", "0"),
            ("page", "1.5"),
            ("page", "99999999999999999999999"),
            ("order", "size"),
            ("order", "ID"),
            ("orderDirection", "up"),
            ("status", "deleted"),
            ("status", ""),
        ];
        for (name, value) in cases {
            let error = ListQuery::parse(&query(&[(name, value)]))
                .expect_err(&format!("{name}={value} should be rejected"));
            assert!(error.contains(name), "message {error:?} should name {name}");
            assert!(
                error.contains(&format!("{value:?}")),
                "message {error:?} should quote {value:?}"
            );
        }
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let owned: Vec<Port> = (1..=50).map(|id| Port::new(id, "p", "Germany")).collect();
        let mut ports: Vec<&Port> = owned.iter().collect();

        shuffle(&mut ports, 7);

        let mut ids: Vec<u64> = ports.iter().map(|port| port.id).collect();
        assert_ne!(ids, (1..=50).collect::<Vec<u64>>(), "order unchanged");
        ids.sort_unstable();
        assert_eq!(ids, (1..=50).collect::<Vec<u64>>());
    }

    #[test]
    fn shuffle_repeats_for_same_seed() {
        let owned: Vec<Port> = (1..=20).map(|id| Port::new(id, "p", "Germany")).collect();
        let mut first: Vec<&Port> = owned.iter().collect();
        let mut second: Vec<&Port> = owned.iter().collect();

        shuffle(&mut first, 3);
        shuffle(&mut second, 3);

        assert_eq!(first, second);
    }
}
