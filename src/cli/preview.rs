//! `herald render FILE`: what a subscriber would get, with a sample recipient, without queueing.

use super::output::Output;
use crate::{
    clock::{Clock, SystemClock},
    config::Config,
    domain::{ListId, ListSlug, Mailbox},
    queue::render_for_list,
    render::{PersonalTemplate, Strictness},
    store::{List, Store},
};
use std::{collections::BTreeMap, path::Path};

#[allow(clippy::too_many_arguments)]
pub async fn run(
    store: &Store,
    config: &Config,
    file: &Path,
    list: Option<&str>,
    subject: Option<&str>,
    output: Option<&Path>,
    text: bool,
    out: Output,
) -> anyhow::Result<()> {
    let list = match list {
        Some(slug) => store.list(&ListSlug::parse(slug)?).await?,
        None => List {
            id: ListId(0),
            slug: ListSlug::parse("preview")?,
            name: "Preview List".into(),
            from: Mailbox::parse("Preview <newsletter@example.com>")?,
            reply_to: None,
            schedule: None,
            layout: "default".into(),
            language: Default::default(),
            postal_address: None,
            archive: false,
            signup: false,
            thanks_url: None,
            last_slot_at: None,
            created_at: SystemClock.now(),
        },
    };
    let rendered = render_for_list(config, &list, file, subject, Strictness::Preview)?;
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    let attributes = BTreeMap::new();
    let unsubscribe_url = format!("{}/u/preview", config.http.public_url);
    let sample = crate::ops::issues::sample_reader(&attributes, &unsubscribe_url);
    let html = PersonalTemplate::compile(&rendered.html_template)?.render(&sample, true);
    let plain = PersonalTemplate::compile(&rendered.text_template)?.render(&sample, false);
    let body = if text { &plain } else { &html };
    if let Some(path) = output {
        std::fs::write(path, body)?;
    }
    #[derive(serde::Serialize)]
    struct Preview<'a> {
        subject: &'a str,
        preheader: Option<&'a str>,
        html: &'a str,
        text: &'a str,
        bytes: usize,
        warnings: &'a [String],
    }
    let preview = Preview {
        subject: &rendered.subject,
        preheader: rendered.preheader.as_deref(),
        html: &html,
        text: &plain,
        bytes: body.len(),
        warnings: &rendered.warnings,
    };
    if output.is_some() && !out.json {
        eprintln!(
            "wrote {} ({} bytes)",
            output.map(|p| p.display().to_string()).unwrap_or_default(),
            body.len()
        );
        return Ok(());
    }
    out.emit(&preview, |_| body.clone())
}
