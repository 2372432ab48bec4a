//! HTTP basic authentication against the bcrypt hashes of `basic_auth_users`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::file::BcryptHash;

/// Most remembered bcrypt results; the memory is emptied when it is full. A scrape
/// storm with one set of credentials needs a single entry.
const MAX_CACHED_RESULTS: usize = 1024;

/// The users allowed in, and the results of earlier bcrypt checks.
///
/// A bcrypt check costs tens of milliseconds of CPU on purpose. Results are
/// remembered under a SHA-256 digest of user, hash and password, so that repeated
/// scrapes with the same credentials cost one check, and no password is kept in
/// memory.
#[derive(Debug, Default)]
pub struct BasicAuth {
    users: BTreeMap<String, BcryptHash>,
    checked: Mutex<HashMap<[u8; 32], bool>>,
}

impl BasicAuth {
    pub fn new(users: BTreeMap<String, BcryptHash>) -> BasicAuth {
        BasicAuth {
            users,
            checked: Mutex::default(),
        }
    }

    /// Returns whether any user is configured, which makes authentication required.
    pub fn is_enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value. Runs bcrypt on a blocking thread when
    /// the result is not remembered.
    pub async fn check(self: &Arc<Self>, authorization: Option<&[u8]>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        // An unknown user is checked against some configured hash all the same, so
        // that the time taken does not tell which user names exist.
        let (known, hash) = match self.users.get(&user) {
            Some(hash) => (true, hash.clone()),
            None => match self.users.values().next() {
                Some(hash) => (false, hash.clone()),
                None => return false,
            },
        };

        let key = cache_key(&user, &hash, &password);
        let remembered = self.remembered(&key);
        let matches = match remembered {
            Some(matches) => matches,
            None => {
                let matches = tokio::task::spawn_blocking(move || {
                    bcrypt::verify(password.as_bytes(), hash.as_str()).unwrap_or(false)
                })
                .await
                .unwrap_or(false);
                self.remember(key, matches);
                matches
            }
        };
        known && matches
    }

    fn remembered(&self, key: &[u8; 32]) -> Option<bool> {
        let checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        checked.get(key).copied()
    }

    fn remember(&self, key: [u8; 32], matches: bool) {
        let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        if checked.len() >= MAX_CACHED_RESULTS {
            checked.clear();
        }
        checked.insert(key, matches);
    }
}

fn cache_key(user: &str, hash: &BcryptHash, password: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    for part in [user, hash.as_str(), password] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

/// Splits `Basic base64(user:password)` into user and password.
fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_parsed() {
        let header = format!("Basic {}", STANDARD.encode("alice:pa:ss"));
        assert_eq!(
            parse_basic(header.as_bytes()),
            Some(("alice".to_owned(), "pa:ss".to_owned()))
        );
        let lowercase = format!("basic {}", STANDARD.encode("bob:x"));
        assert_eq!(
            parse_basic(lowercase.as_bytes()),
            Some(("bob".to_owned(), "x".to_owned()))
        );
    }

    #[test]
    fn other_schemes_and_garbage_are_rejected() {
        assert_eq!(parse_basic(b"Bearer abc"), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        assert_eq!(parse_basic(b"Basic"), None);
        let no_colon = format!("Basic {}", STANDARD.encode("alice"));
        assert_eq!(parse_basic(no_colon.as_bytes()), None);
    }

    #[test]
    fn cache_keys_differ_by_every_part() {
        let hash: BcryptHash = serde_yaml_ng::from_str(
            "\"$2y$04$LUJ2hgcXGYrQ3JfLPM0v2uyNGr5mJ7W6mB2GGyPGpmq4dAHXS2mSa\"",
        )
        .expect("a bcrypt hash");
        let base = cache_key("alice", &hash, "secret");
        assert_ne!(base, cache_key("alicf", &hash, "secret"));
        assert_ne!(base, cache_key("alice", &hash, "secreu"));
        assert_ne!(cache_key("ab", &hash, "c"), cache_key("a", &hash, "bc"));
    }
}
