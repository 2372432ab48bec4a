//! `promtool check metrics` accepts real scrapes. promtool comes with Debian's
//! `prometheus` package; the test fails with instructions when it is missing.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use astro_exporter::simulator::Account;
use common::TestEnv;

/// The one complaint expected: the product's name for the port count gauge ends in
/// `_total`, which promtool reserves for counters.
const EXPECTED_COMPLAINT: &str =
    r#"astro_ports_total non-counter metrics should not have "_total" suffix"#;

/// Runs `promtool check metrics` on `exposition` and returns its complaints.
fn promtool_complaints(exposition: &str) -> Vec<String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run promtool ({error}); install it with `apt-get install prometheus`")
        });
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(exposition.as_bytes())
        .expect("writing to promtool");
    let output = child.wait_with_output().expect("waiting for promtool");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<String> = text
        .lines()
        .map(str::to_owned)
        .filter(|line| !line.is_empty())
        .collect();
    if complaints.is_empty() {
        assert!(output.status.success(), "promtool failed without a message");
    }
    complaints
}

#[tokio::test]
async fn promtool_accepts_a_demo_account_scrape() {
    let env = TestEnv::start(Account::demo(time::OffsetDateTime::now_utc())).await;
    let body = env.scrape().await;

    assert!(
        body.contains("astro_port_info{"),
        "the scrape must contain ports"
    );
    assert_eq!(promtool_complaints(&body), [EXPECTED_COMPLAINT]);
}

#[tokio::test]
async fn promtool_accepts_escaped_label_values() {
    let mut account = common::empty_account();
    let mut port =
        astro_exporter::simulator::Port::new(1, "quote \" backslash \\ newline \n end", "São Tomé");
    port.operator = Some("Оператор \"1\"".to_owned());
    account.ports = vec![port];
    let env = TestEnv::start(account).await;
    let body = env.scrape().await;

    assert_eq!(promtool_complaints(&body), [EXPECTED_COMPLAINT]);
}
