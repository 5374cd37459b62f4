//! `smtp.global_rate_per_second`: one pace for every daemon sharing a PostgreSQL queue. The daemons
//! take sends from one token bucket row in the database, a few at a time (a twentieth of a second's
//! worth), so the cap costs one short transaction per handful of messages, not one per message.
//! Each daemon's own `smtp.rate_per_second` (and its adaptive slowing down) still applies on top.

use crate::{clock::SharedClock, store::Store};
use std::time::Duration;
use tokio::sync::Mutex;

pub struct GlobalRate {
    store: Store,
    clock: SharedClock,
    per_second: f64,
    /// Sends taken from the bucket and not yet used.
    stash: Mutex<u32>,
}

impl GlobalRate {
    pub fn new(store: Store, clock: SharedClock, per_second: f64) -> Self {
        Self {
            store,
            clock,
            per_second,
            stash: Mutex::new(0),
        }
    }

    /// Waits until the shared bucket grants this daemon one send. A database error lets the send go
    /// (logged): the cap is a courtesy to the relay, not worth stopping delivery for.
    pub async fn acquire(&self) {
        let mut stash = self.stash.lock().await;
        let batch = ((self.per_second / 20.0).ceil() as u32).max(1);
        let wait = Duration::from_secs_f64((1.0 / self.per_second).clamp(0.005, 1.0));
        while *stash == 0 {
            let now = crate::clock::to_millis(self.clock.now());
            match self
                .store
                .take_global_sends(self.per_second, batch, now)
                .await
            {
                Ok(0) => tokio::time::sleep(wait).await,
                Ok(n) => *stash = n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the shared send rate; sending on");
                    return;
                }
            }
        }
        *stash -= 1;
    }
}
