//! Failed sign-ins slow guessing down (architecture §3: repeated failures per
//! account and per client → 429 + `Retry-After`).
//!
//! A [`FailureCounter`] is a small document `{failures: [timestamps]}` the
//! component keeps per account ([`account_counter_key`]) and per client
//! ([`client_counter_key`]), saved with a TTL ([`FailureCounter::ttl_secs`]).
//! With the default [`LockoutPolicy`], 5 failures within 15 minutes lock the
//! key until the oldest of those 5 is 15 minutes old. A sliding window of the
//! actual failure times (not a fixed window with a start) means 5 failures
//! spread over 16 minutes never lock, and the wait is exact. Only the last
//! `max_failures` timestamps are kept, so the document stays tiny.
//!
//! The component checks both counters *before* verifying the password
//! (locked → 429, nothing hashed, nothing recorded), records a failure on
//! both after a wrong password or unknown account, and deletes the account
//! counter after a successful sign-in. The account counter is keyed by the
//! normalised address the client typed, so unknown addresses lock exactly
//! like known ones and the 429 reveals nothing.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::sha256_hex;
use crate::problem::Problem;

/// When a key locks: `max_failures` within `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window_secs: i64,
}

impl Default for LockoutPolicy {
    /// 5 failures within 15 minutes.
    fn default() -> LockoutPolicy {
        LockoutPolicy {
            max_failures: 5,
            window_secs: 15 * 60,
        }
    }
}

/// Whether sign-in attempts are accepted for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    Open,
    /// Refuse with 429 and `Retry-After: retry_after_secs` (≥ 1).
    Locked {
        retry_after_secs: u32,
    },
}

impl LockStatus {
    /// The stricter of two statuses (account and client): the longer wait.
    pub fn and(self, other: LockStatus) -> LockStatus {
        match (self, other) {
            (LockStatus::Open, s) | (s, LockStatus::Open) => s,
            (
                LockStatus::Locked {
                    retry_after_secs: a,
                },
                LockStatus::Locked {
                    retry_after_secs: b,
                },
            ) => LockStatus::Locked {
                retry_after_secs: a.max(b),
            },
        }
    }

    /// The 429 to answer, if locked.
    pub fn problem(self) -> Option<Problem> {
        match self {
            LockStatus::Open => None,
            LockStatus::Locked { retry_after_secs } => Some(Problem::too_many_requests(
                "too many failed sign-in attempts; try again later",
                retry_after_secs,
            )),
        }
    }
}

/// Recent failures of one key, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCounter {
    #[serde(default)]
    pub failures: Vec<DateTime<Utc>>,
}

impl FailureCounter {
    /// Locked when at least `max_failures` failures happened in the last
    /// `window_secs` (a failure at `t` counts while `now < t + window`), until
    /// the `max_failures`-th most recent one leaves the window.
    pub fn status(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> LockStatus {
        let max = policy.max_failures.max(1) as usize;
        let recent = self.recent(policy, now);
        if recent.len() < max {
            return LockStatus::Open;
        }
        let unlocks_at = recent[recent.len() - max] + window(policy);
        LockStatus::Locked {
            retry_after_secs: u32::try_from(ceil_secs(unlocks_at - now))
                .unwrap_or(u32::MAX)
                .max(1),
        }
    }

    /// Adds a failure at `now`, forgetting those out of the window and all
    /// but the `max_failures` most recent.
    pub fn record_failure(&mut self, policy: &LockoutPolicy, now: DateTime<Utc>) {
        let mut kept: Vec<DateTime<Utc>> = self.recent(policy, now).to_vec();
        kept.push(now);
        kept.sort();
        let max = policy.max_failures.max(1) as usize;
        let excess = kept.len().saturating_sub(max);
        kept.drain(..excess);
        self.failures = kept;
    }

    /// Failures still in the window at `now`.
    pub fn recent_count(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> usize {
        self.recent(policy, now).len()
    }

    /// Seconds until every recorded failure has left the window (≥ 1): the
    /// TTL to save the document with. Nothing recent → the document can go.
    pub fn ttl_secs(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> Option<u32> {
        let newest = *self.recent(policy, now).last()?;
        Some(
            u32::try_from(ceil_secs(newest + window(policy) - now))
                .unwrap_or(u32::MAX)
                .max(1),
        )
    }

    fn recent(&self, policy: &LockoutPolicy, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut recent: Vec<DateTime<Utc>> = self
            .failures
            .iter()
            .copied()
            .filter(|t| now < *t + window(policy))
            .collect();
        recent.sort();
        recent
    }
}

/// Counter key of the account a sign-in names (its normalised address, or
/// the trimmed, lowercased input when it does not parse), hashed.
pub fn account_counter_key(normalized_email: &str) -> String {
    format!(
        "lockout/account/{}",
        sha256_hex(normalized_email.as_bytes())
    )
}

/// Counter key of a client (e.g. its IP address as the ingress reports it), hashed.
pub fn client_counter_key(client: &str) -> String {
    format!("lockout/client/{}", sha256_hex(client.as_bytes()))
}

/// What a client is called for [`client_counter_key`] when its address is
/// not known.
pub const UNKNOWN_CLIENT: &str = "unknown";

/// The client of a request from the address its host reports, e.g. Spin's
/// `spin-client-addr` header (`ip:port`, `[v6]:port`): the IP alone, so
/// every connection of one machine shares a counter; an address that is
/// absent or does not parse → [`UNKNOWN_CLIENT`] (all such clients share
/// one counter). IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn client_of(addr: Option<&str>) -> String {
    use std::net::{IpAddr, SocketAddr};
    let Some(addr) = addr.map(str::trim) else {
        return UNKNOWN_CLIENT.to_string();
    };
    let ip = addr
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| addr.parse::<IpAddr>());
    match ip {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        Ok(ip) => ip.to_string(),
        Err(_) => UNKNOWN_CLIENT.to_string(),
    }
}

fn window(policy: &LockoutPolicy) -> Duration {
    Duration::seconds(policy.window_secs.max(0))
}

/// Whole seconds, rounded up (a `Retry-After` must not be too early).
fn ceil_secs(d: Duration) -> i64 {
    let secs = d.num_seconds();
    if d > Duration::seconds(secs) {
        secs + 1
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(secs)
    }

    fn failed_at(times: &[i64]) -> FailureCounter {
        let mut c = FailureCounter::default();
        for t in times {
            c.record_failure(&LockoutPolicy::default(), at(*t));
        }
        c
    }

    #[test]
    fn five_failures_within_fifteen_minutes_lock() {
        let p = LockoutPolicy::default();
        let c = failed_at(&[0, 60, 120, 180]);
        assert_eq!(c.status(&p, at(200)), LockStatus::Open);
        let c = failed_at(&[0, 60, 120, 180, 240]);
        // Locked until the first failure is 15 minutes old.
        assert_eq!(
            c.status(&p, at(240)),
            LockStatus::Locked {
                retry_after_secs: 660
            }
        );
        assert_eq!(
            c.status(&p, at(899)),
            LockStatus::Locked {
                retry_after_secs: 1
            }
        );
        assert_eq!(c.status(&p, at(900)), LockStatus::Open);
    }

    #[test]
    fn five_failures_over_sixteen_minutes_do_not_lock() {
        let p = LockoutPolicy::default();
        let c = failed_at(&[0, 240, 480, 720, 960]);
        assert_eq!(c.status(&p, at(960)), LockStatus::Open);
        assert_eq!(c.recent_count(&p, at(960)), 4);
    }

    #[test]
    fn retry_after_rounds_up_and_follows_the_fifth_most_recent() {
        let p = LockoutPolicy::default();
        let mut c = failed_at(&[0, 10, 20, 30, 40]);
        c.failures[0] += Duration::milliseconds(500);
        assert_eq!(
            c.status(&p, at(40)),
            LockStatus::Locked {
                retry_after_secs: 861
            }
        );
        // A sixth failure (recorded anyway) pushes the unlock to the second one.
        let c = failed_at(&[0, 10, 20, 30, 40, 50]);
        assert_eq!(c.failures.len(), 5);
        assert_eq!(
            c.status(&p, at(50)),
            LockStatus::Locked {
                retry_after_secs: 860
            }
        );
    }

    #[test]
    fn counter_stays_small_and_has_a_ttl() {
        let p = LockoutPolicy::default();
        let c = failed_at(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(c.failures, (5..10).map(at).collect::<Vec<_>>());
        assert_eq!(c.ttl_secs(&p, at(9)), Some(900));
        assert_eq!(FailureCounter::default().ttl_secs(&p, at(9)), None);
        let old = failed_at(&[0]);
        assert_eq!(old.ttl_secs(&p, at(900)), None);
        // Old failures are forgotten when a new one is recorded.
        let mut c = failed_at(&[0, 1]);
        c.record_failure(&p, at(1000));
        assert_eq!(c.failures, vec![at(1000)]);
    }

    #[test]
    fn serialised_shape() {
        let c = failed_at(&[0]);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"failures": ["2026-06-01T12:00:00Z"]})
        );
        let empty: FailureCounter = serde_json::from_str("{}").unwrap();
        assert!(empty.failures.is_empty());
    }

    #[test]
    fn combined_status_and_problem() {
        let locked = |s| LockStatus::Locked {
            retry_after_secs: s,
        };
        assert_eq!(LockStatus::Open.and(LockStatus::Open), LockStatus::Open);
        assert_eq!(LockStatus::Open.and(locked(5)), locked(5));
        assert_eq!(locked(9).and(locked(5)), locked(9));
        assert!(LockStatus::Open.problem().is_none());
        let p = locked(42).problem().unwrap();
        assert_eq!((p.status, p.retry_after), (429, Some(42)));
    }

    #[test]
    fn clients_are_their_ip_address() {
        assert_eq!(client_of(Some("203.0.113.9:51234")), "203.0.113.9");
        assert_eq!(client_of(Some("203.0.113.9")), "203.0.113.9");
        assert_eq!(client_of(Some("[2001:db8::1]:443")), "2001:db8::1");
        assert_eq!(client_of(Some("[::ffff:203.0.113.9]:80")), "203.0.113.9");
        assert_eq!(client_of(Some("2001:db8::1")), "2001:db8::1");
        assert_eq!(client_of(Some("somewhere")), UNKNOWN_CLIENT);
        assert_eq!(client_of(Some("")), UNKNOWN_CLIENT);
        assert_eq!(client_of(None), UNKNOWN_CLIENT);
    }

    #[test]
    fn keys_hash_their_input() {
        let a = account_counter_key("ana@example.org");
        assert!(a.starts_with("lockout/account/") && !a.contains('@'));
        assert_ne!(a, account_counter_key("bob@example.org"));
        let c = client_counter_key("203.0.113.9");
        assert!(c.starts_with("lockout/client/") && !c.contains("203"));
    }
}
