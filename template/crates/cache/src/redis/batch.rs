//! Batches: many keys in one round trip (one per node on a Cluster, where the `redis`
//! crate splits a multi-key command by slot and a pipeline by node).
//!
//! Reads take what the L1 holds and ask Redis (`MGET`) for the rest only; they do not
//! fill the L1 (a copy needs its TTL, which `MGET` does not tell). Writes and deletes
//! remove the keys' fill leases first, as single writes do, and keep their
//! invalidations when Redis does not take them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use redis::cluster_routing::Slot;
use serde::de::IgnoredAny;

use super::{RedisStore, millis};
use crate::CacheError;

impl RedisStore {
    /// Unlinks the fill leases of `keys`, then `keys` (a load storing in between finds its
    /// lease gone); how many keys held a value.
    pub(super) async fn unlink_with_leases(&self, keys: &[&str]) -> Result<u64, CacheError> {
        let leases: Vec<String> = keys.iter().filter_map(|key| self.lease_key(key)).collect();
        if !leases.is_empty() {
            self.query::<u64>(redis::cmd("UNLINK").arg(&leases)).await?;
        }
        let full: Vec<String> = keys.iter().map(|key| self.key(key)).collect();
        self.query::<u64>(redis::cmd("UNLINK").arg(&full)).await
    }

    /// The JSON under each of `keys`, in their order.
    pub(crate) async fn get_many(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Option<Arc<str>>>, CacheError> {
        let mut values: Vec<Option<Arc<str>>> = vec![None; keys.len()];
        let mut asked = Vec::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            match self.l1_copy(key) {
                Some((json, _)) => values[index] = Some(json),
                None => asked.push(index),
            }
        }
        if asked.is_empty() {
            return Ok(values);
        }
        let mut mget = redis::cmd("MGET");
        for &index in &asked {
            mget.arg(self.key(keys[index]));
        }
        let stored: Vec<Option<Vec<u8>>> = self.query(&mget).await?;
        for (index, stored) in asked.into_iter().zip(stored) {
            let key = keys[index];
            let Some(text) = self.text(key, stored).await? else {
                continue;
            };
            if serde_json::from_str::<IgnoredAny>(&text).is_err() {
                tracing::warn!(
                    key,
                    "a cached value is not JSON; treating it as a miss and removing it"
                );
                self.unlink_json_if_unchanged(key, &text).await?;
                continue;
            }
            values[index] = Some(Arc::from(text));
        }
        Ok(values)
    }

    /// Stores every `(key, json)` for `ttl`, each after removing its fill lease, in one
    /// pipeline.
    pub(crate) async fn set_many(
        &self,
        entries: &[(&str, String)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One pipeline, each SET after its lease's UNLINK. A Cluster refuses a pipeline
        // that crosses slots, so there it is split by slot (a value and its lease share
        // one) and the parts are sent at once.
        let mut pipeline = redis::pipe();
        let mut slots = Vec::with_capacity(entries.len() * 2);
        for (key, json) in entries {
            let full = self.key(key);
            let slot = Slot::for_key(&full);
            if let Some(lease_key) = self.lease_key(key) {
                pipeline.cmd("UNLINK").arg(lease_key).ignore();
                slots.push(slot);
            }
            pipeline
                .cmd("SET")
                .arg(&full)
                .arg(&*self.compression.encode(json))
                .arg("PX")
                .arg(millis(ttl))
                .ignore();
            slots.push(slot);
        }
        self.drop_l1_copies(entries.iter().map(|(key, _)| *key));
        let outcome = self
            .run_admitted(|connection| {
                let (pipeline, slots) = (&pipeline, &slots);
                async move {
                    if !connection.is_cluster() {
                        let mut connection = connection;
                        return pipeline.query_async::<()>(&mut connection).await;
                    }
                    let mut by_slot: HashMap<Slot, redis::Pipeline> = HashMap::new();
                    for (command, slot) in pipeline.cmd_iter().zip(slots) {
                        by_slot
                            .entry(*slot)
                            .or_default()
                            .add_command(command.clone())
                            .ignore();
                    }
                    try_join_all(by_slot.values().map(|part| {
                        let mut connection = connection.clone();
                        async move { part.query_async::<()>(&mut connection).await }
                    }))
                    .await
                    .map(drop)
                }
            })
            .await;
        self.drop_l1_copies(entries.iter().map(|(key, _)| *key));
        self.keep_keys(entries.iter().map(|(key, _)| *key), outcome)
    }

    /// Removes `keys` and their fill leases (the leases first); how many keys held a
    /// value.
    pub(crate) async fn delete_many(&self, keys: &[&str]) -> Result<u64, CacheError> {
        if keys.is_empty() {
            return Ok(0);
        }
        self.drop_l1_copies(keys.iter().copied());
        let outcome = self.unlink_with_leases(keys).await;
        self.drop_l1_copies(keys.iter().copied());
        self.keep_keys(keys.iter().copied(), outcome)
    }
}
