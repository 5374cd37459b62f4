//! Configuration: built-in defaults, overlaid by a TOML file, overlaid by `HERALD_<SECTION>__<KEY>`
//! environment variables. Loading reports every problem at once, each naming its key.

mod load;
mod model;

pub use load::{ConfigProblems, Loaded, load};
pub use model::{
    AdminConfig, AfterProcessing, BounceConfig, Config, DatabaseConfig, DkimConfig, HttpConfig,
    ImapConfig, LogConfig, MissedSlots, RenderConfig, SchedulerConfig, Secret, SendingConfig,
    SmtpConfig, TlsMode, TransportKind,
};
