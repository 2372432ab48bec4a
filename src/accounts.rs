//! The accounts of `--config.file`, for one exporter that watches several Astro
//! accounts, each scraped through `/probe?account=NAME`.
//!
//! ```yaml
//! accounts:
//!   main:
//!     token_file: /etc/astro-exporter/main.token
//!   resale:
//!     token_env: ASTRO_RESALE_TOKEN
//!     api_url: https://astroproxy.com/api/v1
//!     timeout: 8s
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::api::DEFAULT_API_URL;
use crate::config::{parse_api_url, parse_timeout};
use crate::secret::Token;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    accounts: BTreeMap<String, AccountEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    #[serde(default)]
    token_file: Option<PathBuf>,
    #[serde(default)]
    token_env: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
}

/// One account, ready to be scraped.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub name: String,
    pub token: Token,
    pub api_url: Url,
    /// The account's own scrape timeout, in place of `--astro.timeout`.
    pub timeout: Option<Duration>,
}

/// Every problem found in a configuration file.
#[derive(Debug)]
pub struct AccountsError {
    pub path: PathBuf,
    pub problems: Vec<String>,
}

impl fmt::Display for AccountsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "invalid config file {}:", self.path.display())?;
        for problem in &self.problems {
            write!(formatter, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AccountsError {}

/// Reads and checks the configuration file, reporting every problem found rather
/// than the first. `env` returns the value of an environment variable.
pub fn load(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<AccountConfig>, AccountsError> {
    let fail = |problems: Vec<String>| AccountsError {
        path: path.to_path_buf(),
        problems,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| fail(vec![format!("cannot read the file: {error}")]))?;
    let file: ConfigFile =
        serde_yaml_ng::from_str(&text).map_err(|error| fail(vec![error.to_string()]))?;
    if file.accounts.is_empty() {
        return Err(fail(vec![
            "accounts: at least one account is required".to_owned(),
        ]));
    }

    let base = path.parent().unwrap_or(Path::new("."));
    let mut accounts = Vec::new();
    let mut problems = Vec::new();
    for (name, entry) in file.accounts {
        let line = line_of_account(&text, &name);
        let mut report = |problem: String| {
            let place = line
                .map(|line| format!("line {line}: "))
                .unwrap_or_default();
            problems.push(format!("{place}account {name:?}: {problem}"));
        };
        if !is_valid_name(&name) {
            report("the name may contain only letters, digits, '_', '-' and '.'".to_owned());
        }
        let token = read_token(&entry, path, base, &env)
            .map_err(&mut report)
            .ok();
        let api_url = parse_api_url(entry.api_url.as_deref().unwrap_or(DEFAULT_API_URL))
            .map_err(|error| report(error.to_string().replace("--astro.api-url", "api_url")))
            .ok();
        let timeout = match entry.timeout.as_deref().map(parse_timeout).transpose() {
            Ok(timeout) => Some(timeout),
            Err(error) => {
                report(format!("timeout: {error}"));
                None
            }
        };
        if let (Some(token), Some(api_url), Some(timeout)) = (token, api_url, timeout) {
            accounts.push(AccountConfig {
                name,
                token,
                api_url,
                timeout,
            });
        }
    }
    if problems.is_empty() {
        Ok(accounts)
    } else {
        Err(fail(problems))
    }
}

fn read_token(
    entry: &AccountEntry,
    config_path: &Path,
    base: &Path,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Token, String> {
    match (&entry.token_file, &entry.token_env, &entry.token) {
        (Some(file), None, None) => {
            let file = if file.is_absolute() {
                file.clone()
            } else {
                base.join(file)
            };
            let contents = std::fs::read_to_string(&file)
                .map_err(|error| format!("cannot read token_file {}: {error}", file.display()))?;
            Token::new(contents).ok_or_else(|| format!("token_file {} is empty", file.display()))
        }
        (None, Some(variable), None) => env(variable).and_then(Token::new).ok_or_else(|| {
            format!("token_env: the environment variable {variable} is not set or empty")
        }),
        (None, None, Some(token)) => {
            check_private(config_path)?;
            Token::new(token.as_str()).ok_or_else(|| "token is empty".to_owned())
        }
        (None, None, None) => Err("no token: give token_file, token_env or token".to_owned()),
        _ => Err("give only one of token_file, token_env and token".to_owned()),
    }
}

/// Refuses an inline token in a file that others may read.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|error| {
            format!(
                "cannot check the permissions of {}: {error}",
                path.display()
            )
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "an inline token needs a file readable only by its owner, but {} has mode {:o}: \
             run chmod 600 on it, or use token_file or token_env",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

/// On systems without Unix permissions an inline token cannot be proven private.
#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Err("an inline token is refused on this system: use token_file or token_env".to_owned())
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '.')
        })
}

/// Finds the line that starts an account's entry.
fn line_of_account(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line.trim_start_matches(['"', '\'']);
            line.strip_prefix(name)
                .map(|rest| rest.trim_start_matches(['"', '\'']))
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(directory: &Path, name: &str, contents: &str) -> PathBuf {
        let path = directory.join(name);
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }

    fn no_environment(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn accounts_from_file_and_environment() {
        let directory = tempfile::tempdir().expect("temporary directory");
        write(directory.path(), "main.token", "0123456789abcdef\n");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  main:\n    token_file: main.token\n  resale:\n    token_env: RESALE\n\
             \x20   api_url: http://127.0.0.1:1/api/v1/\n    timeout: 8s\n",
        );
        let accounts = load(&path, |name| {
            (name == "RESALE").then(|| "fedcba9876543210".to_owned())
        })
        .expect("valid file");

        assert_eq!(accounts.len(), 2);
        assert_eq!(accounts[0].name, "main");
        assert_eq!(accounts[0].token.expose(), "0123456789abcdef");
        assert_eq!(accounts[0].api_url.as_str(), DEFAULT_API_URL);
        assert_eq!(accounts[0].timeout, None);
        assert_eq!(accounts[1].name, "resale");
        assert_eq!(accounts[1].token.expose(), "fedcba9876543210");
        assert_eq!(accounts[1].api_url.as_str(), "http://127.0.0.1:1/api/v1");
        assert_eq!(accounts[1].timeout, Some(Duration::from_secs(8)));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  main:\n    token_env: X\n    tokne: abc\n",
        );
        let error = load(&path, no_environment).expect_err("unknown key");
        let text = error.to_string();
        assert!(text.contains("tokne"), "{text}");
        assert!(text.contains("line 4"), "{text}");
    }

    #[test]
    fn every_problem_is_reported() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  a:\n    token_env: MISSING\n  b:\n    token_file: /nonexistent/token\n\
             \x20 c:\n    token_env: X\n    timeout: soon\n  d:\n    token_env: X\n    api_url: ftp://x\n\
             \x20 e: {}\n",
        );
        let error =
            load(&path, |name| (name == "X").then(|| "abc".to_owned())).expect_err("problems");
        assert_eq!(error.problems.len(), 5, "{:#?}", error.problems);
        assert!(
            error.problems[0].starts_with(r#"line 2: account "a""#),
            "{}",
            error.problems[0]
        );
        assert!(
            error.problems[1].contains("/nonexistent/token"),
            "{}",
            error.problems[1]
        );
        assert!(
            error.problems[2].contains("timeout"),
            "{}",
            error.problems[2]
        );
        assert!(
            error.problems[3].contains("api_url"),
            "{}",
            error.problems[3]
        );
        assert!(
            error.problems[4].contains("no token"),
            "{}",
            error.problems[4]
        );
    }

    #[cfg(unix)]
    #[test]
    fn inline_token_needs_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  main:\n    token: 0123456789abcdef\n",
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod 644");
        let error = load(&path, no_environment).expect_err("readable by others");
        assert!(error.to_string().contains("chmod 600"), "{error}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
        let accounts = load(&path, no_environment).expect("private file");
        assert_eq!(accounts[0].token.expose(), "0123456789abcdef");
    }

    #[test]
    fn two_token_sources_are_rejected() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  main:\n    token_env: X\n    token_file: t\n",
        );
        let error = load(&path, no_environment).expect_err("two sources");
        assert!(error.to_string().contains("only one"), "{error}");
    }

    #[test]
    fn invalid_account_name_is_rejected() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(
            directory.path(),
            "astro.yml",
            "accounts:\n  \"a b\":\n    token_env: X\n",
        );
        let error = load(&path, |_| Some("abc".to_owned())).expect_err("space in the name");
        assert!(error.to_string().contains("may contain only"), "{error}");
    }

    #[test]
    fn empty_account_list_is_rejected() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = write(directory.path(), "astro.yml", "accounts: {}\n");
        assert!(load(&path, no_environment).is_err());
    }
}
