//! The shipped rules and Alertmanager example pass Prometheus's own checks and unit
//! tests. promtool and amtool come with Debian's `prometheus` and
//! `prometheus-alertmanager` packages.

use std::path::Path;
use std::process::{Command, Output};

fn run(program: &str, args: &[&str]) -> Output {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(program)
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {program} ({error}); install Debian's prometheus and prometheus-alertmanager packages")
        })
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn rules_pass_promtool_check() {
    let output = run("promtool", &["check", "rules", "alerts/astro.rules.yml"]);
    assert_success(&output, "promtool check rules");
}

#[test]
fn rules_pass_their_unit_tests() {
    let output = run(
        "promtool",
        &["test", "rules", "alerts/astro.rules.test.yml"],
    );
    assert_success(&output, "promtool test rules");
}

#[test]
fn every_alert_has_firing_and_silent_tests() {
    let rules = std::fs::read_to_string("alerts/astro.rules.yml").expect("reading the rules");
    let tests =
        std::fs::read_to_string("alerts/astro.rules.test.yml").expect("reading the rule tests");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- alert: "))
        .collect();
    assert!(
        alerts.len() >= 10,
        "expected every alert of the README, found {alerts:?}"
    );

    for alert in alerts {
        let firing = tests.split("alertname: ").skip(1).any(|case| {
            case.starts_with(alert)
                && case.contains("exp_labels:")
                && case.contains("exp_annotations:")
        });
        assert!(
            firing,
            "{alert} has no firing case with labels and annotations"
        );
        let silent_inline = format!("alertname: {alert}, exp_alerts: []");
        let silent_block = format!("alertname: {alert}\n        exp_alerts: []");
        assert!(
            tests.contains(&silent_inline) || tests.contains(&silent_block),
            "{alert} has no case where it stays silent"
        );
    }
}

#[test]
fn every_alert_has_severity_summary_and_description() {
    let rules = std::fs::read_to_string("alerts/astro.rules.yml").expect("reading the rules");
    for block in rules.split("- alert: ").skip(1) {
        let name = block.lines().next().unwrap_or_default();
        let block = block.split("\n      - ").next().unwrap_or_default();
        assert!(block.contains("severity: "), "{name} has no severity");
        assert!(block.contains("summary: "), "{name} has no summary");
        assert!(block.contains("description: "), "{name} has no description");
    }
}

#[test]
fn alertmanager_example_passes_amtool_check() {
    let output = run(
        "amtool",
        &["check-config", "alerts/alertmanager.example.yml"],
    );
    assert_success(&output, "amtool check-config");
}

#[test]
fn alertmanager_example_routes_by_severity() {
    for (labels, receiver) in [
        (
            vec!["severity=critical", "alertname=AstroPortOutOfTraffic"],
            "astro-pager",
        ),
        (
            vec!["severity=warning", "alertname=AstroPortTrafficLow"],
            "astro-tickets",
        ),
    ] {
        let mut args = vec![
            "config",
            "routes",
            "test",
            "--config.file=alerts/alertmanager.example.yml",
        ];
        args.extend(labels.iter().copied());
        let output = run("amtool", &args);
        assert_success(&output, "amtool config routes test");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            receiver,
            "{labels:?}"
        );
    }
}

#[test]
fn example_prometheus_config_passes_promtool_check() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = std::fs::read_to_string("examples/prometheus.yml").expect("reading the example");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/astro.rules.yml");
    let config = config.replace(
        "/etc/prometheus/rules/astro.rules.yml",
        rules.to_str().expect("UTF-8 path"),
    );
    let path = directory.path().join("prometheus.yml");
    std::fs::write(&path, config).expect("writing the example");

    let output = run(
        "promtool",
        &["check", "config", path.to_str().expect("UTF-8 path")],
    );
    assert_success(&output, "promtool check config");
}
