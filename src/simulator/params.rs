//! Decoding of request parameters from the query string and the body.

use crate::form::percent_decode;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::Reply;

/// Largest request body the simulator reads, in bytes. The real API does not
/// document a limit, so this is the simulator's own choice.
pub(super) const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body that could not be read or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BodyError {
    /// The body is longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed while the body arrived.
    ReadFailed(String),
    /// The body is not a JSON object: the parser's message.
    InvalidJson(String),
    /// The body's media type is neither JSON nor a form.
    UnsupportedType(String),
}

impl BodyError {
    /// Converts the error into the reply the client gets.
    pub(super) fn into_reply(self) -> Reply {
        match self {
            BodyError::TooLarge => Reply::error(
                413,
                &format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::ReadFailed(error) => {
                Reply::error(400, &format!("Failed to read the request body: {error}"))
            }
            BodyError::InvalidJson(error) => {
                Reply::error(400, &format!("Invalid JSON body: {error}"))
            }
            BodyError::UnsupportedType(media_type) => Reply::error(
                415,
                &format!(
                    "Unsupported content type {media_type:?}: send application/json \
                     or application/x-www-form-urlencoded"
                ),
            ),
        }
    }
}

/// Reads the whole request body, up to [`MAX_BODY_BYTES`].
pub(super) async fn read_body(body: Incoming) -> Result<Bytes, BodyError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::ReadFailed(error.to_string())),
    }
}

/// Decodes the parameters of a request body by its `Content-Type`.
///
/// An empty body has no parameters. A body that is
/// `application/x-www-form-urlencoded`, or has no `Content-Type`, is decoded
/// as a form. `application/json` must be an object, whose members become
/// parameters sorted by name. Strings are kept as they are, and numbers and
/// booleans become their JSON text. Arrays and objects become JSON text too,
/// which no endpoint accepts. A `null` member counts as missing. Any other
/// content type is an error.
pub(super) fn decode_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, BodyError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let media_type = content_type
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    match media_type.as_str() {
        "application/json" => decode_json_object(body),
        "" | "application/x-www-form-urlencoded" => {
            Ok(decode_pairs(&String::from_utf8_lossy(body)))
        }
        _ => Err(BodyError::UnsupportedType(media_type)),
    }
}

fn decode_json_object(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|error| BodyError::InvalidJson(error.to_string()))?;
    let serde_json::Value::Object(members) = value else {
        return Err(BodyError::InvalidJson("expected an object".to_owned()));
    };
    let parameters = members
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match value {
                serde_json::Value::Null => return None,
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            Some((name, text))
        })
        .collect();
    Ok(parameters)
}

/// Decodes `name=value&...` pairs, as in a query string or a form body.
/// A pair without `=` has an empty value, and empty pairs are skipped.
pub(super) fn decode_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// Splits a raw query string into the first `token` value and the other
/// parameters, percent-decoded and in their original order.
pub(super) fn split_query(raw: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut token = None;
    let mut query = Vec::new();
    for (name, value) in decode_pairs(raw) {
        if name == "token" {
            token.get_or_insert(value);
        } else {
            query.push((name, value));
        }
    }
    (token, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn split_query_removes_token() {
        let (token, query) = split_query("count=5&token=s%2Bcret&page=2&token=other");

        assert_eq!(token.as_deref(), Some("s+cret"));
        assert_eq!(
            query,
            vec![
                ("count".to_owned(), "5".to_owned()),
                ("page".to_owned(), "2".to_owned()),
            ]
        );
    }

    #[test]
    fn split_query_keeps_empty_values() {
        let (token, query) = split_query("status&&count=");

        assert_eq!(token, None);
        assert_eq!(
            query,
            vec![
                ("status".to_owned(), String::new()),
                ("count".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn form_body_is_decoded() {
        let decoded = decode_body(
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            b"volume=2.5&name=S%C3%A3o+Paulo",
        );

        assert_eq!(
            decoded,
            Ok(pairs(&[("volume", "2.5"), ("name", "São Paulo")]))
        );
    }

    #[test]
    fn body_without_content_type_is_a_form() {
        let decoded = decode_body(None, b"volume=1");

        assert_eq!(decoded, Ok(pairs(&[("volume", "1")])));
    }

    #[test]
    fn json_members_become_text() {
        let body =
            br#"{"volume":2.5,"count":3,"is_unlimited":true,"name":"x","ip":null,"list":[1]}"#;

        let decoded = decode_body(Some("Application/JSON"), body);

        assert_eq!(
            decoded,
            Ok(pairs(&[
                ("count", "3"),
                ("is_unlimited", "true"),
                ("list", "[1]"),
                ("name", "x"),
                ("volume", "2.5"),
            ]))
        );
    }

    #[test]
    fn invalid_json_body_returns_400() {
        for body in [&b"{\"volume\":"[..], b"[1,2]", b"\"text\""] {
            let reply = decode_body(Some("application/json"), body)
                .expect_err("body should be rejected")
                .into_reply();

            assert_eq!(reply.status, 400, "body {body:?}");
            let text = String::from_utf8_lossy(&reply.body).into_owned();
            assert!(text.contains("Invalid JSON body"), "{text}");
        }
    }

    #[test]
    fn other_content_type_returns_415() {
        let reply = decode_body(Some("text/plain"), b"volume=1")
            .expect_err("rejected")
            .into_reply();

        assert_eq!(reply.status, 415);
        let text = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(text.contains("text/plain"), "{text}");
    }

    #[test]
    fn empty_body_has_no_parameters() {
        assert_eq!(decode_body(Some("text/plain"), b""), Ok(Vec::new()));
    }
}
