//! `#[cached]` on real async functions against real caches: the in-process aliases,
//! and (feature `redis`) a `redis-server` started for the test.
//!
//! The decorated functions reach the process-wide caches, so every test installs its
//! own under one lock ([`installed`]) and gives them a prefix of its own; this binary is
//! separate from the engine's so those tests never see the installed caches change.

mod decorated;
mod installed;
mod memoisation;
