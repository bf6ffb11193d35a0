//! A route's say over which of its answers are stored and for how long:
//! `EndpointCache::store_if` (a predicate on the answer's JSON) and
//! `EndpointCache::ttl_from` (a TTL read from it). They run on the handler's `200`
//! JSON answers that may be shared at all (see `shareable`), once per stored answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;

/// Whether an answer is stored.
pub(super) type StoreIf = Arc<dyn Fn(&RawValue) -> bool + Send + Sync>;

/// The fresh period an answer chooses; `None`: the route's TTL.
pub(super) type TtlFrom = Arc<dyn Fn(&RawValue) -> Option<Duration> + Send + Sync>;

/// The route's rules; none by default (every shareable answer is stored for the TTL).
#[derive(Clone, Default)]
pub(super) struct StoreRules {
    pub(super) store_if: Option<StoreIf>,
    pub(super) ttl_from: Option<TtlFrom>,
}

/// What to do with one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Store it, fresh for this long (`None`: the route's TTL).
    Store(Option<Duration>),
    /// Do not store it: the predicate said no, or its TTL is zero.
    Skip,
}

impl StoreRules {
    /// The verdict on `json`.
    pub(super) fn verdict(&self, json: &RawValue) -> Verdict {
        if self
            .store_if
            .as_ref()
            .is_some_and(|store_if| !store_if(json))
        {
            return Verdict::Skip;
        }
        match self.ttl_from.as_ref().and_then(|ttl_from| ttl_from(json)) {
            Some(ttl) if ttl.is_zero() => Verdict::Skip,
            ttl => Verdict::Store(ttl),
        }
    }
}

impl fmt::Debug for StoreRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreRules")
            .field(
                "store_if",
                &self.store_if.as_ref().map(|_| "Fn(&RawValue) -> bool"),
            )
            .field(
                "ttl_from",
                &self
                    .ttl_from
                    .as_ref()
                    .map(|_| "Fn(&RawValue) -> Option<Duration>"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::value::RawValue;

    use super::{StoreRules, Verdict};

    fn json(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn the_predicate_and_the_ttl_decide_together() {
        let rules = StoreRules {
            store_if: Some(Arc::new(|json: &RawValue| json.get() != "[]")),
            ttl_from: Some(Arc::new(|json: &RawValue| {
                serde_json::from_str::<serde_json::Value>(json.get())
                    .ok()?
                    .get("ttl")?
                    .as_u64()
                    .map(Duration::from_secs)
            })),
        };
        assert_eq!(rules.verdict(&json("[]")), Verdict::Skip);
        assert_eq!(rules.verdict(&json("[1]")), Verdict::Store(None));
        assert_eq!(
            rules.verdict(&json(r#"{"ttl":5}"#)),
            Verdict::Store(Some(Duration::from_secs(5)))
        );
        assert_eq!(rules.verdict(&json(r#"{"ttl":0}"#)), Verdict::Skip);
        assert_eq!(
            StoreRules::default().verdict(&json("[]")),
            Verdict::Store(None)
        );
        assert!(format!("{rules:?}").contains("Fn(&RawValue) -> bool"));
    }
}
