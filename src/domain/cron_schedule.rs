//! `CronSchedule`: a list's sending slots, a 5-field cron pattern read in the list's time zone.
//!
//! `0 9 * * MON` with zone `Europe/Paris` means 09:00 Paris time every Monday, whatever the offset from
//! UTC is that week (daylight saving moves the UTC instant, not the local time). A local time that does
//! not exist on a spring-forward day fires at the first instant after the gap.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;

#[derive(Clone)]
pub struct CronSchedule {
    pattern: String,
    zone: Tz,
    cron: croner::Cron,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CronScheduleError {
    #[error(
        "cron schedule `{pattern}` is invalid: {reason} (expected 5 fields: minute hour day month weekday)"
    )]
    Pattern { pattern: String, reason: String },
    #[error("time zone `{0}` is not an IANA zone name such as `UTC` or `Europe/Paris`")]
    Zone(String),
}

impl CronSchedule {
    pub fn parse(pattern: &str, zone: &str) -> Result<Self, CronScheduleError> {
        let pattern = pattern.trim();
        let invalid = |reason: String| CronScheduleError::Pattern {
            pattern: pattern.to_owned(),
            reason,
        };
        if pattern.split_whitespace().count() != 5 {
            return Err(invalid(format!(
                "it has {} fields",
                pattern.split_whitespace().count()
            )));
        }
        let cron = croner::Cron::new(pattern)
            .parse()
            .map_err(|e| invalid(e.to_string()))?;
        let zone: Tz = zone
            .parse()
            .map_err(|_| CronScheduleError::Zone(zone.to_owned()))?;
        Ok(Self {
            pattern: pattern.to_owned(),
            zone,
            cron,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn zone(&self) -> &str {
        self.zone.name()
    }

    /// The first slot strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The last slot at or before `now` that comes after `after`, if any: several slots missed while
    /// the daemon was down collapse into the latest one. It searches windows ending at `now`, widening
    /// them, so a minutely schedule missed for months costs a few steps, not one per missed minute.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        for window in [
            chrono::Duration::hours(2),
            chrono::Duration::days(2),
            chrono::Duration::days(64),
        ] {
            let start = (now - window).max(after);
            if let Some(latest) = self.latest_from(start, now) {
                return Some(latest);
            }
            if start == after {
                return None;
            }
        }
        // Slots further apart than 64 days (yearly schedules): few enough to walk.
        self.latest_from(after, now)
    }

    /// Walks the slots after `start` up to `now`, returning the last.
    fn latest_from(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut latest = None;
        let mut cursor = start;
        while let Some(slot) = self.next_after(cursor).filter(|slot| *slot <= now) {
            latest = Some(slot);
            cursor = slot;
        }
        latest
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({} {})", self.pattern, self.zone.name())
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.pattern, self.zone.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_are_read_in_the_lists_time_zone() {
        let s = CronSchedule::parse("0 9 * * MON", "Europe/Paris").unwrap();
        // Winter: Paris is UTC+1.
        assert_eq!(
            s.next_after(utc("2026-11-26T00:00:00Z")),
            Some(utc("2026-11-30T08:00:00Z"))
        );
        // Summer: UTC+2.
        assert_eq!(
            s.next_after(utc("2026-06-02T00:00:00Z")),
            Some(utc("2026-06-08T07:00:00Z"))
        );
    }

    #[test]
    fn missed_slots_collapse_into_the_latest() {
        let s = CronSchedule::parse("0 * * * *", "UTC").unwrap();
        let latest = s.latest_between(utc("2026-01-01T00:30:00Z"), utc("2026-01-01T05:10:00Z"));
        assert_eq!(latest, Some(utc("2026-01-01T05:00:00Z")));
        assert_eq!(
            s.latest_between(utc("2026-01-01T05:00:00Z"), utc("2026-01-01T05:10:00Z")),
            None
        );
    }

    #[test]
    fn a_minutely_schedule_missed_for_months_finds_its_latest_slot() {
        let s = CronSchedule::parse("* * * * *", "UTC").unwrap();
        let latest = s.latest_between(utc("2026-01-01T00:00:30Z"), utc("2026-06-01T12:34:56Z"));
        assert_eq!(latest, Some(utc("2026-06-01T12:34:00Z")));
        let yearly = CronSchedule::parse("0 0 1 1 *", "UTC").unwrap();
        let latest =
            yearly.latest_between(utc("2020-06-01T00:00:00Z"), utc("2026-06-01T00:00:00Z"));
        assert_eq!(latest, Some(utc("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn bad_patterns_and_zones_are_refused() {
        assert!(matches!(
            CronSchedule::parse("0 9 * *", "UTC"),
            Err(CronScheduleError::Pattern { .. })
        ));
        assert!(matches!(
            CronSchedule::parse("0 25 * * *", "UTC"),
            Err(CronScheduleError::Pattern { .. })
        ));
        assert!(matches!(
            CronSchedule::parse("0 9 * * *", "Mars/Base"),
            Err(CronScheduleError::Zone(_))
        ));
    }
}
