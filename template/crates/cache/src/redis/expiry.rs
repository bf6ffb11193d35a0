//! The time a key has left, and giving it a new one, on Redis (`PTTL`, `PEXPIRE`); and
//! the owner-checked versions a lock needs: remove or extend a key only while it holds
//! the owner's token, in one script each.

use std::time::Duration;

use super::{RedisStore, millis};
use crate::CacheError;

/// Unlinks KEYS[1] if it holds ARGV[1]; 1 if it did.
const DELETE_IF_EQUAL: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end return 0";

/// Gives KEYS[1] the TTL ARGV[2] ms if it holds ARGV[1]; 1 if it did.
const EXPIRE_IF_EQUAL: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

impl RedisStore {
    /// `PTTL`: `None` when absent, `Duration::MAX` when the key never expires. Asks
    /// Redis, not the L1.
    pub(crate) async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        let left: i64 = self.query(redis::cmd("PTTL").arg(self.key(key))).await?;
        Ok(match left {
            -2 => None,
            -1 => Some(Duration::MAX),
            millis => Some(Duration::from_millis(u64::try_from(millis).unwrap_or(0))),
        })
    }

    /// `PEXPIRE`: `false` when the key is absent.
    pub(crate) async fn expire(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut command = redis::cmd("PEXPIRE");
        command.arg(self.key(key)).arg(millis(ttl));
        let changed: u64 = self.write(key, self.query(&command)).await?;
        Ok(changed == 1)
    }

    /// Removes `key` if it holds exactly `json` (stored small, so never compressed).
    pub(crate) async fn delete_if_equal(&self, key: &str, json: &str) -> Result<bool, CacheError> {
        self.if_equal(key, json, DELETE_IF_EQUAL, None).await
    }

    /// Gives `key` the TTL `ttl` if it holds exactly `json`.
    pub(crate) async fn expire_if_equal(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.if_equal(key, json, EXPIRE_IF_EQUAL, Some(ttl)).await
    }

    async fn if_equal(
        &self,
        key: &str,
        json: &str,
        script: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, CacheError> {
        let mut command = redis::cmd("EVAL");
        command
            .arg(script)
            .arg(1)
            .arg(self.key(key))
            .arg(&*self.compression.encode(json));
        if let Some(ttl) = ttl {
            command.arg(millis(ttl));
        }
        let done: u64 = self.write(key, self.query(&command)).await?;
        Ok(done == 1)
    }
}
