//! The Astro API token as a type that cannot be printed by accident.

use std::fmt;

/// An Astro API token.
///
/// `Debug` and `Display` print `[REDACTED]`, so the token cannot reach a log line, an
/// error message or a response through formatting. Code that really needs the value
/// calls [`Token::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Creates a token from its value, or returns `None` when the value is empty or
    /// only white space once a trailing newline is trimmed.
    pub fn new(value: impl Into<String>) -> Option<Token> {
        let mut value = value.into();
        let trimmed_len = value.trim_end_matches(['\n', '\r']).len();
        value.truncate(trimmed_len);
        if value.trim().is_empty() {
            return None;
        }
        Some(Token(value))
    }

    /// Returns the secret value, for the one place that sends it upstream.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the token in `text` with `[REDACTED]`.
    ///
    /// Upstream error messages are passed through this before they are logged or
    /// exported, because a server may echo the request's query string back.
    pub fn redact(&self, text: &str) -> String {
        text.replace(self.0.as_str(), REDACTED)
    }
}

const REDACTED: &str = "[REDACTED]";

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = Token::new("0123456789abcdef").expect("non-empty token");
        assert_eq!(format!("{token:?}"), "[REDACTED]");
        assert_eq!(format!("{token}"), "[REDACTED]");
        assert_eq!(token.expose(), "0123456789abcdef");
    }

    #[test]
    fn trailing_newline_is_trimmed() {
        let token = Token::new("0123456789abcdef\r\n").expect("non-empty token");
        assert_eq!(token.expose(), "0123456789abcdef");
    }

    #[test]
    fn empty_or_blank_value_is_no_token() {
        assert!(Token::new("").is_none());
        assert!(Token::new("\n").is_none());
        assert!(Token::new("   \n").is_none());
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let token = Token::new("s3cr3t").expect("non-empty token");
        assert_eq!(
            token.redact("bad token s3cr3t in /balance?token=s3cr3t"),
            "bad token [REDACTED] in /balance?token=[REDACTED]"
        );
    }
}
