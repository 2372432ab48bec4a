//! Tests of `/countries`, `/cities`, `/operators` and `/lists` against the
//! simulator's catalogue and the demo account.

use super::*;
use crate::simulator::catalogue::{CATALOGUE, Network};

fn names_of(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|item| {
            assert_eq!(
                item.as_object().map(|object| object.len()),
                Some(1),
                "{item}"
            );
            item["name"].as_str().expect("name is a string").to_owned()
        })
        .collect()
}

async fn empty_fixture() -> Fixture {
    Fixture::start(usd_account(Vec::new())).await
}

#[tokio::test]
async fn lists_returns_whole_catalogue() {
    let fixture = empty_fixture().await;

    let (status, body) = fixture.get("/lists", &[]).await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], json!("ok"));
    let countries = body["data"].as_array().expect("data is an array");
    assert_eq!(countries.len(), CATALOGUE.len());
    for (listed, country) in countries.iter().zip(CATALOGUE) {
        let cities: Vec<Value> = country
            .cities
            .iter()
            .map(|city| {
                let operators: Vec<Value> = city
                    .operators
                    .iter()
                    .map(|operator| json!({"name": operator.name}))
                    .collect();
                json!({"name": city.name, "operators": operators})
            })
            .collect();
        let expected = json!({"name": country.name, "code": country.code, "cities": cities});
        assert_eq!(listed, &expected);
    }
}

#[tokio::test]
async fn lists_entry_has_exact_shape() {
    let fixture = empty_fixture().await;

    let (_, body) = fixture.get("/lists", &[]).await;

    let netherlands = body["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .find(|country| country["code"] == json!("NL"))
        .expect("NL listed");
    assert_eq!(
        netherlands,
        &json!({
            "name": "Netherlands",
            "code": "NL",
            "cities": [
                {"name": "Amsterdam", "operators": [{"name": "KPN"}, {"name": "Leaseweb"}]}
            ]
        })
    );
}

#[tokio::test]
async fn countries_by_network() {
    let fixture = empty_fixture().await;
    let cases: [(&str, &[&str]); 5] = [
        ("Travel", &["Thailand"]),
        ("College", &["United States"]),
        (
            "Hosting",
            &["France", "Germany", "Netherlands", "United States"],
        ),
        (
            "hosting",
            &["France", "Germany", "Netherlands", "United States"],
        ),
        (
            "Business",
            &[
                "Canada",
                "Germany",
                "India",
                "Italy",
                "Kazakhstan",
                "Turkey",
                "United Kingdom",
            ],
        ),
    ];

    for (network, expected) in cases {
        let (status, body) = fixture.get("/countries", &[("network", network)]).await;

        assert_eq!(status, 200, "{network}: {body}");
        assert_eq!(names_of(&body), expected, "{network}");
    }
}

#[tokio::test]
async fn countries_old_spelling_matches_residential() {
    let fixture = empty_fixture().await;

    let (_, old) = fixture
        .get("/countries", &[("network", "Residental")])
        .await;
    let (_, new) = fixture
        .get("/countries", &[("network", "Residential")])
        .await;

    assert_eq!(old, new);
    assert!(names_of(&new).contains(&"Kazakhstan".to_owned()));
}

#[tokio::test]
async fn countries_exact_body() {
    let fixture = empty_fixture().await;

    let (_, body) = fixture.get("/countries", &[("network", "Travel")]).await;

    assert_eq!(
        body,
        json!({"status": "ok", "data": [{"name": "Thailand"}]})
    );
}

#[tokio::test]
async fn cities_of_country() {
    let fixture = empty_fixture().await;

    for country in ["Germany", "germany", "DE", "de"] {
        let (status, body) = fixture.get("/cities", &[("country", country)]).await;

        assert_eq!(status, 200, "{country}");
        assert_eq!(
            body,
            json!({"status": "ok", "data": [{"name": "Berlin"}, {"name": "Hamburg"}]}),
            "{country}"
        );
    }
}

#[tokio::test]
async fn unknown_country_returns_empty_list() {
    let fixture = empty_fixture().await;
    let requests: [(&str, Query); 3] = [
        ("/cities", &[("country", "Atlantis")]),
        ("/operators", &[("country", "Atlantis")]),
        (
            "/operators",
            &[("country", "Germany"), ("city", "Atlantis")],
        ),
    ];

    for (path, query) in requests {
        let (status, body) = fixture.get(path, query).await;

        assert_eq!(status, 200, "{path} {query:?}");
        assert_eq!(
            body,
            json!({"status": "ok", "data": []}),
            "{path} {query:?}"
        );
    }
}

#[tokio::test]
async fn operators_filtered_by_city_and_network() {
    let fixture = empty_fixture().await;
    let cases: [(Query, &[&str]); 6] = [
        (
            &[("country", "Germany")],
            &["Vodafone", "Telekom", "Hetzner"],
        ),
        (
            &[("country", "Germany"), ("city", "Hamburg")],
            &["Telekom", "Vodafone"],
        ),
        (
            &[("country", "Germany"), ("network", "Hosting")],
            &["Hetzner"],
        ),
        (
            &[
                ("country", "Germany"),
                ("city", "berlin"),
                ("network", "Business"),
            ],
            &["Telekom"],
        ),
        (&[("country", "Germany"), ("network", "Travel")], &[]),
        (
            &[("country", "TR"), ("city", "İstanbul"), ("network", "")],
            &["Turkcell", "Türk Telekom"],
        ),
    ];

    for (query, expected) in cases {
        let (status, body) = fixture.get("/operators", query).await;

        assert_eq!(status, 200, "{query:?}: {body}");
        assert_eq!(names_of(&body), expected, "{query:?}");
    }
}

#[tokio::test]
async fn missing_parameters_return_400() {
    let fixture = empty_fixture().await;
    let cases: [(&str, Query, &str); 6] = [
        ("/countries", &[], "network"),
        ("/countries", &[("network", "")], "network"),
        ("/cities", &[], "country"),
        ("/cities", &[("city", "Berlin")], "country"),
        ("/operators", &[("city", "Berlin")], "country"),
        ("/operators", &[("country", "")], "country"),
    ];

    for (path, query, name) in cases {
        let (status, body) = fixture.get(path, query).await;

        assert_eq!(status, 400, "{path} {query:?}");
        assert_eq!(
            body,
            json!({"status": "error", "message": format!("Missing required parameter {name}")}),
            "{path} {query:?}"
        );
    }
}

#[tokio::test]
async fn invalid_network_returns_400() {
    let fixture = empty_fixture().await;
    let requests: [(&str, Query); 2] = [
        ("/countries", &[("network", "Satellite")]),
        (
            "/operators",
            &[("country", "Germany"), ("network", "Satellite")],
        ),
    ];

    for (path, query) in requests {
        let (status, body) = fixture.get(path, query).await;

        assert_eq!(status, 400, "{path}");
        let message = body["message"].as_str().expect("message is a string");
        assert!(message.contains("network"), "{message:?}");
        assert!(message.contains("Satellite"), "{message:?}");
    }
}

/// Checks over HTTP that `/cities` and `/operators` agree with `/lists`,
/// and `/countries` with `/operators` filtered by network.
#[tokio::test]
async fn list_endpoints_agree() {
    let fixture = empty_fixture().await;
    let (_, lists) = fixture.get("/lists", &[]).await;
    let countries = lists["data"].as_array().expect("data is an array");

    for country in countries {
        let name = country["name"].as_str().expect("country name");
        let listed_cities: Vec<String> = country["cities"]
            .as_array()
            .expect("cities is an array")
            .iter()
            .map(|city| city["name"].as_str().expect("city name").to_owned())
            .collect();
        let (_, cities) = fixture.get("/cities", &[("country", name)]).await;
        assert_eq!(names_of(&cities), listed_cities, "{name}");

        for city in country["cities"].as_array().expect("cities is an array") {
            let city_name = city["name"].as_str().expect("city name");
            let (_, operators) = fixture
                .get("/operators", &[("country", name), ("city", city_name)])
                .await;
            assert_eq!(
                json!(operators["data"]),
                city["operators"],
                "{name}, {city_name}"
            );
        }

        for network in Network::ALL {
            let (_, offering) = fixture
                .get("/countries", &[("network", network.name())])
                .await;
            let (_, operators) = fixture
                .get(
                    "/operators",
                    &[("country", name), ("network", network.name())],
                )
                .await;
            assert_eq!(
                names_of(&offering).contains(&name.to_owned()),
                !names_of(&operators).is_empty(),
                "{name} and {network:?}"
            );
        }
    }
}

/// Checks that every demo port's country, city, operator and network is in
/// the catalogue as the list endpoints return it.
#[tokio::test]
async fn demo_ports_are_in_catalogue() {
    let fixture = Fixture::start(Account::demo(demo_now())).await;

    for port in fixture.all_ports().await {
        let label = port["name"].clone();
        let country = port["country"].as_str().expect("country is a string");
        let network = port["network"].as_str().expect("network is a string");
        let (_, offering) = fixture.get("/countries", &[("network", network)]).await;
        assert!(
            names_of(&offering).contains(&country.to_owned()),
            "{label}: {country} should offer {network}"
        );

        let Some(city) = port.get("city").and_then(Value::as_str) else {
            continue;
        };
        let (_, cities) = fixture.get("/cities", &[("country", country)]).await;
        assert!(
            names_of(&cities).contains(&city.to_owned()),
            "{label}: {city} should be in {country}"
        );
        let (_, operators) = fixture
            .get(
                "/operators",
                &[("country", country), ("city", city), ("network", network)],
            )
            .await;
        let operators = names_of(&operators);
        assert!(
            !operators.is_empty(),
            "{label}: {city} should offer {network}"
        );
        if let Some(operator) = port.get("operator").and_then(Value::as_str) {
            assert!(
                operators.contains(&operator.to_owned()),
                "{label}: {operator} should offer {network} in {city}"
            );
        }
    }
}
