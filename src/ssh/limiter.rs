//! Failed sign-ins per source address (`auth.max_failures_per_minute`):
//! a leaky bucket per address that drains at the configured rate. From
//! half the limit on, new connections from the address are delayed; at
//! the limit it is refused for [`BLOCK`].
//!
//! Owned by the accept loop alone (plain data, no lock, no task); the
//! connections report failures to it through a channel. Memory is bounded:
//! at most [`TRACKED`] addresses, drained entries evicted first, then the
//! least recently failing. Must not do I/O or read the clock itself.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// How long an address over the limit is refused.
pub const BLOCK: Duration = Duration::from_secs(5 * 60);
/// The longest delay given to a connection from a failing address.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// Delay added per failure past half the limit.
const DELAY_STEP: Duration = Duration::from_millis(500);
/// Addresses remembered at most.
pub const TRACKED: usize = 4096;

/// Where failures are counted: an IPv4 address, or an IPv6 /64 (one
/// host usually owns a whole /64, so counting single IPv6 addresses would
/// let it dodge the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Source(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Source(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// What to do with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Serve it after this delay.
    Slow(Duration),
    /// Close it at once; the block lasts this much longer.
    Refuse(Duration),
}

/// An address that just went over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub source: Source,
    pub limit: u32,
    pub duration: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures not yet drained.
    level: f64,
    updated: Instant,
    blocked_until: Option<Instant>,
}

pub struct FailureLimiter {
    /// Failures per minute; 0: no limit.
    limit: u32,
    entries: HashMap<Source, Entry>,
    capacity: usize,
}

impl FailureLimiter {
    pub fn new(limit: u32) -> FailureLimiter {
        FailureLimiter::with_capacity(limit, TRACKED)
    }

    /// A reloaded `auth.max_failures_per_minute`: failures already
    /// counted stay counted.
    pub fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    fn with_capacity(limit: u32, capacity: usize) -> FailureLimiter {
        FailureLimiter {
            limit,
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Addresses currently remembered.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Failures drained per second.
    fn drain_rate(&self) -> f64 {
        f64::from(self.limit) / 60.0
    }

    /// The verdict for a new connection from `ip` at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        if self.limit == 0 {
            return Verdict::Allow;
        }
        let rate = self.drain_rate();
        let Some(entry) = self.entries.get_mut(&Source::of(ip)) else {
            return Verdict::Allow;
        };
        if let Some(until) = entry.blocked_until {
            if now < until {
                return Verdict::Refuse(until - now);
            }
            entry.blocked_until = None;
        }
        entry.drain(now, rate);
        let half = f64::from(self.limit) / 2.0;
        if entry.level < half.max(1.0) {
            return Verdict::Allow;
        }
        let steps = (entry.level - half).floor() as u32 + 1;
        Verdict::Slow(DELAY_STEP.saturating_mul(steps).min(MAX_DELAY))
    }

    /// Counts one failed sign-in from `ip`; `Some` when this failure put
    /// the address over the limit (it is then refused for [`BLOCK`]).
    pub fn record_failure(&mut self, ip: IpAddr, now: Instant) -> Option<Blocked> {
        if self.limit == 0 {
            return None;
        }
        let source = Source::of(ip);
        if !self.entries.contains_key(&source) {
            self.make_room(now);
        }
        let rate = self.drain_rate();
        let limit = self.limit;
        let entry = self.entries.entry(source).or_insert(Entry {
            level: 0.0,
            updated: now,
            blocked_until: None,
        });
        entry.drain(now, rate);
        entry.level += 1.0;
        if entry.blocked_until.is_some_and(|until| now < until) {
            // A connection accepted before the block ended late.
            return None;
        }
        if entry.level < f64::from(limit) {
            return None;
        }
        entry.blocked_until = Some(now + BLOCK);
        Some(Blocked {
            source,
            limit,
            duration: BLOCK,
        })
    }

    /// Makes room for one more address: forgets drained entries, and if
    /// that is not enough, the one that failed least recently.
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < self.capacity {
            return;
        }
        let rate = self.drain_rate();
        self.entries.retain(|_, entry| !entry.is_spent(now, rate));
        if self.entries.len() < self.capacity {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.updated)
            .map(|(source, _)| *source);
        if let Some(source) = oldest {
            self.entries.remove(&source);
        }
    }
}

impl Entry {
    fn drain(&mut self, now: Instant, rate: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level - elapsed * rate).max(0.0);
        self.updated = now;
    }

    /// Not blocked and fully drained: nothing worth remembering.
    fn is_spent(&self, now: Instant, rate: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let blocked = self.blocked_until.is_some_and(|until| now < until);
        !blocked && self.level - elapsed * rate <= 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn failures_slow_then_refuse_one_address_only() {
        let mut limiter = FailureLimiter::new(4);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(limiter.check(a, start), Verdict::Allow);
        assert_eq!(limiter.record_failure(a, start), None);
        assert_eq!(limiter.check(a, start), Verdict::Allow);
        // From half the limit on: slowed.
        assert_eq!(limiter.record_failure(a, start), None);
        assert_eq!(limiter.check(a, start), Verdict::Slow(DELAY_STEP));
        assert_eq!(limiter.record_failure(a, start), None);
        assert_eq!(limiter.check(a, start), Verdict::Slow(DELAY_STEP * 2));
        let blocked = limiter.record_failure(a, start).expect("blocked");
        assert_eq!(blocked.source.to_string(), "192.0.2.1");
        assert_eq!(limiter.check(a, start), Verdict::Refuse(BLOCK));
        assert_eq!(limiter.check(ip("192.0.2.2"), start), Verdict::Allow);
        // Still refused near the end of the block, served after it.
        let later = start + BLOCK - Duration::from_secs(1);
        assert!(matches!(limiter.check(a, later), Verdict::Refuse(_)));
        assert_eq!(limiter.check(a, start + BLOCK), Verdict::Allow);
    }

    #[test]
    fn failures_drain_at_the_configured_rate() {
        let mut limiter = FailureLimiter::new(2);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        limiter.record_failure(a, start);
        // One failure a minute at a limit of two per minute: never blocked.
        for minute in 1..10 {
            let at = start + Duration::from_secs(60 * minute);
            assert_eq!(limiter.record_failure(a, at), None, "minute {minute}");
        }
    }

    #[test]
    fn delays_grow_and_stay_bounded() {
        let mut limiter = FailureLimiter::new(100);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..99 {
            limiter.record_failure(a, now);
        }
        assert_eq!(limiter.check(a, now), Verdict::Slow(MAX_DELAY));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let mut limiter = FailureLimiter::new(0);
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiter.record_failure(ip("192.0.2.1"), now), None);
        }
        assert_eq!(limiter.check(ip("192.0.2.1"), now), Verdict::Allow);
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn memory_stays_bounded_however_many_addresses_fail() {
        let mut limiter = FailureLimiter::with_capacity(10, 64);
        let now = Instant::now();
        for n in 0..10_000u32 {
            let address = IpAddr::from(n.to_be_bytes());
            limiter.record_failure(address, now + Duration::from_millis(u64::from(n)));
            assert!(limiter.tracked() <= 64);
        }
        // The most recent failures are the ones remembered.
        let last = IpAddr::from(9_999u32.to_be_bytes());
        let at = now + Duration::from_millis(9_999);
        for _ in 0..9 {
            limiter.record_failure(last, at);
        }
        assert!(matches!(limiter.check(last, at), Verdict::Refuse(_)));
    }

    #[test]
    fn ipv6_counts_per_slash_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            Source::of(ip("2001:db8:1:2:aaaa::1")),
            Source::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1")),
            Source::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.1")),
            Source::of(ip("192.0.2.1"))
        );
        assert_eq!(Source::of(ip("2001:db8::1")).to_string(), "2001:db8::/64");
    }
}
