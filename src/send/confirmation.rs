//! Signup confirmations (double opt-in): one plain-text message per signup with its confirmation
//! link, DKIM-signed like issues, sent by a task of its own over a session of the configured kind
//! (so a slow relay never holds up the signup form). A failed send is tried again later.

use super::{Connector, Session, dkim::Signer, encode};
use crate::{
    clock::SharedClock,
    config::Config,
    domain::mask,
    store::{List, Signup, Store},
    track::Tokens,
};
use chrono::{DateTime, Utc};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Confirmations sent per round.
const BATCH: u32 = 50;
/// After this many failed attempts a confirmation is given up.
const MAX_ATTEMPTS: i64 = 6;

/// The confirmation link of a signup.
pub fn confirm_url(config: &Config, tokens: &Tokens, signup: i64) -> String {
    format!(
        "{}/c/{}",
        config.http.public_url.trim_end_matches('/'),
        tokens.sign_signup(signup)
    )
}

/// The message (CRLF lines) asking `signup`'s address to confirm.
pub fn message(
    config: &Config,
    list: &List,
    signup: &Signup,
    link: &str,
    now: DateTime<Utc>,
    signer: Option<&Signer>,
) -> Vec<u8> {
    let from = encode::mailbox(&list.from);
    let mut head = String::new();
    for field in [
        format!("From: {from}"),
        format!("To: {}", signup.email),
        format!(
            "Subject: {}",
            encode::header_text(&format!("Confirm your subscription to {}", list.name))
        ),
        format!("Date: {}", now.to_rfc2822()),
        format!(
            "Message-ID: <signup-{}-{}@{}>",
            signup.id,
            now.timestamp_millis(),
            config.sending.domain
        ),
        "MIME-Version: 1.0".to_owned(),
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Transfer-Encoding: quoted-printable".to_owned(),
        "Auto-Submitted: auto-generated".to_owned(),
    ] {
        head.push_str(&encode::fold(&field));
    }
    head.push_str("\r\n");
    // No name: it is whatever the form was given, and this mail goes to an address nobody has
    // confirmed yet; herald's own words only.
    let text = format!(
        "Hello,\r\n\r\nsomeone, hopefully you, asked to receive {list} at this address. To confirm, \
         open this link and press the button:\r\n\r\n{link}\r\n\r\nIf it was not you, ignore this \
         message: nothing more will be sent, and the request is forgotten in {days} days.\r\n",
        list = list.name,
        days = config.subscribe.pending_days,
    );
    let mut bytes = head.into_bytes();
    let body_start = bytes.len();
    encode::quoted_printable(&text, &mut bytes);
    match signer {
        Some(signer) => {
            let mut signed = signer.sign(
                &bytes,
                body_start,
                super::dkim::RelaxedBody::new(),
                0,
                now.timestamp(),
            );
            signed.extend_from_slice(&bytes);
            signed
        }
        None => bytes,
    }
}

/// Sends due confirmations until `stop`; `wake` says a signup just arrived.
pub async fn run(
    store: Store,
    config: Arc<Config>,
    tokens: Tokens,
    clock: SharedClock,
    signer: Option<Arc<Signer>>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let connector = Connector::from_config(&config);
    loop {
        let now = clock.now();
        let forget = now - chrono::Duration::days(i64::from(config.subscribe.pending_days));
        if let Err(e) = store.expire_signups(forget).await {
            tracing::warn!(error = %e, "cannot forget expired signups");
        }
        match store.due_signups(now, BATCH).await {
            Ok(due) if !due.is_empty() => {
                send_all(
                    &store,
                    &config,
                    &tokens,
                    &clock,
                    signer.as_deref(),
                    &connector,
                    due,
                )
                .await
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the signups to confirm"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.cancelled() => break,
        }
    }
}

async fn send_all(
    store: &Store,
    config: &Config,
    tokens: &Tokens,
    clock: &SharedClock,
    signer: Option<&Signer>,
    connector: &Connector,
    due: Vec<Signup>,
) {
    let mut session: Option<Session> = None;
    for signup in due {
        let now = clock.now();
        let list = match store.list_by_id(signup.list_id).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "signup of a list that is gone");
                continue;
            }
        };
        let link = confirm_url(config, tokens, signup.id);
        let bytes = message(config, &list, &signup, &link, now, signer);
        if session.is_none() {
            match connector.open().await {
                Ok(s) => session = Some(s),
                Err(e) => {
                    failed(store, &signup, &e.reason, now).await;
                    continue;
                }
            }
        }
        let open = session.as_mut().expect("opened above");
        let sent = open
            .send(
                config.sending.bounce_address.as_str(),
                &signup.email,
                bytes,
                &format!("signup-{}", signup.id),
                async { Ok(()) },
            )
            .await;
        match sent {
            Ok(_) => {
                tracing::info!(to = %mask(&signup.email), list = %list.slug, "signup confirmation sent");
                if let Err(e) = store.signup_mailed(signup.id, now).await {
                    tracing::warn!(error = %e, "cannot record a sent confirmation");
                }
            }
            Err(f) => failed(store, &signup, &f.failure.text(), now).await,
        }
        if !open.is_usable()
            && let Some(broken) = session.take()
        {
            broken.close().await;
        }
    }
    if let Some(s) = session {
        s.close().await;
    }
}

async fn failed(store: &Store, signup: &Signup, why: &str, now: DateTime<Utc>) {
    let retry = (signup.attempts + 1 < MAX_ATTEMPTS)
        .then(|| now + chrono::Duration::minutes(2i64.pow(signup.attempts as u32 + 1)));
    tracing::warn!(to = %mask(&signup.email), reason = %crate::domain::mask_all(why), retry_at = ?retry, "signup confirmation not sent");
    if let Err(e) = store.signup_failed(signup.id, why, retry).await {
        tracing::warn!(error = %e, "cannot record a failed confirmation");
    }
}
