//! Field types that accept the loose JSON the Astro API sends.
//!
//! The API is not consistent about types: numbers sometimes arrive as numeric
//! strings, the currency is a string on some accounts and a number on others, and
//! optional fields are either `null` or missing. A [`Lenient`] field accepts any JSON
//! value, so a value of the wrong type does not fail the surrounding document. It
//! records whether the value was absent, usable, or present but unreadable, so that
//! one bad value costs one sample and not the whole scrape.
//!
//! NOTE: a number beyond the range of `f64`, such as `1e309`, still fails the
//! document, because serde_json rejects it before the field's visitor sees it.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON field read without failing the surrounding document.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Lenient<T> {
    /// The field was missing or `null`.
    #[default]
    Absent,
    /// The field held a usable value.
    Value(T),
    /// The field contained a value of the wrong type or out of range, described by
    /// the string.
    Invalid(String),
}

impl<T> Lenient<T> {
    /// Returns the value, or `None` when it was absent or invalid.
    pub fn value(self) -> Option<T> {
        match self {
            Lenient::Value(value) => Some(value),
            Lenient::Absent | Lenient::Invalid(_) => None,
        }
    }

    /// Returns a reference to the value, or `None` when it was absent or invalid.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Lenient::Value(value) => Some(value),
            Lenient::Absent | Lenient::Invalid(_) => None,
        }
    }

    fn map<U>(self, convert: impl FnOnce(T) -> U) -> Lenient<U> {
        match self {
            Lenient::Value(value) => Lenient::Value(convert(value)),
            Lenient::Absent => Lenient::Absent,
            Lenient::Invalid(reason) => Lenient::Invalid(reason),
        }
    }
}

/// Conversion from the JSON scalars a lenient field accepts.
///
/// Each method returns the field for one kind of JSON value; the defaults reject the
/// value as invalid.
trait FromJsonScalar: Sized {
    /// Describes the expected type in error texts ("a number", "a string").
    const EXPECTED: &'static str;

    fn from_u64(value: u64) -> Lenient<Self>;
    fn from_i64(value: i64) -> Lenient<Self>;
    fn from_f64(value: f64) -> Lenient<Self>;
    fn from_str(value: &str) -> Lenient<Self>;

    fn from_bool(value: bool) -> Lenient<Self> {
        Lenient::Invalid(format!(
            "expected {}, found boolean {value}",
            Self::EXPECTED
        ))
    }
}

impl FromJsonScalar for f64 {
    const EXPECTED: &'static str = "a number";

    fn from_u64(value: u64) -> Lenient<f64> {
        Lenient::Value(value as f64)
    }

    fn from_i64(value: i64) -> Lenient<f64> {
        Lenient::Value(value as f64)
    }

    fn from_f64(value: f64) -> Lenient<f64> {
        if value.is_finite() {
            Lenient::Value(value)
        } else {
            Lenient::Invalid(format!("number {value} is not finite"))
        }
    }

    /// Accepts a decimal number in a string (`"12.50"`), as some API versions send.
    /// Strings that Rust parses as infinity or NaN (`"inf"`, `"NaN"`) are invalid.
    fn from_str(value: &str) -> Lenient<f64> {
        match value.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Lenient::Value(number),
            _ => Lenient::Invalid(format!("string {value:?} is not a finite number")),
        }
    }
}

/// Reads a number sent as a string, as a lenient number field does.
pub(crate) fn number_in_string(value: &str) -> Lenient<f64> {
    <f64 as FromJsonScalar>::from_str(value)
}

impl FromJsonScalar for String {
    const EXPECTED: &'static str = "a string";

    fn from_u64(value: u64) -> Lenient<String> {
        Lenient::Value(value.to_string())
    }

    fn from_i64(value: i64) -> Lenient<String> {
        Lenient::Value(value.to_string())
    }

    /// Writes the number as JSON would, so that a currency code of `2.0` and `2` both
    /// read as "2".
    fn from_f64(value: f64) -> Lenient<String> {
        Lenient::Value(value.to_string())
    }

    fn from_str(value: &str) -> Lenient<String> {
        Lenient::Value(value.to_owned())
    }
}

impl<'de, T: FromJsonScalar> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: FromJsonScalar> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(T::EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(T::from_bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(T::from_u64(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(T::from_f64(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(value))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient::Invalid(format!(
            "expected {}, found an array",
            T::EXPECTED
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lenient::Invalid(format!(
            "expected {}, found an object",
            T::EXPECTED
        )))
    }
}

/// A text field that borrows from the document when the string has no escapes, and
/// otherwise reads like `Lenient<String>`. Decoding a page of ports this way saves an
/// allocation for nearly every text field.
impl<'de: 'a, 'a> Deserialize<'de> for Lenient<Cow<'a, str>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BorrowedTextVisitor(PhantomData))
    }
}

struct BorrowedTextVisitor<'a>(PhantomData<&'a str>);

impl BorrowedTextVisitor<'_> {
    const OWNED: LenientVisitor<String> = LenientVisitor(PhantomData);
}

fn owned<'a>(text: Lenient<String>) -> Lenient<Cow<'a, str>> {
    text.map(Cow::Owned)
}

impl<'de: 'a, 'a> Visitor<'de> for BorrowedTextVisitor<'a> {
    type Value = Lenient<Cow<'a, str>>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str(String::EXPECTED)
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient::Value(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Self::OWNED.visit_str(value).map(owned)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Self::OWNED.visit_bool(value).map(owned)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Self::OWNED.visit_i64(value).map(owned)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Self::OWNED.visit_u64(value).map(owned)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Self::OWNED.visit_f64(value).map(owned)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Self::OWNED.visit_seq(seq).map(owned)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Self::OWNED.visit_map(map).map(owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(json: &str) -> Lenient<f64> {
        serde_json::from_str(json).expect("lenient number never fails on valid JSON")
    }

    fn text(json: &str) -> Lenient<String> {
        serde_json::from_str(json).expect("lenient string never fails on valid JSON")
    }

    #[test]
    fn number_accepts_json_numbers() {
        assert_eq!(number("42"), Lenient::Value(42.0));
        assert_eq!(number("-3"), Lenient::Value(-3.0));
        assert_eq!(number("42.17"), Lenient::Value(42.17));
    }

    #[test]
    fn number_accepts_numeric_strings() {
        assert_eq!(number("\"12.50\""), Lenient::Value(12.5));
        assert_eq!(number("\" 1000000000 \""), Lenient::Value(1e9));
    }

    #[test]
    fn number_treats_null_as_absent() {
        assert_eq!(number("null"), Lenient::Absent);
    }

    #[test]
    fn number_rejects_other_types_and_non_finite_strings() {
        for json in [
            "true",
            "[1]",
            "{\"a\":1}",
            "\"abc\"",
            "\"\"",
            "\"NaN\"",
            "\"inf\"",
        ] {
            assert!(
                matches!(number(json), Lenient::Invalid(_)),
                "{json} must be invalid"
            );
        }
    }

    #[test]
    fn text_accepts_strings_and_numbers() {
        assert_eq!(text("\"USD\""), Lenient::Value("USD".to_owned()));
        assert_eq!(text("2"), Lenient::Value("2".to_owned()));
        assert_eq!(text("null"), Lenient::Absent);
        assert!(matches!(text("{}"), Lenient::Invalid(_)));
    }

    #[test]
    fn borrowed_text_reads_like_text() {
        fn borrowed(json: &str) -> Lenient<Cow<'_, str>> {
            serde_json::from_str(json).expect("lenient text never fails on valid JSON")
        }
        assert!(matches!(
            borrowed("\"USD\""),
            Lenient::Value(Cow::Borrowed("USD"))
        ));
        assert!(
            matches!(borrowed(r#""a\"b""#), Lenient::Value(Cow::Owned(text)) if text == "a\"b")
        );
        for json in ["2", "-2", "2.5", "null", "true", "[1]", "{}"] {
            assert_eq!(borrowed(json).map(Cow::into_owned), text(json), "{json}");
        }
    }

    #[test]
    fn missing_field_is_absent() {
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default)]
            value: Lenient<f64>,
        }
        let holder: Holder = serde_json::from_str("{}").expect("valid JSON");
        assert_eq!(holder.value, Lenient::Absent);
    }
}
