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

    /// Replaces every occurrence of the token in `text` with `[REDACTED]`, as written
    /// and as encoded in a query string.
    ///
    /// Upstream error messages are passed through this before they are logged or
    /// exported, because a server may echo the request's query string back.
    pub fn redact(&self, text: &str) -> String {
        let mut redacted = text.replace(self.0.as_str(), REDACTED);
        for encoded in [form_encode(&self.0, true), form_encode(&self.0, false)] {
            if encoded != self.0 {
                redacted = redacted.replace(&encoded, REDACTED);
                redacted = redacted.replace(&encoded.to_lowercase(), REDACTED);
            }
        }
        redacted
    }
}

const REDACTED: &str = "[REDACTED]";

/// Percent-encodes `value` as `application/x-www-form-urlencoded` does, with `+`
/// for a space when `plus_for_space` is set and `%20` otherwise.
fn form_encode(value: &str, plus_for_space: bool) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                encoded.push(byte as char)
            }
            b' ' if plus_for_space => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

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
    fn redact_replaces_encoded_forms() {
        let token = Token::new("ab+cd/ef=gh").expect("non-empty token");
        assert_eq!(token.redact("token=ab%2Bcd%2Fef%3Dgh"), "token=[REDACTED]");
        assert_eq!(token.redact("token=ab%2bcd%2fef%3dgh"), "token=[REDACTED]");
        assert_eq!(token.redact("token=ab+cd/ef=gh"), "token=[REDACTED]");
        let spaced = Token::new("a b").expect("non-empty token");
        assert_eq!(spaced.redact("x=a+b y=a%20b"), "x=[REDACTED] y=[REDACTED]");
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
