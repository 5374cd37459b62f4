//! Prometheus metrics, served at `/metrics` on the admin listener (`admin.listen`, never the public
//! one) in the Prometheus text format (0.0.4), through the `prometheus-client` crate. Counters and
//! histograms are process-wide (one daemon per process); what the database knows (deliveries per
//! issue and state) is read at each scrape.

use prometheus_client::{
    encoding::{EncodeLabelSet, prometheus_text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::Registry,
};
use std::sync::{OnceLock, atomic::AtomicU64};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// sent, deferred, failed, bounced, unconfirmed, released (a slow-down reply releases too).
    pub outcome: String,
    pub list: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BounceLabels {
    /// bounce, complaint, auto_reply, unsubscribe, other.
    pub kind: String,
    /// hard, soft, block, none.
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub issue: String,
    pub list: String,
    pub state: String,
}

pub struct Metrics {
    registry: Registry,
    pub messages: Family<OutcomeLabels, Counter>,
    pub smtp_replies: Family<CodeLabels, Counter>,
    pub smtp_seconds: Histogram,
    pub sessions_open: Gauge,
    /// Messages per second in force; 0 when unlimited.
    pub rate_limit: Gauge<f64, AtomicU64>,
    pub sessions_allowed: Gauge,
    pub bounces: Family<BounceLabels, Counter>,
    pub db_write_seconds: Histogram,
    pub scheduler_lag_seconds: Gauge<f64, AtomicU64>,
    /// When this process started (restarts show as changes).
    pub start_time_seconds: Gauge<f64, AtomicU64>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix_and_labels("herald", daemon_label());
        let m = Self {
            registry: Registry::default(),
            messages: Family::default(),
            smtp_replies: Family::default(),
            smtp_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            sessions_open: Gauge::default(),
            rate_limit: Gauge::default(),
            sessions_allowed: Gauge::default(),
            bounces: Family::default(),
            db_write_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            scheduler_lag_seconds: Gauge::default(),
            start_time_seconds: Gauge::default(),
        };
        m.start_time_seconds.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        registry.register(
            "messages",
            "Delivery attempts by outcome and list",
            m.messages.clone(),
        );
        registry.register(
            "smtp_replies",
            "SMTP replies to the final dot (or the refusal) by code",
            m.smtp_replies.clone(),
        );
        registry.register(
            "smtp_transaction_seconds",
            "Time from MAIL FROM to the reply to the final dot",
            m.smtp_seconds.clone(),
        );
        registry.register(
            "smtp_sessions_open",
            "SMTP sessions open",
            m.sessions_open.clone(),
        );
        registry.register(
            "rate_limit_messages_per_second",
            "The sending pace in force (0: unlimited); lower than configured while a relay asks to slow down",
            m.rate_limit.clone(),
        );
        registry.register(
            "sessions_allowed",
            "SMTP sessions allowed to send now",
            m.sessions_allowed.clone(),
        );
        registry.register(
            "bounce_events",
            "Bounce reports, complaints and other returned mail recorded, by kind and class",
            m.bounces.clone(),
        );
        registry.register(
            "database_write_seconds",
            "Time to commit one group of delivery outcomes",
            m.db_write_seconds.clone(),
        );
        registry.register(
            "scheduler_lag_seconds",
            "How late the last issue started after its due time",
            m.scheduler_lag_seconds.clone(),
        );
        registry.register(
            "start_time_seconds",
            "When this herald process started, in seconds since the epoch",
            m.start_time_seconds.clone(),
        );
        registry.register(
            "build",
            "herald's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        Self { registry, ..m }
    }

    /// The process-wide metrics.
    pub fn get() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS.get_or_init(Metrics::new)
    }

    /// The exposition: everything registered, then `deliveries` (read from the database now).
    pub fn render(&self, deliveries: &[(DeliveryLabels, i64)]) -> String {
        let mut out = String::with_capacity(8192);
        let _ = encode(&mut out, &self.registry);
        let mut now = Registry::with_prefix_and_labels("herald", daemon_label());
        let family = Family::<DeliveryLabels, Gauge>::default();
        for (labels, n) in deliveries {
            family.get_or_create(labels).set(*n);
        }
        now.register(
            "deliveries",
            "Deliveries of the issues being sent, by state",
            family,
        );
        let _ = encode(&mut out, &now);
        out
    }
}

/// The `outcome` label values of `herald_messages_total`, in [`ListCounters`]' order.
pub const OUTCOMES: [&str; 6] = [
    "sent",
    "deferred",
    "failed",
    "bounced",
    "unconfirmed",
    "released",
];

/// One list's `herald_messages_total` counters, looked up once per issue rather than per message.
#[derive(Debug, Clone)]
pub struct ListCounters([Counter; 6]);

impl ListCounters {
    /// Counts one message whose outcome is `OUTCOMES[outcome]`.
    pub fn inc(&self, outcome: usize) {
        self.0[outcome].inc();
    }
}

impl Metrics {
    pub fn list_counters(&self, list: &str) -> ListCounters {
        ListCounters(OUTCOMES.map(|outcome| {
            self.messages.get_or_create_owned(&OutcomeLabels {
                outcome: outcome.to_owned(),
                list: list.to_owned(),
            })
        }))
    }
}

/// The text format's media type, for the response.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// `sending.daemon_name`, set once by the daemon before its first metric.
static DAEMON: OnceLock<String> = OnceLock::new();

/// Names this daemon in the `daemon` label (call before the first metric is recorded).
pub fn set_daemon_name(name: &str) {
    let _ = DAEMON.set(name.to_owned());
}

/// The `daemon` label every metric carries (`sending.daemon_name`, by default the host name), so
/// that the daemons sharing one PostgreSQL queue can be told apart (and summed) in one dashboard.
fn daemon_label() -> impl Iterator<
    Item = (
        std::borrow::Cow<'static, str>,
        std::borrow::Cow<'static, str>,
    ),
> {
    let name = DAEMON.get().cloned().unwrap_or_else(host_name);
    std::iter::once(("daemon".into(), name.into()))
}

/// This machine's host name (`localhost` when it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_family_once() {
        let m = Metrics::new();
        m.messages
            .get_or_create(&OutcomeLabels {
                outcome: "sent".into(),
                list: "weekly".into(),
            })
            .inc();
        let text = m.render(&[(
            DeliveryLabels {
                issue: "1".into(),
                list: "weekly".into(),
                state: "pending".into(),
            },
            7,
        )]);
        let daemon = format!("daemon=\"{}\"", host_name());
        assert!(
            text.contains(&format!(
                "herald_messages_total{{{daemon},outcome=\"sent\",list=\"weekly\"}} 1"
            )),
            "{text}"
        );
        assert!(text.contains(&format!(
            "herald_deliveries{{{daemon},issue=\"1\",list=\"weekly\",state=\"pending\"}} 7"
        )));
        assert!(text.contains(&format!("herald_build_info{{{daemon},version=\"")));
        assert_eq!(text.matches("# TYPE herald_messages_total").count(), 1);
    }
}
