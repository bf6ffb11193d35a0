//! What a database call can fail with, sorted by what the caller should do about it.

use std::time::Duration;

/// A failed database call.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// No answer within `DATABASE_TIMEOUT_MS`, waiting for a connection included.
    #[error("the database did not answer within {} ms (DATABASE_TIMEOUT_MS)", .0.as_millis())]
    Timeout(Duration),
    /// No connection could be opened within `DATABASE_TIMEOUT_MS`.
    #[error(
        "no connection to the database within {} ms (DATABASE_TIMEOUT_MS): check that it runs and that DATABASE_URL names it",
        .0.as_millis()
    )]
    Unreachable(Duration),
    /// The database cannot be reached or will not serve now: worth retrying later.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// The database answered with an error: the query or the data is wrong.
    #[error("the database refused the query: {0}")]
    Query(sqlx::Error),
}

impl DatabaseError {
    /// Whether the database is unreachable or slow rather than the query wrong: a `503`
    /// rather than a `500`, and `down` on `/ready`.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Timeout(_) | Self::Unreachable(_) | Self::Unavailable(_)
        )
    }

    /// Why, in one word that names no host, user or file (for `/ready`'s body).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Unavailable(sqlx::Error::Io(error))
                if error.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                "refused"
            }
            Self::Unavailable(sqlx::Error::Tls(_)) => "tls",
            Self::Unavailable(sqlx::Error::Database(error))
                if error.code().is_some_and(|code| code.starts_with("28")) =>
            {
                "auth"
            }
            Self::Unreachable(_) | Self::Unavailable(_) => "unreachable",
            Self::Query(_) => "error",
        }
    }
}

impl From<sqlx::Error> for DatabaseError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Query(error)
        }
    }
}

/// Whether `error` says the database is out of reach rather than the query wrong.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
{%- if database == "postgres" %}
        // SQLSTATE classes: 08 connection, 28 authorisation, 53 resources, 57 operator
        // intervention (a shutdown, a server starting up).
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            ["08", "28", "53", "57"]
                .iter()
                .any(|class| code.starts_with(class))
        }),
{%- else %}
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6): another connection holds the lock past
        // the busy timeout. SQLITE_CANTOPEN (14): the file or its folder is not there.
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| matches!(code.as_ref(), "5" | "6" | "14")),
{%- endif %}
        _ => false,
    }
}
