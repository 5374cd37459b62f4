//! Entry point: parse arguments, load configuration, open the store, run one command.

use super::{
    Cli,
    args::{BounceCommand, Command},
    bounces, dkim, issues, lists,
    output::Output,
    preview, subscribers, tokens,
};
use crate::{
    app::{self, RunOptions},
    config::{self, Config, Loaded},
    store::Store,
};
use anyhow::Context;
use clap::Parser;
use std::{process::ExitCode, sync::Arc};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = config::load(cli.config.as_deref(), std::env::vars());
    if let Command::CheckConfig = cli.command {
        return check_config(loaded, Output { json: cli.json });
    }
    if let Command::Bounce(BounceCommand::Ingest { recipient, files }) = &cli.command {
        return ingest(
            loaded,
            recipient.as_deref(),
            files,
            Output { json: cli.json },
        );
    }
    let loaded = match loaded {
        Ok(l) => l,
        Err(problems) => {
            eprintln!("error: {problems}");
            return ExitCode::FAILURE;
        }
    };
    let set_log_filter = init_logging(&loaded.config, matches!(cli.command, Command::Serve { .. }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, loaded, set_log_filter)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// Sets `log.filter` (or `HERALD_LOG`) and the format up; returns how to change the filter later.
/// `serve` on a terminal (text logs): the bars the log lines are written around.
static BARS: std::sync::OnceLock<indicatif::MultiProgress> = std::sync::OnceLock::new();

fn init_logging(config: &Config, serving: bool) -> app::SetLogFilter {
    use tracing_subscriber::{
        EnvFilter, Layer, layer::SubscriberExt, reload, util::SubscriberInitExt,
    };
    let default = if serving {
        config.log.filter.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let (filter, handle) = reload::Layer::new(filter);
    use std::io::IsTerminal;
    let format = if config.log.json {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .boxed()
    } else if serving && std::io::stderr().is_terminal() {
        let bars = BARS.get_or_init(indicatif::MultiProgress::new).clone();
        tracing_subscriber::fmt::layer()
            .with_writer(move || super::live::AroundBars(bars.clone()))
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(format)
        .init();
    Box::new(move |f: &str| {
        let filter = EnvFilter::try_new(f).map_err(|e| format!("`{f}`: {e}"))?;
        handle.reload(filter).map_err(|e| e.to_string())
    })
}

/// One message per SIGHUP, for `serve` to re-read its configuration.
fn reload_requests(pending: Arc<std::sync::atomic::AtomicBool>) -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    if let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: reading the configuration again");
                pending.store(true, std::sync::atomic::Ordering::SeqCst);
                // A request already waiting covers this one too.
                let _ = tx.try_send(());
            }
        });
    }
    rx
}

fn check_config(loaded: Result<Loaded, config::ConfigProblems>, out: Output) -> ExitCode {
    #[derive(serde::Serialize)]
    struct Report {
        ok: bool,
        source: Option<String>,
        problems: Vec<String>,
        warnings: Vec<String>,
        /// What was checked beyond the file: each DKIM key loaded.
        notes: Vec<String>,
    }
    let report = match loaded {
        Ok(l) => {
            let (problems, notes) = dkim::config_problems(&l.config);
            Report {
                ok: problems.is_empty(),
                source: Some(l.source),
                problems,
                warnings: l.warnings,
                notes,
            }
        }
        Err(p) => Report {
            ok: false,
            source: None,
            problems: p.0,
            warnings: vec![],
            notes: vec![],
        },
    };
    let printed = out.emit(&report, |r| {
        let mut lines: Vec<String> = r.problems.iter().map(|p| format!("error: {p}")).collect();
        lines.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
        lines.extend(r.notes.iter().cloned());
        if r.ok {
            lines.push(format!(
                "configuration OK ({})",
                r.source.as_deref().unwrap_or("")
            ));
        }
        lines.join("\n")
    });
    if printed.is_err() || !report.ok {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn run(cli: Cli, loaded: Loaded, set_log_filter: app::SetLogFilter) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    let config = loaded.config;
    if let Command::Serve { until_idle } = cli.command {
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let path = cli.config.clone();
        let pending = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reload = app::Reload {
            requests: reload_requests(pending.clone()),
            pending,
            load: Box::new(move || config::load(path.as_deref(), std::env::vars())),
            set_log_filter,
        };
        let view = BARS.get().map(|bars| {
            Arc::new(super::live::Live::new(bars.clone())) as Arc<dyn app::ProgressView>
        });
        // On a worker thread, not the main one: the sender's hand-out and its sessions then wake
        // each other within the runtime instead of across threads.
        return tokio::spawn(app::run(
            config,
            shutdown_signal(),
            RunOptions { until_idle },
            Some(reload),
            view,
        ))
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("herald stopped on a bug: {e}")));
    }
    if let Command::Bounce(BounceCommand::Parse { files }) = &cli.command {
        return bounces::parse(&config, files, out);
    }
    if let Command::Dkim(command) = cli.command {
        return dkim::run(&config, command, out);
    }
    if let Command::Db(super::args::DbCommand::Copy { from, to }) = &cli.command {
        return copy_database(&config, from.as_deref(), to, out).await;
    }
    let database = &config.database.url;
    let store = Store::open(database)
        .await
        .with_context(|| format!("opening database {database}"))?;
    let result = match cli.command {
        Command::List(c) => lists::run(&store, &config, c, out).await,
        Command::Subscriber(c) => subscribers::run(&store, &config, c, out).await,
        Command::Issue(c) => issues::run(&store, &config, c, out).await,
        Command::Bounce(c) => bounces::run(&store, c, out).await,
        Command::Token(c) => tokens::run(&store, c, out).await,
        Command::Db(super::args::DbCommand::Migrate) => {
            // Opening the store applied what was pending.
            let applied = store.applied_migrations().await?;
            #[derive(serde::Serialize)]
            struct Migrated {
                database: String,
                migrations: Vec<(i64, String)>,
            }
            out.emit(
                &Migrated {
                    database: database.to_string(),
                    migrations: applied,
                },
                |m| {
                    let mut s = format!(
                        "{}: {} migrations applied\n",
                        m.database,
                        m.migrations.len()
                    );
                    for (version, what) in &m.migrations {
                        s.push_str(&format!("  {version} {what}\n"));
                    }
                    s
                },
            )
        }
        Command::Db(super::args::DbCommand::Copy { .. }) => {
            unreachable!("handled before the store opens")
        }
        Command::Render {
            file,
            list,
            output,
            text,
            subject,
        } => {
            preview::run(
                &store,
                &config,
                &file,
                list.as_deref(),
                subject.as_deref(),
                output.as_deref(),
                text,
                out,
            )
            .await
        }
        Command::Serve { .. } | Command::CheckConfig | Command::Dkim(_) => {
            unreachable!("handled above")
        }
    };
    store.close().await;
    result
}

/// sysexits.h: temporary failure, the MTA keeps the message and retries.
const EX_TEMPFAIL: u8 = 75;

/// `herald bounce ingest`: exit 0 when the report was recorded or deliberately ignored, 75 when it
/// could not be (so the MTA retries; a bounce is never bounced). Configuration problems also give 75:
/// the report waits in the MTA's queue until the operator fixes the file.
fn ingest(
    loaded: Result<Loaded, config::ConfigProblems>,
    recipient: Option<&str>,
    files: &[std::path::PathBuf],
    out: Output,
) -> ExitCode {
    let loaded = match loaded {
        Ok(l) => l,
        Err(problems) => {
            eprintln!("herald bounce ingest: {problems}; the MTA should retry");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let _ = init_logging(&loaded.config, false);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("herald bounce ingest: cannot start the async runtime: {e}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    let describe = |o: &crate::track::IngestOutcome| {
        let effects: Vec<&str> = o
            .events
            .iter()
            .map(|e| e.effect.map(|e| e.as_str()).unwrap_or("duplicate"))
            .collect();
        match o.delivery {
            Some(d) => format!("{}: delivery #{d}: {}", o.kind, effects.join(", ")),
            None => format!("{}: no valid token: recorded as unmatched", o.kind),
        }
    };
    // A panic (a bug) must not become exit 101, which an MTA takes as a permanent failure: the report
    // would be bounced. It is a temporary failure like any other here.
    let printed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if files.is_empty() {
            runtime
                .block_on(crate::ops::bounces::ingest(
                    &loaded.config,
                    clock,
                    std::io::stdin().lock(),
                    recipient,
                ))
                .map(|outcome| out.emit(&outcome, |o| describe(o)))
        } else {
            runtime
                .block_on(crate::ops::bounces::ingest_files(
                    &loaded.config,
                    clock,
                    files,
                    recipient,
                ))
                .map(|done| {
                    out.emit(&done, |done| {
                        done.iter()
                            .map(|f| format!("{}: {}", f.file.display(), describe(&f.outcome)))
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                })
        }
    }))
    .unwrap_or_else(|_| {
        Err(crate::ops::bounces::IngestError::Other(anyhow::anyhow!(
            "herald failed unexpectedly (see the message above)"
        )))
    });
    match printed {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "herald bounce ingest: {}; the MTA should retry",
                format!("{e:#}").replace('\n', " ")
            );
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `herald db copy`: opens both databases (migrating them), copies, and fails unless every table has
/// as many rows in the target as in the source.
async fn copy_database(
    config: &Config,
    from: Option<&str>,
    to: &str,
    out: Output,
) -> anyhow::Result<()> {
    use crate::store::DatabaseUrl;
    let parse = |flag: &str, url: &str| {
        DatabaseUrl::parse(url).map_err(|e| anyhow::anyhow!("--{flag} {e}"))
    };
    let source = match from {
        Some(url) => parse("from", url)?,
        None => config.database.url.clone(),
    };
    let target = parse("to", to)?;
    if source == target {
        anyhow::bail!("--from and --to name the same database ({source})");
    }
    let from_store = Store::open(&source)
        .await
        .with_context(|| format!("opening the source database {source}"))?;
    let to_store = Store::open(&target)
        .await
        .with_context(|| format!("opening the target database {target}"))?;
    let copied = from_store
        .copy_into(&to_store)
        .await
        .with_context(|| format!("copying {source} into {target}"))?;
    from_store.close().await;
    to_store.close().await;
    let differ: Vec<_> = copied.iter().filter(|t| t.source != t.target).collect();
    #[derive(serde::Serialize)]
    struct Copied {
        from: String,
        to: String,
        tables: Vec<crate::store::CopiedTable>,
        verified: bool,
    }
    let verified = differ.is_empty();
    let report = Copied {
        from: source.to_string(),
        to: target.to_string(),
        tables: copied.clone(),
        verified,
    };
    out.emit(&report, |r| {
        let mut s = format!("{} -> {}\n", r.from, r.to);
        for t in &r.tables {
            s.push_str(&format!("  {:<12} {:>10} rows\n", t.table, t.target));
        }
        s.push_str(if r.verified {
            "every table has as many rows in both databases\n"
        } else {
            "ROW COUNTS DIFFER\n"
        });
        s
    })?;
    if !verified {
        let names: Vec<String> = differ
            .iter()
            .map(|t| format!("{} ({} vs {})", t.table, t.source, t.target))
            .collect();
        anyhow::bail!("row counts differ after the copy: {}", names.join(", "));
    }
    Ok(())
}
