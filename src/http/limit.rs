//! Counting what one client does in a fixed window (signups an hour, refused tokens a minute). A
//! client is an IPv4 address or an IPv6 /64 (one household or host gets a /64, so counting single
//! IPv6 addresses would count nothing); behind a reverse proxy it is the proxy. At most
//! [`MAX_CLIENTS`] are remembered: beyond, the older half of the windows is forgotten.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    sync::Mutex,
    time::{Duration, Instant},
};

pub const MAX_CLIENTS: usize = 65_536;

#[derive(Debug)]
pub struct PerClient {
    window: Duration,
    /// When each client's window began, and what it counted since.
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// The key a client is counted under.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut s = v6.segments();
            s[4..].fill(0);
            IpAddr::V6(Ipv6Addr::from(s))
        }
        v4 => v4,
    }
}

impl PerClient {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            counts: Mutex::default(),
        }
    }

    /// Counts one event of `ip`'s; returns how many its window holds now.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let mut counts = self.counts.lock().expect("per-client counts");
        counts.retain(|_, (since, _)| since.elapsed() < self.window);
        if counts.len() >= MAX_CLIENTS {
            let mut starts: Vec<Instant> = counts.values().map(|(since, _)| *since).collect();
            starts.sort();
            let cut = starts[starts.len() / 2];
            counts.retain(|_, (since, _)| *since > cut);
        }
        let entry = counts.entry(client(ip)).or_insert((Instant::now(), 0));
        entry.1 += 1;
        entry.1
    }

    /// When `ip` has counted at least `limit` in its current window: how long until it ends.
    pub fn over(&self, ip: IpAddr, limit: u32) -> Option<Duration> {
        let counts = self.counts.lock().expect("per-client counts");
        let (since, n) = counts.get(&client(ip))?;
        let left = self.window.checked_sub(since.elapsed())?;
        (*n >= limit).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v6_64_is_one_client_and_windows_count_up_to_their_limit() {
        let counts = PerClient::new(Duration::from_secs(60));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(
            (counts.count(a), counts.count(b), counts.count(other)),
            (1, 2, 1)
        );
        assert!(counts.over(a, 2).is_some());
        assert!(counts.over(other, 2).is_none());
        assert!(counts.over("192.0.2.1".parse().unwrap(), 1).is_none());
    }
}
