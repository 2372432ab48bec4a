//! Routing for the model, which turns an [`ApiRequest`] that passed the token
//! check into a [`Reply`] computed from the account, and the read-only port
//! endpoints `/balance`, `/ports` and `/ports/{id}`.

use std::cmp::Ordering;
use std::time::Duration;

use time::OffsetDateTime;

use super::account::{Account, Port};
use super::{ApiRequest, Reply};
use super::{catalogue, port_actions, pricing, render};

/// Page size of `/ports` when the request has no `count`. The real API does
/// not document its default, so this is the simulator's own choice.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Largest `count` that `/ports` accepts. The real API does not document its
/// maximum, so this is the simulator's own choice.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// The simulator's time during one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Moment {
    /// Time on the simulator's clock, which moves traffic and balance.
    pub(super) elapsed: Duration,
    /// Wall-clock time that `elapsed` stands for, in whole seconds.
    pub(super) now: OffsetDateTime,
}

/// An endpoint of the API, with the port id as written in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Balance,
    Ports,
    Port(&'a str),
    Renew(&'a str),
    NewIp(&'a str),
    Countries,
    Cities,
    Operators,
    Lists,
    Calculate,
}

impl<'a> Route<'a> {
    /// Matches a path after the base path, or returns `None` for an unknown
    /// one. Any text is accepted as a port id, so that an invalid id gets
    /// the same 404 as an unknown one.
    fn parse(path: &'a str) -> Option<Route<'a>> {
        let route = match path {
            "/balance" => Route::Balance,
            "/ports" => Route::Ports,
            "/countries" => Route::Countries,
            "/cities" => Route::Cities,
            "/operators" => Route::Operators,
            "/lists" => Route::Lists,
            "/calculate" => Route::Calculate,
            _ => {
                let rest = path.strip_prefix("/ports/")?;
                match rest.split_once('/') {
                    None => Route::Port(rest),
                    Some((id, "renew")) => Route::Renew(id),
                    Some((id, "newip")) => Route::NewIp(id),
                    Some(_) => return None,
                }
            }
        };
        Some(route)
    }

    /// Returns the only HTTP method the endpoint accepts.
    fn method(self) -> &'static str {
        match self {
            Route::Renew(_) | Route::Calculate => "POST",
            _ => "GET",
        }
    }
}

/// Builds the reply to `request` from `account` at `moment`, changing the
/// account for `/renew` and `/newip`. `shuffle_seed` fixes the permutation
/// for `order=random`.
///
/// An unknown path returns 404 and a known path with another method 405
/// with an `Allow` header.
pub(super) fn respond(
    request: &ApiRequest,
    account: &mut Account,
    moment: Moment,
    shuffle_seed: u64,
) -> Reply {
    let path = request.path.as_str();
    let Some(route) = Route::parse(path) else {
        return Reply::error(404, &format!("Unknown endpoint: {path}"));
    };
    let allowed = route.method();
    if request.method != allowed {
        let message = format!(
            "Method {} is not allowed on {path}, use {allowed}",
            request.method
        );
        return Reply::error(405, &message).with_header("Allow", allowed);
    }

    let elapsed = moment.elapsed;
    match route {
        Route::Balance => Reply::json(200, render::balance_body(account, elapsed)),
        Route::Ports => list_ports(&request.query, account, elapsed, shuffle_seed),
        Route::Port(id) => show_port(id, account, elapsed),
        Route::Renew(id) => port_actions::renew(id, request, account, moment),
        Route::NewIp(id) => port_actions::change_ip(id, account, elapsed),
        Route::Countries => catalogue::list_countries(request),
        Route::Cities => catalogue::list_cities(request),
        Route::Operators => catalogue::list_operators(request),
        Route::Lists => catalogue::list_locations(),
        Route::Calculate => pricing::calculate(request),
    }
}

/// Returns the message of the 404 reply for a port id that is invalid or
/// not in the account.
pub(super) fn port_not_found(id: &str) -> String {
    format!("Port {id} not found")
}

fn show_port(id: &str, account: &Account, elapsed: Duration) -> Reply {
    let port = id
        .parse::<u64>()
        .ok()
        .and_then(|id| account.ports.iter().find(|port| port.id == id));
    match port {
        Some(port) => Reply::json(200, render::port_body(port, elapsed)),
        None => Reply::error(404, &port_not_found(id)),
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

/// Returns the message of a 400 reply for an invalid parameter value.
pub(super) fn invalid(name: &str, value: &str, expected: &str) -> String {
    format!("Invalid value {value:?} for parameter {name}: expected {expected}")
}

/// Returns the value of a required parameter, or the message of the 400
/// reply when it is missing or empty.
pub(super) fn required<'a>(value: Option<&'a str>, name: &str) -> Result<&'a str, String> {
    match value {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("Missing required parameter {name}")),
    }
}

/// Returns the value of an optional parameter, treating an empty value as
/// missing.
pub(super) fn optional(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.is_empty())
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
        let mixed = mix64(state);
        let bound = u64::try_from(upper + 1).expect("slice lengths fit in u64");
        let index = usize::try_from(mixed % bound).expect("index is below the slice length");
        ports.swap(upper, index);
    }
}

/// Scrambles the bits of `value` with the SplitMix64 output function.
pub(super) fn mix64(value: u64) -> u64 {
    let mut mixed = value;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_paths() {
        let cases = [
            ("/balance", Some(Route::Balance)),
            ("/ports", Some(Route::Ports)),
            ("/ports/17", Some(Route::Port("17"))),
            ("/ports/17/renew", Some(Route::Renew("17"))),
            ("/ports/x/newip", Some(Route::NewIp("x"))),
            ("/countries", Some(Route::Countries)),
            ("/cities", Some(Route::Cities)),
            ("/operators", Some(Route::Operators)),
            ("/lists", Some(Route::Lists)),
            ("/calculate", Some(Route::Calculate)),
            ("/ports/17/delete", None),
            ("/ports/17/renew/now", None),
            ("/balance/", None),
            ("", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Route::parse(path), expected, "{path:?}");
        }
    }

    #[test]
    fn required_rejects_missing_and_empty() {
        assert_eq!(required(Some("x"), "country"), Ok("x"));
        assert!(required(Some(""), "country").is_err_and(|m| m.contains("country")));
        assert!(required(None, "country").is_err_and(|m| m.contains("country")));
    }

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
