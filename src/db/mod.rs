//! The training room's shared store: finished attempts, their audio and the trainers'
//! decisions in PostgreSQL, so a trainer reviews every desk from one place. A desk keeps
//! writing its local store first (see [`crate::store`]); that store is also the upload queue.
//!
//! - [`connect`]: settings (URL without a password, a password file only its owner can read,
//!   the site's CA), TLS over TCP, and errors that never show the connection string.
//! - [`migrate`]: the SQL files in `migrations/`, applied in order by the schema owner;
//!   [`migrate::check_schema`] is what a desk does instead (desks never migrate);
//!   [`migrate::add_user`] maps an application user to a login role in a group.
//! - [`upload`]: one attempt (or one decision) in one transaction, idempotent by its id;
//!   different content under the same id is a [`upload::Uploaded::Conflict`], never an
//!   overwrite.
//! - [`reader`]: what review, report and `store list` read — the same [`crate::store::Query`]
//!   over the database, one attempt, and its audio fetched on demand into a checked cache.
//! - [`decide`]: a trainer's decisions recorded straight in the shared store (review on
//!   the trainer's machine), each entry made as the desk's store makes it.
//! - [`sync`]: the worker thread that walks the local store and uploads what is not there
//!   yet, with backoff while the server is away, and prunes verified local copies when asked.
//! - [`load`]: the load test's desks and trainer (driven by `benches/db_load.rs` and a small
//!   test).
//!
//! Who may read and write what is enforced by the database (row-level security, grants,
//! triggers; see `migrations/0001_shared_store.sql`), not by this client.

pub mod connect;
pub mod decide;
pub mod load;
pub mod migrate;
pub mod reader;
pub mod sync;
pub mod upload;

use std::io;
use std::path::PathBuf;

pub use connect::{DbSettings, DATABASE_URL_ENV, PASSWORD_FILE_ENV};
pub use migrate::{add_user, check_schema, migrate, status, DbStatus, MigrateReport, Role};
pub use reader::{AttemptSource, PgStore, SourceError};
pub use sync::{sync_now, QueueState, SyncOptions, SyncReport, SyncWorker};
pub use upload::{upload_attempt, upload_decision, AttemptFiles, Uploaded};

/// The client: `postgres::Client`, connected by [`DbSettings::connect`].
pub use postgres::Client;

use crate::store::StoreError;

// As in the store: causes are `err`, not `source`, so the CLI's error chain says them once.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The settings are wrong; the message says which and how to fix it.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached or refused us. `target` names host, port, database
    /// and user, never the URL as given or a password.
    #[error("cannot connect to the database {target}: {reason}")]
    Connect {
        target: String,
        reason: String,
        transient: bool,
    },
    /// A statement failed.
    #[error("database: {during}: {reason}")]
    Sql {
        during: String,
        reason: String,
        /// SQLSTATE, when the server sent one.
        code: Option<String>,
        transient: bool,
    },
    /// The schema is missing, older or newer than this ringcoach, or owned by someone else.
    #[error("{0}")]
    Schema(String),
    /// A local file of an attempt is unreadable or does not match its hash.
    #[error("{0}")]
    Local(String),
    #[error("cannot {action} {path}: {err}")]
    Io {
        action: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DbError {
    /// Worth retrying later: the server is away, restarting or overloaded. Everything else
    /// (refused by a policy, a hash the database rejects, bad settings) will not get better
    /// by waiting.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Connect { transient, .. } | DbError::Sql { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The SQLSTATE of a failed statement.
    pub fn code(&self) -> Option<&str> {
        match self {
            DbError::Sql { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Wraps a failed statement, keeping the server's message (which never contains the
    /// connection string) and whether waiting could help.
    pub(crate) fn sql(during: impl Into<String>, err: postgres::Error) -> DbError {
        let code = err.code().map(|c| c.code().to_string());
        let transient = is_transient_pg(&err);
        let reason = match err.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{} ({detail})", db.message()),
                None => db.message().to_string(),
            },
            None => error_chain(&err),
        };
        DbError::Sql {
            during: during.into(),
            reason,
            code,
            transient,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> DbError {
        let path = path.into();
        move |err| DbError::Io { action, path, err }
    }
}

/// Connection trouble, a server shutting down or starting, too many connections, a
/// serialization failure: all pass. (Class 08, 57P0x, 53xxx, 40001/40P01.)
pub(crate) fn is_transient_pg(err: &postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    match err.code() {
        None => err.as_db_error().is_none(),
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("53")
                || matches!(c, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
        }
    }
}

/// An error and its causes on one line, as `a: b: c`.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}
