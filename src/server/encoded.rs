//! Encoded responses shared by scrapes that share one snapshot.
//!
//! Concurrent scrapes already share one fetch (single flight); without this they
//! would still each encode and compress the same metrics. A body is reused only for
//! the same snapshot, format and compression, and only for a second, so the
//! exporter's own metrics in it are at most that old.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::collect::Snapshot;
use crate::metrics::Format;

/// How long an encoded body is reused.
const MAX_AGE: Duration = Duration::from_secs(1);

/// How many bodies are kept: one per account, format and compression in use.
const CAPACITY: usize = 16;

/// The inputs a body was encoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyKind {
    pub with_exporter: bool,
    pub format: Format,
    pub gzip: bool,
}

#[derive(Debug)]
struct Entry {
    /// Weak, so that a reused address cannot be taken for the same snapshot: the
    /// allocation stays reserved while this exists.
    snapshot: Weak<Snapshot>,
    kind: BodyKind,
    encoded_at: Instant,
    body: Vec<Bytes>,
}

impl Entry {
    /// Returns whether the body is young enough and its snapshot still in use.
    fn servable(&self) -> bool {
        self.encoded_at.elapsed() < MAX_AGE && self.snapshot.strong_count() > 0
    }
}

/// Recently encoded bodies.
#[derive(Debug, Default)]
pub struct EncodedBodies {
    entries: Mutex<Vec<Entry>>,
}

impl EncodedBodies {
    /// Returns the body encoded from `snapshot` as `kind` within the last second, or
    /// encodes a new one with `encode` and keeps it.
    pub fn get_or_encode<E>(
        &self,
        snapshot: &Arc<Snapshot>,
        kind: BodyKind,
        encode: impl FnOnce() -> Result<Vec<Bytes>, E>,
    ) -> Result<Vec<Bytes>, E> {
        if let Some(body) = self.find(snapshot, kind) {
            return Ok(body);
        }
        self.prune();
        let body = encode()?;
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(Entry::servable);
        if entries.len() >= CAPACITY {
            entries.remove(0);
        }
        entries.push(Entry {
            snapshot: Arc::downgrade(snapshot),
            kind,
            encoded_at: Instant::now(),
            body: body.clone(),
        });
        Ok(body)
    }

    /// Drops the bodies that can no longer be served. A scrape calls this before it
    /// fetches, so that the memory of an old body does not add to that of the new
    /// snapshot and its body.
    pub fn prune(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(Entry::servable);
    }

    fn find(&self, snapshot: &Arc<Snapshot>, kind: BodyKind) -> Option<Vec<Bytes>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|entry| {
                entry.kind == kind
                    && entry.encoded_at.elapsed() < MAX_AGE
                    && std::ptr::eq(entry.snapshot.as_ptr(), Arc::as_ptr(snapshot))
            })
            .map(|entry| entry.body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: BodyKind = BodyKind {
        with_exporter: true,
        format: Format::Text,
        gzip: false,
    };

    fn encode(text: &'static str) -> impl FnOnce() -> Result<Vec<Bytes>, ()> {
        move || Ok(vec![Bytes::from_static(text.as_bytes())])
    }

    #[test]
    fn same_snapshot_and_kind_reuse_the_body() {
        let bodies = EncodedBodies::default();
        let snapshot = Arc::new(Snapshot::default());
        assert_eq!(
            bodies.get_or_encode(&snapshot, TEXT, encode("first")),
            Ok(vec![Bytes::from("first")])
        );
        assert_eq!(
            bodies.get_or_encode(&snapshot, TEXT, encode("second")),
            Ok(vec![Bytes::from("first")])
        );
    }

    #[test]
    fn other_snapshot_or_kind_is_encoded_again() {
        let bodies = EncodedBodies::default();
        let first = Arc::new(Snapshot::default());
        let second = Arc::new(Snapshot::default());
        bodies
            .get_or_encode(&first, TEXT, encode("first"))
            .expect("encoded");

        assert_eq!(
            bodies.get_or_encode(&second, TEXT, encode("second")),
            Ok(vec![Bytes::from("second")])
        );
        let gzip = BodyKind { gzip: true, ..TEXT };
        assert_eq!(
            bodies.get_or_encode(&first, gzip, encode("gzip")),
            Ok(vec![Bytes::from("gzip")])
        );
    }

    #[test]
    fn prune_drops_bodies_of_dropped_snapshots() {
        let bodies = EncodedBodies::default();
        let kept = Arc::new(Snapshot::default());
        let dropped = Arc::new(Snapshot::default());
        for snapshot in [&kept, &dropped] {
            bodies
                .get_or_encode(snapshot, TEXT, encode("body"))
                .expect("encoded");
        }
        drop(dropped);

        bodies.prune();
        let entries = bodies.entries.lock().expect("not poisoned");
        assert_eq!(entries.len(), 1);
        assert!(std::ptr::eq(
            entries[0].snapshot.as_ptr(),
            Arc::as_ptr(&kept)
        ));
    }
}
