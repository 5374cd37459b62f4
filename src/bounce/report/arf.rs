//! Complaints: ARF feedback reports (RFC 5965, `multipart/report; report-type=feedback-report`) and
//! the feedback-loop formats of providers that do not send ARF (Microsoft's JMRP with
//! `X-HmXmrOriginalRecipient`, Apple Mail's one-click unsubscribe notice, plain-text abuse reports
//! that quote `Feedback-Type:` fields).

use super::mime::Mail;
use super::scan;

/// A complaint: who complained, and the feedback type when given.
#[derive(Debug, Default)]
pub(super) struct Complaint {
    pub recipients: Vec<String>,
    pub feedback_type: Option<String>,
}

/// The complaint `mail` is, if it is one.
pub(super) fn read(mail: &Mail) -> Option<Complaint> {
    let arf =
        mail.report_type.as_deref() == Some("feedback-report") || !mail.feedback_parts.is_empty();
    let returned = mail.returned_headers.as_deref().unwrap_or(&[]);
    let jmrp = returned
        .iter()
        .chain(mail.headers.iter())
        .find(|(n, _)| n == "x-hmxmroriginalrecipient")
        .map(|(_, v)| v.clone());
    let apple_unsubscribe = mail
        .header("x-apple-unsubscribe")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let subject = mail.header("subject").unwrap_or("").to_lowercase();
    let fields_in_text = !arf
        && mail.texts.iter().any(|t| {
            let l = t.to_lowercase();
            l.contains("feedback-type:") && (l.contains("user-agent:") || l.contains("version:"))
        });
    let complaint_subject = subject
        .trim_start()
        .starts_with("complaint about message from");
    if !(arf || jmrp.is_some() || apple_unsubscribe || fields_in_text || complaint_subject) {
        return None;
    }

    // Feedback fields: the feedback-report part, or the text that quotes them.
    let field_text: Vec<&str> = if mail.feedback_parts.is_empty() {
        mail.texts.iter().map(String::as_str).collect()
    } else {
        mail.feedback_parts.iter().map(String::as_str).collect()
    };
    let mut complaint = Complaint::default();
    for text in field_text {
        for line in text.lines().take(2_000) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "feedback-type" if complaint.feedback_type.is_none() && !value.is_empty() => {
                    complaint.feedback_type = Some(value.to_ascii_lowercase());
                }
                "original-rcpt-to" | "removal-recipient" => {
                    if let Some(a) = scan::first_address(value)
                        && !complaint.recipients.contains(&a)
                    {
                        complaint.recipients.push(a);
                    }
                }
                _ => {}
            }
        }
    }
    if complaint.recipients.is_empty()
        && let Some(a) = jmrp.as_deref().and_then(scan::first_address)
    {
        complaint.recipients.push(a);
    }
    if complaint.recipients.is_empty() && apple_unsubscribe {
        // Apple Mail's notice comes from the reader who unsubscribed.
        if let Some(a) = mail.header("from").and_then(scan::first_address) {
            complaint.recipients.push(a);
        }
    }
    if complaint.recipients.is_empty()
        && let Some(a) = returned
            .iter()
            .find(|(n, _)| n == "to")
            .and_then(|(_, v)| scan::first_address(v))
    {
        complaint.recipients.push(a);
    }
    if complaint.recipients.is_empty() {
        // Headers quoted in the text part (some providers inline the original).
        for text in &mail.texts {
            if let Some(at) = super::returned::split_at(text) {
                let quoted = super::returned::quoted_headers(text.get(at..).unwrap_or(""));
                if let Some(a) = quoted
                    .iter()
                    .find(|(n, _)| n == "to")
                    .and_then(|(_, v)| scan::first_address(v))
                {
                    complaint.recipients.push(a);
                    break;
                }
            }
        }
    }
    Some(complaint)
}
