//! Static checks of the Grafana dashboards in `dashboards/`: the data source variable,
//! units, rate intervals, and that every metric and label a query names exists.
//!
//! The known metrics and their labels come from a scrape of the exporter serving the
//! demo account, from the recording rules in `alerts/astro.rules.yml` and from
//! Prometheus's `up`. Running the queries against a real Prometheus is left to
//! `tests/end_to_end.rs`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use astro_exporter::simulator::Account;
use common::TestEnv;
use serde_json::Value;

/// The only data source reference the panels may use, so that one file works both
/// imported through the UI and provisioned.
const DATASOURCE_UID: &str = "${datasource}";

/// Functions whose range the dashboard must give as `$__rate_interval`.
const RATE_FUNCTIONS: &[&str] = &["rate", "irate", "increase", "deriv", "delta", "idelta"];

/// Labels that Prometheus attaches to every scraped series.
const TARGET_LABELS: &[&str] = &["job", "instance"];

/// Keywords that take a parenthesised list of label names.
const GROUPING_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Keywords that are neither metric names nor functions.
const OTHER_KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "atan2"];

/// Where the recording rules live, relative to the repository.
const RULES_FILE: &str = "alerts/astro.rules.yml";

// ---------------------------------------------------------------------------
// Dashboards, panels and queries

struct Dashboard {
    file: String,
    json: Value,
}

fn repository_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Reads and parses every `dashboards/*.json`, in file name order.
fn dashboards() -> Vec<Dashboard> {
    let directory = repository_path("dashboards");
    let entries = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboard in {}", directory.display());

    files
        .iter()
        .map(|path| {
            let file = format!(
                "dashboards/{}",
                path.file_name().expect("file name").to_string_lossy()
            );
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|error| panic!("reading {file}: {error}"));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{file} is not valid JSON: {error}"));
            Dashboard { file, json }
        })
        .collect()
}

/// Returns every panel of a dashboard, rows and the panels of collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn collect<'a>(list: &'a Value, found: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            found.push(panel);
            collect(&panel["panels"], found);
        }
    }
    let mut found = Vec::new();
    collect(&dashboard["panels"], &mut found);
    found
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

fn describe_panel(file: &str, panel: &Value) -> String {
    let title = panel["title"].as_str().unwrap_or("(untitled)");
    format!("{file}: panel {title:?} (id {})", panel["id"])
}

fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect()
}

/// Names of the query variables, in dashboard order. Each is also a label name that the
/// queries filter by.
fn query_variable_names(dashboard: &Value) -> Vec<String> {
    variables(dashboard)
        .into_iter()
        .filter(|variable| variable["type"] == "query")
        .filter_map(|variable| variable["name"].as_str())
        .map(str::to_owned)
        .collect()
}

/// One PromQL query of a dashboard: a panel target or a variable query.
struct Query {
    /// File, panel or variable, and target, for failure messages.
    place: String,
    /// The PromQL expression. Empty for `label_values(label)`, which has no selector.
    expression: String,
    /// The label whose values a `label_values(...)` variable lists.
    values_label: Option<String>,
    /// Variables whose label every selector must filter by when its metric has it.
    filter_variables: Vec<String>,
}

impl Query {
    /// Names the query and its expression on one line.
    fn describe(&self) -> String {
        let expression: Vec<&str> = self.expression.split_whitespace().collect();
        format!("{}: `{}`", self.place, expression.join(" "))
    }
}

/// Returns every panel target and every query variable of every dashboard.
fn queries() -> Vec<Query> {
    let mut queries = Vec::new();
    for dashboard in dashboards() {
        let variable_names = query_variable_names(&dashboard.json);
        for panel in panels(&dashboard.json) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let Some(expression) = target["expr"].as_str() else {
                    continue;
                };
                queries.push(Query {
                    place: format!(
                        "{}, query {}",
                        describe_panel(&dashboard.file, panel),
                        target["refId"].as_str().unwrap_or("?")
                    ),
                    expression: expression.to_owned(),
                    values_label: None,
                    filter_variables: variable_names.clone(),
                });
            }
        }
        queries.extend(variable_queries(&dashboard, &variable_names));
    }
    queries
}

fn variable_queries(dashboard: &Dashboard, variable_names: &[String]) -> Vec<Query> {
    let mut queries = Vec::new();
    for variable in variables(&dashboard.json) {
        if variable["type"] != "query" {
            continue;
        }
        let name = variable["name"].as_str().unwrap_or("(unnamed)");
        // Grafana stores the query as a string, or as an object with a `query` string.
        let text = variable["query"]
            .as_str()
            .or_else(|| variable["query"]["query"].as_str())
            .unwrap_or_else(|| panic!("{}: variable {name:?} has no query", dashboard.file));
        let Some((expression, values_label)) = parse_variable_query(text) else {
            continue;
        };
        // A variable may filter only by the variables defined before it.
        let earlier = variable_names
            .iter()
            .take_while(|earlier| earlier.as_str() != name)
            .cloned()
            .collect();
        queries.push(Query {
            place: format!("{}: variable {name:?}", dashboard.file),
            expression,
            values_label,
            filter_variables: earlier,
        });
    }
    queries
}

/// Splits a Prometheus variable query into its PromQL expression and, for
/// `label_values`, the label. Returns None for `label_names()` and `metrics(...)`,
/// which contain no PromQL.
fn parse_variable_query(text: &str) -> Option<(String, Option<String>)> {
    let text = text.trim();
    if let Some(arguments) = call_arguments(text, "label_values") {
        return Some(match split_last_argument(arguments) {
            Some((selector, label)) => (selector.to_owned(), Some(label.to_owned())),
            None => (String::new(), Some(arguments.trim().to_owned())),
        });
    }
    if let Some(expression) = call_arguments(text, "query_result") {
        return Some((expression.to_owned(), None));
    }
    if text.starts_with("label_names(") || text.starts_with("metrics(") {
        return None;
    }
    // Grafana runs anything else as a series query, which is a selector.
    Some((text.to_owned(), None))
}

fn call_arguments<'a>(text: &'a str, function: &str) -> Option<&'a str> {
    text.strip_prefix(function)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
}

/// Splits `selector, label` at the last comma outside braces, brackets, parentheses
/// and strings.
fn split_last_argument(arguments: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut last_comma = None;
    for (index, character) in arguments.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == open {
                quote = None;
            }
            continue;
        }
        match character {
            '"' | '\'' | '`' => quote = Some(character),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => last_comma = Some(index),
            _ => {}
        }
    }
    let comma = last_comma?;
    Some((arguments[..comma].trim(), arguments[comma + 1..].trim()))
}

// ---------------------------------------------------------------------------
// PromQL: a lexer and a scan for selectors, label lists and ranges. It reads valid
// PromQL well enough for these checks but does not validate it, because
// tests/end_to_end.rs runs every query in Prometheus.

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String),
    /// A string literal, unescaped.
    Text(String),
    Number,
    /// The inside of `[...]`: a range or a subquery.
    Range(String),
    /// A Grafana variable outside a string, such as `$limit`.
    Variable,
    Symbol(&'static str),
}

const SYMBOLS: &[&str] = &[
    "=~", "!~", "!=", "==", "<=", ">=", "(", ")", "{", "}", ",", "=", "<", ">", "+", "-", "*", "/",
    "%", "^", "@",
];

fn tokenize(expression: &str) -> Result<Vec<Token>, String> {
    let characters: Vec<char> = expression.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let rest: String = characters[index..].iter().take(2).collect();
        if character.is_whitespace() {
            index += 1;
        } else if character == '#' {
            while index < characters.len() && characters[index] != '\n' {
                index += 1;
            }
        } else if matches!(character, '"' | '\'' | '`') {
            let (text, end) = read_string(&characters, index)?;
            tokens.push(Token::Text(text));
            index = end;
        } else if character == '[' {
            let end = characters[index..]
                .iter()
                .position(|&close| close == ']')
                .map(|offset| index + offset)
                .ok_or("a `[` is never closed")?;
            let range: String = characters[index + 1..end].iter().collect();
            tokens.push(Token::Range(range.trim().to_owned()));
            index = end + 1;
        } else if character == '$' {
            index += 1;
            if characters.get(index) == Some(&'{') {
                while index < characters.len() && characters[index] != '}' {
                    index += 1;
                }
                index += 1;
            } else {
                while index < characters.len() && is_word_character(characters[index]) {
                    index += 1;
                }
            }
            tokens.push(Token::Variable);
        } else if character.is_ascii_alphabetic() || character == '_' || character == ':' {
            let start = index;
            while index < characters.len() && is_word_character(characters[index]) {
                index += 1;
            }
            tokens.push(Token::Identifier(characters[start..index].iter().collect()));
        } else if character.is_ascii_digit()
            || (character == '.' && characters.get(index + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, and durations such as the `5m` of `offset 5m`.
            while index < characters.len()
                && (characters[index].is_ascii_alphanumeric() || characters[index] == '.')
            {
                index += 1;
            }
            tokens.push(Token::Number);
        } else if let Some(symbol) = SYMBOLS.iter().find(|symbol| rest.starts_with(**symbol)) {
            tokens.push(Token::Symbol(symbol));
            index += symbol.len();
        } else {
            return Err(format!("unexpected character {character:?}"));
        }
    }
    Ok(tokens)
}

fn is_word_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_' || character == ':'
}

/// Reads the string literal that starts at `start` and returns it unescaped, with the
/// index after its closing quote.
fn read_string(characters: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = characters[start];
    let mut text = String::new();
    let mut index = start + 1;
    while index < characters.len() {
        let character = characters[index];
        if character == quote {
            return Ok((text, index + 1));
        }
        if character == '\\' && quote != '`' {
            index += 1;
            if let Some(&escaped) = characters.get(index) {
                text.push(escaped);
            }
        } else {
            text.push(character);
        }
        index += 1;
    }
    Err("a string is never closed".to_owned())
}

#[derive(Debug)]
struct Selector {
    /// None for a selector without a metric name, such as `{job="astro"}`.
    metric: Option<String>,
    matchers: Vec<Matcher>,
}

#[derive(Debug)]
struct Matcher {
    label: String,
    operator: &'static str,
    value: String,
}

/// A call of one of [`RATE_FUNCTIONS`] and the ranges given directly inside it.
#[derive(Debug)]
struct RateCall {
    function: String,
    ranges: Vec<String>,
}

#[derive(Debug, Default)]
struct Analysis {
    selectors: Vec<Selector>,
    /// Labels named in `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`.
    grouping_labels: Vec<String>,
    /// Existing labels named as string arguments, such as the source of `label_replace`.
    source_labels: Vec<String>,
    /// Labels that the query creates, such as the destination of `label_replace`.
    created_labels: Vec<String>,
    rate_calls: Vec<RateCall>,
}

/// An open parenthesis: a function call (aggregations included) or a grouping.
enum Parenthesis {
    Call {
        function: String,
        argument: usize,
        ranges: Vec<String>,
    },
    Group,
}

fn analyze(expression: &str) -> Result<Analysis, String> {
    let tokens = tokenize(expression)?;
    let mut analysis = Analysis::default();
    let mut open: Vec<Parenthesis> = Vec::new();
    // The aggregation of `sum by (label) (...)`, whose `(` comes after the label list.
    let mut aggregation: Option<String> = None;
    let mut index = 0;
    while index < tokens.len() {
        let next = tokens.get(index + 1);
        match &tokens[index] {
            Token::Identifier(word)
                if GROUPING_KEYWORDS.contains(&word.as_str())
                    && next == Some(&Token::Symbol("(")) =>
            {
                let (labels, end) = read_label_list(&tokens, index + 2)?;
                analysis.grouping_labels.extend(labels);
                index = end;
                continue;
            }
            Token::Identifier(word) if is_aggregation_modifier(next) => {
                aggregation = Some(word.clone());
            }
            Token::Identifier(word) if next == Some(&Token::Symbol("(")) => {
                open.push(Parenthesis::Call {
                    function: word.clone(),
                    argument: 0,
                    ranges: Vec::new(),
                });
                index += 2;
                continue;
            }
            // Includes a `group_left` without a list.
            Token::Identifier(word) if is_keyword(word) => {}
            Token::Identifier(metric) => {
                let (matchers, end) = if next == Some(&Token::Symbol("{")) {
                    read_matchers(&tokens, index + 2)?
                } else {
                    (Vec::new(), index + 1)
                };
                index = end;
                analysis.selectors.push(Selector {
                    metric: Some(metric.clone()),
                    matchers,
                });
                continue;
            }
            Token::Symbol("{") => {
                let (matchers, end) = read_matchers(&tokens, index + 1)?;
                analysis.selectors.push(Selector {
                    metric: None,
                    matchers,
                });
                index = end;
                continue;
            }
            Token::Symbol("(") => open.push(match aggregation.take() {
                Some(function) => Parenthesis::Call {
                    function,
                    argument: 0,
                    ranges: Vec::new(),
                },
                None => Parenthesis::Group,
            }),
            Token::Symbol(")") => match open.pop() {
                Some(Parenthesis::Call {
                    function, ranges, ..
                }) if RATE_FUNCTIONS.contains(&function.as_str()) => {
                    analysis.rate_calls.push(RateCall { function, ranges });
                }
                Some(_) => {}
                None => return Err("a `)` has no `(`".to_owned()),
            },
            Token::Symbol(",") => {
                if let Some(Parenthesis::Call { argument, .. }) = open.last_mut() {
                    *argument += 1;
                }
            }
            Token::Range(range) => {
                if let Some(Parenthesis::Call { ranges, .. }) = open.last_mut() {
                    ranges.push(range.clone());
                }
            }
            Token::Text(text) => {
                if let Some(Parenthesis::Call {
                    function, argument, ..
                }) = open.last()
                {
                    classify_label_argument(function, *argument, text, &mut analysis);
                }
            }
            _ => {}
        }
        index += 1;
    }
    if !open.is_empty() {
        return Err("a `(` is never closed".to_owned());
    }
    Ok(analysis)
}

fn is_keyword(word: &str) -> bool {
    GROUPING_KEYWORDS.contains(&word)
        || OTHER_KEYWORDS.contains(&word)
        || word.eq_ignore_ascii_case("inf")
        || word.eq_ignore_ascii_case("nan")
}

/// Returns whether a token is the `by` or `without` of `sum by (label) (...)`.
fn is_aggregation_modifier(token: Option<&Token>) -> bool {
    matches!(token, Some(Token::Identifier(word)) if word == "by" || word == "without")
}

/// Records a string argument that names a label: `label_replace(v, dst, replacement,
/// src, regex)`, `label_join(v, dst, separator, src...)`, `count_values(dst, v)` and
/// `sort_by_label(v, label...)`.
fn classify_label_argument(function: &str, argument: usize, text: &str, analysis: &mut Analysis) {
    let label = text.to_owned();
    match (function, argument) {
        ("label_replace" | "label_join", 1) | ("count_values", 0) => {
            analysis.created_labels.push(label);
        }
        ("label_replace", 3) => analysis.source_labels.push(label),
        ("label_join", 3..) => analysis.source_labels.push(label),
        ("sort_by_label" | "sort_by_label_desc", 1..) => analysis.source_labels.push(label),
        _ => {}
    }
}

/// Reads `label, label, ...)` from `start` and returns the labels with the index after
/// the `)`.
fn read_label_list(tokens: &[Token], start: usize) -> Result<(Vec<String>, usize), String> {
    let mut labels = Vec::new();
    let mut index = start;
    loop {
        match tokens.get(index) {
            Some(Token::Symbol(")")) => return Ok((labels, index + 1)),
            Some(Token::Symbol(",")) => {}
            Some(Token::Identifier(label)) => labels.push(label.clone()),
            other => return Err(format!("expected a label name in a list, found {other:?}")),
        }
        index += 1;
    }
}

/// Reads `label op "value", ...}` from `start` and returns the matchers with the index
/// after the `}`.
fn read_matchers(tokens: &[Token], start: usize) -> Result<(Vec<Matcher>, usize), String> {
    let mut matchers = Vec::new();
    let mut index = start;
    loop {
        match tokens.get(index) {
            Some(Token::Symbol("}")) => return Ok((matchers, index + 1)),
            Some(Token::Symbol(",")) => index += 1,
            Some(Token::Identifier(label)) => {
                let operator = match tokens.get(index + 1) {
                    Some(Token::Symbol(operator @ ("=" | "!=" | "=~" | "!~"))) => *operator,
                    other => {
                        return Err(format!("expected a matcher after {label}, found {other:?}"));
                    }
                };
                let Some(Token::Text(value)) = tokens.get(index + 2) else {
                    return Err(format!("expected a string after {label}{operator}"));
                };
                matchers.push(Matcher {
                    label: label.clone(),
                    operator,
                    value: value.clone(),
                });
                index += 3;
            }
            other => return Err(format!("expected a label matcher, found {other:?}")),
        }
    }
}

// ---------------------------------------------------------------------------
// Known metrics, recording rules and their labels

/// Known metric names with their label names (target labels included).
#[derive(Default)]
struct Catalog {
    labels: BTreeMap<String, BTreeSet<String>>,
    /// Whether alerts/astro.rules.yml was found, for failure messages.
    rules_file_found: bool,
}

/// Builds the catalog from a scrape of the exporter serving the demo account, from
/// Prometheus's `up` and from the recording rules.
async fn catalog() -> Catalog {
    let env = TestEnv::start(Account::demo(time::OffsetDateTime::now_utc())).await;
    let exposition = env.scrape().await;

    let mut catalog = Catalog::default();
    for (metric, mut labels) in exposition_labels(&exposition) {
        labels.extend(TARGET_LABELS.iter().map(|label| label.to_string()));
        catalog.labels.insert(metric, labels);
    }
    catalog.labels.insert(
        "up".to_owned(),
        TARGET_LABELS
            .iter()
            .map(|label| label.to_string())
            .collect(),
    );

    let rules_path = repository_path(RULES_FILE);
    if let Ok(text) = std::fs::read_to_string(&rules_path) {
        catalog.rules_file_found = true;
        add_recording_rules(&mut catalog, &recording_rules(&text));
    }
    catalog
}

/// Returns the label names of each metric in an exposition in the classic text
/// format. A metric declared by `# TYPE` without samples gets no labels.
fn exposition_labels(exposition: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut metrics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in exposition.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let name = declaration.split_whitespace().next().expect("# TYPE name");
            metrics.entry(name.to_owned()).or_default();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("a sample line has a value");
        let labels = metrics.entry(line[..name_end].to_owned()).or_default();
        if line[name_end..].starts_with('{') {
            labels.extend(sample_label_names(&line[name_end + 1..]));
        }
    }
    metrics
}

/// Returns the label names of `name="value",...}`, skipping escaped characters in
/// the values.
fn sample_label_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(equals) = rest.find('=') {
        names.push(rest[..equals].trim_start_matches(',').trim().to_owned());
        let value = &rest[equals + 1..];
        assert!(value.starts_with('"'), "label value is not quoted: {text}");
        let mut escaped = false;
        let mut close = None;
        for (index, character) in value.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if character == '\\' {
                escaped = true;
            } else if character == '"' {
                close = Some(index);
                break;
            }
        }
        let close = close.unwrap_or_else(|| panic!("label value is not closed: {text}"));
        rest = &value[close + 1..];
        if rest.starts_with('}') {
            break;
        }
    }
    names
}

#[derive(Debug)]
struct RecordingRule {
    name: String,
    expression: String,
    /// Names under the rule's `labels:`.
    static_labels: Vec<String>,
}

/// Reads the recording rules from a Prometheus rules file with a line scan, because
/// no YAML parser is a dependency. It reads rule items (`- record: ...`) whose
/// keys are inline or plain, quoted, folded (`>`) or literal (`|`) scalars.
fn recording_rules(text: &str) -> Vec<RecordingRule> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(dash) = line.find("- ") else {
            continue;
        };
        if !line[..dash].trim().is_empty() {
            continue;
        }
        // The item's keys start two columns after its dash, the first on the dash's line.
        let key_column = dash + 2;
        let mut item = vec![format!("{}{}", " ".repeat(key_column), &line[key_column..])];
        for next in &lines[start + 1..] {
            if !next.trim().is_empty() && indentation(next) <= dash {
                break;
            }
            item.push(next.to_string());
        }

        let keys = item_keys(&item, key_column);
        let Some((_, name, _)) = keys.iter().find(|(key, _, _)| key == "record") else {
            continue;
        };
        let expression = keys
            .iter()
            .find(|(key, _, _)| key == "expr")
            .map(|(_, value, nested)| scalar(value, nested))
            .unwrap_or_default();
        let static_labels = keys
            .iter()
            .find(|(key, _, _)| key == "labels")
            .map(|(_, _, nested)| {
                nested
                    .iter()
                    .filter_map(|line| line.split_once(':'))
                    .map(|(label, _)| label.trim().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        rules.push(RecordingRule {
            name: unquote(name),
            expression,
            static_labels,
        });
    }
    rules
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Returns the keys at `column` of an item's lines, each with its inline value and the
/// more indented lines that follow it.
fn item_keys(item: &[String], column: usize) -> Vec<(String, String, Vec<String>)> {
    let mut keys: Vec<(String, String, Vec<String>)> = Vec::new();
    for line in item {
        let is_key = indentation(line) == column && !line.trim_start().starts_with('#');
        if let (true, Some((key, value))) = (is_key, line.trim().split_once(':')) {
            keys.push((key.to_owned(), value.trim().to_owned(), Vec::new()));
        } else if let Some((_, _, nested)) = keys.last_mut()
            && (line.trim().is_empty() || indentation(line) > column)
        {
            nested.push(line.to_string());
        }
    }
    keys
}

/// Returns a YAML scalar from its inline part and its continuation lines.
fn scalar(inline: &str, nested: &[String]) -> String {
    let continuation: Vec<&str> = nested.iter().map(|line| line.trim()).collect();
    if inline.starts_with('|') || inline.starts_with('>') {
        return continuation.join("\n").trim().to_owned();
    }
    let mut parts = vec![inline];
    parts.extend(continuation);
    unquote(parts.join(" ").trim())
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        return inner.replace("\\\"", "\"").replace("\\\\", "\\");
    }
    if let Some(inner) = value
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
    {
        return inner.replace("''", "'");
    }
    value.to_owned()
}

/// Adds each recording rule with the union of the labels of the series its expression
/// selects, the labels it creates and its static labels. Rules that use other rules are
/// resolved by repeating until nothing changes.
///
/// NOTE: an aggregation such as `sum by (port)` keeps fewer labels than its input, so
/// for such a rule the set is too large and the label checks let more through.
fn add_recording_rules(catalog: &mut Catalog, rules: &[RecordingRule]) {
    let analyses: Vec<Option<Analysis>> = rules
        .iter()
        .map(|rule| analyze(&rule.expression).ok())
        .collect();
    for rule in rules {
        catalog.labels.entry(rule.name.clone()).or_default();
    }
    loop {
        let mut changed = false;
        for (rule, analysis) in rules.iter().zip(&analyses) {
            let mut labels: BTreeSet<String> = rule.static_labels.iter().cloned().collect();
            if let Some(analysis) = analysis {
                for selector in &analysis.selectors {
                    let known = selector
                        .metric
                        .as_ref()
                        .and_then(|metric| catalog.labels.get(metric));
                    labels.extend(known.into_iter().flatten().cloned());
                }
                labels.extend(analysis.created_labels.iter().cloned());
            }
            let entry = catalog.labels.entry(rule.name.clone()).or_default();
            if !labels.is_subset(entry) {
                entry.extend(labels);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

// ---------------------------------------------------------------------------
// Checks of one expression. Each returns the problems it finds, none for a good one.

fn rate_problems(expression: &str) -> Vec<String> {
    let analysis = match analyze(expression) {
        Ok(analysis) => analysis,
        Err(error) => return vec![format!("cannot be parsed: {error}")],
    };
    let mut problems = Vec::new();
    for call in &analysis.rate_calls {
        if call.ranges.is_empty() {
            problems.push(format!("{}() has no range", call.function));
        }
        for range in &call.ranges {
            if range != "$__rate_interval" && range != "${__rate_interval}" {
                problems.push(format!(
                    "{}() takes [{range}] instead of [$__rate_interval]",
                    call.function
                ));
            }
        }
    }
    problems
}

fn metric_problems(expression: &str, catalog: &Catalog) -> Vec<String> {
    let analysis = match analyze(expression) {
        Ok(analysis) => analysis,
        Err(error) => return vec![format!("cannot be parsed: {error}")],
    };
    let mut problems = Vec::new();
    for selector in &analysis.selectors {
        match &selector.metric {
            None => problems
                .push("a selector has no metric name, so its labels cannot be checked".to_owned()),
            Some(metric) if !catalog.labels.contains_key(metric) => {
                let mut problem = format!(
                    "{metric} is not a metric of the exporter, a recording rule in \
                     {RULES_FILE} or up"
                );
                if !catalog.rules_file_found {
                    problem.push_str(&format!(" ({RULES_FILE} was not found)"));
                }
                problems.push(problem);
            }
            Some(_) => {}
        }
    }
    problems
}

/// Checks that every label a selector matches exists on its metric, and that every
/// other label named exists on one of the metrics the expression selects.
fn label_problems(expression: &str, values_label: Option<&str>, catalog: &Catalog) -> Vec<String> {
    let analysis = match analyze(expression) {
        Ok(analysis) => analysis,
        Err(error) => return vec![format!("cannot be parsed: {error}")],
    };
    let mut problems = Vec::new();
    let mut available: BTreeSet<&str> = TARGET_LABELS.iter().copied().collect();
    for selector in &analysis.selectors {
        // Unknown metrics are reported by metric_problems.
        let Some(labels) = selector
            .metric
            .as_ref()
            .and_then(|metric| catalog.labels.get(metric))
        else {
            continue;
        };
        available.extend(labels.iter().map(String::as_str));
        for matcher in &selector.matchers {
            let label = matcher.label.as_str();
            if label != "__name__" && !labels.contains(label) && !TARGET_LABELS.contains(&label) {
                problems.push(format!(
                    "{} has no label {label}",
                    selector.metric.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    available.extend(analysis.created_labels.iter().map(String::as_str));

    let mut named: Vec<&str> = analysis
        .grouping_labels
        .iter()
        .chain(&analysis.source_labels)
        .map(String::as_str)
        .collect();
    if analysis.selectors.is_empty() {
        // A `label_values(label)` query has no selector, so its label may be on any metric.
        available.extend(catalog.labels.values().flatten().map(String::as_str));
    }
    named.extend(values_label);
    for label in named {
        if !available.contains(label) {
            problems.push(format!(
                "label {label} is on none of the metrics selected ({})",
                available_metrics(&analysis)
            ));
        }
    }
    problems
}

fn available_metrics(analysis: &Analysis) -> String {
    let metrics: BTreeSet<&str> = analysis
        .selectors
        .iter()
        .filter_map(|selector| selector.metric.as_deref())
        .collect();
    metrics.into_iter().collect::<Vec<_>>().join(", ")
}

/// Checks that every selector whose metric has the label of a dashboard variable
/// filters by it as `label=~"$label"`.
fn filter_problems(expression: &str, variables: &[String], catalog: &Catalog) -> Vec<String> {
    let analysis = match analyze(expression) {
        Ok(analysis) => analysis,
        Err(error) => return vec![format!("cannot be parsed: {error}")],
    };
    let mut problems = Vec::new();
    for selector in &analysis.selectors {
        let Some(metric) = &selector.metric else {
            continue;
        };
        let Some(labels) = catalog.labels.get(metric) else {
            continue;
        };
        for variable in variables
            .iter()
            .filter(|variable| labels.contains(*variable))
        {
            let filtered = selector.matchers.iter().any(|matcher| {
                matcher.label == *variable
                    && matcher.operator == "=~"
                    && (matcher.value == format!("${variable}")
                        || matcher.value == format!("${{{variable}}}"))
            });
            if !filtered {
                problems.push(format!(
                    "{metric} is not filtered by {variable}=~\"${variable}\""
                ));
            }
        }
    }
    problems
}

/// Returns the names of the Grafana variables an expression uses: `$name`, `${name}`,
/// `${name:format}` and `[[name]]`. A `$` before a digit or no name at all, as in the
/// `$1` of a `label_replace` replacement or the end anchor of a regular expression,
/// is no variable.
fn used_variables(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expression;
    while let Some(dollar) = rest.find('$') {
        rest = &rest[dollar + 1..];
        let name: String = match rest.strip_prefix('{') {
            Some(braced) => braced
                .chars()
                .take_while(|character| !matches!(character, '}' | ':'))
                .collect(),
            None => rest
                .chars()
                .take_while(|&character| is_word_character(character))
                .collect(),
        };
        names.push(name);
    }
    rest = expression;
    while let Some(open) = rest.find("[[") {
        rest = &rest[open + 2..];
        let name = rest
            .chars()
            .take_while(|&character| is_word_character(character))
            .collect();
        names.push(name);
    }
    names.retain(|name: &String| {
        name.chars()
            .next()
            .is_some_and(|first| !first.is_ascii_digit())
    });
    names
}

fn assert_no_problems(check: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{check}:\n{}",
        problems
            .iter()
            .map(|problem| format!("- {problem}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs `check` on every query and returns its problems, each prefixed by the query.
fn problems_of_every_query(check: impl Fn(&Query) -> Vec<String>) -> Vec<String> {
    queries()
        .iter()
        .flat_map(|query| {
            check(query)
                .into_iter()
                .map(move |problem| format!("{}\n  {problem}", query.describe()))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests of the dashboards

#[test]
fn dashboards_parse() {
    for dashboard in dashboards() {
        let file = &dashboard.file;
        assert!(dashboard.json.is_object(), "{file}: not a JSON object");
        assert!(
            dashboard.json["uid"]
                .as_str()
                .is_some_and(|uid| !uid.is_empty()),
            "{file}: no uid"
        );
        assert!(
            dashboard.json["title"]
                .as_str()
                .is_some_and(|title| !title.is_empty()),
            "{file}: no title"
        );
        assert!(dashboard.json["panels"].is_array(), "{file}: no panels");
    }
}

#[test]
fn dashboard_uids_are_unique() {
    let mut seen = BTreeMap::new();
    for dashboard in dashboards() {
        let uid = dashboard.json["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(other) = seen.insert(uid.clone(), dashboard.file.clone()) {
            panic!("{} and {other} both have uid {uid:?}", dashboard.file);
        }
    }
}

#[test]
fn schema_version_is_current() {
    for dashboard in dashboards() {
        let version = dashboard.json["schemaVersion"].as_u64();
        assert!(
            version.is_some_and(|version| version >= 36),
            "{}: schemaVersion {version:?} is older than 36 (Grafana 9); \
             re-export the dashboard from a current Grafana",
            dashboard.file
        );
    }
}

#[test]
fn datasource_variable_exists() {
    for dashboard in dashboards() {
        let variable = variables(&dashboard.json)
            .into_iter()
            .find(|variable| variable["name"] == "datasource");
        let variable = variable
            .unwrap_or_else(|| panic!("{}: the variable datasource is missing", dashboard.file));
        assert_eq!(
            variable["type"], "datasource",
            "{}: variable datasource has the wrong type",
            dashboard.file
        );
        assert_eq!(
            variable["query"], "prometheus",
            "{}: variable datasource must list Prometheus data sources",
            dashboard.file
        );
    }
}

#[test]
fn panels_use_datasource_variable() {
    let mut problems = Vec::new();
    for dashboard in dashboards() {
        let file = &dashboard.file;
        assert!(
            dashboard.json.get("__inputs").is_none(),
            "{file}: __inputs makes the file work only through the UI import, so use the \
             datasource variable instead"
        );
        for panel in panels(&dashboard.json) {
            let place = describe_panel(file, panel);
            if panel["datasource"]["uid"] != DATASOURCE_UID {
                problems.push(format!("{place} uses data source {}", panel["datasource"]));
            }
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["uid"] != DATASOURCE_UID {
                    problems.push(format!(
                        "{place}, query {} uses data source {}",
                        target["refId"], target["datasource"]
                    ));
                }
            }
        }
        for variable in variables(&dashboard.json) {
            if variable["type"] == "query" && variable["datasource"]["uid"] != DATASOURCE_UID {
                problems.push(format!(
                    "{file}: variable {} uses data source {}",
                    variable["name"], variable["datasource"]
                ));
            }
        }
    }
    assert_no_problems(&format!("data source not {DATASOURCE_UID}"), &problems);
}

#[test]
fn panels_have_units() {
    let mut problems = Vec::new();
    for dashboard in dashboards() {
        for panel in panels(&dashboard.json) {
            let unit = panel["fieldConfig"]["defaults"]["unit"].as_str();
            if !is_row(panel) && unit.is_none_or(str::is_empty) {
                problems.push(describe_panel(&dashboard.file, panel));
            }
        }
    }
    assert_no_problems("panels without fieldConfig.defaults.unit", &problems);
}

#[test]
fn panel_ids_are_unique() {
    for dashboard in dashboards() {
        let mut seen = BTreeSet::new();
        for panel in panels(&dashboard.json) {
            let place = describe_panel(&dashboard.file, panel);
            let id = panel["id"].as_u64();
            assert!(id.is_some(), "{place}: no numeric id");
            assert!(seen.insert(id), "{place}: the id is used twice");
        }
    }
}

#[test]
fn panels_have_grid_positions() {
    for dashboard in dashboards() {
        for panel in panels(&dashboard.json) {
            let place = describe_panel(&dashboard.file, panel);
            for key in ["x", "y", "w", "h"] {
                assert!(
                    panel["gridPos"][key].is_u64(),
                    "{place}: gridPos.{key} is missing"
                );
            }
        }
    }
}

#[test]
fn query_variables_allow_all() {
    for dashboard in dashboards() {
        for variable in variables(&dashboard.json) {
            if variable["type"] != "query" {
                continue;
            }
            let place = format!("{}: variable {}", dashboard.file, variable["name"]);
            assert_eq!(variable["multi"], true, "{place}: not multi-select");
            assert_eq!(variable["includeAll"], true, "{place}: no All option");
            assert_eq!(variable["allValue"], ".*", "{place}: All must be .*");
        }
    }
}

#[test]
fn variables_are_defined() {
    let mut problems = Vec::new();
    for dashboard in dashboards() {
        let defined: BTreeSet<String> = variables(&dashboard.json)
            .into_iter()
            .filter_map(|variable| variable["name"].as_str())
            .map(str::to_owned)
            .collect();
        let mut expressions: Vec<(String, &str)> = Vec::new();
        for panel in panels(&dashboard.json) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let place = format!(
                    "{}, query {}",
                    describe_panel(&dashboard.file, panel),
                    target["refId"]
                );
                expressions.push((place, target["expr"].as_str().unwrap_or_default()));
            }
        }
        for variable in variables(&dashboard.json) {
            let place = format!("{}: variable {}", dashboard.file, variable["name"]);
            let query = variable["query"]["query"].as_str();
            expressions.push((
                place,
                query.or(variable["query"].as_str()).unwrap_or_default(),
            ));
        }
        for (place, expression) in expressions {
            for name in used_variables(expression) {
                // Grafana's own variables start with two underscores.
                if !name.starts_with("__") && !defined.contains(&name) {
                    problems.push(format!("{place} uses undefined variable ${name}"));
                }
            }
        }
    }
    assert_no_problems("undefined variables", &problems);
}

#[test]
fn rates_use_rate_interval() {
    let problems = problems_of_every_query(|query| rate_problems(&query.expression));
    assert_no_problems("ranges other than $__rate_interval", &problems);
}

#[tokio::test]
async fn metric_names_exist() {
    let catalog = catalog().await;
    let problems = problems_of_every_query(|query| metric_problems(&query.expression, &catalog));
    assert_no_problems("unknown metrics", &problems);
}

#[tokio::test]
async fn label_names_exist() {
    let catalog = catalog().await;
    let problems = problems_of_every_query(|query| {
        label_problems(&query.expression, query.values_label.as_deref(), &catalog)
    });
    assert_no_problems("unknown labels", &problems);
}

#[tokio::test]
async fn selectors_filter_by_variables() {
    let catalog = catalog().await;
    let problems = problems_of_every_query(|query| {
        filter_problems(&query.expression, &query.filter_variables, &catalog)
    });
    assert_no_problems("selectors that ignore a dashboard variable", &problems);
}

#[test]
fn rules_file_has_recording_rules() {
    let path = repository_path(RULES_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let rules = recording_rules(&text);
    assert!(!rules.is_empty(), "no `record:` found in {RULES_FILE}");
    for rule in &rules {
        assert!(
            !rule.expression.is_empty(),
            "rule {} has no expr",
            rule.name
        );
        if let Err(error) = analyze(&rule.expression) {
            panic!(
                "rule {}: `{}` cannot be parsed: {error}",
                rule.name, rule.expression
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Tests of the checks themselves, on made-up metrics

fn sample_catalog() -> Catalog {
    let mut catalog = Catalog::default();
    for (metric, labels) in [
        ("port_bytes", &["job", "instance", "port", "country"][..]),
        ("port_info", &["job", "instance", "port", "name"][..]),
        ("requests_total", &["job", "instance", "code"][..]),
    ] {
        catalog.labels.insert(
            metric.to_owned(),
            labels.iter().map(|label| label.to_string()).collect(),
        );
    }
    let rules = recording_rules(
        "groups:\n  - name: g\n    rules:\n      - record: port:bytes:ratio\n        \
         expr: >\n          port_bytes\n          / 2\n        labels:\n          team: a\n",
    );
    add_recording_rules(&mut catalog, &rules);
    catalog
}

#[test]
fn rate_check_rejects_fixed_ranges() {
    for (expression, expected) in [
        ("rate(requests_total[$__rate_interval])", 0),
        ("deriv(port_bytes[${__rate_interval}])", 0),
        ("max_over_time(port_bytes[1d])", 0),
        ("astro:port_traffic_used_bytes_per_second:deriv1h", 0),
        ("rate(requests_total[5m])", 1),
        ("increase(requests_total[$__interval])", 1),
        (
            "sum(irate(requests_total[1m])) / sum(delta(port_bytes[1h]))",
            2,
        ),
        ("deriv(sum(port_bytes)[10m:1m])", 1),
    ] {
        let problems = rate_problems(expression);
        assert_eq!(problems.len(), expected, "`{expression}`: {problems:?}");
    }
}

#[test]
fn metric_check_rejects_unknown_names() {
    let catalog = sample_catalog();
    for (expression, expected) in [
        ("port_bytes * on(port) group_left(name) port_info", 0),
        ("port_bytes * on(port) group_left port_info", 0),
        ("port:bytes:ratio{team=\"a\"}", 0),
        ("sum by (code) (rate(requests_total[$__rate_interval]))", 0),
        ("time() - port_bytes offset 5m", 0),
        ("port_bytes_total", 1),
        ("{job=\"astro\"}", 1),
        ("count(nope) or vector(0)", 1),
    ] {
        let problems = metric_problems(expression, &catalog);
        assert_eq!(problems.len(), expected, "`{expression}`: {problems:?}");
    }
}

#[test]
fn label_check_rejects_unknown_labels() {
    let catalog = sample_catalog();
    for (expression, values_label, expected) in [
        ("port_bytes{country=~\"$country\", job=\"a\"}", None, 0),
        (
            "port_bytes * on(job, instance, port) group_left(name) port_info",
            None,
            0,
        ),
        ("port:bytes:ratio{country=\"x\", team=\"a\"}", None, 0),
        (
            "sum by (new) (label_replace(port_bytes, \"new\", \"$1\", \"port\", \"(.*)\"))",
            None,
            0,
        ),
        ("port_info", Some("name"), 0),
        ("", Some("code"), 0),
        ("port_info{country=\"x\"}", None, 1),
        ("sum by (city) (port_bytes)", None, 1),
        ("port_bytes * on(port) group_left(city) port_info", None, 1),
        (
            "label_replace(port_bytes, \"new\", \"$1\", \"city\", \"(.*)\")",
            None,
            1,
        ),
        ("requests_total", Some("port"), 1),
    ] {
        let problems = label_problems(expression, values_label, &catalog);
        assert_eq!(problems.len(), expected, "`{expression}`: {problems:?}");
    }
}

#[test]
fn filter_check_rejects_missing_filters() {
    let catalog = sample_catalog();
    let variables = ["job".to_owned(), "port".to_owned()];
    for (expression, expected) in [
        ("port_bytes{job=~\"$job\", port=~\"${port}\"}", 0),
        ("requests_total{job=~\"$job\"}", 0),
        ("port_bytes{job=~\"$job\"}", 1),
        ("port_bytes{job=\"$job\", port=~\"$port\"}", 1),
        (
            "port_bytes{job=~\"$job\", port=~\"$port\"} * on(port) port_info",
            2,
        ),
    ] {
        let problems = filter_problems(expression, &variables, &catalog);
        assert_eq!(problems.len(), expected, "`{expression}`: {problems:?}");
    }
}

#[test]
fn rule_scan_reads_every_form() {
    let rules = recording_rules(
        "groups:\n\
         - name: g\n  rules:\n\
         \x20 - record: a:inline\n    expr: sum by (job) (x)\n\
         \x20 - expr: \"y{a=\\\"1\\\"}\"\n    record: 'b:quoted'\n\
         \x20 - record: c:literal\n    expr: |\n      z\n        / 2\n    labels:\n      team: t\n\
         \x20 - alert: NotARule\n    expr: up == 0\n",
    );
    let summary: Vec<(&str, &str, Vec<String>)> = rules
        .iter()
        .map(|rule| {
            (
                rule.name.as_str(),
                rule.expression.as_str(),
                rule.static_labels.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("a:inline", "sum by (job) (x)", vec![]),
            ("b:quoted", "y{a=\"1\"}", vec![]),
            ("c:literal", "z\n/ 2", vec!["team".to_owned()]),
        ]
    );
}

#[test]
fn variable_query_splits_selector_and_label() {
    assert_eq!(
        parse_variable_query(r#"label_values(m{a=~"x,y"}, port)"#),
        Some((r#"m{a=~"x,y"}"#.to_owned(), Some("port".to_owned())))
    );
    assert_eq!(
        parse_variable_query("label_values(job)"),
        Some((String::new(), Some("job".to_owned())))
    );
    assert_eq!(
        parse_variable_query("query_result(topk(3, m))"),
        Some(("topk(3, m)".to_owned(), None))
    );
    assert_eq!(parse_variable_query("label_names()"), None);
}
