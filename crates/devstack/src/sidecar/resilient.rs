//! daprd's policy runner around an app's calls to its components (state,
//! publish), as `targets.components.<name>.outbound` of the Resiliency
//! resources says (dapr/dapr `pkg/resiliency/policy.go`): each attempt is
//! bounded by the timeout (its error: `context deadline exceeded`), a failed
//! attempt is retried by the retry policy, and an error the caller calls
//! permanent is answered at once. daprd makes only a save's ETag mismatch
//! permanent (`pkg/components/state/bulk.go`, `backoff.Permanent`); deletes
//! and transactions are retried even on an ETag mismatch, and whatever still
//! fails is answered as without a policy.
//!
//! A circuit breaker sits between the retries and the timeout, as in
//! daprd: it counts each attempt, and while open it refuses attempts at once
//! ("circuit breaker is open"; half-open beyond `maxRequests`: "too many
//! requests"), which the retries take as permanent (`breaker.IsErrorPermanent`).
//! Its states follow sony/gobreaker, which daprd uses ([`Breaker`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{CircuitBreakerPolicy, ComponentPolicy, Counts};

/// The error text of an attempt cut off by the timeout (Go's
/// `context.DeadlineExceeded`).
pub const DEADLINE_EXCEEDED: &str = "context deadline exceeded";

/// gobreaker's error texts.
pub const BREAKER_OPEN: &str = "circuit breaker is open";
pub const BREAKER_TOO_MANY: &str = "too many requests";

/// Runs `attempt` under `policy`, with `breaker` the state of its circuit
/// breaker if it has one. `permanent` says which errors end the retries;
/// `error` makes an error from a message (a timeout, a refusal by the
/// breaker).
pub async fn run<T, E, F, Fut>(
    policy: &ComponentPolicy,
    breaker: Option<Arc<Breaker>>,
    permanent: impl Fn(&E) -> bool,
    error: impl Fn(&str) -> E,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retries = 0;
    loop {
        let admitted = match &breaker {
            Some(b) => b.before(Instant::now()).map(Some),
            None => Ok(None),
        };
        let outcome = match admitted {
            Err(refusal) => return Err(error(refusal)),
            Ok(generation) => {
                let outcome = match policy.timeout {
                    Some(limit) => tokio::time::timeout(limit, attempt())
                        .await
                        .unwrap_or_else(|_| Err(error(DEADLINE_EXCEEDED))),
                    None => attempt().await,
                };
                if let (Some(b), Some(generation)) = (&breaker, generation) {
                    b.after(generation, outcome.is_ok(), Instant::now());
                }
                outcome
            }
        };
        let failure = match outcome {
            Ok(value) => return Ok(value),
            Err(e) if permanent(&e) => return Err(e),
            Err(e) => e,
        };
        match &policy.retry {
            Some(retry) if retry.allows_retry(retries) => {
                tokio::time::sleep(retry.delay(retries)).await;
                retries += 1;
            }
            _ => return Err(failure),
        }
    }
}

/// The circuit breakers of one sidecar, by component name (they outlive
/// requests; daprd's `componentCBs`: one per component, shared by its
/// inbound and outbound policies, made from the first template asked for).
#[derive(Default)]
pub struct Breakers(Mutex<HashMap<String, Arc<Breaker>>>);

impl Breakers {
    /// The breaker of `component`, created from `policy` if it has none yet.
    pub fn get(&self, name: &str, policy: &CircuitBreakerPolicy) -> Arc<Breaker> {
        self.0
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(Breaker::new(policy.clone())))
            .clone()
    }
}

/// One circuit breaker: sony/gobreaker's state machine (`gobreaker.go`).
pub struct Breaker {
    policy: CircuitBreakerPolicy,
    state: Mutex<BreakerState>,
}

struct BreakerState {
    phase: Phase,
    counts: Counts,
    /// Closed: when the counts are cleared (with an interval); open: when
    /// it turns half-open.
    expiry: Option<Instant>,
    generation: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    HalfOpen,
    Open,
}

impl Breaker {
    fn new(policy: CircuitBreakerPolicy) -> Breaker {
        let expiry = policy.interval.map(|i| Instant::now() + i);
        Breaker {
            policy,
            state: Mutex::new(BreakerState {
                phase: Phase::Closed,
                counts: Counts::default(),
                expiry,
                generation: 0,
            }),
        }
    }

    /// gobreaker's `beforeRequest`: the generation the attempt runs in, or
    /// why it may not run.
    pub fn before(&self, now: Instant) -> Result<u64, &'static str> {
        let mut state = self.state.lock().unwrap();
        self.current(&mut state, now);
        match state.phase {
            Phase::Open => return Err(BREAKER_OPEN),
            Phase::HalfOpen if state.counts.requests >= self.policy.max_requests => {
                return Err(BREAKER_TOO_MANY)
            }
            _ => {}
        }
        state.counts.requests += 1;
        Ok(state.generation)
    }

    /// gobreaker's `afterRequest`.
    pub fn after(&self, generation: u64, success: bool, now: Instant) {
        let mut state = self.state.lock().unwrap();
        self.current(&mut state, now);
        if state.generation != generation {
            return;
        }
        if success {
            state.counts.total_successes += 1;
            state.counts.consecutive_successes += 1;
            state.counts.consecutive_failures = 0;
            if state.phase == Phase::HalfOpen
                && state.counts.consecutive_successes >= self.policy.max_requests
            {
                self.set(&mut state, Phase::Closed, now);
            }
        } else {
            state.counts.total_failures += 1;
            state.counts.consecutive_failures += 1;
            state.counts.consecutive_successes = 0;
            let trips = match state.phase {
                Phase::Closed => self.policy.trip.eval(&state.counts),
                Phase::HalfOpen => true,
                Phase::Open => false,
            };
            if trips {
                self.set(&mut state, Phase::Open, now);
            }
        }
    }

    /// gobreaker's `currentState`: time moves a closed breaker to a new
    /// interval and an open one to half-open.
    fn current(&self, state: &mut BreakerState, now: Instant) {
        let expired = state.expiry.is_some_and(|at| at <= now);
        match state.phase {
            Phase::Closed if expired => self.new_generation(state, now),
            Phase::Open if expired => self.set(state, Phase::HalfOpen, now),
            _ => {}
        }
    }

    fn set(&self, state: &mut BreakerState, phase: Phase, now: Instant) {
        if state.phase != phase {
            tracing::info!(phase = ?phase, "circuit breaker changed state");
        }
        state.phase = phase;
        self.new_generation(state, now);
    }

    fn new_generation(&self, state: &mut BreakerState, now: Instant) {
        state.generation += 1;
        state.counts = Counts::default();
        state.expiry = match state.phase {
            Phase::Closed => self.policy.interval.map(|i| now + i),
            Phase::Open => Some(now + self.policy.timeout),
            Phase::HalfOpen => None,
        };
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;
    use crate::config::RetryPolicy;

    fn policy(retries: u64, timeout_ms: Option<u64>) -> ComponentPolicy {
        ComponentPolicy {
            retry: Some(RetryPolicy::constant(
                Duration::from_millis(1),
                Some(retries),
            )),
            timeout: timeout_ms.map(Duration::from_millis),
            breaker: None,
        }
    }

    #[tokio::test]
    async fn failures_are_retried_up_to_the_policy_then_answered() {
        let calls = Cell::new(0);
        let result: Result<(), String> = run(
            &policy(2, None),
            None,
            |_| false,
            |m: &str| m.to_string(),
            || {
                calls.set(calls.get() + 1);
                async { Err("down".to_string()) }
            },
        )
        .await;
        assert_eq!(result, Err("down".to_string()));
        assert_eq!(calls.get(), 3, "one try and two retries");
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried_and_a_success_ends_it() {
        let calls = Cell::new(0);
        let result: Result<(), String> = run(
            &policy(5, None),
            None,
            |e: &String| e == "etag",
            |m: &str| m.to_string(),
            || {
                calls.set(calls.get() + 1);
                async { Err("etag".to_string()) }
            },
        )
        .await;
        assert_eq!((result, calls.get()), (Err("etag".to_string()), 1));

        let calls = Cell::new(0);
        let result: Result<u32, String> = run(
            &policy(5, None),
            None,
            |_| false,
            |m: &str| m.to_string(),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err("down".to_string())
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test]
    async fn each_attempt_is_cut_off_by_the_timeout() {
        let result: Result<(), String> = run(
            &policy(1, Some(10)),
            None,
            |_| false,
            |m: &str| m.to_string(),
            || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            },
        )
        .await;
        assert_eq!(result, Err(DEADLINE_EXCEEDED.to_string()));
    }

    fn breaker(max_requests: u64, timeout_ms: u64) -> CircuitBreakerPolicy {
        CircuitBreakerPolicy {
            max_requests,
            interval: None,
            timeout: Duration::from_millis(timeout_ms),
            trip: crate::config::Trip::parse("consecutiveFailures >= 2").unwrap(),
        }
    }

    #[test]
    fn a_breaker_opens_on_its_trip_rule_and_closes_after_a_good_half_open_try() {
        let b = Breaker::new(breaker(1, 100));
        let t0 = Instant::now();
        let g = b.before(t0).unwrap();
        b.after(g, false, t0);
        let g = b.before(t0).unwrap();
        b.after(g, false, t0);
        assert_eq!(
            b.before(t0),
            Err(BREAKER_OPEN),
            "two failures in a row trip it"
        );
        let later = t0 + Duration::from_millis(101);
        let g = b.before(later).expect("half-open after the timeout");
        assert_eq!(
            b.before(later),
            Err(BREAKER_TOO_MANY),
            "one try while half-open"
        );
        b.after(g, true, later);
        assert!(b.before(later).is_ok(), "closed again");
    }

    #[test]
    fn a_failure_while_half_open_opens_it_again_and_old_results_are_ignored() {
        let b = Breaker::new(breaker(1, 100));
        let t0 = Instant::now();
        let stale = b.before(t0).unwrap();
        let g = b.before(t0).unwrap();
        b.after(g, false, t0);
        b.after(b.before(t0).unwrap(), false, t0);
        assert_eq!(b.before(t0), Err(BREAKER_OPEN));
        b.after(stale, true, t0); // from before it opened: ignored
        assert_eq!(b.before(t0), Err(BREAKER_OPEN));
        let later = t0 + Duration::from_millis(150);
        let g = b.before(later).unwrap();
        b.after(g, false, later);
        assert_eq!(b.before(later), Err(BREAKER_OPEN));
    }

    #[tokio::test]
    async fn an_open_breaker_refuses_at_once_and_ends_the_retries() {
        let breakers = Breakers::default();
        let policy = ComponentPolicy {
            breaker: Some(breaker(1, 60_000)),
            ..policy(10, None)
        };
        let state = breakers.get("statestore", policy.breaker.as_ref().unwrap());
        let calls = Cell::new(0);
        let result: Result<(), String> = run(
            &policy,
            Some(state.clone()),
            |_| false,
            |m: &str| m.to_string(),
            || {
                calls.set(calls.get() + 1);
                async { Err("down".to_string()) }
            },
        )
        .await;
        assert_eq!(result, Err(BREAKER_OPEN.to_string()));
        assert_eq!(calls.get(), 2, "tripped after two failures; no more tries");
        let shared = breakers.get("statestore", &breaker(100, 1));
        assert!(
            Arc::ptr_eq(&state, &shared),
            "one breaker per component, whatever the policy asking"
        );
        assert_eq!(shared.before(Instant::now()), Err(BREAKER_OPEN));
    }
}
