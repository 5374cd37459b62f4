//! Cursor pagination: a page holds up to `limit` rows after the cursor; its `next` is the cursor of
//! the following page (the last row's id), absent on the last page. Cursors never skip or repeat a
//! row while rows are added.

use super::OpsError;

/// The most rows a page holds.
pub const MAX_PAGE: u32 = 1000;

/// The id after which a page starts.
pub fn after(cursor: Option<&str>) -> Result<i64, OpsError> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|c| *c >= 0).ok_or_else(|| {
            OpsError::invalid("cursor", format!("`{c}` is not a cursor this API gave"))
        }),
    }
}

pub fn limit(limit: u32) -> Result<u32, OpsError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(OpsError::invalid(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        ))
    }
}

/// The cursor of the page after `rows`, if it may hold more.
pub fn next<T>(rows: &[T], limit: u32, id: impl Fn(&T) -> i64) -> Option<String> {
    (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| id(r).to_string()))
        .flatten()
}
