//! Every job the worker runs, one file each. A job is a type implementing
//! [`Job`](super::Job) with a constructor `fn from_settings(settings: &Settings) -> Self`;
//! adding one is its file next to this one and one line in `jobs!` below,
//! `mod <file>; <file>::<Type>,`.

use super::Runner;
use crate::settings::Settings;

/// Declares the job modules and registers their jobs: each `mod <file>; <file>::<Type>,`
/// line declares `src/worker/jobs/<file>.rs` and makes [`register`] add
/// `<Type>::from_settings(settings)` to the runner, in the order of the lines, so that a
/// new job is one line instead of a declaration and a call.
macro_rules! jobs {
    ($($(#[$attr:meta])* $vis:vis mod $module:ident; $job:ty,)*) => {
        $($(#[$attr])* $vis mod $module;)*

        /// Adds every job to `runner`, each configured from `settings` by its
        /// `from_settings`.
        pub fn register(runner: &mut Runner, settings: &Settings) {
            $(runner.add(<$job>::from_settings(settings));)*
        }
    };
}

jobs! {
    mod heartbeat; heartbeat::Heartbeat,
}

pub use heartbeat::Heartbeat;
{%- if cache %}
pub use heartbeat::{HEARTBEAT_KEY, HeartbeatRecord};
{%- endif %}
