//! Per-vendor conventions applied after the generic readers.
//!
//! Two kinds of vendor matter. The mail system that *wrote* the report (Exim, qmail, IMail, Domino,
//! InterScan, …) is recognised by the report's own headers (From, Subject, X-Mailer, Received,
//! Message-ID, the boundary style); its wording means one thing whatever the remote server said
//! ("Unknown user" from IMail is a missing mailbox, "Cannot route mail to user" from Domino is a
//! filter). The *remote* system that refused (Google, Microsoft, Yahoo, AOL, Cox, …) is recognised
//! by the recipient's domain or the remote MTA's host name; its replies carry its own codes and
//! phrases, which say more than the generic tables do.
//!
//! A writer's verdict on an unknown user, a host or the network is a hint (the generic reading
//! still wins when it names something more specific, a full mailbox or a relay refusal); any other
//! verdict of the writer's, and any verdict of the remote system's, replaces the generic reading.

use super::RecipientReport;
use super::classify::{derived_status, normalise};
use super::parse::Context;
use crate::domain::{BounceReason, BounceReason::*};

/// A phrase (lower-case, whitespace-collapsed) and what it means; with `status`, only when the
/// recipient's enhanced status starts with it.
struct Rule {
    reason: BounceReason,
    status: &'static str,
    phrase: &'static str,
}

const fn r(reason: BounceReason, phrase: &'static str) -> Rule {
    Rule {
        reason,
        status: "",
        phrase,
    }
}

const fn rs(reason: BounceReason, status: &'static str, phrase: &'static str) -> Rule {
    Rule {
        reason,
        status,
        phrase,
    }
}

/// The mail systems that write reports, as recognised by [`writer_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Biglobe,
    Courier,
    Domino,
    DragonFly,
    EinsUndEins,
    Exim,
    Ezweb,
    Fml,
    Gmail,
    Gmx,
    GoogleGroups,
    IMail,
    InterScan,
    Kddi,
    MessagingServer,
    Notes,
    OpenSmtpd,
    Qmail,
    Verizon,
    Zoho,
}

fn writer_rules(w: Writer) -> &'static [Rule] {
    use Writer::*;
    match w {
        Biglobe => {
            const {
                &[
                    r(Filtered, "mail delivery failed... user unknown"),
                    r(
                        MailboxFull,
                        "the number of messages in recipient's mailbox exceeded the local limit",
                    ),
                ]
            }
        }
        Courier => {
            const {
                &[
                    r(HostUnknown, "no such domain."),
                    r(SystemError, "this domain's dns violates rfc 1035"),
                    r(NetworkError, "dns lookup failed."),
                ]
            }
        }
        Domino => {
            const {
                &[
                    r(Filtered, "cannot route mail to user"),
                    r(SystemError, "several matches found in domino directory"),
                    r(UserUnknown, "not listed in domino directory"),
                    r(UserUnknown, "not listed in public name & address book"),
                    r(UserUnknown, "no se encuentra en el directorio de domino"),
                    r(UserUnknown, "non répertorié dans l'annuaire domino"),
                    r(UserUnknown, "domino ディレクトリには見つかりません"),
                ]
            }
        }
        DragonFly => {
            const {
                &[
                    r(Expired, "could not deliver for the last "),
                    r(HostUnknown, "dns lookup failure: host "),
                ]
            }
        }
        EinsUndEins => const { &[r(MessageTooBig, "mail size limit exceeded")] },
        Exim => {
            const {
                &[
                    r(HostUnknown, "all host address lookups failed permanently"),
                    r(
                        HostUnknown,
                        "all relevant mx records point to non-existent hosts",
                    ),
                    r(HostUnknown, "unrouteable address"),
                    r(MailboxFull, "error: quota exceed"),
                    r(NotAccept, "an mx or srv record indicated no smtp service"),
                    r(NotAccept, "no host found for existing smtp connection"),
                    r(SyntaxError, "angle-brackets nested too deep"),
                    r(SyntaxError, "expected word or \"<\""),
                    r(SyntaxError, "domain missing in source-routed address"),
                    r(SyntaxError, "malformed address:"),
                    r(SystemError, "delivery to file forbidden"),
                    r(SystemError, "delivery to pipe forbidden"),
                    r(SystemError, "local delivery failed"),
                    r(SystemError, "lmtp error after "),
                    r(ContentError, "too many \"received\" headers"),
                ]
            }
        }
        Ezweb => {
            const {
                &[
                    r(Expired, "your message was not delivered within "),
                    r(MailboxFull, "the user(s) account is temporarily over quota"),
                    r(Suspend, "the user(s) account is disabled"),
                    r(Suspend, "the user(s) account is temporarily limited"),
                ]
            }
        }
        Fml => {
            const {
                &[
                    r(Rejected, " header may cause mail loop"),
                    r(Rejected, "not member article from "),
                    r(Rejected, "reject mail from "),
                    r(Rejected, "reject spammers:"),
                    r(Rejected, "you are not a member of this mailing list"),
                    r(SystemError, " has detected a loop condition so that"),
                    r(SystemError, "duplicated message-id"),
                    r(SystemError, "loop back warning:"),
                    r(SecurityError, "security alert:"),
                ]
            }
        }
        Gmail => {
            const {
                &[
                    r(Expired, "dns error: could not contact dns servers"),
                    r(
                        Expired,
                        "delivery to the following recipient has been delayed",
                    ),
                    r(
                        Expired,
                        "the recipient server did not accept our requests to connect",
                    ),
                    r(HostUnknown, "dns error: domain name not found"),
                    r(
                        HostUnknown,
                        "dns error: dns server returned answer with no data",
                    ),
                    r(NetworkError, " had no relevant answers."),
                    r(NetworkError, " responded with code nxdomain"),
                    r(NotAccept, "null mx"),
                    r(
                        UserUnknown,
                        "because the address couldn't be found. check for typos or unnecessary spaces",
                    ),
                ]
            }
        }
        Gmx => const { &[r(Expired, "delivery retry timeout exceeded")] },
        GoogleGroups => &[],
        IMail => {
            const {
                &[
                    r(HostUnknown, "unknown host"),
                    r(UserUnknown, "unknown user"),
                    r(UserUnknown, "invalid final delivery userid"),
                    r(MailboxFull, "user mailbox exceeds allowed size"),
                    r(VirusDetected, "requested action not taken: virus detected"),
                    r(SpamDetected, "blacklisted url in message"),
                    r(Expired, "delivery failed "),
                ]
            }
        }
        InterScan => const { &[r(UserUnknown, "unable to deliver")] },
        Kddi => {
            const {
                &[
                    r(MailboxFull, "as their mailbox is full"),
                    r(NoRelaying, "due to the following smtp relay error"),
                    r(HostUnknown, "as the remote domain doesnt exist"),
                ]
            }
        }
        MessagingServer => const { &[r(HostUnknown, "illegal host/domain name found")] },
        Notes => {
            const {
                &[
                    r(NetworkError, "message has exceeded maximum hop count"),
                    r(UserUnknown, "user not listed in public name & address book"),
                    r(UserUnknown, "ディレクトリのリストにありません"),
                ]
            }
        }
        OpenSmtpd => {
            const {
                &[
                    r(Expired, "envelope expired"),
                    r(SecurityError, "could not retrieve credentials"),
                    r(HostUnknown, "invalid domain name"),
                    r(HostUnknown, "domain does not exist"),
                    r(NetworkError, "address family mismatch on destination mxs"),
                    r(NetworkError, "all routes to destination blocked"),
                    r(NetworkError, "bad dns lookup error code"),
                    r(NetworkError, "could not retrieve source address"),
                    r(NetworkError, "loop detected"),
                    r(NetworkError, "network error on destination mxs"),
                    r(NetworkError, "no valid route to remote mx"),
                    r(NetworkError, "no valid route to destination"),
                    r(NetworkError, "temporary failure in mx lookup"),
                    r(NotAccept, "destination seem to reject all mails"),
                    r(NotAccept, "no mx found for domain"),
                    r(NotAccept, "no mx found for destination"),
                ]
            }
        }
        Qmail => {
            const {
                &[
                    r(HostUnknown, "sorry, i couldn't find any host "),
                    r(MailboxFull, "disk quota exceeded"),
                    r(
                        MessageTooBig,
                        "message size exceeds fixed maximum message size:",
                    ),
                    r(
                        NetworkError,
                        "sorry, i wasn't able to establish an smtp connection",
                    ),
                    r(
                        NetworkError,
                        "although i'm listed as a best-preference mx or a for that host",
                    ),
                    r(
                        NotAccept,
                        "sorry, i couldn't find a mail exchanger or ip address",
                    ),
                    r(
                        SystemFull,
                        "requested action not taken: mailbox unavailable (not enough free space)",
                    ),
                    r(UserUnknown, "no mailbox here by that name"),
                ]
            }
        }
        Verizon => {
            const {
                &[
                    r(
                        UserUnknown,
                        "550 - requested action not taken: no such user here",
                    ),
                    r(UserUnknown, "no valid recipients"),
                ]
            }
        }
        Zoho => const { &[r(Expired, "host not reachable")] },
    }
}

/// Report writers whose reports never say which SMTP command was refused: an unknown user in their
/// words, without a 5.1.x status of the server's own, may as well be a filter's refusal after DATA.
fn writer_hides_the_command(w: Writer) -> bool {
    matches!(w, Writer::Zoho)
}

/// Who wrote the report, from its headers and the start of its text.
fn writer_of(ctx: &Context<'_>) -> Option<Writer> {
    use Writer::*;
    let mail = ctx.mail;
    let subject = ctx.subject.as_str();
    let from = ctx.from.as_str();
    let header = |name: &str| mail.header(name).unwrap_or("");
    let received = || mail.headers_named("received");
    let message_id = header("message-id").to_ascii_lowercase();
    let x_mailer = header("x-mailer");
    if x_mailer.starts_with("<SMTP32 v") || subject.starts_with("Undeliverable Mail ") {
        return Some(IMail);
    }
    if from.contains("\"interscan")
        || ([
            "Mail could not be delivered",
            "メッセージを配信できません",
            "メール配信に失敗しました",
        ]
        .iter()
        .any(|t| subject.contains(t))
            && ctx.body.contains("InterScan"))
    {
        return Some(InterScan);
    }
    if subject.starts_with("DELIVERY FAILURE:") || subject.starts_with("DELIVERY_FAILURE:") {
        return Some(Domino);
    }
    if subject.starts_with("Undeliverable message") {
        return Some(Notes);
    }
    if received().any(|r| r.contains("(DragonFly Mail Agent")) {
        return Some(DragonFly);
    }
    if from.contains("courier mail server at ") || message_id.starts_with("<courier.") {
        return Some(Courier);
    }
    if from.contains("postmaster@ezweb.ne.jp")
        || from.contains("postmaster@au.com")
        || message_id.ends_with(".ezweb.ne.jp>")
        || message_id.ends_with(".au.com>")
    {
        return Some(Ezweb);
    }
    if from.contains("@dion.ne.jp") || from.contains("@ezweb.ne.jp") {
        return Some(Kddi);
    }
    if from.contains("postmaster@")
        && [
            "@biglobe.ne.jp",
            "@inacatv.ne.jp",
            "@tmtv.ne.jp",
            "@ttv.ne.jp",
        ]
        .iter()
        .any(|d| from.contains(d))
    {
        return Some(Biglobe);
    }
    if from.contains("post_master@vtext.com") {
        return Some(Verizon);
    }
    if from.contains("mailer-daemon@googlemail.com")
        && subject.contains("Delivery Status Notification")
    {
        if ctx.body.contains("Google Groups") && mail.header("x-failed-recipients").is_some() {
            return Some(GoogleGroups);
        }
        return Some(Gmail);
    }
    if from.contains("@gmx.") || from.contains("@web.de") {
        return Some(Gmx);
    }
    if from.contains("zoho.com") || received().any(|r| r.contains("mx.zohomail.com")) {
        return Some(Zoho);
    }
    if mail.content_type.contains("Boundary_(ID_")
        || header("content-type").contains("Boundary_(ID_")
        || subject.starts_with("Delivery Notification: ")
    {
        return Some(MessagingServer);
    }
    if from.starts_with("\"mail delivery system\"") && message_id.contains("@kundenserver.de") {
        return Some(EinsUndEins);
    }
    if mail.header("x-mlserver").is_some() || mail.header("x-ml-name").is_some() {
        return Some(Fml);
    }
    if (from.contains("mailer daemon <") || from.starts_with("mailer-daemon@"))
        && subject.contains("Delivery status notification")
    {
        return Some(OpenSmtpd);
    }
    if received().any(|r| r.contains("qmail ") && r.contains("invoked")) {
        return Some(Qmail);
    }
    if mail.header("x-failed-recipients").is_some()
        || ctx
            .body
            .contains("This message was created automatically by mail delivery software.")
    {
        return Some(Exim);
    }
    None
}

/// Remote systems with conventions of their own, and the host name endings that identify them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remote {
    Aol,
    Apple,
    Cox,
    Facebook,
    GoDaddy,
    Google,
    GSuite,
    Kddi,
    MessageLabs,
    Microsoft,
    Mimecast,
    YahooInc,
}

const REMOTES: &[(Remote, &[&str])] = &[
    (Remote::Aol, &[".mail.aol.com", ".mx.aol.com"]),
    (
        Remote::Apple,
        &[".mail.icloud.com", ".apple.com", ".me.com"],
    ),
    (Remote::Cox, &["cox.net"]),
    (Remote::Facebook, &[".facebook.com"]),
    (
        Remote::GoDaddy,
        &["smtp.secureserver.net", "mailstore1.secureserver.net"],
    ),
    (
        Remote::Google,
        &["aspmx.l.google.com", "gmail-smtp-in.l.google.com"],
    ),
    (Remote::GSuite, &["googlemail.com"]),
    (Remote::Kddi, &[".ezweb.ne.jp", "msmx.au.com"]),
    (Remote::MessageLabs, &[".messagelabs.com"]),
    (
        Remote::Microsoft,
        &[
            ".prod.outlook.com",
            ".protection.outlook.com",
            ".onmicrosoft.com",
            ".exchangelabs.com",
        ],
    ),
    (Remote::Mimecast, &[".mimecast.com"]),
    (Remote::YahooInc, &[".yahoodns.net"]),
];

fn remote_rules(v: Remote) -> &'static [Rule] {
    use Remote::*;
    match v {
        Aol => {
            const {
                &[
                    r(HostUnknown, "host or domain name not found"),
                    r(
                        NotAccept,
                        "type=mx: malformed or unexpected name server reply",
                    ),
                ]
            }
        }
        Apple => {
            const {
                &[
                    r(AuthFailure, "s dmarc policy"),
                    r(
                        AuthFailure,
                        "blocked for failing both spf and dkim autentication checks",
                    ),
                    r(
                        Blocked,
                        "rejected due to having a domain present in the spamhaus",
                    ),
                    r(Blocked, "rejected due to listing in spamhaus"),
                    r(
                        Blocked,
                        "blocked - see https://support.proofpoint.com/dnsbl-lookup",
                    ),
                    r(Blocked, "not accepting connections"),
                    r(HasMoved, "recipient no longer on server"),
                    r(MailboxFull, "user is over quota"),
                    r(NoRelaying, "relay access denied"),
                    r(NotAccept, "host/domain does not accept mail"),
                    r(PolicyViolation, "due to local policy"),
                    r(Rejected, "sender address rejected"),
                    r(Speeding, "due to excessive volume"),
                    r(UserUnknown, "inactive email address"),
                    r(UserUnknown, "user does not exist"),
                    r(UserUnknown, "unknown or illegal alias"),
                ]
            }
        }
        Cox => {
            const {
                &[
                    r(Blocked, "aup#cxbl"),
                    r(Blocked, "aup#cdrbl"),
                    r(Blocked, "aup#ipbl"),
                    r(RequirePtr, "aup#cxdns"),
                    r(AuthFailure, "aup#cxsndr"),
                    r(Rejected, "aup#cxsmtp"),
                    r(TooManyConnections, "aup#cxcnct"),
                    r(TooManyConnections, "aup#cxmxrt"),
                    r(SecurityError, "aup#cxthrt"),
                    r(SecurityError, "aup#cxmj"),
                    r(SpamDetected, "aup#urlbl"),
                    r(Blocked, "cox too many bad commands from"),
                    r(Blocked, "too many invalid recipients"),
                    r(RequirePtr, "dns check failure - try again later"),
                    r(RequirePtr, "rejected - no rdns"),
                    r(PolicyViolation, "esmtp no data before greeting"),
                    r(PolicyViolation, "attachment extension is forbidden"),
                    r(Rejected, "sender rejected"),
                    r(SystemError, "esmtp server temporarily not available"),
                    r(TooManyConnections, "too many sessions from"),
                    r(
                        TooManyConnections,
                        "requested action aborted: try again later",
                    ),
                    r(TooManyConnections, "message threshold exceeded"),
                    r(UserUnknown, "recipient rejected"),
                ]
            }
        }
        Facebook => {
            const {
                &[
                    r(AuthFailure, "pol-p7"),
                    r(Blocked, "pol-p1"),
                    r(Blocked, "pol-p2"),
                    r(Blocked, "pol-p3"),
                    r(Blocked, "pol-p4"),
                    r(Blocked, "pol-t1"),
                    r(Blocked, "pol-t2"),
                    r(Blocked, "pol-t3"),
                    r(ContentError, "msg-p2"),
                    r(Filtered, "rcp-p2"),
                    r(Filtered, "rcp-p3"),
                    r(MessageTooBig, "msg-p1"),
                    r(MessageTooBig, "int-p2"),
                    r(NotCompliantRfc, "msg-p3"),
                    r(Rejected, "dns-p1"),
                    r(Rejected, "dns-p2"),
                    r(Rejected, "dns-t1"),
                    r(RequirePtr, "dns-p3"),
                    r(RequirePtr, "dns-t2"),
                    r(SpamDetected, "pol-p6"),
                    r(Suspend, "rcp-t4"),
                    r(SystemError, "rcp-t1"),
                    r(TooManyConnections, "con-t1"),
                    r(TooManyConnections, "con-t2"),
                    r(TooManyConnections, "con-t3"),
                    r(TooManyConnections, "con-t4"),
                    r(TooManyConnections, "msg-t1"),
                    r(UserUnknown, "rcp-p1"),
                    r(UserUnknown, "int-p1"),
                    r(UserUnknown, "int-p3"),
                    r(UserUnknown, "int-p4"),
                    r(VirusDetected, "pol-p5"),
                ]
            }
        }
        GoDaddy => {
            const {
                &[
                    r(SecurityError, " ib401"),
                    r(NotCompliantRfc, " ib501"),
                    r(NotCompliantRfc, " ib502"),
                    r(Rejected, " ib506"),
                    r(AuthFailure, " ib508"),
                    r(RequirePtr, " ib108"),
                    r(SpamDetected, " ib212"),
                    r(VirusDetected, " ib705"),
                    r(TooManyConnections, " ib605"),
                    r(TooManyConnections, " ib007"),
                    r(Speeding, " ib101"),
                    r(Speeding, " ib504"),
                    r(Speeding, " ib510"),
                    r(Speeding, " ib607"),
                    r(BadReputation, " ib103"),
                    r(Blocked, " ib104"),
                    r(Blocked, " ib105"),
                    r(Blocked, " ib106"),
                    r(Blocked, " ib110"),
                    r(Blocked, " ib111"),
                    r(Blocked, " ib112"),
                    r(Blocked, " ib113"),
                    r(Blocked, "rbl reject"),
                    r(Blocked, "www.spamhaus.org/query/bl?ip="),
                    r(Expired, "has been in the queue too long"),
                    r(Expired, "delivery timeout"),
                    r(MailboxFull, "account storage limit"),
                    r(SpamDetected, "message rejected for spam or virus content"),
                    r(Suspend, "account disabled"),
                    r(SystemError, "message is looping"),
                    r(UserUnknown, "recipient not found"),
                    r(UserUnknown, "account does not exist"),
                ]
            }
        }
        Google => {
            const {
                &[
                    rs(
                        AuthFailure,
                        "4.7.24",
                        "the spf record of the sending domain",
                    ),
                    rs(
                        AuthFailure,
                        "5.7.24",
                        "the spf record of the sending domain",
                    ),
                    r(
                        AuthFailure,
                        "senders to authenticate with either spf or dkim",
                    ),
                    r(
                        AuthFailure,
                        "fails to pass spf checks for an spf record with a hard fail",
                    ),
                    r(AuthFailure, "has an spf record with a hard fail policy"),
                    r(AuthFailure, "is not accepted due to domain's dmarc policy"),
                    r(AuthFailure, "fails to pass authentication checks"),
                    r(AuthFailure, "senders to authenticate with spf"),
                    r(AuthFailure, "senders to authenticate their email with spf"),
                    r(AuthFailure, "senders to authenticate their email with dkim"),
                    r(AuthFailure, "senders to authenticate with dkim"),
                    r(
                        AuthFailure,
                        "aligned with either the authenticated spf or dkim",
                    ),
                    r(
                        BadReputation,
                        "very low reputation of the sending ip address",
                    ),
                    r(BadReputation, "very low reputation of the sending domain"),
                    r(Blocked, "ip not in whitelist for rcpt domain"),
                    rs(Blocked, "4.7.0", "try again later, closing connection."),
                    r(Blocked, "empty helo/ehlo argument not allowed"),
                    r(Blocked, "helo/ehlo argument is invalid"),
                    r(Blocked, "an unusual rate of unsolicited mail"),
                    r(Blocked, "an unusual rate of mail"),
                    r(ExceedLimit, "exceeded google's message size limits"),
                    r(ExceedLimit, "exceeds google's limit of limit attachments."),
                    r(
                        ExceedLimit,
                        "your message exceeded google's message header size limits",
                    ),
                    r(ExceedLimit, "bytes per individual header size"),
                    r(ExceedLimit, "exceeds google's header name limit of"),
                    r(ExceedLimit, "exceeds google's message header size limit"),
                    rs(Expired, "4.7.0", "connection expired"),
                    rs(Expired, "4.4.2", "timeout - closing connection"),
                    r(FailedStarttls, "must issue a starttls command first"),
                    r(FailedStarttls, "starttls may not be repeated"),
                    r(FailedStarttls, "tls required for rcpt domain"),
                    r(FailedStarttls, "senders to use tls/ssl for smtp"),
                    r(MailboxFull, "inbox is out of storage space"),
                    r(MailboxFull, "is over quota"),
                    r(MailboxFull, "email quota exceeded"),
                    r(MessageTooBig, "exceeds google's message size limit of"),
                    r(NetworkError, "message exceeded 50 hops"),
                    r(NoRelaying, "mail relay denied"),
                    r(NoRelaying, "invalid credentials for relay"),
                    r(
                        NoRelaying,
                        "is not authorized to send email directly to our servers",
                    ),
                    r(
                        NotCompliantRfc,
                        "missing a valid address in the from: header",
                    ),
                    r(
                        NotCompliantRfc,
                        "multiple addresses in from: header are not accepted",
                    ),
                    r(NotCompliantRfc, "is not rfc 5322 compliant"),
                    r(NotCompliantRfc, "missing a valid message-id: header"),
                    r(
                        NotCompliantRfc,
                        "contains a unicode character in a disallowed header",
                    ),
                    r(NotCompliantRfc, "encoded-word syntax is not permitted"),
                    rs(NotCompliantRfc, "5.1.7", "is not a valid rfc 5321 address"),
                    r(NotCompliantRfc, "mail message is malformed"),
                    r(PolicyViolation, "illegal attachment on your message"),
                    r(
                        PolicyViolation,
                        "you are sending to (or from) has a policy that prohibited",
                    ),
                    r(
                        PolicyViolation,
                        "sending messages with the same message-id:",
                    ),
                    r(Rejected, "mail sending denied"),
                    r(Rejected, "unauthenticated email is not accepted"),
                    r(RequirePtr, " have a ptr record, or the ptr record"),
                    r(RequirePtr, "does not have a ptr record"),
                    r(RequirePtr, "does not match the ip address of the hostname"),
                    r(SecurityError, "too many login attempts"),
                    r(SecurityError, "cannot decode response"),
                    r(SecurityError, "no identity changes permitted"),
                    r(SecurityError, "authentication required."),
                    r(SecurityError, "application-specific password required"),
                    r(SecurityError, "please log in through your web browser"),
                    r(SecurityError, "username and password not accepted"),
                    r(
                        SpamDetected,
                        "due to the nature of the content or the links within",
                    ),
                    r(SpamDetected, "likely unsolicited mail"),
                    r(Speeding, "is receiving mail too quickly"),
                    r(Speeding, "peak smtp relay limit exceeded for customer"),
                    r(
                        Speeding,
                        "rate that prevents additional messages from being delivered",
                    ),
                    r(Speeding, "daily sending quota exceeded"),
                    r(Speeding, "daily user sending limit exceeded"),
                    r(Speeding, "daily smtp relay limit exceeded for"),
                    r(Speeding, "daily smtp relay sending limit exceeded for"),
                    r(Speeding, "this mail has been rate limited"),
                    r(Suspend, "account that you tried to reach is disabled"),
                    r(Suspend, "account that you tried to reach is inactive"),
                    r(SyntaxError, "smtp protocol violation"),
                    r(SyntaxError, "too many unrecognized commands, goodbye"),
                    r(SyntaxError, "unimplemented command"),
                    r(SyntaxError, "unrecognized command"),
                    r(SyntaxError, "bad sequence of commands"),
                    r(SyntaxError, "ehlo/helo first"),
                    r(SyntaxError, "no data after bdat"),
                    r(SyntaxError, "unrecognized authentication type"),
                    r(SyntaxError, "xoauth is no longer supported"),
                    r(SyntaxError, "too many unauthenticated commands"),
                    r(SystemError, "temporary system problem"),
                    rs(SystemError, "4.4.5", "server busy"),
                    r(
                        SystemError,
                        "multiple destination domains per transaction is unsupported",
                    ),
                    r(
                        SystemError,
                        "mail server has temporarily rejected this message",
                    ),
                    r(SystemError, "mail server temporarily rejected message"),
                    r(SystemError, "domain policy size per transaction exceeded"),
                    r(TooManyConnections, "your message has too many recipients"),
                    r(TooManyConnections, "too many recipients for this sender"),
                    r(
                        UserUnknown,
                        "the email account that you tried to reach does not exist",
                    ),
                    r(UserUnknown, "we weren't able to find the recipient domain"),
                    rs(UserUnknown, "5.1.3", "is not a valid rfc 5321 address"),
                ]
            }
        }
        GSuite => {
            const {
                &[
                    r(NetworkError, " had no relevant answers."),
                    r(NotAccept, "null mx"),
                    r(
                        UserUnknown,
                        "because the address couldn't be found. check for typos or unnecessary spaces",
                    ),
                ]
            }
        }
        Kddi => {
            const {
                &[
                    r(Filtered, "550 : user unknown"),
                    r(UserUnknown, ">: user unknown"),
                ]
            }
        }
        MessageLabs => {
            const {
                &[
                    r(
                        SecurityError,
                        "please turn on smtp authentication in your mail client",
                    ),
                    r(UserUnknown, "542 "),
                    r(UserUnknown, " rejected"),
                    r(UserUnknown, "no such user"),
                ]
            }
        }
        Microsoft => {
            const {
                &[
                    rs(
                        AuthFailure,
                        "4.7.26",
                        "must pass either spf or dkim validation, this message is not signed",
                    ),
                    rs(
                        AuthFailure,
                        "5.7.23",
                        "the message was rejected because of sender policy framework violation",
                    ),
                    rs(AuthFailure, "5.7.509", "does not pass dmarc verification"),
                    rs(
                        BadReputation,
                        "4.7.650",
                        "has been temporarily rate limited due to ip reputation",
                    ),
                    rs(Blocked, "4.4.2", "connection dropped"),
                    rs(Blocked, "4.7.", "access denied, please try again later"),
                    rs(Blocked, "5.7.25", "must have a reverse dns record"),
                    rs(Blocked, "5.7.506", "access denied, bad helo"),
                    rs(Blocked, "5.7.507", "access denied, rejected by recipient"),
                    rs(Blocked, "5.7.510", "does not accept email over ipv6"),
                    rs(Blocked, "5.7.511", "access denied, banned sender"),
                    rs(Blocked, "5.7.513", "using customer block list"),
                    rs(Blocked, "5.7.", "access denied, banned sending ip "),
                    rs(Blocked, "5.5.4", "invalid domain name"),
                    rs(
                        Blocked,
                        "5.7.1",
                        "part of their network is on our block list (s3150)",
                    ),
                    rs(ContentError, "5.3.0", "too many related errors"),
                    rs(ContentError, "5.6.11", "invalid characters"),
                    rs(
                        ContentError,
                        "5.4.11",
                        "agent generated message depth exceeded",
                    ),
                    rs(ContentError, "5.5.6", "invalid message content"),
                    rs(
                        ExceedLimit,
                        "5.2.3",
                        "resolver.rst.recipsizelimit; message too large for this recipient",
                    ),
                    rs(Expired, "4.4.1", "connection timed out"),
                    rs(Expired, "4.4.7", "message delayed"),
                    rs(Expired, "4.4.7", "message expired"),
                    rs(Expired, "5.4.300", "message expired"),
                    rs(Expired, "5.4.316", "message expired"),
                    r(FailedStarttls, " failed mta-sts validation"),
                    r(FailedStarttls, "starttls is required to send mail"),
                    r(
                        FailedStarttls,
                        "restrictdomainstoipaddresses or restrictdomainstocertificate",
                    ),
                    r(FailedStarttls, "starttls-not-supported:"),
                    r(FailedStarttls, "certificate-expired:"),
                    r(FailedStarttls, "tlsa-invalid:"),
                    r(FailedStarttls, "certificate-host-mismatch:"),
                    rs(MailboxFull, "5.2.2", "mailbox full"),
                    rs(
                        MessageTooBig,
                        "5.3.4",
                        "message size exceeds fixed maximum message size",
                    ),
                    rs(MessageTooBig, "5.3.4", "message too big for system"),
                    rs(
                        NetworkError,
                        "5.4.4",
                        "smtpsend.dns.nonexistentdomain; nonexistent domain",
                    ),
                    rs(
                        NetworkError,
                        "5.4.6",
                        "hop count exceeded - possible mail loop",
                    ),
                    r(NetworkError, "dns query failed"),
                    rs(NetworkError, "4.4.316", "connection refused"),
                    rs(NetworkError, "5.4.316", "connection refused"),
                    rs(NetworkError, "5.4.4", "invalid arguments"),
                    r(NetworkError, "routing loop detected"),
                    rs(NoRelaying, "5.7.1", "unable to relay"),
                    rs(NoRelaying, "5.4.1", "relay access denied"),
                    rs(
                        NoRelaying,
                        "5.7.64",
                        "tenantattribution; relay access denied",
                    ),
                    rs(NoRelaying, "5.4.310", "does not exist"),
                    rs(NotAccept, "4.3.2", "system not accepting network messages"),
                    rs(
                        NotAccept,
                        "4.4.4",
                        "hosted tenant which has no mail-enabled subscriptions",
                    ),
                    rs(
                        NotAccept,
                        "5.3.2",
                        "storedrv.deliver: missing or bad storedriver mdb properties",
                    ),
                    rs(PolicyViolation, "5.0.350", "x-dg-ref header is too long"),
                    rs(
                        PolicyViolation,
                        "5.0.350",
                        "requested action not taken: policy violation detected (as345)",
                    ),
                    rs(Rejected, "5.1.7", "invalid address"),
                    rs(Rejected, "5.1.7", "unknown sender address"),
                    rs(Rejected, "5.1.0", "sender denied"),
                    rs(Rejected, "5.1.8", "access denied, bad outbound sender"),
                    rs(
                        Rejected,
                        "5.7.12",
                        "sender was not authenticated by organization",
                    ),
                    rs(Rejected, "5.7.124", "sender not in allowed-senders list"),
                    rs(Rejected, "5.7.133", "sender not authenticated for group"),
                    rs(
                        Rejected,
                        "5.7.134",
                        "sender was not authenticated for mailbox",
                    ),
                    rs(
                        Rejected,
                        "5.7.13",
                        "sender was not authenticated for public folder",
                    ),
                    rs(Rejected, "5.7.136", "sender was not authenticated"),
                    rs(Rejected, "5.7.", "access denied, spam abuse detected"),
                    rs(
                        Rejected,
                        "5.7.512",
                        "access denied, message must be rfc 5322 section 3.6.2 compliant",
                    ),
                    rs(
                        Rejected,
                        "5.7.750",
                        "client blocked from sending from unregistered domains",
                    ),
                    rs(
                        SecurityError,
                        "5.7.3",
                        "cannot achieve exchange server authentication",
                    ),
                    rs(SecurityError, "5.7.3", "not authorized"),
                    rs(
                        SecurityError,
                        "5.7.57",
                        "client was not authenticated to send anonymous mail during mail from",
                    ),
                    rs(NoRelaying, "5.7.1", "client was not authenticated"),
                    rs(
                        SpamDetected,
                        "5.2.1",
                        "content filter agent quarantined this message",
                    ),
                    rs(
                        Speeding,
                        "4.3.2",
                        "storedrv.deliver; recipient thread limit exceeded",
                    ),
                    rs(
                        Speeding,
                        "5.1.90",
                        "you've reached your daily limit for message recipients",
                    ),
                    rs(Speeding, "5.2.2", "submission quota exceeded"),
                    rs(
                        Speeding,
                        "5.2.121",
                        "recipient's per hour message receive limit from specific sender exceeded",
                    ),
                    rs(
                        Speeding,
                        "5.2.122",
                        "recipient's per hour message receive limit exceeded",
                    ),
                    rs(Speeding, "5.7.508", "has exceeded permitted limits within"),
                    rs(
                        Speeding,
                        "5.7.",
                        "access denied, tenant has exceeded threshold",
                    ),
                    rs(
                        Speeding,
                        "5.7.",
                        "access denied, traffic not accepted from this ip",
                    ),
                    rs(
                        Suspend,
                        "5.7.504",
                        "recipient address rejected: access denied",
                    ),
                    rs(Suspend, "5.7.505", "access denied, banned recipient"),
                    rs(Suspend, "5.2.1", "mailbox cannot be accessed"),
                    rs(SyntaxError, "5.3.3", "unrecognized command"),
                    rs(SyntaxError, "5.5.2", "send hello first"),
                    rs(SystemError, "4.3.2", "service not available"),
                    rs(SystemError, "4.3.2", "service not active"),
                    rs(SystemError, "5.3.5", "system incorrectly configured"),
                    rs(SystemError, "5.0.0", "helo / ehlo requires domain address"),
                    rs(
                        SystemError,
                        "5.1.4",
                        "destination mailbox address ambiguous",
                    ),
                    rs(SystemError, "5.2.4", "mailing list expansion problem"),
                    rs(SystemError, "5.2.14", "misconfigured forwarding address"),
                    r(SystemError, "message failed to be replicated:"),
                    r(SystemError, "(suspiciousremoteservererror)"),
                    rs(
                        SystemError,
                        "4.7.500",
                        "server busy. please try again later from ",
                    ),
                    rs(SystemError, "4.7.700", "pfa agent busy, please try again."),
                    rs(SystemFull, "4.3.1", "insufficient system resources"),
                    rs(TooManyConnections, "5.5.3", "too many recipients"),
                    rs(TooManyConnections, "4.5.3", "too many recipients"),
                    rs(
                        TooManyConnections,
                        "4.7.652",
                        "has exceeded the maximum number of connections",
                    ),
                    rs(
                        TooManyConnections,
                        "5.2.122",
                        "the recipient has exceeded their limit for",
                    ),
                    rs(
                        UserUnknown,
                        "5.1.1",
                        "resolver.adr.exrecipnotfound; not found",
                    ),
                    rs(UserUnknown, "5.1.1", "user unknown"),
                    rs(
                        UserUnknown,
                        "5.1.3",
                        "storedrv.submit; invalid recipient address",
                    ),
                    rs(
                        UserUnknown,
                        "5.1.",
                        "recipient address reserved by rfc 2606",
                    ),
                    rs(
                        UserUnknown,
                        "5.1.6",
                        "recipient addresses in single label domains not accepted",
                    ),
                    rs(UserUnknown, "5.1.1", "bad destination mailbox address"),
                    rs(UserUnknown, "5.1.10", "recipient not found"),
                    rs(
                        UserUnknown,
                        "5.4.1",
                        "recipient address rejected: access denied",
                    ),
                    rs(
                        UserUnknown,
                        "5.5.0",
                        "requested action not taken: mailbox unavailable",
                    ),
                    rs(UserUnknown, "5.1.2", "invalid x.400 address"),
                ]
            }
        }
        Mimecast => {
            const {
                &[
                    r(AuthFailure, "spf sender invalid - envelope rejected"),
                    r(AuthFailure, "dkim sender invalid - envelope rejected"),
                    r(AuthFailure, "dmarc sender invalid - envelope rejected"),
                    r(
                        BadReputation,
                        "internal resources are temporarily unavailable",
                    ),
                    r(BadReputation, "local ct ip reputation - (reject)"),
                    r(Blocked, "sender address blocked"),
                    r(Blocked, "recipient temporarily unavailable"),
                    r(Blocked, "ip temporarily blacklisted"),
                    r(Expired, "journal messages past the expiration"),
                    r(FailedStarttls, "this route requires encryption (tls)"),
                    r(
                        FailedStarttls,
                        "this route requires tls version 1.2 or greater",
                    ),
                    r(FailedStarttls, "this route requires high-strength ciphers"),
                    r(
                        FailedStarttls,
                        "configuration is invalid for this certificate",
                    ),
                    r(MessageTooBig, "maximum email size exceeded"),
                    r(NetworkError, "the incorrect hostname used for inbounds"),
                    r(NetworkError, "mail loop detected"),
                ]
            }
        }
        YahooInc => {
            const {
                &[
                    r(
                        AuthFailure,
                        "yahoo requires all senders to authenticate with either spf or dkim",
                    ),
                    r(Blocked, " because the ip is in spamhaus's list;"),
                    r(Blocked, "not accepted from ip addresses on spamhaus xbl"),
                    r(NoRelaying, "relaying denied for "),
                    r(NotCompliantRfc, "headers are not rfc compliant"),
                    r(PolicyViolation, "not accepted for policy reasons"),
                    r(
                        Rejected,
                        "temporarily deferred due to unexpected volume or user complaints",
                    ),
                    r(Rejected, "due to unresolvable rfc.5321 domain"),
                    r(Rejected, " will be permanently deferred"),
                    r(Speeding, "user is receiving mail too quickly"),
                    r(Suspend, " is no longer valid."),
                    r(Suspend, "this mailbox is disabled"),
                    r(SyntaxError, "syntax error in parameters or arguments"),
                    r(TooManyConnections, "max message per connection reached"),
                    r(UserUnknown, "dd this user doesn't have a "),
                    r(UserUnknown, "mailbox not found"),
                ]
            }
        }
    }
}

/// The remote system a recipient's failure comes from: by the recipient's domain (when a known host
/// name ends with it), the remote MTA's name, or the reporting MTA's.
fn remote_of(r: &RecipientReport, reporting: &[String]) -> Option<Remote> {
    let domain = r
        .address
        .as_deref()
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d.trim_end_matches('.'))
        .filter(|d| d.contains('.'));
    if let Some(d) = domain {
        for (v, hosts) in REMOTES {
            if hosts.iter().any(|h| {
                h.strip_suffix(d)
                    .is_some_and(|p| p.is_empty() || p.ends_with('.'))
            }) {
                return Some(*v);
            }
        }
    }
    let mut hosts: Vec<String> = Vec::new();
    if let Some(m) = &r.remote_mta {
        hosts.extend(host_names(m));
    }
    for m in reporting {
        hosts.extend(host_names(m));
    }
    // Some servers name themselves in their reply ("[…prod.outlook.com 2024-02-19T09:30:25Z]").
    if let Some(d) = &r.diagnostic {
        hosts.extend(host_names(d));
    }
    for h in &hosts {
        for (v, ends) in REMOTES {
            if ends.iter().any(|e| h.ends_with(e)) {
                return Some(*v);
            }
        }
    }
    None
}

/// The words in a Remote-MTA or Reporting-MTA value that look like host names, lower-cased.
fn host_names(value: &str) -> Vec<String> {
    value
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '(' | ')' | '[' | ']' | ','))
        .map(|w| w.trim_end_matches('.').to_ascii_lowercase())
        .filter(|w| w.contains('.') && w.chars().any(|c| c.is_ascii_alphabetic()))
        .collect()
}

fn find_rule(rules: &[Rule], text: &str, status: &str) -> Option<BounceReason> {
    rules
        .iter()
        .find(|rule| text.contains(rule.phrase) && status.starts_with(rule.status))
        .map(|rule| rule.reason)
}

/// Reasons a writer's verdict does not override: the generic reading named something more
/// specific than an unknown user.
fn more_specific_than_user_unknown(r: BounceReason) -> bool {
    matches!(
        r,
        MailboxFull | MessageTooBig | ExceedLimit | Suspend | HasMoved | NoRelaying | AuthFailure
    )
}

/// A writer's verdicts that are only hints (sisimai's "retried" reasons).
fn is_weak(r: BounceReason) -> bool {
    matches!(
        r,
        UserUnknown
            | HostUnknown
            | Expired
            | NetworkError
            | SystemError
            | SecurityError
            | OnHold
            | Undefined
    )
}

/// Adjusts the recipients read from `ctx` where a vendor's conventions say more.
pub(super) fn adjust(ctx: &Context<'_>, recipients: &mut [RecipientReport]) {
    let writer = writer_of(ctx);
    let reporting: Vec<String> = ctx
        .mail
        .status_parts
        .iter()
        .flat_map(|p| p.lines())
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("reporting-mta")
                .then(|| value.to_owned())
        })
        .collect();
    for r in recipients.iter_mut() {
        if matches!(r.reason, Delivered | Feedback | Vacation) {
            continue;
        }
        let mut text = normalise(r.diagnostic.as_deref().unwrap_or(""));
        // A report that quotes no reply for the recipient says what happened in its own words.
        if text.is_empty() && writer.is_some() {
            text = normalise(&ctx.report_text);
        }
        let status = r.status.map(|s| s.to_string()).unwrap_or_default();
        let mut verdict = None;
        let mut explicit = false;
        if let Some(w) = writer {
            if w == Writer::GoogleGroups {
                // Google Groups refuses a post with a list of four possible causes (the group does
                // not exist, no permission to post, …): the sender is refused.
                if group_refusal(&ctx.report_text) {
                    verdict = Some(Rejected);
                    explicit = true;
                }
            } else if let Some(v) = find_rule(writer_rules(w), &text, &status) {
                explicit = !is_weak(v);
                if explicit || !more_specific_than_user_unknown(r.reason) {
                    verdict = Some(v);
                }
            } else if writer_hides_the_command(w)
                && r.reason == UserUnknown
                && !super::scan::best_status(&text).is_some_and(|s| s.subject == 1 && s.class == 5)
            {
                verdict = Some(Filtered);
            }
        }
        if !explicit
            && let Some(v) = remote_of(r, &reporting)
            && let Some(reason) = find_rule(remote_rules(v), &text, &status)
        {
            verdict = Some(reason);
        }
        if let Some(reason) = verdict
            && reason != r.reason
        {
            set_reason(r, reason);
        }
    }
}

/// Google Groups' refusal: its explanation lists the possible causes as four bullet points.
fn group_refusal(text: &str) -> bool {
    text.lines()
        .filter(|l| l.trim_start().starts_with("* "))
        .count()
        >= 4
}

/// Gives `r` a new reason, its class, and (when the status was only implied by the old reason) the
/// status the new one implies.
fn set_reason(r: &mut RecipientReport, reason: BounceReason) {
    let permanent = match (r.status, r.reply_code) {
        (Some(s), _) => s.is_permanent(),
        (None, Some(c)) => (500..600).contains(&c),
        (None, None) => r.action.as_deref() != Some("delayed"),
    };
    let reason = if reason == HostUnknown && !permanent {
        NetworkError
    } else {
        reason
    };
    let implied = |reason| derived_status(reason, permanent, r.reply_code, None);
    if r.status.is_none() || r.status == implied(r.reason) {
        r.status = implied(reason).or(r.status);
    }
    r.reason = reason;
    r.class = reason.class(permanent);
}

#[cfg(test)]
mod tests {
    use crate::bounce::report::parse;
    use crate::domain::{BounceClass, BounceReason};

    /// A delivery-status report from `from` about `rcpt`, with the given Status, Remote-MTA and
    /// Diagnostic-Code, extra headers and human-readable text.
    fn dsn(
        headers: &str,
        text: &str,
        rcpt: &str,
        status: &str,
        remote: &str,
        diag: &str,
    ) -> String {
        format!(
            "{headers}\nTo: sender@example.org\nMIME-Version: 1.0\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
             --b\nContent-Type: text/plain\n\n{text}\n\n\
             --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n\
             Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: {status}\n\
             Remote-MTA: dns; {remote}\nDiagnostic-Code: smtp; {diag}\n\n--b--\n"
        )
    }

    fn first(raw: &str) -> (BounceReason, BounceClass) {
        let report = parse(raw.as_bytes());
        let r = &report.recipients[0];
        (r.reason, r.class)
    }

    const DAEMON: &str = "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail";

    #[test]
    fn kddi_answers_an_unknown_address_and_a_content_filter_with_the_same_words() {
        let unknown = dsn(
            DAEMON,
            "failed",
            "neko@ezweb.ne.jp",
            "5.0.0",
            "lsean.ezweb.ne.jp",
            "550 <neko@ezweb.ne.jp>: User unknown",
        );
        assert_eq!(
            first(&unknown),
            (BounceReason::UserUnknown, BounceClass::Hard)
        );
        let filtered = dsn(
            DAEMON,
            "failed",
            "neko@ezweb.ne.jp",
            "5.0.0",
            "lsean.ezweb.ne.jp",
            "550 : User unknown",
        );
        assert_eq!(
            first(&filtered),
            (BounceReason::Filtered, BounceClass::Soft)
        );
    }

    #[test]
    fn messagelabs_542_rejected_is_an_unknown_user() {
        let raw = dsn(
            DAEMON,
            "failed",
            "a@example.com",
            "5.0.0",
            "cluster1.eu.messagelabs.com",
            "542 a@example.com Rejected",
        );
        assert_eq!(first(&raw), (BounceReason::UserUnknown, BounceClass::Hard));
    }

    #[test]
    fn aol_malformed_mx_reply_means_the_domain_takes_no_mail() {
        let raw = dsn(
            DAEMON,
            "failed",
            "a@example.org",
            "5.4.4",
            "mx.mail.aol.com",
            "Name service error for name=example.org type=MX: Malformed or unexpected name server reply",
        );
        assert_eq!(first(&raw), (BounceReason::NotAccept, BounceClass::Hard));
    }

    #[test]
    fn google_and_microsoft_replies_are_read_by_their_own_tables() {
        let google = dsn(
            DAEMON,
            "failed",
            "a@example.com",
            "5.7.1",
            "gmail-smtp-in.l.google.com",
            "550 5.7.1 Our system has detected that this message is likely unsolicited mail",
        );
        assert_eq!(first(&google).0, BounceReason::SpamDetected);
        let microsoft = dsn(
            DAEMON,
            "failed",
            "a@example.com",
            "5.7.505",
            "example-com.mail.protection.outlook.com",
            "550 5.7.505 Access denied, banned recipient",
        );
        assert_eq!(
            first(&microsoft),
            (BounceReason::Suspend, BounceClass::Soft)
        );
    }

    #[test]
    fn imail_unknown_user_is_hard_whatever_the_stage() {
        let raw = "From: postmaster@mail.example.com\nTo: sender@example.org\n\
                   Subject: Undeliverable Mail \nX-Mailer: <SMTP32 v8.22>\n\n\
                   Unknown user: kijitora@example.com\n\nOriginal message follows.\n";
        assert_eq!(first(raw), (BounceReason::UserUnknown, BounceClass::Hard));
    }

    #[test]
    fn interscan_unable_to_deliver_is_an_unknown_user() {
        let raw = "From: postmaster@example.jp (\"InterScan Notification\")\nTo: sender@example.org\n\
                   Subject: Mail could not be delivered\n\n\
                   Message from InterScan Messaging Security Suite\n\n\
                   Unable to deliver message to <kijitora@example.jp>.\n";
        assert_eq!(first(raw), (BounceReason::UserUnknown, BounceClass::Hard));
    }

    #[test]
    fn domino_cannot_route_is_a_filter_and_not_listed_is_unknown() {
        let headers =
            "From: Postmaster@example.jp\nSubject: DELIVERY FAILURE: User kijitora not listed";
        let raw = dsn(
            headers,
            "failed",
            "kijitora@example.jp",
            "5.0.0",
            "mx.example.jp",
            "Cannot route mail to user (kijitora@example.jp)",
        );
        assert_eq!(first(&raw), (BounceReason::Filtered, BounceClass::Soft));
    }

    #[test]
    fn a_writer_that_hides_the_smtp_command_turns_unknown_user_words_into_a_filter() {
        let headers =
            "From: mailer-daemon@mail.zoho.com\nSubject: Undelivered Mail Returned to Sender";
        let raw = dsn(
            headers,
            "failed",
            "a@example.org",
            "5.0.0",
            "mx.example.org",
            "Invalid Address, ERROR_CODE :550, ERROR_CODE :Requested action not taken: mailbox unavailable",
        );
        assert_eq!(first(&raw), (BounceReason::Filtered, BounceClass::Soft));
        // With the server's own 5.1.1 it is believed.
        let raw = dsn(
            headers,
            "failed",
            "a@example.org",
            "5.1.1",
            "mx.example.org",
            "550 5.1.1 User does not exist",
        );
        assert_eq!(first(&raw), (BounceReason::UserUnknown, BounceClass::Hard));
    }

    #[test]
    fn a_writer_verdict_on_a_user_does_not_outweigh_a_full_mailbox() {
        let raw = "From: postmaster@mail.example.com\nTo: sender@example.org\n\
                   Subject: Undeliverable Mail \nX-Mailer: <SMTP32 v8.22>\n\n\
                   Unknown user: mailbox full for kijitora@example.com\n";
        assert_eq!(first(raw).0, BounceReason::MailboxFull);
    }
}

#[cfg(test)]
mod google_groups {
    use crate::bounce::report::parse;
    use crate::domain::BounceReason;

    #[test]
    fn a_refused_group_post_is_rejected() {
        let raw = "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n\
                   To: kijitora@example.jp\nSubject: Delivery Status Notification (Failure)\n\
                   X-Failed-Recipients: group@googlegroups.com\n\n\
                   Hello kijitora@example.jp,\n\nWe're writing to let you know that the group you tried \
                   to contact (group) may not exist, or you may not have permission to post messages \
                   to the group. A few more details on why you weren't able to post:\n\n\
                   * You might have spelled or formatted the group name incorrectly.\n\
                   * The owner of the group may have removed this group.\n\
                   * You may need to join the group before receiving permission to post.\n\
                   * This group may not be open to posting.\n\n\
                   If you have questions related to this or any other Google Group, visit the Google Groups Help Center.\n";
        let report = parse(raw.as_bytes());
        assert_eq!(report.recipients[0].reason, BounceReason::Rejected);
    }
}
