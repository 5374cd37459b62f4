//! `herald token create|ls|revoke`: bearer tokens for the admin API.

use super::{args::TokenCommand, output::Output};
use crate::{
    clock::{Clock, SystemClock},
    ops::tokens,
    store::Store,
};

pub async fn run(store: &Store, command: TokenCommand, out: Output) -> anyhow::Result<()> {
    let now = SystemClock.now();
    match command {
        TokenCommand::Create { name, read_only } => {
            let made = tokens::create(store, &name, read_only, now).await?;
            out.emit(&made, |t| {
                format!(
                    "{}\n(token `{}`, {}; shown once: store it now, herald keeps only its hash)",
                    t.token,
                    t.name,
                    if t.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    }
                )
            })
        }
        TokenCommand::Ls => {
            let all = tokens::all(store).await?;
            out.emit(&all, |all| {
                let mut s = format!(
                    "{:<24} {:<14} {:<10} {:<20} {:<20} {}\n",
                    "NAME", "PREFIX", "ACCESS", "CREATED", "LAST USED", "REVOKED"
                );
                let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                for t in all {
                    s.push_str(&format!(
                        "{:<24} {:<14} {:<10} {:<20} {:<20} {}\n",
                        t.name,
                        t.prefix,
                        if t.read_only {
                            "read-only"
                        } else {
                            "read-write"
                        },
                        at(Some(t.created_at)),
                        at(t.last_used_at),
                        at(t.revoked_at),
                    ));
                }
                s
            })
        }
        TokenCommand::Revoke { name } => {
            tokens::revoke(store, &name, now).await?;
            out.emit(&serde_json::json!({ "revoked": name }), |_| {
                format!("revoked token `{name}`")
            })
        }
    }
}
