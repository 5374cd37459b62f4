//! The connections the sender's group commits go through, kept beside the pool rather than in it.
//!
//! sqlx's pool checks a connection with a round trip when it is taken (`test_before_acquire`) and
//! again when it is given back: two extra round trips for each group commit, whose own statement is
//! one. At thousands of commits a second, on the same cores as the database server, that was a
//! third of the server's work. A lane is a plain connection taken from a stack of idle ones (or newly
//! opened) and put back only after its statement succeeded; one that failed is closed. A connection
//! the server dropped (a restart, an administrator's `pg_terminate_backend`) fails its next
//! statement: [`Lanes::clear`] then closes every idle one, and the commit is tried again on a new
//! connection (see `Postgres::record_outcomes`), for as long as the pool would wait for one (a
//! server that is restarting refuses connections for a moment).

use super::StoreError;
use sqlx::{
    Connection,
    postgres::{PgConnectOptions, PgConnection},
};
use std::{sync::Mutex, time::Duration};

/// How many idle lanes are kept: the recorder runs at most four commits at once
/// (`track::recorder::CONCURRENT_COMMITS`).
const KEEP_IDLE: usize = 4;

#[derive(Debug)]
pub(super) struct Lanes {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    /// How long a commit keeps trying to reach the server (the pool's acquire timeout).
    patience: Duration,
}

/// A connection taken from [`Lanes`]; closed when dropped unless [`Lane::release`]d.
pub(super) struct Lane<'a> {
    lanes: &'a Lanes,
    conn: Option<PgConnection>,
}

impl Lanes {
    pub(super) fn new(options: PgConnectOptions, patience: Duration) -> Self {
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            patience,
        }
    }

    pub(super) fn patience(&self) -> Duration {
        self.patience
    }

    /// An idle connection, or a new one.
    pub(super) async fn take(&self) -> Result<Lane<'_>, StoreError> {
        let idle = self.idle.lock().expect("lanes lock").pop();
        let conn = match idle {
            Some(conn) => conn,
            // As the pool's acquire timeout: a server that drops packets does not hold a commit
            // (and every connection waiting on it) for the kernel's connect timeout.
            None => tokio::time::timeout(self.patience, PgConnection::connect_with(&self.options))
                .await
                .map_err(|_| StoreError::Sqlx(sqlx::Error::PoolTimedOut))??,
        };
        Ok(Lane {
            lanes: self,
            conn: Some(conn),
        })
    }

    /// Forgets every idle connection: one was found dropped by the server, so the others (opened
    /// before the same restart) most likely are too.
    pub(super) fn clear(&self) {
        self.idle.lock().expect("lanes lock").clear();
    }
}

impl Lane<'_> {
    pub(super) fn conn(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a lane holds its connection until dropped")
    }

    /// Gives the connection back for the next commit: only after a statement that succeeded (or was
    /// rolled back by the server), never one cut off midway.
    pub(super) fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.lanes.idle.lock().expect("lanes lock");
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// Whether `e` says the connection itself is gone (rather than the statement refused): an I/O
/// error, or the server ending the session (class 57: shutdown, crash, terminated backend; class
/// 08: connection exception).
pub(super) fn connection_lost(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlx(sqlx::Error::Io(_)) => true,
        StoreError::Sqlx(sqlx::Error::Database(e)) => e
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}
