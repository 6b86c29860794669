//! `Resiliency` resources: retry policies with dapr/kit's backoff maths,
//! timeouts, and which of them apply to a component's inbound deliveries
//! and to the app's outbound calls to it (state, publish), as daprd's
//! `ComponentInboundPolicy` / `ComponentOutboundPolicy` pick them.
//!
//! Circuit breakers ([`super::circuit_breaker`]) guard outbound calls and
//! inbound deliveries alike.

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
    pub timeouts: BTreeMap<String, Duration>,
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
    /// The inbound circuit breaker's policy name (deliveries to the app).
    pub inbound_breaker: Option<String>,
    /// The outbound circuit breaker's policy name.
    pub outbound_breaker: Option<String>,
}

/// What daprd wraps a call between an app and a component in, either way:
/// each attempt bounded by `timeout`, failed attempts retried by `retry`
/// (daprd's policy runner, `pkg/resiliency/policy.go`: retry outermost, the
/// breaker around each attempt, the timeout inside it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentPolicy {
    pub retry: Option<RetryPolicy>,
    pub timeout: Option<Duration>,
    /// The circuit breaker's policy; its state is the component's breaker
    /// ([`Resources::breaker`]).
    pub breaker: Option<CircuitBreakerPolicy>,
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
    /// The policies daprd wraps a delivery from `component` to `app_id` in
    /// (`ComponentInboundPolicy`).
    pub fn inbound_policy(&self, app_id: &str, component: &str) -> ComponentPolicy {
        self.component_policy(app_id, component, Direction::Inbound)
    }

    /// The policies of `app_id`'s calls to `component` (a state store, a
    /// pubsub: `ComponentOutboundPolicy`).
    pub fn outbound_policy(&self, app_id: &str, component: &str) -> ComponentPolicy {
        self.component_policy(app_id, component, Direction::Outbound)
    }

    /// As dapr/dapr `pkg/resiliency/resiliency.go` resolves them: a
    /// component named in `targets.components` gets exactly the policies
    /// named there (none for what its target leaves out); only a component
    /// named nowhere gets the default policies, by name, most specific
    /// first: `Default<Type>Component<Direction><Kind>Policy`,
    /// `DefaultComponent<Direction><Kind>Policy`,
    /// `DefaultComponent<Kind>Policy`, `Default<Kind>Policy` (Kind: Retry,
    /// Timeout, CircuitBreaker; Type: daprd's `ComponentType`, e.g.
    /// `Statestore`, `Pubsub`).
    fn component_policy(
        &self,
        app_id: &str,
        component: &str,
        direction: Direction,
    ) -> ComponentPolicy {
        let scoped: Vec<&Resiliency> = self
            .resiliencies
            .iter()
            .filter(|r| r.in_scope(app_id))
            .collect();
        let targeted = scoped
            .iter()
            .find_map(|r| r.component_targets.get(component).map(|t| (r, t)));
        if let Some((r, target)) = targeted {
            let (retry, timeout, breaker) = match direction {
                Direction::Inbound => (
                    &target.inbound_retry,
                    target.inbound_timeout,
                    &target.inbound_breaker,
                ),
                Direction::Outbound => (
                    &target.outbound_retry,
                    target.outbound_timeout,
                    &target.outbound_breaker,
                ),
            };
            return ComponentPolicy {
                retry: retry.as_ref().and_then(|n| r.retries.get(n)).cloned(),
                timeout,
                breaker: breaker
                    .as_ref()
                    .and_then(|n| r.circuit_breakers.get(n))
                    .cloned(),
            };
        }
        let kind = self
            .component(app_id, component)
            .map(|c| component_type(c.building_block()))
            .unwrap_or_default();
        let way = match direction {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        };
        let levels = [
            format!("{kind}Component{way}"),
            format!("Component{way}"),
            "Component".to_string(),
            String::new(),
        ];
        fn first<'r, T: Clone + 'r>(
            scoped: &[&'r Resiliency],
            levels: &[String],
            what: &str,
            pick: impl Fn(&'r Resiliency, &str) -> Option<&'r T>,
        ) -> Option<T> {
            levels.iter().find_map(|level| {
                let name = format!("Default{level}{what}Policy");
                scoped.iter().find_map(|r| pick(r, &name)).cloned()
            })
        }
        ComponentPolicy {
            retry: first(&scoped, &levels, "Retry", |r, n| r.retries.get(n)),
            timeout: first(&scoped, &levels, "Timeout", |r, n| r.timeouts.get(n)),
            breaker: first(&scoped, &levels, "CircuitBreaker", |r, n| {
                r.circuit_breakers.get(n)
            }),
        }
    }
}

/// daprd's `ComponentType` of a building block (`pkg/resiliency/resiliency.go`),
/// the `<Type>` of the default policy names.
fn component_type(building_block: &str) -> &'static str {
    match building_block {
        "state" => "Statestore",
        "pubsub" => "Pubsub",
        "bindings" => "Binding",
        "secretstores" => "Secretstore",
        "configuration" => "Configuration",
        "lock" => "Lock",
        "crypto" => "Crypto",
        _ => "",
    }
}
