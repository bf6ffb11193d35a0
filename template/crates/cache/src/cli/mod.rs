//! `cache get|get-many|set|delete|clear|invalidate-tag|exists|ttl|expire|incr|add|take|stats`:
//! read and manage cache entries from a shell.
//!
//! The feature `cli`: a service mounts [`CacheCommand`] as a subcommand of its own
//! command line (clap) and runs it with its [`Caches`].
//!
//! Every command is a fresh process with freshly configured caches, so the `memory`
//! alias (in-process) always starts empty; `--alias persistent` reaches the store that
//! outlives the process (Redis, when configured). Values travel as JSON text, exactly as
//! the service stores them. Results go to stdout, messages to stderr, and the exit code
//! tells a script what happened (see [`EXIT_MISS`] and friends).
//!
//! Each subcommand is one file here: a clap args struct with
//! `async fn run(self, caches: &Caches, out: &mut impl Write) -> anyhow::Result<ExitCode>`.
//! To add one, write `src/cli/<name>.rs`, declare it with `pub mod`, and add its
//! line to `subcommands!` below. What several subcommands share lives in [`AliasArg`]
//! (the `--alias` option), `ttl_option` (the `--ttl` option) and `output` (messages and the
//! exit codes that go with them).

pub mod add;
pub mod clear;
pub mod delete;
pub mod exists;
pub mod expire;
pub mod get;
pub mod get_many;
pub mod incr;
pub mod invalidate_tag;
mod output;
pub mod set;
pub mod stats;
pub mod take;
pub mod ttl;
mod ttl_option;

use std::io::Write as _;
use std::process::ExitCode;

use crate::{Alias, Cache, Caches};

/// `cache get`/`take` found nothing under the key, `cache exists` found no value, or
/// `cache add` did not store because the key holds a value already.
pub const EXIT_MISS: u8 = 1;
/// The input was unusable: invalid JSON for `cache set`/`add`, or a key that holds no
/// counter for `cache incr` (clap uses the same code for unknown options and values,
/// such as an unknown alias).
pub const EXIT_INVALID_INPUT: u8 = 2;
/// The cache backend failed or could not be reached (`EX_UNAVAILABLE`), kept apart
/// from a miss so that scripts can tell "absent" from "could not look".
pub const EXIT_UNAVAILABLE: u8 = 69;

/// Declares the cache subcommands and dispatches to their `run`, as `commands!` does in
/// `cli/mod.rs`: the enum and its `match` are written once here, so a new subcommand is
/// its file and one line.
macro_rules! subcommands {
    ($($variant:ident($command:ty),)*) => {
        /// Cache commands.
        #[derive(Debug, clap::Subcommand)]
        #[command(after_long_help = CACHE_HELP)]
        pub enum CacheCommand {
            $($variant($command),)*
        }

        impl CacheCommand {
            /// Runs the command against `caches` and returns the exit code.
            ///
            /// # Errors
            /// Only when the result cannot be written to stdout; cache failures become
            /// [`EXIT_UNAVAILABLE`] with a message on stderr.
            pub async fn run(self, caches: &Caches) -> anyhow::Result<ExitCode> {
                let mut out = std::io::stdout().lock();
                let code = match self {
                    $(Self::$variant(command) => command.run(caches, &mut out).await?,)*
                };
                out.flush()?;
                Ok(code)
            }
        }
    };
}

// In the order `cache --help` lists them.
subcommands! {
    Get(get::GetCommand),
    GetMany(get_many::GetManyCommand),
    Set(set::SetCommand),
    Delete(delete::DeleteCommand),
    Clear(clear::ClearCommand),
    InvalidateTag(invalidate_tag::InvalidateTagCommand),
    Exists(exists::ExistsCommand),
    Ttl(ttl::TtlCommand),
    Expire(expire::ExpireCommand),
    Incr(incr::IncrCommand),
    Add(add::AddCommand),
    Take(take::TakeCommand),
    Stats(stats::StatsCommand),
}

/// The `--alias` option shared by the commands that touch entries.
#[derive(Debug, clap::Args)]
pub struct AliasArg {
    /// Which cache to use. memory lives inside this process, so it starts empty.
    #[arg(long, short, value_enum, default_value_t = AliasChoice::Memory)]
    alias: AliasChoice,
}

impl AliasArg {
    /// The cache the option names.
    pub fn cache(self, caches: &Caches) -> &Cache {
        caches.get(self.alias.into())
    }
}

/// The values of `--alias`: [`Alias`] as the command line spells and explains it. A
/// type of the CLI's own, so that clap's `ValueEnum` is implemented here rather than on
/// the cache's type.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AliasChoice {
    #[value(help = "in this process only")]
    Memory,
    #[value(help = PERSISTENT_HELP)]
    Persistent,
}

impl From<AliasChoice> for Alias {
    fn from(choice: AliasChoice) -> Self {
        match choice {
            AliasChoice::Memory => Alias::Memory,
            AliasChoice::Persistent => Alias::Persistent,
        }
    }
}

#[cfg(feature = "redis")]
/// What `--alias persistent` reaches.
const PERSISTENT_HELP: &str = "Redis when configured, else in-process";

#[cfg(feature = "redis")]
const CACHE_HELP: &str = "\
Each command runs in a new process with its own caches. The memory alias lives inside \
that process, so it is always empty when a command starts: use --alias persistent to \
reach the shared store (Redis, when CACHE_REDIS_HOST or CACHE_REDIS_URL is set; \
otherwise persistent is in-process too).

Exit codes: 0 done (get, take, ttl: hit; get-many: every key found; exists: present; \
add: stored; expire: changed), 1 get, take, ttl: miss, get-many: a key absent, exists, \
expire: absent, add: not stored (the key holds a value), 2 invalid input (bad JSON, unknown \
alias, incr on a key that holds no counter), 69 the cache backend failed or could not be \
reached.";

#[cfg(not(feature = "redis"))]
/// What `--alias persistent` reaches.
const PERSISTENT_HELP: &str = "in-process, apart from memory";

#[cfg(not(feature = "redis"))]
const CACHE_HELP: &str = "\
Each command runs in a new process with its own caches. This service was built without \
Redis, so both aliases live inside that process and are empty when a command starts: \
these commands show how the cache behaves rather than reach a running service's data.

Exit codes: 0 done (get, take, ttl: hit; get-many: every key found; exists: present; \
add: stored; expire: changed), 1 get, take, ttl: miss, get-many: a key absent, exists, \
expire: absent, add: not stored (the key holds a value), 2 invalid input (bad JSON, unknown \
alias, incr on a key that holds no counter), 69 the cache backend failed.";

#[cfg(test)]
mod tests {
    use clap::ValueEnum as _;

    use super::{Alias, AliasChoice};

    #[test]
    fn the_alias_choices_are_the_aliases_in_order_and_by_name() {
        let choices = AliasChoice::value_variants();
        assert_eq!(choices.len(), Alias::ALL.len());
        for (choice, alias) in choices.iter().zip(Alias::ALL) {
            assert_eq!(Alias::from(*choice), alias);
            let value = choice.to_possible_value().expect("no choice is skipped");
            assert_eq!(value.get_name(), alias.as_str());
        }
    }
}
