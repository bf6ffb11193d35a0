//! Fill leases on Redis, so that a load on one instance cannot store a value older than
//! an invalidation sent by any instance.
//!
//! A load takes the key's lease before it starts: a token under a lease key of its own
//! (`{CACHE_PREFIX}:l{CACHE_VERSION}:…`), created if absent and shared if another load
//! holds it already (any invalidation removes it, so a token that is still there has
//! outlived no invalidation since it was handed out). Every write and invalidation of
//! the key removes the lease key before (or with) the value. A load stores its value by
//! a script that checks the token and writes in one step. Tags are recorded when the
//! lease is taken, before the load, so a tag's invalidation finds the lease too.
//!
//! A script may only touch keys of one Cluster slot, so the lease key must hash like the
//! value's key: it is `…:l{v}:{key}` when the key carries a hash tag of its own (the
//! prefix has no braces), and `…:l{v}:{<the value's full key>}` otherwise, which makes
//! the whole value key the hash tag. A key with a `}` but no hash tag (`a}b`, `a{}b`) can
//! have neither; its loads are guarded in this process only (see `lease_key`).

use std::time::Duration;

use super::{RedisStore, millis};
use crate::CacheError;
use crate::token::new_token;

/// How long a lease lives without its load storing: a load slower than this is answered
/// but not stored. Each load that shares the lease extends it.
pub(crate) const LEASE_FOR: Duration = Duration::from_secs(60);

/// The token under KEYS[1], its life extended to ARGV[2] ms; or, if there is none,
/// ARGV[1], stored there for that long.
const GRANT: &str = "local held = redis.call('GET', KEYS[1]) \
if held then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return held end \
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1]";

/// Stores ARGV[2] under KEYS[1] for ARGV[3] ms if the lease KEYS[2] still holds the
/// token ARGV[1], and then ends the lease; 1 if it stored.
const FILL: &str = "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end \
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) redis.call('UNLINK', KEYS[2]) return 1";

/// A load's lease on Redis.
pub(crate) enum RedisLease {
    /// The token under the lease key.
    Token { lease_key: String, token: String },
    /// The key can have no lease on a Cluster (see the module): stored unguarded.
    Unguarded,
    /// Taking the lease failed: the value is not stored.
    Failed(CacheError),
}

impl RedisStore {
    /// Takes `key`'s lease for a load whose value will carry `tags` and live about `ttl`,
    /// and records the tags (for the lease's life plus `ttl`, so they outlive the value).
    pub(crate) async fn lease(&self, key: &str, tags: &[String], ttl: Duration) -> RedisLease {
        let lease = match self.lease_key(key) {
            Some(lease_key) => {
                let mut grant = redis::cmd("EVAL");
                grant
                    .arg(GRANT)
                    .arg(1)
                    .arg(&lease_key)
                    .arg(new_token())
                    .arg(millis(LEASE_FOR));
                match self.query::<String>(&grant).await {
                    Ok(token) => RedisLease::Token { lease_key, token },
                    Err(error) => return RedisLease::Failed(error),
                }
            }
            None => RedisLease::Unguarded,
        };
        if !tags.is_empty()
            && let Err(error) = self.tag(key, tags, ttl.saturating_add(LEASE_FOR)).await
        {
            return RedisLease::Failed(error);
        }
        lease
    }

    /// Stores a load's `json` under `key` for `ttl` if its `lease` still holds; whether
    /// it stored.
    pub(crate) async fn fill(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
        lease: RedisLease,
    ) -> Result<bool, CacheError> {
        match lease {
            RedisLease::Token { lease_key, token } => {
                let mut fill = redis::cmd("EVAL");
                fill.arg(FILL)
                    .arg(2)
                    .arg(self.key(key))
                    .arg(lease_key)
                    .arg(token)
                    .arg(&*self.compression.encode(json))
                    .arg(millis(ttl));
                let stored: u64 = self.write(key, self.query(&fill)).await?;
                Ok(stored == 1)
            }
            RedisLease::Unguarded => self.set(key, json, ttl).await.map(|()| true),
            RedisLease::Failed(error) => Err(error),
        }
    }

    /// The lease key of `key`, in the value key's Cluster slot; `None` when no name can
    /// be (a `}` without a hash tag).
    pub(crate) fn lease_key(&self, key: &str) -> Option<String> {
        let value_key = self.key(key);
        let candidate = match hash_tag(value_key.as_bytes()) {
            Some(_) => format!("{}{key}", self.lease_prefix),
            // The whole value key as the hash tag (braces spelled as chars: this crate is
            // copied into generated projects verbatim, where doubled braces read as Liquid).
            None => format!("{}{}{value_key}{}", self.lease_prefix, '{', '}'),
        };
        let slot_of = |key: &[u8]| hash_tag(key).unwrap_or(key).to_vec();
        (slot_of(candidate.as_bytes()) == slot_of(value_key.as_bytes())).then_some(candidate)
    }

    /// The `SCAN MATCH` patterns of the lease keys of the keys matching the glob
    /// `pattern`, in both forms.
    pub(crate) fn lease_patterns(&self, pattern: &str) -> [String; 2] {
        let mut wrapped = super::scan_pattern(
            &format!("{}{}{}", self.lease_prefix, '{', self.key_prefix),
            pattern,
        );
        wrapped.push('}');
        [super::scan_pattern(&self.lease_prefix, pattern), wrapped]
    }
}

/// What Redis Cluster hashes of `key`: the text between the first `{` and the next `}`
/// when it is not empty (the Cluster specification's rule).
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&byte| byte == b'{')?;
    let close = key[open + 1..].iter().position(|&byte| byte == b'}')?;
    let tag = &key[open + 1..open + 1 + close];
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::hash_tag;

    #[test]
    fn hash_tags_follow_the_cluster_rule() {
        assert_eq!(hash_tag(b"user:{42}:cart"), Some(&b"42"[..]));
        assert_eq!(
            hash_tag(b"a{}b{c}"),
            None,
            "an empty first tag hashes the whole key"
        );
        assert_eq!(hash_tag(b"a}b{c"), None);
        assert_eq!(hash_tag(b"{a{b}c}"), Some(&b"a{b"[..]));
    }
}
