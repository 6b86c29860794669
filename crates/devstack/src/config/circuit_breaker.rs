//! Circuit-breaker policies of `Resiliency` resources
//! (`policies.circuitBreakers.<name>`: `maxRequests`, `interval`, `timeout`,
//! `trip`), read as daprd reads them (dapr/dapr
//! `pkg/resiliency/breaker/circuitbreaker.go`, over sony/gobreaker).
//!
//! `trip` is CEL over the breaker's counts in daprd. devstack understands
//! the form every documented policy uses — comparisons of a count with a
//! number (`consecutiveFailures > 5`), joined by `&&` / `||` — and refuses
//! anything else when the resources load, so a breaker never trips on a
//! different rule than daprd's.

use std::time::Duration;

/// A circuit-breaker policy.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreakerPolicy {
    /// Requests let through while half-open (gobreaker: 0 means 1).
    pub max_requests: u64,
    /// How often a closed breaker clears its counts (`None`: never).
    pub interval: Option<Duration>,
    /// How long it stays open before trying again (gobreaker default 60 s).
    pub timeout: Duration,
    pub trip: Trip,
}

/// The counts a trip expression sees (gobreaker's `Counts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub requests: u64,
    pub total_successes: u64,
    pub total_failures: u64,
    pub consecutive_successes: u64,
    pub consecutive_failures: u64,
}

/// `trip`: an OR of ANDs of comparisons.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip(Vec<Vec<Comparison>>);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    count: Count,
    op: Op,
    value: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Count {
    Requests,
    TotalSuccesses,
    TotalFailures,
    ConsecutiveSuccesses,
    ConsecutiveFailures,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

const TRIP_SUBSET: &str = "devstack understands `trip` as comparisons of requests, totalSuccesses, totalFailures, consecutiveSuccesses or consecutiveFailures with a whole number (`>`, `>=`, `<`, `<=`, `==`, `!=`), joined by `&&` and `||`";

impl Trip {
    pub fn parse(text: &str) -> Result<Trip, String> {
        let any = text
            .split("||")
            .map(|all| {
                all.split("&&")
                    .map(|c| parse_comparison(c.trim()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trip(any))
    }

    pub fn eval(&self, counts: &Counts) -> bool {
        self.0.iter().any(|all| all.iter().all(|c| c.holds(counts)))
    }
}

fn parse_comparison(text: &str) -> Result<Comparison, String> {
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let (at, symbol, op) = ops
        .iter()
        .filter_map(|(symbol, op)| text.find(symbol).map(|at| (at, *symbol, *op)))
        .min_by_key(|(at, symbol, _)| (*at, usize::MAX - symbol.len()))
        .ok_or_else(|| format!("`{text}` is not a comparison; {TRIP_SUBSET}"))?;
    let (name, value) = (text[..at].trim(), text[at + symbol.len()..].trim());
    let count = match name {
        "requests" => Count::Requests,
        "totalSuccesses" => Count::TotalSuccesses,
        "totalFailures" => Count::TotalFailures,
        "consecutiveSuccesses" => Count::ConsecutiveSuccesses,
        "consecutiveFailures" => Count::ConsecutiveFailures,
        other => return Err(format!("unknown count `{other}`; {TRIP_SUBSET}")),
    };
    let value = value
        .parse()
        .map_err(|_| format!("`{value}` is not a whole number; {TRIP_SUBSET}"))?;
    Ok(Comparison { count, op, value })
}

impl Comparison {
    fn holds(&self, counts: &Counts) -> bool {
        let n = match self.count {
            Count::Requests => counts.requests,
            Count::TotalSuccesses => counts.total_successes,
            Count::TotalFailures => counts.total_failures,
            Count::ConsecutiveSuccesses => counts.consecutive_successes,
            Count::ConsecutiveFailures => counts.consecutive_failures,
        };
        match self.op {
            Op::Gt => n > self.value,
            Op::Ge => n >= self.value,
            Op::Lt => n < self.value,
            Op::Le => n <= self.value,
            Op::Eq => n == self.value,
            Op::Ne => n != self.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(consecutive_failures: u64, requests: u64) -> Counts {
        Counts {
            requests,
            consecutive_failures,
            ..Counts::default()
        }
    }

    #[test]
    fn trips_on_the_documented_forms() {
        let trip = Trip::parse("consecutiveFailures > 5").unwrap();
        assert!(!trip.eval(&counts(5, 9)));
        assert!(trip.eval(&counts(6, 9)));
        let trip =
            Trip::parse("consecutiveFailures >= 2 && requests > 3 || totalFailures == 9").unwrap();
        assert!(!trip.eval(&counts(2, 3)));
        assert!(trip.eval(&counts(2, 4)));
        assert!(trip.eval(&Counts {
            total_failures: 9,
            ..Counts::default()
        }));
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "consecutiveFailures",
            "failures > 3",
            "consecutiveFailures > x",
            "size(x) > 1",
        ] {
            let err = Trip::parse(text).unwrap_err();
            assert!(err.contains("devstack understands"), "{text}: {err}");
        }
    }
}
