//! Signups on PostgreSQL, waiting for their confirmation (double opt-in): kept apart from
//! `subscribers`, so a pending address can never be sent an issue.

use super::Postgres;
use crate::{
    clock::{from_millis, to_millis},
    domain::{EmailAddress, ListId, SubscriberStatus},
    store::{Confirmed, Signup, StoreError, signups::RESEND_AFTER_MS},
};
use chrono::{DateTime, Utc};
use sqlx::{Row, postgres::PgRow};

fn signup_of(r: &PgRow) -> Signup {
    Signup {
        id: r.get("id"),
        list_id: ListId(r.get("list_id")),
        email: r.get("email"),
        name: r.get("name"),
        attempts: r.get("attempts"),
        created_at: from_millis(r.get("created_at")),
        confirmed_at: r.get::<Option<i64>, _>("confirmed_at").map(from_millis),
    }
}

const SIGNUP_COLUMNS: &str = "id, list_id, email, name, attempts, created_at, confirmed_at";

/// How long a confirmation mailer's claim on a batch of signups lasts: 15 minutes.
const SIGNUP_CLAIM_MS: i64 = 15 * 60 * 1000;

impl Postgres {
    /// Records a signup (or refreshes the pending one of the same address); returns its id.
    pub async fn create_signup(
        &self,
        list: ListId,
        email: &EmailAddress,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let now = to_millis(now);
        Ok(sqlx::query_scalar(
            "INSERT INTO signups (list_id, email, name, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (list_id, email) WHERE confirmed_at IS NULL DO UPDATE SET
                 name = COALESCE(excluded.name, signups.name),
                 created_at = excluded.created_at,
                 attempts = CASE WHEN signups.mailed_at < $5 THEN 0 ELSE signups.attempts END,
                 next_attempt_at = CASE WHEN signups.mailed_at < $5 THEN NULL ELSE signups.next_attempt_at END,
                 mailed_at = CASE WHEN signups.mailed_at < $5 THEN NULL ELSE signups.mailed_at END
             RETURNING id",
        )
        .bind(list.0)
        .bind(email.as_str())
        .bind(name)
        .bind(now)
        .bind(now - RESEND_AFTER_MS)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Signups whose confirmation mail is due.
    pub async fn due_signups(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Signup>, StoreError> {
        // Claimed, not just read: every daemon runs a confirmation mailer, and a signup one of them
        // is mailing is put out of the others' reach for a quarter of an hour (ample for a batch,
        // even one whose sessions time out one after the other; then it is due again unless it was
        // mailed, or its failure set its own retry time). On the daemon's clock, as every other
        // write of `next_attempt_at` and the comparison here: one clock in the column.
        let sql = format!(
            "UPDATE signups SET next_attempt_at = $1 + $3
             WHERE id IN (SELECT id FROM signups WHERE mailed_at IS NULL AND confirmed_at IS NULL
                          AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
                          ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING {SIGNUP_COLUMNS}"
        );
        let mut rows: Vec<Signup> = sqlx::query(&sql)
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .bind(SIGNUP_CLAIM_MS)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(signup_of)
            .collect();
        rows.sort_by_key(|s| s.id);
        Ok(rows)
    }

    pub async fn signup_mailed(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signups SET mailed_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The confirmation could not be sent: tried again at `retry_at`, or never when `None`.
    pub async fn signup_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signups SET attempts = attempts + 1, last_error = $1,
                 next_attempt_at = COALESCE($2, 9223372036854775807) WHERE id = $3",
        )
        .bind(error)
        .bind(retry_at.map(to_millis))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn signup(&self, id: i64) -> Result<Signup, StoreError> {
        let sql = format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| signup_of(&r))
            .ok_or_else(|| StoreError::NotFound(format!("signup #{id}")))
    }

    /// Confirms signup `id`: the address becomes an active subscriber of its list. A confirmed
    /// signup is the person's own act, so it is the one way back to `active` for an address that
    /// unsubscribed, bounced or complained (no operator action or import reactivates one).
    ///
    /// The signup's row is locked first: a second confirmation of the same link waits, then finds
    /// it confirmed.
    pub async fn confirm_signup(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, StoreError> {
        let mut tx = self.transaction().await?;
        let sql = format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE id = $1 FOR UPDATE");
        let signup = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| signup_of(&r))
            .ok_or_else(|| StoreError::NotFound(format!("signup #{id}")))?;
        let was: Option<String> = sqlx::query_scalar(
            "SELECT status FROM subscribers WHERE list_id = $1 AND email = $2 FOR UPDATE",
        )
        .bind(signup.list_id.0)
        .bind(&signup.email)
        .fetch_optional(&mut *tx)
        .await?;
        let was = was.map(|s| s.parse()).transpose()?;
        if signup.confirmed_at.is_none() {
            let at = to_millis(now);
            sqlx::query(
                "INSERT INTO subscribers (list_id, email, name, status, created_at, updated_at, status_reason)
                 VALUES ($1, $2, $3, $4, $5, $5, 'confirmed a signup')
                 ON CONFLICT (list_id, email) DO UPDATE SET status = excluded.status,
                     name = COALESCE(subscribers.name, excluded.name), updated_at = excluded.updated_at,
                     unsubscribed_at = NULL, unsubscribed_via = NULL, status_reason = excluded.status_reason",
            )
            .bind(signup.list_id.0)
            .bind(&signup.email)
            .bind(signup.name.as_deref())
            .bind(SubscriberStatus::Active.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            // Done with: the address and name leave the signup row.
            sqlx::query(
                "UPDATE signups SET confirmed_at = $1, email = '', name = NULL WHERE id = $2",
            )
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Confirmed {
            list_id: signup.list_id,
            was,
        })
    }

    /// Whether `email` is stopped on every list (a bounce or complaint with `bounce.suppress =
    /// "all_lists"`): a signup form must not make herald mail it.
    pub async fn is_suppressed(&self, email: &EmailAddress) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM suppressions WHERE email = $1")
                .bind(email.as_str())
                .fetch_one(&self.pool)
                .await?
                > 0,
        )
    }

    /// Forgets signups not confirmed since `before`; returns how many.
    pub async fn expire_signups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM signups WHERE confirmed_at IS NULL AND created_at < $1")
                .bind(to_millis(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
