//! Amazon SES notifications forwarded by SNS to an e-mail endpoint: a JSON document
//! (`notificationType` Bounce, Complaint or Delivery) instead of a DSN, sometimes wrapped in the SNS
//! envelope (`"Message": "{…}"`), and sometimes broken by the 998-byte line limit ("!" + CRLF + space).

use serde_json::Value;

/// What an SES notification says.
#[derive(Debug)]
pub(super) enum Notification {
    Bounce {
        /// Permanent (hard refusal) or Transient.
        permanent: bool,
        sub_type: String,
        recipients: Vec<SesRecipient>,
        reporting_mta: Option<String>,
    },
    Complaint {
        recipients: Vec<String>,
        feedback_type: Option<String>,
    },
    Delivery {
        recipients: Vec<String>,
        smtp_response: Option<String>,
        reporting_mta: Option<String>,
    },
}

#[derive(Debug)]
pub(super) struct SesRecipient {
    pub address: String,
    pub action: Option<String>,
    pub status: Option<String>,
    pub diagnostic: Option<String>,
}

/// The notification in `text`, if it holds one.
pub(super) fn find(text: &str) -> Option<Notification> {
    let at = text.find("notificationType")?;
    // Either the notification itself, or the SNS envelope that opens earlier.
    let own = text.get(..at)?.rfind('{')?;
    let envelope = text.find('{').filter(|&i| i < own);
    envelope
        .into_iter()
        .chain(std::iter::once(own))
        .find_map(|start| parse_from(text.get(start..)?))
}

fn parse_from(text: &str) -> Option<Notification> {
    // Undo the mail system's line breaking inside the JSON.
    let json: String = text
        .replace("!\r\n ", "")
        .replace("!\n ", "")
        .replace(['\r', '\n'], "");
    let end = json.rfind('}')?;
    let mut value = parse_prefix(json.get(..=end)?)?;
    // SNS envelope: the notification is a JSON string inside.
    if value.get("notificationType").is_none()
        && let Some(inner) = value.get("Message").and_then(Value::as_str)
    {
        value = serde_json::from_str(inner).ok()?;
    }
    read(&value)
}

/// Parses the first JSON value in `text` (text may continue after it).
fn parse_prefix(text: &str) -> Option<Value> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    stream.next()?.ok()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn read(v: &Value) -> Option<Notification> {
    match v.get("notificationType")?.as_str()? {
        "Bounce" => {
            let b = v.get("bounce")?;
            let recipients = b
                .get("bouncedRecipients")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|r| {
                            Some(SesRecipient {
                                address: r.get("emailAddress")?.as_str()?.to_lowercase(),
                                action: text(r.get("action")),
                                status: text(r.get("status")),
                                diagnostic: text(r.get("diagnosticCode")),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Notification::Bounce {
                permanent: b.get("bounceType").and_then(Value::as_str) == Some("Permanent"),
                sub_type: text(b.get("bounceSubType")).unwrap_or_default(),
                recipients,
                reporting_mta: text(b.get("reportingMTA")),
            })
        }
        "Complaint" => {
            let c = v.get("complaint")?;
            let recipients = c
                .get("complainedRecipients")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|r| Some(r.get("emailAddress")?.as_str()?.to_lowercase()))
                        .collect()
                })
                .unwrap_or_default();
            Some(Notification::Complaint {
                recipients,
                feedback_type: text(c.get("complaintFeedbackType")),
            })
        }
        "Delivery" => {
            let d = v.get("delivery")?;
            Some(Notification::Delivery {
                recipients: strings(d.get("recipients")),
                smtp_response: text(d.get("smtpResponse")),
                reporting_mta: text(d.get("reportingMTA")),
            })
        }
        _ => None,
    }
}
