//! Services shared by every entrypoint.

pub mod cache;
