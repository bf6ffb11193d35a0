//! Every job the worker runs. [`register`] is the one place to add yours: write a type
//! implementing [`Job`](super::Job) in a file next to this one, then add it below.

mod heartbeat;

pub use heartbeat::Heartbeat;
{%- if cache %}
pub use heartbeat::{HEARTBEAT_KEY, HeartbeatRecord};
{%- endif %}

use super::Runner;
use crate::settings::Settings;

/// Adds every job to `runner`, configured from `settings`.
pub fn register(runner: &mut Runner, settings: &Settings) {
    runner.add(Heartbeat::new(settings.worker.interval));
}
