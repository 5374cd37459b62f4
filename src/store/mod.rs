//! The store owns every SQL statement herald runs. Nothing outside this module writes SQL.
//!
//! Two backends fill one seam: SQLite (`sqlite/`, the embedded default, one sending daemon per file)
//! and PostgreSQL (`postgres/`, several daemons sharing one queue). The seam is an enum of backends
//! rather than a trait: the set is closed and known when herald is built, `Store` stays one concrete
//! type that every task clones (no generic parameter threaded through the daemon, no boxed futures),
//! and each `Store` method is one `match` whose two arms the compiler checks, so a method one backend
//! lacks is a build error, not a runtime surprise. Each backend writes its own statements in its own
//! dialect (no lowest-common-denominator SQL); what is not SQL (the types, grouping outcomes, the
//! bounce policy's decisions, the domain enums' moves) is shared and lives in this directory.
//!
//! The interface is deliberately narrow (claim a batch, record outcomes, freeze recipients, move an
//! issue's state).

mod bounce_flow;
mod bounces;
mod copy;
mod database_url;
mod deliveries;
mod erasures;
mod error;
mod files;
mod import;
mod issues;
mod lists;
mod outcome_writer;
mod postgres;
mod records;
mod settings;
mod signups;
mod sqlite;
mod subscribers;
mod tokens;

pub use bounces::{BounceFilter, BounceRow, NewBounce, NewReport, RecordedBounce};
pub use copy::CopiedTable;
pub use database_url::DatabaseUrl;
pub use deliveries::{
    ClaimedDelivery, DeliveryCounts, DeliveryRow, Outcome, OutcomeKind, Refund, SmtpBounce,
};
pub use erasures::{Erased, Erasures};
pub use error::StoreError;
pub use files::{
    create_database_file, create_new_private_file, create_private_dir, warn_if_readable_by_others,
};
pub use import::{BulkImport, ImportCounts};
pub use issues::{NewIssue, SlotClaim};
pub use lists::{ListUpdate, NewList};
pub use outcome_writer::{OutcomeWriter, PlainCommit};
pub use records::{Issue, IssueSummary, List, ListSummary, Subscriber};
pub use signups::{Confirmed, Signup};
pub use subscribers::{DeliveredMessage, DeliveryRecipient, ImportRow};
pub use tokens::{StoredToken, TokenRow};

use std::time::Duration;

/// herald's database, on whichever backend `database.url` names.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// A daemon's claim to run the scheduler. On SQLite the one daemon per file always runs it; on
/// PostgreSQL one daemon at a time does (an advisory lock), and another takes over when it dies.
#[derive(Default)]
pub struct Leadership(Option<postgres::PgLeadership>);

/// Runs `$body` with `$b` bound to the store's backend, whichever it is.
macro_rules! on_backend {
    ($store:expr, $b:ident => $body:expr) => {
        match &$store.backend {
            crate::store::Backend::Sqlite($b) => $body,
            crate::store::Backend::Postgres($b) => $body,
        }
    };
}
pub(crate) use on_backend;

impl Store {
    /// Opens the database (creating a SQLite file if needed) and applies pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, Duration::from_secs(30)).await
    }

    /// [`Store::open`], waiting at most `busy` for another process's write lock or a connection.
    pub async fn open_with_timeout(url: &DatabaseUrl, busy: Duration) -> Result<Self, StoreError> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                Backend::Sqlite(sqlite::Sqlite::open_with_timeout(path, busy).await?)
            }
            DatabaseUrl::Postgres(url) => {
                Backend::Postgres(postgres::Postgres::open(url, busy).await?)
            }
        };
        Ok(Self { backend })
    }

    /// For `herald bounce ingest`: an existing database only (an MTA pipe run from another working
    /// directory must not create an empty SQLite file and lose reports into it), every commit durable
    /// before the MTA is told the report is safe.
    pub async fn open_for_intake(url: &DatabaseUrl, busy: Duration) -> Result<Self, StoreError> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                Backend::Sqlite(sqlite::Sqlite::open_for_intake(path, busy).await?)
            }
            DatabaseUrl::Postgres(url) => {
                Backend::Postgres(postgres::Postgres::open(url, busy).await?)
            }
        };
        Ok(Self { backend })
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether several daemons may send from this database at once (PostgreSQL's leased claims);
    /// SQLite keeps one sender per file.
    pub fn is_shared_queue(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// How long a claimed delivery stays this daemon's without a renewal (`sending.lease_seconds`;
    /// PostgreSQL only: on SQLite one daemon holds the whole file).
    pub fn set_lease(&mut self, lease: Duration) {
        if let Backend::Postgres(p) = &mut self.backend {
            p.set_lease(lease);
        }
    }

    /// Names this daemon in its claims (`sending.daemon_name`; PostgreSQL only).
    pub fn set_daemon_name(&mut self, name: &str) {
        if let Backend::Postgres(p) = &mut self.backend {
            p.set_daemon_name(name);
        }
    }

    /// Extends the leases of the deliveries this daemon is sending (on the database's clock); how
    /// many.
    pub async fn renew_leases(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.renew_leases().await,
        }
    }

    /// Whether this daemon may still send a delivery it claimed at `claimed_at`: always on SQLite;
    /// on PostgreSQL while its leases have been renewed since then without a lapse long enough for
    /// another daemon to take the delivery over (a frozen process, a database out of reach).
    pub fn holds_claim(&self, claimed_at: std::time::Instant) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => true,
            Backend::Postgres(p) => p.holds_claim(claimed_at),
        }
    }

    /// Deliveries another daemon is sending right now (its lease still runs): `serve --until-idle`
    /// is not idle while there are any.
    pub async fn leased_elsewhere(&self) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(p) => p.leased_elsewhere().await,
        }
    }

    /// Whether this daemon runs the scheduler now (see [`Leadership`]).
    pub async fn lead_scheduler(&self, leadership: &mut Leadership) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(p) => {
                p.lead(leadership.0.get_or_insert_with(Default::default))
                    .await
            }
        }
    }

    /// Takes up to `wanted` sends from the bucket all daemons share (`smtp.global_rate_per_second`,
    /// refilled at `rate` a second): how many this daemon may send now. SQLite has one daemon per
    /// file and no shared bucket: everything wanted is granted.
    pub async fn take_global_sends(
        &self,
        rate: f64,
        wanted: u32,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(wanted),
            Backend::Postgres(p) => p.take_global_sends(rate, wanted, now_ms).await,
        }
    }

    /// Makes every commit so far durable: called before a mailbox message is removed.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        on_backend!(self, b => b.sync_to_disk().await)
    }

    /// The migrations applied to this database, oldest first: (version, description).
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        on_backend!(self, b => b.applied_migrations().await)
    }

    pub async fn close(&self) {
        on_backend!(self, b => b.close().await)
    }
}
