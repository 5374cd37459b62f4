//! Exporting a list's subscribers as CSV (the columns `subscriber import` reads: `email`, `name`, one
//! column per attribute, then `status` and `created_at`) or as one JSON array, a page at a time, so
//! that a million subscribers are never held in memory: the CLI writes each piece to stdout, the API
//! streams it as the response body.

use super::{OpsError, lists};
use crate::{
    domain::{ListId, SubscriberStatus},
    store::{Store, Subscriber},
};

/// Subscribers read per piece.
const PAGE: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

/// An export in progress: call [`Export::next`] until it returns `None`.
pub struct Export {
    store: Store,
    list: ListId,
    status: Option<SubscriberStatus>,
    format: Format,
    /// Attribute names of the list, in order: the CSV's columns after `name`.
    attributes: Vec<String>,
    after: i64,
    started: bool,
    written: u64,
    done: bool,
}

impl Export {
    pub async fn start(
        store: &Store,
        slug: &str,
        status: Option<SubscriberStatus>,
        format: Format,
    ) -> Result<Self, OpsError> {
        let list = store.list(&lists::slug(slug)?).await?;
        let attributes = match format {
            Format::Csv => store.attribute_names(list.id).await?,
            Format::Json => Vec::new(),
        };
        Ok(Self {
            store: store.clone(),
            list: list.id,
            status,
            format,
            attributes,
            after: 0,
            started: false,
            written: 0,
            done: false,
        })
    }

    /// The next piece of the document; `None` once it is complete.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, OpsError> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            match self.format {
                Format::Csv => {
                    let mut header = vec!["email", "name"];
                    header.extend(self.attributes.iter().map(String::as_str));
                    header.extend(["status", "created_at"]);
                    out = self.csv(|w| w.write_record(&header))?;
                }
                Format::Json => out.extend_from_slice(b"["),
            }
            return Ok(Some(out));
        }
        let page = self
            .store
            .subscribers_page(self.list, self.status, self.after, PAGE)
            .await?;
        if let Some(last) = page.last() {
            self.after = last.id.0;
        }
        for s in &page {
            match self.format {
                Format::Csv => {
                    let row = self.csv_row(s);
                    out.extend(self.csv(|w| w.write_record(&row))?);
                }
                Format::Json => {
                    out.extend_from_slice(if self.written == 0 { b"\n" } else { b",\n" });
                    serde_json::to_writer(&mut out, s)
                        .map_err(|e| OpsError::Unprocessable(e.to_string()))?;
                }
            }
            self.written += 1;
        }
        if page.len() < PAGE as usize {
            self.done = true;
            if self.format == Format::Json {
                out.extend_from_slice(b"\n]\n");
            }
        }
        Ok(Some(out))
    }

    fn csv_row(&self, s: &Subscriber) -> Vec<String> {
        let mut row = vec![s.email.clone(), s.name.clone().unwrap_or_default()];
        row.extend(
            self.attributes
                .iter()
                .map(|a| s.attributes.get(a).cloned().unwrap_or_default()),
        );
        row.push(s.status.to_string());
        row.push(s.created_at.to_rfc3339());
        row
    }

    fn csv(
        &self,
        write: impl FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()>,
    ) -> Result<Vec<u8>, OpsError> {
        let mut out = Vec::new();
        {
            let mut w = csv::Writer::from_writer(&mut out);
            write(&mut w)
                .and_then(|()| w.flush().map_err(csv::Error::from))
                .map_err(|e| OpsError::Unprocessable(e.to_string()))?;
        }
        Ok(out)
    }
}
