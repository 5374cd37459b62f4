//! Reading subscribers from CSV: a header row with an `email` column (required), `name` (optional) and
//! any other columns as attributes, except `status` and `created_at` (an export's own columns). A bad row is reported with its line number and skipped; it never
//! stops the rest of the file. An address whose local part is not ASCII (`jürgen@example.de`) is such
//! a bad row unless the operator said the relay offers SMTPUTF8 (`smtp.smtputf8`): accepted, it
//! would fail at every send.

use crate::{
    domain::EmailAddress,
    store::{Erasures, ImportRow},
};

/// Why an erased address is not imported.
pub const ERASED: &str =
    "this address was erased at the person's request; only they can subscribe it again";
use std::{
    cell::RefCell,
    collections::{BTreeMap, VecDeque},
    io::Read,
    rc::Rc,
};

/// Counts the lines of the bytes it passes on, so that a record's byte offset gives its true line
/// number (the csv crate does not count blank lines).
struct LineCounter<R> {
    inner: R,
    offset: u64,
    /// Offsets of newlines read but not yet passed by a query.
    newlines: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                newlines.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Answers "which line holds byte B" for increasing B.
struct Lines {
    newlines: Rc<RefCell<VecDeque<u64>>>,
    passed: u64,
}

impl Lines {
    fn line_of(&mut self, byte: u64) -> u64 {
        let mut newlines = self.newlines.borrow_mut();
        while newlines.front().is_some_and(|n| *n < byte) {
            newlines.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// Rejected rows reported one by one; beyond, only counted (a file of a million bad rows must not
/// make a report of a million lines).
pub const MAX_REPORTED: usize = 1000;

/// The rows an import rejected.
#[derive(Debug, Clone, Default)]
pub struct Rejections {
    pub total: usize,
    /// The first [`MAX_REPORTED`], in file order.
    pub rows: Vec<Rejected>,
}

impl Rejections {
    fn push(&mut self, row: Rejected) {
        self.total += 1;
        if self.rows.len() < MAX_REPORTED {
            self.rows.push(row);
        }
    }
}

/// Column names read as herald's own rather than as attributes (what `subscriber export` writes).
pub const RESERVED: [&str; 2] = ["status", "created_at"];

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// Reads rows in chunks of `chunk` and hands each chunk to `sink` (so a million rows never sit in
/// memory at once). Returns the rejected rows (the first [`MAX_REPORTED`] of them, and how many). Addresses with a non-ASCII local part are rejected
/// unless `smtputf8` (`smtp.smtputf8 = true`).
pub fn read<R: Read>(
    input: R,
    chunk: usize,
    smtputf8: bool,
    erased: &Erasures,
    mut sink: impl FnMut(Vec<ImportRow>) -> anyhow::Result<()>,
) -> anyhow::Result<Rejections> {
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let mut lines = Lines {
        newlines: newlines.clone(),
        passed: 0,
    };
    let counted = LineCounter {
        inner: input,
        offset: 0,
        newlines,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(counted);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("line 1: cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    let email_at = headers.iter().position(|h| h == "email").ok_or_else(|| {
        anyhow::anyhow!(
            "line 1: the header row has no `email` column (found: {})",
            headers.join(", ")
        )
    })?;
    let name_at = headers.iter().position(|h| h == "name");
    // Columns `subscriber export` adds after the attributes: herald's own, never attributes (and an
    // import never changes a subscriber's status).
    let reserved: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| RESERVED.contains(&h.as_str()))
        .map(|(i, _)| i)
        .collect();
    let mut rejected = Rejections::default();
    let mut rows = Vec::with_capacity(chunk);
    let mut record = csv::StringRecord::new();
    loop {
        let read = reader.read_record(&mut record);
        // The line of the record's last byte, less the newlines inside quoted fields: its first line.
        let end = reader.position().byte().saturating_sub(1);
        let embedded = record
            .iter()
            .map(|f| f.matches('\n').count() as u64)
            .sum::<u64>();
        let line = lines.line_of(end).saturating_sub(embedded);
        match read {
            Ok(false) => break,
            Ok(true) => {}
            // Reading the file failed: that is not a bad row, and it would repeat for ever.
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(anyhow::anyhow!("line {line}: cannot read the file: {e}"));
            }
            Err(e) => {
                rejected.push(Rejected {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        }
        if record.len() != headers.len() {
            rejected.push(Rejected {
                line,
                reason: format!(
                    "has {} fields, the header has {}",
                    record.len(),
                    headers.len()
                ),
            });
            continue;
        }
        let parsed = if smtputf8 {
            EmailAddress::parse_international(&record[email_at])
        } else {
            EmailAddress::parse(&record[email_at])
        };
        let email = match parsed {
            Ok(e) => e,
            Err(e) => {
                rejected.push(Rejected {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if erased.contains(&email) {
            rejected.push(Rejected {
                line,
                reason: ERASED.into(),
            });
            continue;
        }
        let name = name_at
            .map(|i| record[i].to_owned())
            .filter(|n| !n.is_empty());
        let attributes: BTreeMap<String, String> = headers
            .iter()
            .zip(record.iter())
            .enumerate()
            .map(|(i, (k, v))| (i, (k, v.trim())))
            .filter(|(i, (_, v))| {
                *i != email_at && Some(*i) != name_at && !reserved.contains(i) && !v.is_empty()
            })
            .map(|(_, (k, v))| (k.clone(), v.to_owned()))
            .collect();
        match ImportRow::new(email, name, attributes) {
            Ok(row) => rows.push(row),
            Err(reason) => {
                rejected.push(Rejected { line, reason });
                continue;
            }
        }
        if rows.len() == chunk {
            sink(std::mem::replace(&mut rows, Vec::with_capacity(chunk)))?;
        }
    }
    if !rows.is_empty() {
        sink(rows)?;
    }
    Ok(rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_reported_by_line_and_the_rest_kept() {
        let csv = "email,name,city\nann@example.com,Ann,Oslo\nnot-an-address,Bob,Rome\n\ncy@example.com,Cy\n\"dee@example.com\",Dee,\n";
        let mut kept = Vec::new();
        let rejected = read(csv.as_bytes(), 2, false, &Erasures::none(), |chunk| {
            kept.extend(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            kept.iter().map(|r| r.email.as_str()).collect::<Vec<_>>(),
            ["ann@example.com", "dee@example.com"]
        );
        assert_eq!(
            kept[0].attributes.get("city").map(String::as_str),
            Some("Oslo")
        );
        assert!(kept[1].attributes.is_empty());
        let lines: Vec<u64> = rejected.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 5]);
    }

    fn emails(csv: &str, smtputf8: bool) -> (Vec<String>, Vec<Rejected>) {
        let mut kept = Vec::new();
        let rejected = read(csv.as_bytes(), 10, smtputf8, &Erasures::none(), |chunk| {
            kept.extend(chunk.into_iter().map(|r| r.email.as_str().to_owned()));
            Ok(())
        })
        .unwrap();
        (kept, rejected.rows)
    }

    #[test]
    fn international_domains_are_read_as_a_labels() {
        let (kept, rejected) = emails("email\nAnna@Bücher.de\nbob@xn--bcher-kva.de\n", false);
        assert_eq!(kept, ["anna@xn--bcher-kva.de", "bob@xn--bcher-kva.de"]);
        assert!(rejected.is_empty());
    }

    #[test]
    fn a_non_ascii_local_part_is_rejected_by_line_unless_smtputf8_is_on() {
        let csv = "email\nann@example.de\njürgen@example.de\n";
        let (kept, rejected) = emails(csv, false);
        assert_eq!(kept, ["ann@example.de"]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 3);
        assert!(
            rejected[0].reason.contains("SMTPUTF8"),
            "{}",
            rejected[0].reason
        );
        let (kept, rejected) = emails(csv, true);
        assert_eq!(kept, ["ann@example.de", "jürgen@example.de"]);
        assert!(rejected.is_empty());
    }
}
