//! Lists: creating and updating them, finding them by slug, and the scheduler's record of handled cron
//! slots.

use super::Sqlite;
use crate::store::{List, ListSummary, StoreError};
use crate::store::{ListUpdate, NewList};
use crate::{
    clock::{from_millis, to_millis},
    domain::{CronSchedule, EmailAddress, LanguageTag, ListId, ListSlug, Mailbox, PostalAddress},
};
use chrono::{DateTime, Utc};
use sqlx::{Row, sqlite::SqliteRow};

const LIST_COLUMNS: &str = "id, slug, name, from_name, from_address, reply_to, schedule, timezone, layout, language, postal_address, archive, signup, thanks_url, last_slot_at, created_at";

impl Sqlite {
    pub async fn create_list(&self, new: &NewList, now: DateTime<Utc>) -> Result<List, StoreError> {
        let result = sqlx::query(
            "INSERT INTO lists (slug, name, from_name, from_address, reply_to, schedule, timezone, layout,
                                language, postal_address, archive, signup, thanks_url, last_slot_at, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.slug.as_str())
        .bind(&new.name)
        .bind(new.from.name.as_deref())
        .bind(new.from.address.as_str())
        .bind(new.reply_to.as_ref().map(|a| a.as_str()))
        .bind(new.schedule.as_ref().map(|s| s.pattern()))
        .bind(new.schedule.as_ref().map(|s| s.zone()).unwrap_or("UTC"))
        .bind(&new.layout)
        .bind(new.language.as_str())
        .bind(new.postal_address.as_ref().map(|a| a.as_str()))
        .bind(new.archive)
        .bind(new.signup)
        .bind(new.thanks_url.as_deref())
        .bind(to_millis(now))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("list `{}` already exists", new.slug),
            )),
            Err(e) => Err(e.into()),
            Ok(_) => self.list(&new.slug).await,
        }
    }

    pub async fn update_list(
        &self,
        slug: &ListSlug,
        update: &ListUpdate,
    ) -> Result<List, StoreError> {
        let result = sqlx::query(
            "UPDATE lists SET language = COALESCE(?, language),
                              postal_address = CASE WHEN ? THEN ? ELSE postal_address END,
                              archive = COALESCE(?, archive),
                              signup = COALESCE(?, signup),
                              thanks_url = CASE WHEN ? THEN ? ELSE thanks_url END
             WHERE slug = ?",
        )
        .bind(update.language.as_ref().map(|l| l.as_str()))
        .bind(update.postal_address.is_some())
        .bind(
            update
                .postal_address
                .as_ref()
                .and_then(|a| a.as_ref().map(|a| a.as_str())),
        )
        .bind(update.archive)
        .bind(update.signup)
        .bind(update.thanks_url.is_some())
        .bind(update.thanks_url.clone().flatten())
        .bind(slug.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("list `{slug}`")));
        }
        self.list(slug).await
    }

    pub async fn list(&self, slug: &ListSlug) -> Result<List, StoreError> {
        let sql = format!("SELECT {LIST_COLUMNS} FROM lists WHERE slug = ?");
        let row = sqlx::query(&sql)
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| list_from_row(&r))
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("list `{slug}`"))))
    }

    pub async fn list_by_id(&self, id: ListId) -> Result<List, StoreError> {
        let sql = format!("SELECT {LIST_COLUMNS} FROM lists WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| list_from_row(&r))
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("list #{id}"))))
    }

    pub async fn scheduled_lists(&self) -> Result<Vec<List>, StoreError> {
        let sql =
            format!("SELECT {LIST_COLUMNS} FROM lists WHERE schedule IS NOT NULL ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(list_from_row).collect()
    }

    pub async fn set_last_slot(&self, list: ListId, slot: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE lists SET last_slot_at = ?1 WHERE id = ?2 AND (last_slot_at IS NULL OR last_slot_at < ?1)",
        )
        .bind(to_millis(slot))
        .bind(list.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn list_summaries(&self) -> Result<Vec<ListSummary>, StoreError> {
        let lists = sqlx::query(
            "SELECT id, slug, name, from_name, from_address, schedule, timezone, layout, language,
                    postal_address
             FROM lists ORDER BY slug",
        )
        .fetch_all(&self.pool)
        .await?;
        let counts = sqlx::query(
            "SELECT list_id, status, COUNT(*) AS n FROM subscribers GROUP BY list_id, status",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(lists
            .iter()
            .map(|l| {
                let id: i64 = l.get("id");
                let mut subscribers: std::collections::BTreeMap<String, i64> =
                    crate::domain::SubscriberStatus::ALL
                        .iter()
                        .map(|s| (s.as_str().to_owned(), 0))
                        .collect();
                for c in counts.iter().filter(|c| c.get::<i64, _>("list_id") == id) {
                    subscribers.insert(c.get("status"), c.get("n"));
                }
                let from_name: Option<String> = l.get("from_name");
                let from_address: String = l.get("from_address");
                ListSummary {
                    slug: l.get("slug"),
                    name: l.get("name"),
                    from: match from_name {
                        Some(n) => format!("{n} <{from_address}>"),
                        None => from_address,
                    },
                    schedule: l.get("schedule"),
                    timezone: l.get("timezone"),
                    layout: l.get("layout"),
                    language: l.get("language"),
                    postal_address: l.get("postal_address"),
                    subscribers,
                }
            })
            .collect())
    }
}

fn list_from_row(r: &SqliteRow) -> Result<List, StoreError> {
    let bad =
        |what: &str, e: &dyn std::fmt::Display| StoreError::BadValue(format!("list {what}: {e}"));
    let address =
        EmailAddress::parse(r.get("from_address")).map_err(|e| bad("from_address", &e))?;
    let schedule: Option<String> = r.get("schedule");
    let timezone: String = r.get("timezone");
    Ok(List {
        id: ListId(r.get("id")),
        slug: ListSlug::parse(r.get("slug")).map_err(|e| bad("slug", &e))?,
        name: r.get("name"),
        from: Mailbox {
            name: r.get("from_name"),
            address,
        },
        reply_to: r
            .get::<Option<&str>, _>("reply_to")
            .map(EmailAddress::parse)
            .transpose()
            .map_err(|e| bad("reply_to", &e))?,
        schedule: schedule
            .map(|s| CronSchedule::parse(&s, &timezone))
            .transpose()
            .map_err(|e| bad("schedule", &e))?,
        layout: r.get("layout"),
        language: LanguageTag::parse(r.get("language")).map_err(|e| bad("language", &e))?,
        postal_address: r
            .get::<Option<&str>, _>("postal_address")
            .map(PostalAddress::parse)
            .transpose()
            .map_err(|e| bad("postal_address", &e))?,
        archive: r.get("archive"),
        signup: r.get("signup"),
        thanks_url: r.get("thanks_url"),
        last_slot_at: r.get::<Option<i64>, _>("last_slot_at").map(from_millis),
        created_at: from_millis(r.get("created_at")),
    })
}
