//! Auto-replies (RFC 3834): vacation and out-of-office messages, other automatic answers, and
//! challenge-response requests, recognised by their header fields or, failing those, their subject.

use super::mime::Mail;

/// Subject fragments of automatic answers, lower-cased, in the languages they come in.
const SUBJECTS: &[&str] = &[
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "automatic reply",
    "automatic response",
    "automated reply",
    "automated response",
    "out of office",
    "out of the office",
    "out-of-office",
    "away from my mail",
    "away from the office",
    "on vacation",
    "vacation reply",
    "vacation notice",
    "i am away",
    "i'm away",
    "abwesenheitsnotiz",
    "abwesend",
    "automatische antwort",
    "automatische antwoord",
    "automatisch antwoord",
    "afwezigheidsbericht",
    "afwezig",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "risposta automatica",
    "fuori sede",
    "resposta automática",
    "resposta automatica",
    "ausência",
    "odpowiedź automatyczna",
    "autosvar",
    "automatisk svar",
    "automaattinen vastaus",
    "автоответ",
    "автоматический ответ",
    "自動応答",
    "自動返信",
    "不在",
    "自动回复",
    "自動回覆",
    "자동 응답",
    "please confirm your message",
    "please verify your email",
    "confirm your email to",
    "challenge-response",
    "verify you are a human",
];

/// Whether `mail` is an automatic answer (and not a delivery report: the caller checks those first,
/// since some MTAs mark bounces `Auto-Submitted: auto-replied` too).
pub(super) fn is_auto_reply(mail: &Mail) -> bool {
    let header = |name: &str| mail.header(name).map(|v| v.trim().to_ascii_lowercase());
    if header("auto-submitted")
        .is_some_and(|v| v.starts_with("auto-replied") || v.starts_with("auto-notified"))
    {
        return true;
    }
    if [
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-auto-reply",
        "x-mail-autoreply",
        "x-vacation",
    ]
    .iter()
    .any(|n| header(n).is_some_and(|v| !matches!(v.as_str(), "no" | "false" | "0")))
    {
        return true;
    }
    if header("precedence").is_some_and(|v| v == "auto_reply" || v == "autoreply") {
        return true;
    }
    if header("x-challenge-response").is_some() || header("x-cr-hashedpuzzle").is_some() {
        return true;
    }
    let subject = header("subject").unwrap_or_default();
    SUBJECTS.iter().any(|s| subject.contains(s))
}
