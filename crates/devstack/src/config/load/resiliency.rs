//! Reading a `Resiliency` resource: its retry, timeout and circuit-breaker
//! policies (Go durations; dapr/kit's retry defaults) and the component
//! targets naming them, every name checked when the resource loads.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;

use super::{resource_name, RawMeta};
use crate::config::{
    Backoff, CircuitBreakerPolicy, ComponentTarget, Resiliency, RetryPolicy, Trip,
};
use crate::durations::parse_go_duration;

#[derive(Deserialize)]
struct RawResiliency {
    metadata: Option<RawMeta>,
    spec: Option<RawResiliencySpec>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
struct RawResiliencySpec {
    policies: Option<RawPolicies>,
    targets: Option<RawTargets>,
}

#[derive(Deserialize)]
struct RawPolicies {
    #[serde(default)]
    retries: BTreeMap<String, RawRetry>,
    #[serde(default)]
    timeouts: BTreeMap<String, String>,
    #[serde(default, rename = "circuitBreakers")]
    circuit_breakers: BTreeMap<String, RawCircuitBreaker>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCircuitBreaker {
    max_requests: Option<u64>,
    interval: Option<String>,
    timeout: Option<String>,
    trip: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRetry {
    policy: Option<String>,
    duration: Option<String>,
    max_interval: Option<String>,
    max_retries: Option<i64>,
}

#[derive(Deserialize)]
struct RawTargets {
    #[serde(default)]
    components: BTreeMap<String, RawComponentTarget>,
    #[serde(default)]
    apps: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    actors: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct RawComponentTarget {
    inbound: Option<RawDirection>,
    outbound: Option<RawDirection>,
}

#[derive(Deserialize, Default)]
struct RawDirection {
    retry: Option<String>,
    timeout: Option<String>,
    #[serde(rename = "circuitBreaker")]
    circuit_breaker: Option<String>,
}

pub(super) fn parse_resiliency(value: serde_yaml::Value, source: &Path) -> Result<Resiliency> {
    let raw: RawResiliency = serde_yaml::from_value(value)?;
    let name = resource_name(raw.metadata, "Resiliency")?;
    let spec = raw
        .spec
        .ok_or_else(|| anyhow!("Resiliency {name}: spec is required"))?;
    let policies = spec
        .policies
        .ok_or_else(|| anyhow!("Resiliency {name}: spec.policies is required"))?;
    let targets = spec
        .targets
        .ok_or_else(|| anyhow!("Resiliency {name}: spec.targets is required"))?;
    let mut retries = BTreeMap::new();
    for (policy_name, r) in policies.retries {
        let policy = parse_retry(&r)
            .map_err(|e| anyhow!("Resiliency {name}: retry policy {policy_name}: {e}"))?;
        retries.insert(policy_name, policy);
    }
    let mut timeouts = BTreeMap::new();
    for (policy_name, d) in policies.timeouts {
        let duration = parse_go_duration(&d)
            .map_err(|e| anyhow!("Resiliency {name}: timeout policy {policy_name}: {e}"))?;
        timeouts.insert(policy_name, duration);
    }
    // A target names a timeout policy or, as daprd also accepts, writes a
    // duration in place (`timeout: 5s`).
    let timeout_of = |component: &str, given: Option<String>| -> Result<Option<Duration>> {
        let Some(given) = given else { return Ok(None) };
        if let Some(d) = timeouts.get(&given) {
            return Ok(Some(*d));
        }
        parse_go_duration(&given).map(Some).map_err(|_| {
            anyhow!(
                "Resiliency {name}: component {component} refers to unknown timeout policy {given}"
            )
        })
    };
    let mut circuit_breakers = BTreeMap::new();
    for (policy_name, b) in policies.circuit_breakers {
        let policy = parse_circuit_breaker(&b)
            .map_err(|e| anyhow!("Resiliency {name}: circuit breaker {policy_name}: {e}"))?;
        circuit_breakers.insert(policy_name, policy);
    }
    // Policies devstack would not apply are refused rather than ignored, so
    // a local run never silently differs from the cluster.
    if let Some(app) = targets.apps.keys().next() {
        bail!("Resiliency {name}: targets.apps ({app}): devstack does not apply service-invocation policies; k8s/dapr must not rely on them");
    }
    if let Some(actor) = targets.actors.keys().next() {
        bail!("Resiliency {name}: targets.actors ({actor}): devstack hosts no actors");
    }
    let mut component_targets = BTreeMap::new();
    for (component, t) in targets.components {
        let (inbound, outbound) = (
            t.inbound.unwrap_or_default(),
            t.outbound.unwrap_or_default(),
        );
        let target = ComponentTarget {
            inbound_retry: inbound.retry,
            outbound_retry: outbound.retry,
            inbound_timeout: timeout_of(&component, inbound.timeout)?,
            outbound_timeout: timeout_of(&component, outbound.timeout)?,
            inbound_breaker: inbound.circuit_breaker,
            outbound_breaker: outbound.circuit_breaker,
        };
        for breaker in [&target.inbound_breaker, &target.outbound_breaker]
            .into_iter()
            .flatten()
        {
            if !circuit_breakers.contains_key(breaker) {
                bail!("Resiliency {name}: component {component} refers to unknown circuit breaker {breaker}");
            }
        }
        for policy in [&target.inbound_retry, &target.outbound_retry]
            .into_iter()
            .flatten()
        {
            if !retries.contains_key(policy) {
                bail!("Resiliency {name}: component {component} refers to unknown retry policy {policy}");
            }
        }
        component_targets.insert(component, target);
    }
    Ok(Resiliency {
        name,
        retries,
        timeouts,
        circuit_breakers,
        component_targets,
        scopes: raw.scopes,
        source: source.to_path_buf(),
    })
}

fn parse_circuit_breaker(b: &RawCircuitBreaker) -> Result<CircuitBreakerPolicy> {
    let duration = |d: &Option<String>| d.as_deref().map(parse_go_duration).transpose();
    let trip = b
        .trip
        .as_deref()
        .ok_or_else(|| anyhow!("trip is required"))?;
    Ok(CircuitBreakerPolicy {
        // gobreaker: 0 lets one request through while half-open.
        max_requests: b.max_requests.unwrap_or(0).max(1),
        interval: duration(&b.interval)?.filter(|d| !d.is_zero()),
        // gobreaker: a zero timeout means 60 s.
        timeout: duration(&b.timeout)?
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(60)),
        trip: Trip::parse(trip).map_err(|e| anyhow!("trip: {e}"))?,
    })
}

fn parse_retry(r: &RawRetry) -> Result<RetryPolicy> {
    let max_retries = match r.max_retries {
        None | Some(-1) => None,
        Some(n) if n >= 0 => Some(n as u64),
        Some(n) => bail!("maxRetries {n} is invalid (use -1 for unlimited)"),
    };
    let backoff = match r
        .policy
        .as_deref()
        .unwrap_or("constant")
        .to_ascii_lowercase()
        .as_str()
    {
        "constant" => Backoff::Constant(match &r.duration {
            Some(d) => parse_go_duration(d)?,
            None => Duration::from_secs(5),
        }),
        "exponential" => Backoff::Exponential {
            initial: Duration::from_millis(500),
            multiplier: 1.5,
            max_interval: match &r.max_interval {
                Some(d) => parse_go_duration(d)?,
                None => Duration::from_secs(60),
            },
            randomization: 0.5,
        },
        other => bail!("unknown retry policy type {other:?} (constant or exponential)"),
    };
    Ok(RetryPolicy {
        backoff,
        max_retries,
    })
}
