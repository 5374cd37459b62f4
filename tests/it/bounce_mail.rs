//! Building returned messages for tests: what a real MTA writes back to herald's VERP address (RFC
//! 3464 DSN), a feedback-loop complaint (ARF, RFC 5965) quoting the message, an RFC 3834 auto-reply,
//! and reading the tokens herald put into a delivered message.

/// What a delivered message carried that a report can prove its origin with.
pub struct Sent {
    /// `bounces+TOKEN@news.example.com`, the envelope sender (the outbox's Return-Path).
    pub verp: String,
    pub list_unsubscribe: String,
    pub to: String,
    pub message_id: String,
    pub subject: String,
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} header in:\n{message}"))
        .trim()
}

impl Sent {
    /// From an outbox `.eml` file (which starts with `Return-Path: <envelope sender>`).
    pub fn from_outbox(message: &str) -> Self {
        Self {
            verp: header(message, "Return-Path")
                .trim_matches(['<', '>'])
                .to_owned(),
            list_unsubscribe: format!("<{}>", crate::helpers::unsubscribe_link(message)),
            to: header(message, "To").to_owned(),
            message_id: header(message, "Message-ID").to_owned(),
            subject: header(message, "Subject").to_owned(),
        }
    }

    /// The first issue's message to `email`, among the outbox's.
    pub fn to(outbox: &[String], email: &str) -> Self {
        Self::of_issue(outbox, 1, email)
    }

    /// Issue `issue`'s message to `email` (Message-IDs are `<herald.ISSUE.DELIVERY@domain>`).
    pub fn of_issue(outbox: &[String], issue: i64, email: &str) -> Self {
        let message = outbox
            .iter()
            .find(|m| {
                m.contains(&format!("<{email}>"))
                    && m.contains(&format!("Message-ID: <herald.{issue}."))
            })
            .unwrap_or_else(|| panic!("no message of issue {issue} to {email} in the outbox"));
        Self::from_outbox(message)
    }

    fn returned_headers(&self) -> String {
        format!(
            "Return-Path: <{}>\nFrom: Weekly Analysis <news@example.com>\nTo: {}\nSubject: {}\nMessage-ID: {}\nList-Unsubscribe: {}\n",
            self.verp, self.to, self.subject, self.message_id, self.list_unsubscribe
        )
    }
}

/// A Postfix-style RFC 3464 DSN for `recipient`, addressed to the VERP address.
pub fn dsn(sent: &Sent, recipient: &str, status: &str, diagnostic: &str) -> String {
    format!(
        "Return-Path: <>
Delivered-To: {verp}
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=\"BOUNDARY\"
Message-Id: <20261126101010.AAA@mx.example.org>

This is a MIME-encapsulated message.

--BOUNDARY
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mx.example.org[192.0.2.1] said: {diagnostic}

--BOUNDARY
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Thu, 26 Nov 2026 10:10:09 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {diagnostic}

--BOUNDARY
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}
--BOUNDARY--
",
        verp = sent.verp,
        headers = sent.returned_headers()
    )
}

/// A feedback-loop complaint about `sent`, as a mailbox provider sends it: to the list's abuse
/// address (no VERP), quoting the message's headers.
pub fn arf(sent: &Sent, complainer: &str) -> String {
    format!(
        "From: <staff@hotmail.example>
Date: Thu, 26 Nov 2026 12:00:00 +0000
Subject: complaint about message from 192.0.2.10
To: abuse@news.example.com
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary=\"part1_13d.2e68ed54_boundary\"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset=\"US-ASCII\"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP 192.0.2.10 on Thu, 26 Nov 2026 11:00:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{complainer}>
Received-Date: Thu, 26 Nov 2026 11:00:00 +0000
Source-IP: 192.0.2.10
Reported-Domain: news.example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{headers}
Hello reader, the markets moved first this week.

--part1_13d.2e68ed54_boundary--
",
        verp = sent.verp,
        headers = sent.returned_headers()
    )
}

/// An RFC 3834 vacation reply, sent to the envelope sender.
pub fn vacation(sent: &Sent, from: &str) -> String {
    format!(
        "From: {from}
To: {verp}
Subject: Out of office: {subject}
Auto-Submitted: auto-replied
Date: Thu, 26 Nov 2026 12:00:00 +0000
Message-ID: <ooo.1@example.com>

I am away until Monday and will read your message when I am back.
",
        verp = sent.verp,
        subject = sent.subject
    )
}
