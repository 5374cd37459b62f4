//! The store owns every SQL statement herald runs. Nothing outside this module writes SQL.
//!
//! The interface is deliberately narrow (claim a batch, record outcomes, freeze recipients, move an
//! issue's state) so that a PostgreSQL backend for several daemons sharing one queue can implement the
//! same operations with `FOR UPDATE SKIP LOCKED` claims.

mod bounces;
mod deliveries;
mod erasures;
mod error;
mod import;
mod issues;
mod lists;
mod outcome_writer;
mod records;
mod settings;
mod signups;
mod sqlite;
mod subscribers;
mod tokens;

pub use bounces::{BounceFilter, BounceRow, NewBounce, NewReport, RecordedBounce};
pub use deliveries::{
    ClaimedDelivery, DeliveryCounts, DeliveryRow, Outcome, OutcomeKind, Refund, SmtpBounce,
};
pub use erasures::{Erased, Erasures};
pub use error::StoreError;
pub use import::{BulkImport, ImportCounts};
pub use issues::NewIssue;
pub use lists::{ListUpdate, NewList};
pub use outcome_writer::OutcomeWriter;
pub use records::{Issue, IssueSummary, List, ListSummary, Subscriber};
pub use signups::{Confirmed, Signup};
pub use sqlite::{
    Store, create_database_file, create_new_private_file, create_private_dir,
    warn_if_readable_by_others,
};
pub use subscribers::{DeliveredMessage, DeliveryRecipient, ImportRow};
pub use tokens::{StoredToken, TokenRow};
