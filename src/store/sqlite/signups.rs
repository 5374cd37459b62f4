//! Signups waiting for their confirmation (double opt-in): kept apart from `subscribers`, so a
//! pending address can never be sent an issue.

use super::Sqlite;
use crate::store::StoreError;
use crate::store::signups::RESEND_AFTER_MS;
use crate::store::{Confirmed, Signup};
use crate::{
    clock::{from_millis, to_millis},
    domain::{EmailAddress, ListId, SubscriberStatus},
};
use chrono::{DateTime, Utc};
use sqlx::Row;

fn signup_of(r: &sqlx::sqlite::SqliteRow) -> Signup {
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

impl Sqlite {
    pub async fn create_signup(
        &self,
        list: ListId,
        email: &EmailAddress,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let now = to_millis(now);
        Ok(sqlx::query_scalar(
            "INSERT INTO signups (list_id, email, name, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (list_id, email) WHERE confirmed_at IS NULL DO UPDATE SET
                 name = COALESCE(excluded.name, signups.name),
                 created_at = excluded.created_at,
                 attempts = CASE WHEN signups.mailed_at < ?5 THEN 0 ELSE signups.attempts END,
                 next_attempt_at = CASE WHEN signups.mailed_at < ?5 THEN NULL ELSE signups.next_attempt_at END,
                 mailed_at = CASE WHEN signups.mailed_at < ?5 THEN NULL ELSE signups.mailed_at END
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

    pub async fn due_signups(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Signup>, StoreError> {
        let sql = format!(
            "SELECT {SIGNUP_COLUMNS} FROM signups WHERE mailed_at IS NULL AND confirmed_at IS NULL
             AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(signup_of).collect())
    }

    pub async fn signup_mailed(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE signups SET mailed_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn signup_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE signups SET attempts = attempts + 1, last_error = ?,
                 next_attempt_at = COALESCE(?, 9223372036854775807) WHERE id = ?",
        )
        .bind(error)
        .bind(retry_at.map(to_millis))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn signup(&self, id: i64) -> Result<Signup, StoreError> {
        let sql = format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE id = ?");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| signup_of(&r))
            .ok_or_else(|| StoreError::NotFound(format!("signup #{id}")))
    }

    pub async fn confirm_signup(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Confirmed, StoreError> {
        let mut tx = self.write_transaction().await?;
        let sql = format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE id = ?");
        let signup = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| signup_of(&r))
            .ok_or_else(|| StoreError::NotFound(format!("signup #{id}")))?;
        let was: Option<String> =
            sqlx::query_scalar("SELECT status FROM subscribers WHERE list_id = ? AND email = ?")
                .bind(signup.list_id.0)
                .bind(&signup.email)
                .fetch_optional(&mut *tx)
                .await?;
        let was = was.map(|s| s.parse()).transpose()?;
        if signup.confirmed_at.is_none() {
            let at = to_millis(now);
            sqlx::query(
                "INSERT INTO subscribers (list_id, email, name, status, created_at, updated_at, status_reason)
                 VALUES (?, ?, ?, ?, ?, ?, 'confirmed a signup')
                 ON CONFLICT (list_id, email) DO UPDATE SET status = excluded.status,
                     name = COALESCE(subscribers.name, excluded.name), updated_at = excluded.updated_at,
                     unsubscribed_at = NULL, unsubscribed_via = NULL, status_reason = excluded.status_reason",
            )
            .bind(signup.list_id.0)
            .bind(&signup.email)
            .bind(signup.name.as_deref())
            .bind(SubscriberStatus::Active.as_str())
            .bind(at)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            // Done with: the address and name leave the signup row.
            sqlx::query(
                "UPDATE signups SET confirmed_at = ?, email = '', name = NULL WHERE id = ?",
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

    pub async fn is_suppressed(&self, email: &EmailAddress) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM suppressions WHERE email = ?")
                .bind(email.as_str())
                .fetch_one(&self.pool)
                .await?
                > 0,
        )
    }

    pub async fn expire_signups(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM signups WHERE confirmed_at IS NULL AND created_at < ?")
                .bind(to_millis(before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::{
        domain::{LanguageTag, ListSlug, Mailbox},
        store::NewList,
    };

    #[tokio::test]
    async fn unconfirmed_signups_are_forgotten_after_their_days_and_confirmed_ones_keep_no_address()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&crate::store::DatabaseUrl::Sqlite(
            dir.path().join("herald.db"),
        ))
        .await
        .unwrap();
        let now = Utc::now();
        let list = store
            .create_list(
                &NewList {
                    slug: ListSlug::parse("weekly").unwrap(),
                    name: "Weekly".into(),
                    from: Mailbox::parse("Weekly <w@example.com>").unwrap(),
                    reply_to: None,
                    schedule: None,
                    layout: "default".into(),
                    language: LanguageTag::parse("en").unwrap(),
                    postal_address: None,
                    archive: false,
                    signup: true,
                    thanks_url: None,
                },
                now,
            )
            .await
            .unwrap();
        let old = now - chrono::Duration::days(8);
        let stale = EmailAddress::parse("stale@example.org").unwrap();
        let fresh = EmailAddress::parse("fresh@example.org").unwrap();
        let kept = EmailAddress::parse("kept@example.org").unwrap();
        store
            .create_signup(list.id, &fresh, None, now)
            .await
            .unwrap();
        let kept_id = store
            .create_signup(list.id, &kept, Some("Kay"), old)
            .await
            .unwrap();
        // The newest row, so that a reused id would be its own.
        let stale_id = store
            .create_signup(list.id, &stale, None, old)
            .await
            .unwrap();
        store.confirm_signup(kept_id, old).await.unwrap();

        let forgotten = store
            .expire_signups(now - chrono::Duration::days(7))
            .await
            .unwrap();

        assert_eq!(
            forgotten, 1,
            "only the unconfirmed signup older than 7 days"
        );
        assert!(matches!(
            store.signup(stale_id).await,
            Err(StoreError::NotFound(_))
        ));
        let confirmed = store.signup(kept_id).await.unwrap();
        assert!(confirmed.confirmed_at.is_some());
        assert_eq!((confirmed.email.as_str(), confirmed.name), ("", None));
        let subscriber = store.subscriber(list.id, &kept).await.unwrap();
        assert_eq!(
            (subscriber.status, subscriber.name.as_deref()),
            (SubscriberStatus::Active, Some("Kay"))
        );
        // A new signup never takes an old one's id (its token would confirm the wrong address).
        let again = store
            .create_signup(list.id, &stale, None, now)
            .await
            .unwrap();
        assert!(again > stale_id, "id {again} after {stale_id} was deleted");
    }
}
