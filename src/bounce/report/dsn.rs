//! RFC 3464 delivery-status fields: the per-message group (Reporting-MTA, …) and one group per
//! recipient (Final-Recipient, Action, Status, Remote-MTA, Diagnostic-Code). Read from a
//! message/delivery-status part, or from text that quotes the same fields (several MTAs put them in
//! the human-readable part).

/// One per-recipient group.
#[derive(Debug, Default, Clone)]
pub(super) struct DsnRecipient {
    pub final_recipient: Option<String>,
    pub original_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub remote_mta: Option<String>,
    /// The Diagnostic-Code text without its type (`smtp;`).
    pub diagnostic: Option<String>,
    /// The Diagnostic-Code type, lower-cased (`smtp`, `x-unix`, …).
    pub diagnostic_type: Option<String>,
}

impl DsnRecipient {
    pub fn address(&self) -> Option<&str> {
        self.final_recipient
            .as_deref()
            .or(self.original_recipient.as_deref())
    }

    fn has_recipient(&self) -> bool {
        self.final_recipient.is_some() || self.original_recipient.is_some()
    }
}

/// The per-message fields worth keeping.
#[derive(Debug, Default, Clone)]
pub(super) struct DsnMessage {
    pub reporting_mta: Option<String>,
}

/// Whether `text` holds delivery-status fields (cheap check before [`read`]).
pub(super) fn mentions_fields(lower_text: &str) -> bool {
    lower_text.contains("final-recipient:") || lower_text.contains("original-recipient:")
}

/// Reads every field group in `text`. Groups are separated by blank lines; a second Final-Recipient
/// (or Original-Recipient) also starts a new group, for writers that forget the blank line.
pub(super) fn read(text: &str) -> (DsnMessage, Vec<DsnRecipient>) {
    let mut message = DsnMessage::default();
    let mut recipients: Vec<DsnRecipient> = Vec::new();
    let mut current = DsnRecipient::default();
    for field in fields(text) {
        let Some((name, value)) = field else {
            // A blank line closes a recipient group.
            if current.has_recipient() {
                recipients.push(std::mem::take(&mut current));
            }
            continue;
        };
        let value = value.trim();
        match name.as_str() {
            "final-recipient" => {
                if current.final_recipient.is_some() {
                    recipients.push(std::mem::take(&mut current));
                }
                current.final_recipient = address_of(value);
            }
            "original-recipient" => {
                if current.original_recipient.is_some() {
                    recipients.push(std::mem::take(&mut current));
                }
                current.original_recipient = address_of(value);
            }
            "action" => current.action = Some(first_word(value).to_ascii_lowercase()),
            "status" => current.status = Some(first_word(value).to_owned()),
            "remote-mta" => current.remote_mta = Some(strip_type(value).0.to_owned()),
            "diagnostic-code" => {
                let (text, kind) = strip_type(value);
                current.diagnostic = Some(text.to_owned());
                current.diagnostic_type = kind.map(|k| k.to_ascii_lowercase());
            }
            "reporting-mta" => {
                message.reporting_mta = Some(strip_type(value).0.to_owned());
            }
            _ => {}
        }
    }
    if current.has_recipient() {
        recipients.push(current);
    }
    recipients.retain(|r| r.address().is_some());
    (message, recipients)
}

/// `rfc822; <a@b>` → `a@b` (lower-cased); `None` unless it looks like an address.
fn address_of(value: &str) -> Option<String> {
    let (addr, _) = strip_type(value);
    let addr = addr
        .trim()
        .trim_start_matches('<')
        .split(['>', ' ', '\t', ','])
        .next()
        .unwrap_or("")
        .trim_matches(['"', '\'', '<', '>', '(', ')', ';', '.']);
    (addr.contains('@') && addr.len() <= 320 && addr.len() >= 3).then(|| addr.to_lowercase())
}

fn first_word(value: &str) -> &str {
    value
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .find(|w| !w.is_empty())
        .unwrap_or("")
}

/// `smtp; text` → (`text`, Some(`smtp`)); values without a type stay as they are.
fn strip_type(value: &str) -> (&str, Option<&str>) {
    if let Some((kind, rest)) = value.split_once(';') {
        let kind = kind.trim();
        if !kind.is_empty()
            && kind.len() <= 16
            && kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return (rest.trim(), Some(kind));
        }
    }
    (value.trim(), None)
}

/// The logical fields of `text` in order: `Some((lower-cased name, unfolded value))`, or `None` for
/// a blank line. Lines that are not fields (nor continuations) are skipped.
fn fields(text: &str) -> Vec<Option<(String, String)>> {
    let mut out: Vec<Option<(String, String)>> = Vec::new();
    let mut last_was_field = false;
    for line in text.lines().take(5_000) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            out.push(None);
            last_was_field = false;
            continue;
        }
        if line.starts_with([' ', '\t']) && last_was_field {
            if let Some(Some((_, value))) = out.last_mut()
                && value.len() < 8 * 1024
            {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value))
                if !name.is_empty()
                    && name.len() <= 40
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                out.push(Some((name.to_ascii_lowercase(), value.to_owned())));
                last_was_field = true;
            }
            _ => last_was_field = false,
        }
    }
    out
}
