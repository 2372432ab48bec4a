//! A decoder for the usual shape of a `GET /ports` page, written for speed.
//!
//! Decoding the pages is most of the CPU a scrape of a large account costs, and most
//! of that went to serde's general machinery. This scanner reads the one shape the
//! API sends, straight from the bytes, into the same [`RawPort`] values the serde
//! decoder builds, which [`convert_port`] then converts as before.
//!
//! It gives up, returning `None`, on anything it does not read exactly as serde
//! would: a value of an unusual type, a number that is not a plain integer, a key
//! given twice, invalid JSON. The serde decoders then read the page, and unit tests
//! check that both decoders give the same result.

use std::borrow::Cow;

use super::{PortsPage, RawListenPorts, RawNode, RawPort, RawTraffic, convert_port, whole_count};
use crate::api::lenient::{Lenient, number_in_string};

/// Nesting deeper than this is left to serde, which has a limit of its own.
const MAX_DEPTH: usize = 64;

/// Decodes a page with status "ok" (or none) and a list of port objects under
/// `data.ports`, or returns `None`.
pub fn parse_usual_page(body: &str) -> Option<PortsPage> {
    let mut scanner = Scanner {
        text: body,
        bytes: body.as_bytes(),
        position: 0,
    };
    let mut status = Lenient::Absent;
    let mut total = Lenient::Absent;
    let mut ports = None;
    let mut seen = Seen::default();
    scanner.object(|scanner, key| match key {
        "status" => seen.set(0, &mut status, scanner.text()),
        "total" => seen.set(1, &mut total, scanner.number()),
        "data" => seen.set(2, &mut ports, scanner.data().map(Some)),
        _ => scanner.skip(0),
    })?;

    scanner.whitespace();
    if scanner.position != scanner.bytes.len() {
        return None;
    }
    if status.as_value().is_some_and(|status| status != "ok") {
        return None;
    }

    let (ports, entries) = ports?;
    Some(PortsPage {
        ports,
        entries,
        total: whole_count(total, "total"),
    })
}

/// The set of known keys of an object already read, up to 32, so that a key given
/// twice, which serde rejects, makes the scanner give up.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, index: u32) -> Option<()> {
        let bit = 1 << index;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }

    /// Stores the value read for the key with `index`, if that key is new.
    fn set<T>(&mut self, index: u32, slot: &mut T, value: Option<T>) -> Option<()> {
        self.first(index)?;
        *slot = value?;
        Some(())
    }
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Scanner<'a> {
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.position) {
            self.position += 1;
        }
    }

    /// Skips whitespace and returns the next byte without taking it.
    fn peek(&mut self) -> Option<u8> {
        self.whitespace();
        self.bytes.get(self.position).copied()
    }

    fn take(&mut self, expected: u8) -> Option<()> {
        (self.peek()? == expected).then(|| self.position += 1)
    }

    /// Reads an object, calling `field` with each key when the scanner is at the
    /// key's value, which `field` must read.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.take(b'{')?;
        if self.peek()? == b'}' {
            self.position += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.take(b':')?;
            field(self, &key)?;
            match self.peek()? {
                b',' => self.position += 1,
                b'}' => {
                    self.position += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Reads a string, borrowed from the page unless it has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.take(b'"')?;
        let start = self.position;
        let mut escaped = false;
        loop {
            self.skip_plain_string_bytes();
            match *self.bytes.get(self.position)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.position += 2;
                }
                0..0x20 => return None,
                _ => self.position += 1,
            }
        }
        let end = self.position;
        self.position += 1;
        if !escaped {
            return Some(Cow::Borrowed(self.text.get(start..end)?));
        }
        // Escapes are rare, so serde reads them, quotes included.
        serde_json::from_str::<String>(self.text.get(start - 1..end + 1)?)
            .ok()
            .map(Cow::Owned)
    }

    /// Moves past the plain bytes of a string eight at a time, up to the first quote,
    /// backslash or control character. The last seven bytes of a page are left to
    /// the caller, which reads them one at a time.
    fn skip_plain_string_bytes(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        /// Returns the high bit of each zero byte of `word`. The lowest one is exact,
        /// and bits above it may be false, so callers read only the lowest set bit.
        fn zero_bytes(word: u64) -> u64 {
            word.wrapping_sub(ONES) & !word & HIGH
        }
        while let Some(chunk) = self
            .bytes
            .get(self.position..)
            .and_then(<[u8]>::first_chunk)
        {
            let word = u64::from_le_bytes(*chunk);
            // After subtracting 0x20, bytes below 0x20 and bytes from 0xa0 have the
            // high bit set, and `& !word` clears it for the latter. As in `zero_bytes`,
            // only the lowest set bit is exact.
            let special = zero_bytes(word ^ (ONES * u64::from(b'"')))
                | zero_bytes(word ^ (ONES * u64::from(b'\\')))
                | (word.wrapping_sub(ONES * 0x20) & !word & HIGH);
            if special != 0 {
                self.position += special.trailing_zeros() as usize / 8;
                return;
            }
            self.position += 8;
        }
    }

    /// Reads a number and returns its text, if it follows JSON's grammar.
    fn number_token(&mut self) -> Option<&'a str> {
        self.whitespace();
        let start = self.position;
        let digits = |scanner: &mut Self| {
            let from = scanner.position;
            while scanner
                .bytes
                .get(scanner.position)
                .is_some_and(u8::is_ascii_digit)
            {
                scanner.position += 1;
            }
            scanner.position > from
        };
        if self.bytes.get(self.position) == Some(&b'-') {
            self.position += 1;
        }
        let leading_zero = self.bytes.get(self.position) == Some(&b'0');
        if !digits(self)
            || (leading_zero && self.position - start > 1 + usize::from(self.bytes[start] == b'-'))
        {
            return None;
        }
        if self.bytes.get(self.position) == Some(&b'.') {
            self.position += 1;
            if !digits(self) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.position) {
            self.position += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.position) {
                self.position += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        self.text.get(start..self.position)
    }

    /// Takes `literal` (`null`, `true` or `false`) if it comes next.
    fn literal(&mut self, literal: &str) -> bool {
        let found = self.bytes[self.position..].starts_with(literal.as_bytes());
        if found {
            self.position += literal.len();
        }
        found
    }

    /// Reads a text field as `Lenient<Cow<str>>` reads it. Gives up on numbers that
    /// are not plain integers and on other types.
    fn text(&mut self) -> Option<Lenient<Cow<'a, str>>> {
        match self.peek()? {
            b'"' => self.string().map(Lenient::Value),
            b'n' => self.literal("null").then_some(Lenient::Absent),
            b'-' | b'0'..=b'9' => {
                let token = self.number_token()?;
                // serde writes an integer back as the same digits, except `-0`.
                let plain = token
                    .bytes()
                    .skip(usize::from(token.starts_with('-')))
                    .all(|byte| byte.is_ascii_digit());
                let fits = if token.starts_with('-') {
                    token.parse::<i64>().is_ok()
                } else {
                    token.parse::<u64>().is_ok()
                };
                (plain && fits && token != "-0").then_some(Lenient::Value(Cow::Borrowed(token)))
            }
            _ => None,
        }
    }

    /// Reads a number field as `Lenient<f64>` reads it. Gives up on types other than
    /// numbers, strings and null.
    fn number(&mut self) -> Option<Lenient<f64>> {
        match self.peek()? {
            b'"' => Some(number_in_string(&self.string()?)),
            b'n' => self.literal("null").then_some(Lenient::Absent),
            b'-' | b'0'..=b'9' => {
                let token = self.number_token()?;
                if token == "-0" {
                    return None;
                }
                // The same conversions as serde's: an integer becomes a u64 or i64 and
                // then an f64. serde_json itself parses any other number.
                let value = if let Ok(value) = token.parse::<u64>() {
                    value as f64
                } else if let Ok(value) = token.parse::<i64>() {
                    value as f64
                } else {
                    serde_json::from_str::<f64>(token).ok()?
                };
                value.is_finite().then_some(Lenient::Value(value))
            }
            _ => None,
        }
    }

    /// Skips any value, checking that it is valid JSON.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|scanner, _| scanner.skip(depth + 1)),
            b'[' => self.array(|scanner| scanner.skip(depth + 1)),
            b'-' | b'0'..=b'9' => self.number_token().map(drop),
            b'n' => self.literal("null").then_some(()),
            b't' => self.literal("true").then_some(()),
            b'f' => self.literal("false").then_some(()),
            _ => None,
        }
    }

    /// Reads an array, calling `element` to read each element.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.take(b'[')?;
        if self.peek()? == b']' {
            self.position += 1;
            return Some(());
        }
        loop {
            element(self)?;
            match self.peek()? {
                b',' => self.position += 1,
                b']' => {
                    self.position += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Reads `data`, which must contain `ports`, and returns the converted ports and the
    /// number of entries.
    fn data(&mut self) -> Option<(Vec<super::Port>, usize)> {
        let mut list = None;
        let mut seen = Seen::default();
        self.object(|scanner, key| {
            if key != "ports" {
                return scanner.skip(1);
            }
            seen.first(0)?;
            let mut ports = Vec::new();
            let mut entries = 0;
            scanner.array(|scanner| {
                ports.extend(scanner.port(entries)?);
                entries += 1;
                Some(())
            })?;
            list = Some((ports, entries));
            Some(())
        })?;
        list
    }

    /// Reads one port object and converts it: `Some(None)` is an entry that
    /// [`convert_port`] drops.
    fn port(&mut self, index: usize) -> Option<Option<super::Port>> {
        let mut port = RawPort::default();
        let mut seen = Seen::default();
        self.object(|scanner, key| {
            match key {
                "id" => seen.set(0, &mut port.id, scanner.text())?,
                "name" => seen.set(1, &mut port.name, scanner.text())?,
                "createdAt" => seen.set(2, &mut port.created_at, scanner.text())?,
                "endsAt" => seen.set(3, &mut port.ends_at, scanner.text())?,
                "country" => seen.set(4, &mut port.country, scanner.text())?,
                "city" => seen.set(5, &mut port.city, scanner.text())?,
                "operator" => seen.set(6, &mut port.operator, scanner.text())?,
                "network" => seen.set(7, &mut port.network, scanner.text())?,
                "node" => {
                    seen.first(8)?;
                    let node = scanner.text_pair(["address", "ip"])?;
                    port.node = node.map(|[address, ip]| RawNode { address, ip });
                }
                "ports" => {
                    seen.first(9)?;
                    let ports = scanner.text_pair(["http", "socks"])?;
                    port.ports = ports.map(|[http, socks]| RawListenPorts { http, socks });
                }
                "traffic" => {
                    seen.first(10)?;
                    port.traffic = scanner.nullable(Self::traffic)?;
                }
                _ => scanner.skip(1)?,
            }
            Some(())
        })?;
        Some(convert_port(index, &port))
    }

    /// Reads `null`, or an object with the text fields `keys` and any others, which
    /// are skipped.
    fn text_pair(&mut self, keys: [&str; 2]) -> Option<Option<[Lenient<Cow<'a, str>>; 2]>> {
        self.nullable(|scanner| {
            let mut values = [Lenient::Absent, Lenient::Absent];
            let mut seen = Seen::default();
            scanner.object(
                |scanner, key| match keys.iter().position(|known| *known == key) {
                    Some(index) => seen.set(index as u32, &mut values[index], scanner.text()),
                    None => scanner.skip(2),
                },
            )?;
            Some(values)
        })
    }

    fn traffic(&mut self) -> Option<RawTraffic> {
        let mut traffic = RawTraffic::default();
        let mut seen = Seen::default();
        self.object(|scanner, key| {
            let (index, field) = match key {
                "total" => (0, &mut traffic.total),
                "used" => (1, &mut traffic.used),
                "left" => (2, &mut traffic.left),
                "total_mb" => (3, &mut traffic.total_mb),
                "used_mb" => (4, &mut traffic.used_mb),
                "left_mb" => (5, &mut traffic.left_mb),
                _ => return scanner.skip(2),
            };
            seen.first(index)?;
            *field = scanner.number()?;
            Some(())
        })?;
        Some(traffic)
    }

    /// Reads `null` as `None`, or an object with `read`.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.peek()? {
            b'n' => self.literal("null").then_some(None),
            b'{' => read(self).map(Some),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::parse_well_formed_with_serde;
    use super::*;

    /// Asserts that when the scanner reads `body`, serde reads it the same way, and
    /// returns whether the scanner read it.
    fn assert_same_as_serde(body: &str) -> bool {
        let scanned = parse_usual_page(body);
        if let Some(scanned) = &scanned {
            assert_eq!(
                Some(scanned),
                parse_well_formed_with_serde(body).as_ref(),
                "{body}"
            );
        }
        scanned.is_some()
    }

    fn page(entries: &str) -> String {
        format!(
            r#"{{"status":"ok","total":2,"count":2,"currentPage":1,"data":{{"ports":[{entries}]}}}}"#
        )
    }

    #[test]
    fn sample_pages_take_the_scanner() {
        for body in [
            include_str!("../../../tests/fixtures/astro-api/ports-active-page-1.json"),
            include_str!("../../../tests/fixtures/astro-api/ports-active-page-2.json"),
            include_str!("../../../tests/fixtures/astro-api/ports-archived-count-only.json"),
        ] {
            assert!(assert_same_as_serde(body), "{body}");
        }
    }

    #[test]
    fn usual_variations_take_the_scanner() {
        let cases = [
            r#"{"id":1,"name":"caf\u00e9 \"quoted\" \/ slash","country":"C\u00f4te d'Ivoire"}"#,
            r#" { "id" : "7" , "node" : null , "ports" : { "http" : 10000 , "socks" : "10001" } } "#,
            r#"{"id":-12,"traffic":{"total":"10000000000","used":1.5e3,"left":null,"left_mb":12.25}}"#,
            r#"{"id":2,"createdAt":"2026-11-02T09:14:55.000000Z","endsAt":"2026-12-20 18:02:11"}"#,
            r#"{"id":3,"access":{"login":"u","password":"p","ip":null},"rotation":[1,{"a":[true,false]}]}"#,
            r#"{"id":18446744073709551615,"traffic":{"total":-9223372036854775808}}"#,
            r#"{"st\u0061tus":1,"id":4}"#,
        ];
        for entry in cases {
            assert!(assert_same_as_serde(&page(entry)), "{entry}");
        }
        assert!(assert_same_as_serde(
            r#"{"data":{"ports":[]},"status":"ok"}"#
        ));
    }

    #[test]
    fn unusual_values_are_left_to_serde() {
        let cases = [
            r#"{"id":true}"#,
            r#"{"id":1.5}"#,
            r#"{"id":-0}"#,
            r#"{"id":99999999999999999999}"#,
            r#"{"id":{"nested":1}}"#,
            r#"{"id":1,"id":2}"#,
            r#"{"id":1,"traffic":{"left":[1]}}"#,
            r#"{"id":1,"traffic":{"left":1e400}}"#,
            r#"{"id":1,"node":"x"}"#,
            "\"not a port\"",
        ];
        for entry in cases {
            assert!(!assert_same_as_serde(&page(entry)), "{entry}");
        }
        for body in [
            r#"{"status":"error","data":{"ports":[]}}"#,
            r#"{"status":"ok","data":{"ports":[]}} trailing"#,
            r#"{"status":"ok","data":{"ports":[],"ports":[]}}"#,
            r#"{"status":"ok","data":null}"#,
            r#"{"status":"ok"}"#,
            r#"{"status":"ok","data":{"ports":[{"id":01}]}}"#,
            r#"{"status":"ok","data":{"ports":[{"id":"a\qb"}]}}"#,
            r#"{"status":"ok","data":{"ports":[{"id":"a\"#,
            "{\"status\":\"ok\",\"data\":{\"ports\":[{\"id\":\"a\u{1}b\"}]}}",
        ] {
            assert!(!assert_same_as_serde(body), "{body}");
        }
    }

    #[test]
    fn string_stops_at_every_offset() {
        // Strings are read eight bytes at a time, so each special byte is tried at
        // every position of a word, next to bytes that look alike (0x1f and 0x20,
        // 0x5b and 0x5d, multibyte characters).
        for special in ["\\\"", "\\\\", "\\u0041", "\u{1f}", "\u{0}", "é", "\u{7f}"] {
            for offset in 0..20 {
                let name = format!("{}{special}{}", "a ]".repeat(offset / 3 + 1), "x\u{20}[");
                let name = &name[offset % 3..];
                let entry = format!(r#"{{"id":1,"name":"{name}","city":"c"}}"#);
                let read = assert_same_as_serde(&page(&entry));
                let control = special.bytes().any(|byte| byte < 0x20);
                assert_eq!(read, !control, "{entry:?}");
            }
        }
    }

    /// JSON texts for the value of a port field, usual and not.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9 ]{0,8}".prop_map(|text| format!("{text:?}")),
            Just(r#""a\"b\\c\u00e9""#.to_owned()),
            Just(r#""12.5""#.to_owned()),
            any::<i64>().prop_map(|number| number.to_string()),
            any::<u64>().prop_map(|number| number.to_string()),
            any::<f64>().prop_map(|number| number.to_string()),
            Just("1e400".to_owned()),
            Just("-0".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("[1,{\"a\":null}]".to_owned()),
            Just(r#"{"address":"n","ip":7,"http":1,"total":"5","left_mb":3}"#.to_owned()),
            Just("{}".to_owned()),
        ]
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "id",
            "name",
            "createdAt",
            "endsAt",
            "node",
            "ports",
            "country",
            "city",
            "operator",
            "network",
            "traffic",
            "access",
            "other",
        ])
    }

    proptest! {
        #[test]
        fn scanner_agrees_with_serde(
            entries in prop::collection::vec(
                prop::collection::vec((key(), value()), 0..8), 0..4),
            spaced in any::<bool>(),
        ) {
            let separator = if spaced { " ,\n " } else { "," };
            let entries: Vec<String> = entries
                .iter()
                .map(|fields| {
                    let fields: Vec<String> =
                        fields.iter().map(|(key, value)| format!("{key:?}:{value}")).collect();
                    format!("{{{}}}", fields.join(separator))
                })
                .collect();
            assert_same_as_serde(&page(&entries.join(separator)));
        }
    }
}
