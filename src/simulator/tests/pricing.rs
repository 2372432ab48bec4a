//! Tests of `POST /calculate`.

use super::*;

/// A valid `/calculate` form for 10 GB of Mobile traffic in Berlin.
const BERLIN_FORM: [(&str, &str); 12] = [
    ("name", "new port"),
    ("network", "Mobile"),
    ("country", "Germany"),
    ("city", "Berlin"),
    ("rotation_by", "time"),
    ("rotation_time_type", "minutes"),
    ("rotation_time", "10"),
    ("is_unlimited", "false"),
    ("volume", "10"),
    ("username", "user"),
    ("password", "secret"),
    ("ip", "203.0.113.7"),
];

/// Returns `BERLIN_FORM` with `name` set to `value`, or left out when
/// `value` is `None`.
fn berlin_form_with(
    name: &'static str,
    value: Option<&'static str>,
) -> Vec<(&'static str, &'static str)> {
    let mut form: Vec<(&str, &str)> = BERLIN_FORM
        .iter()
        .copied()
        .filter(|(key, _)| *key != name)
        .collect();
    if let Some(value) = value {
        form.push((name, value));
    }
    form
}

#[tokio::test]
async fn calculate_full_form() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    let (status, body) = fixture.post_form("/calculate", &BERLIN_FORM).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(
        body,
        json!({"status": "ok", "data": {"cost": 40.0, "currency": "USD"}})
    );
}

#[tokio::test]
async fn calculate_json_body() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let request = json!({
        "name": "json port",
        "network": "Residential",
        "country": "BR",
        "rotation_by": "link",
        "is_unlimited": false,
        "volume": 2.5
    });

    let (status, body) = fixture.post_json("/calculate", &request).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(
        body,
        json!({"status": "ok", "data": {"cost": 7.5, "currency": "USD"}})
    );
}

#[tokio::test]
async fn calculate_prices_by_network() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let cases = [
        ("Mobile", "Germany", "10", "false", 40.0),
        ("Residential", "Brazil", "2.5", "false", 7.5),
        ("Residental", "Kazakhstan", "1", "0", 3.0),
        ("Business", "Canada", "4", "false", 6.0),
        ("Hosting", "Netherlands", "1", "false", 1.5),
        ("College", "United States", "3", "false", 6.0),
        ("Travel", "Thailand", "0.5", "false", 1.0),
        ("Mobile", "Japan", "0.1", "false", 0.4),
        ("Mobile", "Germany", "", "true", 200.0),
        ("Residential", "France", "", "1", 150.0),
        ("Business", "Turkey", "", "true", 75.0),
        ("Hosting", "Germany", "5", "true", 75.0),
        ("Travel", "Thailand", "", "true", 100.0),
    ];

    for (network, country, volume, unlimited, expected) in cases {
        let form = [
            ("network", network),
            ("country", country),
            ("rotation_by", "request"),
            ("volume", volume),
            ("is_unlimited", unlimited),
        ];

        let (status, body) = fixture.post_form("/calculate", &form).await;

        assert_eq!(status, 200, "{form:?}: {body}");
        assert_eq!(body["data"]["cost"], json!(expected), "{form:?}");
        assert_eq!(body["data"]["currency"], json!("USD"), "{form:?}");
    }
}

#[tokio::test]
async fn calculate_reads_query_string() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    let (status, body) = fixture.post("/calculate", &BERLIN_FORM).await;

    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body["data"]["cost"], json!(40.0));
}

#[tokio::test]
async fn calculate_missing_parameters_return_400() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    for name in [
        "network",
        "country",
        "rotation_by",
        "rotation_time_type",
        "rotation_time",
        "volume",
    ] {
        let form = berlin_form_with(name, None);

        let (status, body) = fixture.post_form("/calculate", &form).await;

        assert_eq!(status, 400, "without {name}: {body}");
        assert_eq!(
            body,
            json!({"status": "error", "message": format!("Missing required parameter {name}")}),
            "without {name}"
        );
    }
}

#[tokio::test]
async fn calculate_invalid_values_return_400() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;
    let cases = [
        ("network", "Satellite"),
        ("network", "Travel"),
        ("network", "College"),
        ("country", "Atlantis"),
        ("city", "Hamburg-Altona"),
        ("rotation_by", "click"),
        ("rotation_time_type", "days"),
        ("rotation_time", "0"),
        ("rotation_time", "ten"),
        ("volume", "0"),
        ("volume", "-5"),
        ("volume", "lots"),
        ("is_unlimited", "yes"),
        ("ip", "999.1.1.1"),
    ];

    for (name, value) in cases {
        let form = berlin_form_with(name, Some(value));

        let (status, body) = fixture.post_form("/calculate", &form).await;

        assert_eq!(status, 400, "{name}={value}: {body}");
        assert_eq!(body["status"], json!("error"), "{name}={value}");
        let message = body["message"].as_str().expect("message is a string");
        assert!(
            message.contains(&format!("parameter {name}")),
            "{message:?} should name {name}"
        );
        assert!(message.contains(value), "{message:?} should quote {value}");
    }
}

#[tokio::test]
async fn calculate_rotation_without_time() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    for rotation in ["link", "request"] {
        let mut form = berlin_form_with("rotation_by", Some(rotation));
        form.retain(|(key, _)| !key.starts_with("rotation_time"));

        let (status, body) = fixture.post_form("/calculate", &form).await;

        assert_eq!(status, 200, "{rotation}: {body}");
    }
}

#[tokio::test]
async fn calculate_does_not_charge() {
    let fixture = Fixture::start(usd_account(Vec::new())).await;

    fixture.post_form("/calculate", &BERLIN_FORM).await;
    let (_, balance) = fixture.get("/balance", &[]).await;

    assert_eq!(balance["data"]["balance"], json!(42.17));
}
