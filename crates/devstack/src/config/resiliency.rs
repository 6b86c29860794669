//! `Resiliency` resources: retry policies with dapr/kit's backoff maths,
//! timeouts, and which of them apply to a component's inbound deliveries
//! and to the app's outbound calls to it (state, publish), as daprd's
//! `ComponentInboundPolicy` / `ComponentOutboundPolicy` pick them.
//!
//! Circuit breakers ([`super::circuit_breaker`]) guard outbound calls;
//! inbound ones are parsed and not run (docs/architecture.md, §6).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::circuit_breaker::CircuitBreakerPolicy;
use super::{in_scope, Resources};

/// A `Resiliency` resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resiliency {
    pub name: String,
    pub retries: BTreeMap<String, RetryPolicy>,
    pub circuit_breakers: BTreeMap<String, CircuitBreakerPolicy>,
    /// component name → its inbound and outbound retry and timeout.
    pub component_targets: BTreeMap<String, ComponentTarget>,
    pub scopes: Vec<String>,
    pub source: PathBuf,
}

/// `targets.components.<name>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentTarget {
    pub inbound_retry: Option<String>,
    pub outbound_retry: Option<String>,
    pub inbound_timeout: Option<Duration>,
    pub outbound_timeout: Option<Duration>,
    /// The outbound circuit breaker's policy name.
    pub outbound_breaker: Option<String>,
}

/// What daprd wraps an app's call to a component in: each attempt bounded
/// by `timeout`, failed attempts retried by `retry` (daprd's policy runner,
/// `pkg/resiliency/policy.go`: retry outermost, the timeout per attempt).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutboundPolicy {
    pub retry: Option<RetryPolicy>,
    pub timeout: Option<Duration>,
    /// The circuit breaker (its policy, and a name for its state: one
    /// breaker per resource, policy and component, as daprd keeps them).
    pub breaker: Option<(String, CircuitBreakerPolicy)>,
}

/// A retry policy (`policies.retries.<name>`), with dapr/kit's defaults:
/// constant 5 s; exponential starting at 500 ms ×1.5 with ±50 % jitter,
/// capped by `maxInterval` (default 60 s); `maxRetries` -1 (or absent) =
/// retry forever.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub backoff: Backoff,
    /// `None` = unbounded.
    pub max_retries: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Backoff {
    Constant(Duration),
    Exponential {
        initial: Duration,
        multiplier: f64,
        max_interval: Duration,
        randomization: f64,
    },
}

impl RetryPolicy {
    /// The constant policy Dapr's own defaults use elsewhere (e.g. the Jobs
    /// failure policy): `interval` between tries, at most `max_retries` retries.
    pub fn constant(interval: Duration, max_retries: Option<u64>) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff::Constant(interval),
            max_retries,
        }
    }

    /// Whether another retry is allowed after `retries_done` retries.
    pub fn allows_retry(&self, retries_done: u64) -> bool {
        self.max_retries.is_none_or(|max| retries_done < max)
    }

    /// The wait before retry number `retry` (0-based).
    pub fn delay(&self, retry: u64) -> Duration {
        match &self.backoff {
            Backoff::Constant(d) => *d,
            Backoff::Exponential {
                initial,
                multiplier,
                max_interval,
                randomization,
            } => {
                let exp = multiplier.powi(retry.min(64) as i32);
                let base = (initial.as_secs_f64() * exp).min(max_interval.as_secs_f64());
                // cenkalti/backoff: random value in [base - r·base, base + r·base].
                let jitter = (random_unit() * 2.0 - 1.0) * randomization * base;
                Duration::from_secs_f64((base + jitter).max(0.0))
            }
        }
    }
}

/// A uniformly distributed number in [0, 1) (from a v4 UUID's random bits;
/// good enough for retry jitter).
fn random_unit() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Inbound,
    Outbound,
}

impl Resiliency {
    pub fn in_scope(&self, app_id: &str) -> bool {
        in_scope(&self.scopes, app_id)
    }
}

impl Resources {
    /// The inbound retry policy for `component` in `app_id`'s sidecar (what
    /// daprd's `ComponentInboundPolicy` finds): an explicit
    /// `targets.components.<name>.inbound.retry`, else the built-in default
    /// policy names `Default<Block>ComponentInboundRetryPolicy`,
    /// `DefaultComponentInboundRetryPolicy`, `DefaultComponentRetryPolicy`,
    /// `DefaultRetryPolicy`. `None` = no retries by Dapr.
    pub fn inbound_retry(&self, app_id: &str, component: &str) -> Option<RetryPolicy> {
        self.retry_for(app_id, component, Direction::Inbound)
    }

    /// The timeout of an inbound delivery from `component` to `app_id`
    /// (`targets.components.<name>.inbound.timeout`).
    pub fn inbound_timeout(&self, app_id: &str, component: &str) -> Option<Duration> {
        self.target(app_id, component)
            .find_map(|t| t.inbound_timeout)
    }

    /// The policy of `app_id`'s calls to `component` (a state store, a
    /// pubsub): the target's outbound retry (else the built-in default
    /// names, `Default<Block>ComponentOutboundRetryPolicy` …) and timeout.
    pub fn outbound_policy(&self, app_id: &str, component: &str) -> OutboundPolicy {
        let breaker = self
            .resiliencies
            .iter()
            .filter(|r| r.in_scope(app_id))
            .find_map(|r| {
                let name = r
                    .component_targets
                    .get(component)?
                    .outbound_breaker
                    .as_ref()?;
                let policy = r.circuit_breakers.get(name)?.clone();
                Some((format!("{}/{name}/{component}", r.name), policy))
            });
        OutboundPolicy {
            retry: self.retry_for(app_id, component, Direction::Outbound),
            timeout: self
                .target(app_id, component)
                .find_map(|t| t.outbound_timeout),
            breaker,
        }
    }

    fn target<'a>(
        &'a self,
        app_id: &'a str,
        component: &'a str,
    ) -> impl Iterator<Item = &'a ComponentTarget> + 'a {
        self.resiliencies
            .iter()
            .filter(move |r| r.in_scope(app_id))
            .filter_map(move |r| r.component_targets.get(component))
    }

    fn retry_for(
        &self,
        app_id: &str,
        component: &str,
        direction: Direction,
    ) -> Option<RetryPolicy> {
        let block = self
            .component(app_id, component)
            .map(|c| c.building_block().to_string())
            .unwrap_or_default();
        let scoped: Vec<&Resiliency> = self
            .resiliencies
            .iter()
            .filter(|r| r.in_scope(app_id))
            .collect();
        for r in &scoped {
            let named = r
                .component_targets
                .get(component)
                .and_then(|t| match direction {
                    Direction::Inbound => t.inbound_retry.as_ref(),
                    Direction::Outbound => t.outbound_retry.as_ref(),
                });
            if let Some(p) = named.and_then(|name| r.retries.get(name)) {
                return Some(p.clone());
            }
        }
        let mut block_title = block.clone();
        if let Some(first) = block_title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let way = match direction {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        };
        let defaults = [
            format!("Default{block_title}Component{way}RetryPolicy"),
            format!("DefaultComponent{way}RetryPolicy"),
            "DefaultComponentRetryPolicy".to_string(),
            "DefaultRetryPolicy".to_string(),
        ];
        for name in &defaults {
            for r in &scoped {
                if let Some(p) = r.retries.get(name) {
                    return Some(p.clone());
                }
            }
        }
        None
    }
}
