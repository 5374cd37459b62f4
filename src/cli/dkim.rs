//! `herald dkim keygen` and `herald dkim check`: keys and the DNS records they imply.

use super::{args::DkimCommand, output::Output};
use crate::{
    config::Config,
    domain::EmailAddress,
    send::dkim::{Algorithm, PrivateKey, generate, zone_line},
};
use anyhow::{Context, bail};
use std::io::Write;

#[derive(serde::Serialize)]
struct Record {
    selector: String,
    domain: String,
    key_file: String,
    algorithm: &'static str,
    bits: usize,
    /// The name to publish the TXT record at.
    name: String,
    /// The TXT record's value.
    record: String,
    /// The same as a zone-file line, split into strings of at most 255 bytes.
    zone: String,
}

impl Record {
    fn new(selector: &str, domain: &str, key_file: &str, key: &PrivateKey) -> Self {
        let record = key.dns_record();
        Self {
            selector: selector.to_owned(),
            domain: domain.to_owned(),
            key_file: key_file.to_owned(),
            algorithm: key.algorithm().tag(),
            bits: key.bits(),
            name: format!("{selector}._domainkey.{domain}"),
            zone: zone_line(selector, domain, &record),
            record,
        }
    }

    fn human(&self) -> String {
        format!(
            "{} ({}, {} bits, key {})\n  TXT at {}:\n  {}\n  zone file:\n  {}",
            self.selector,
            self.algorithm,
            self.bits,
            self.key_file,
            self.name,
            self.record,
            self.zone
        )
    }
}

pub fn run(config: &Config, command: DkimCommand, out: Output) -> anyhow::Result<()> {
    match command {
        DkimCommand::Keygen {
            algorithm,
            selector,
            out: file,
            bits,
            domain,
        } => {
            let algorithm = match algorithm.as_str() {
                "rsa" => Algorithm::Rsa,
                _ => Algorithm::Ed25519,
            };
            if !crate::send::dkim::is_selector(&selector) {
                bail!("--selector `{selector}` is not a DNS label such as `s2026`");
            }
            let domain = match domain {
                Some(d) => EmailAddress::parse(&format!("x@{d}"))
                    .map(|a| a.domain().to_owned())
                    .map_err(|_| anyhow::anyhow!("--domain `{d}` is not a domain name"))?,
                None => config.sending.domain.clone(),
            };
            let pem = generate(algorithm, bits).map_err(|e| anyhow::anyhow!("--bits {e}"))?;
            let key = PrivateKey::from_pem(pem.as_bytes())
                .map_err(|e| anyhow::anyhow!("the generated key does not load back: {e}"))?;
            write_private(&file, pem.as_bytes())?;
            let record = Record::new(&selector, &domain, &file.display().to_string(), &key);
            out.emit(&record, |r| {
                format!(
                    "wrote {}\n{}\nthen add to the configuration:\n[[dkim]]\nselector = \"{}\"\nkey_file = \"{}\"{}",
                    r.key_file,
                    r.human(),
                    r.selector,
                    r.key_file,
                    if r.domain == config.sending.domain {
                        String::new()
                    } else {
                        format!("\ndomain = \"{}\"", r.domain)
                    }
                )
            })
        }
        DkimCommand::Check { selector } => {
            let entries: Vec<_> = config
                .dkim
                .iter()
                .filter(|d| selector.as_deref().is_none_or(|s| s == d.selector))
                .collect();
            if entries.is_empty() {
                match selector {
                    Some(s) => bail!("no [[dkim]] entry has selector `{s}`"),
                    None => bail!(
                        "no [[dkim]] entry is configured: make a key with `herald dkim keygen`"
                    ),
                }
            }
            let mut records = Vec::new();
            for d in entries {
                let key = PrivateKey::load(&d.key_file)?;
                records.push(Record::new(
                    &d.selector,
                    &d.domain,
                    &d.key_file.display().to_string(),
                    &key,
                ));
            }
            out.emit(&records, |rs| {
                rs.iter()
                    .map(Record::human)
                    .collect::<Vec<_>>()
                    .join("\n\n")
            })
        }
    }
}

/// Creates `path` with mode 0600, refusing to replace an existing file.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = crate::store::create_new_private_file(path).with_context(|| {
        format!(
            "creating {} (an existing key is never overwritten)",
            path.display()
        )
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// What `check-config` says about the files the configuration names (`smtp.ca_file`) and the
/// `[[dkim]]` keys: every key loaded (a missing, unreadable or
/// unusable one is a problem), and each list whose From domain no signature aligns with (DMARC
/// would fail for its mail). Lists are read only when the database already exists.
pub fn config_problems(config: &Config) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for d in &config.dkim {
        match PrivateKey::load(&d.key_file) {
            Ok(key) => notes.push(format!(
                "DKIM {}._domainkey.{}: {} {} bits",
                d.selector,
                d.domain,
                key.algorithm().tag(),
                key.bits()
            )),
            Err(e) => problems.push(format!("`[[dkim]]` selector `{}`: {e}", d.selector)),
        }
    }
    // The relay's CA is otherwise read only when the first session opens.
    if config.smtp.transport == crate::config::TransportKind::Smtp
        && let Some(file) = &config.smtp.ca_file
        && let Err(e) = crate::send::Trust::load(Some(file), "smtp.ca_file")
    {
        problems.push(e.to_string());
    }
    if config.dkim.is_empty() {
        if config.smtp.transport == crate::config::TransportKind::Smtp {
            notes.push("warning: no [[dkim]] key: messages go out unsigned, which Gmail and Yahoo throttle or junk for bulk senders".into());
        }
        return (problems, notes);
    }
    let database = &config.database.url;
    if database.sqlite_path().is_some_and(|path| !path.is_file()) {
        return (problems, notes);
    }
    let lists = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            rt.block_on(async {
                let store = crate::store::Store::open_for_intake(
                    database,
                    std::time::Duration::from_secs(5),
                )
                .await?;
                let lists = store.list_summaries().await;
                store.close().await;
                Ok(lists?)
            })
        });
    match lists {
        Ok(lists) => {
            for list in lists {
                let address = list
                    .from
                    .rsplit_once('<')
                    .map_or(list.from.as_str(), |(_, a)| a.trim_end_matches('>'));
                let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
                if !config
                    .dkim
                    .iter()
                    .any(|d| crate::send::dkim::aligned(domain, &d.domain))
                {
                    let signers: Vec<&str> =
                        config.dkim.iter().map(|d| d.domain.as_str()).collect();
                    problems.push(format!(
                        "list `{}` sends From `{domain}`, which no [[dkim]] domain ({}) aligns with: DMARC fails for its mail; add a key with `domain = \"{domain}\"`",
                        list.slug,
                        signers.join(", ")
                    ));
                }
            }
        }
        Err(e) => notes.push(format!("lists not checked against the DKIM domains: {e:#}")),
    }
    (problems, notes)
}
