//! Loading Dapr resources: `load` walks directories of (multi-document)
//! YAML and keeps the three kinds devstack acts on: `Component`
//! (`dapr.io/v1alpha1`), `Subscription` (`dapr.io/v2alpha1`, and the older
//! `v1alpha1` with `spec.route`) and `Resiliency` (`dapr.io/v1alpha1`).
//! Directories are layered in the order given: a later resource of the same
//! kind and name replaces an earlier one, which is how
//! `devstack/components/*.yaml` swaps Kafka, PostgreSQL and the Kubernetes
//! secret store for local stand-ins while everything else (subscriptions,
//! resiliency, the cron and SMTP bindings) comes straight from `k8s/dapr`.
//! Strimzi `KafkaTopic`s (`kafka.strimzi.io/v1`, from `k8s/kafka`) are kept
//! too: they are the only topics the cluster has (auto-create is off), so
//! publishing elsewhere must fail here as it does there. Dapr
//! `Configuration`s (`dapr.io/v1alpha1`) are kept for their secret scopes and
//! access control, and of SpinApps (`core.spinkube.dev`, from `k8s/apps`)
//! only the `dapr.io/config` pod annotation per app-id. Documents of other
//! API groups are skipped.
//!
//! Routing rules are parsed here with [`Match::parse`], so a rule outside
//! the CEL subset devstack understands is refused at load time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use super::{
    Backoff, CircuitBreakerPolicy, Component, ComponentTarget, KafkaTopic, Match, MetadataItem,
    MetadataValue, Resiliency, Resources, RetryPolicy, Rule, Subscription, Trip,
};
use crate::durations::parse_go_duration;

/// Loads every Dapr resource under `dirs` (recursively, `*.yaml`/`*.yml`,
/// files in name order). Later directories override earlier ones by kind and
/// name; a duplicate inside one directory tree is an error. A directory that
/// does not exist is an error too (a typo must not silently drop resources).
pub fn load(dirs: &[PathBuf]) -> Result<Resources> {
    let mut resources = Resources::default();
    for dir in dirs {
        let layer = load_dir(dir)?;
        merge(&mut resources, layer);
    }
    Ok(resources)
}

/// Parses the resources in one YAML text (several documents allowed).
/// `source` only labels messages.
pub fn parse_str(text: &str, source: &Path) -> Result<Resources> {
    let mut out = Resources::default();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = serde_yaml::Value::deserialize(doc)
            .with_context(|| format!("{}: document {} is not YAML", source.display(), index + 1))?;
        if value.is_null() {
            continue;
        }
        let api_version = value
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let kind = value
            .get("kind")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        if kind == "KafkaTopic" && api_version.starts_with("kafka.strimzi.io/") {
            out.topics
                .push(parse_kafka_topic(&value).with_context(|| source.display().to_string())?);
            continue;
        }
        if kind == "SpinApp" && api_version.starts_with("core.spinkube.dev/") {
            if let Some((app, config)) = super::parse_spinapp(&value) {
                out.app_configs.insert(app, config);
            }
            continue;
        }
        if !api_version.starts_with("dapr.io/") {
            continue;
        }
        let at = || format!("{} (document {})", source.display(), index + 1);
        match (kind.as_str(), api_version.as_str()) {
            ("Component", "dapr.io/v1alpha1") => {
                out.components
                    .push(parse_component(value, source).with_context(at)?);
            }
            ("Subscription", "dapr.io/v2alpha1") | ("Subscription", "dapr.io/v1alpha1") => {
                out.subscriptions
                    .push(parse_subscription(value, source, &api_version).with_context(at)?);
            }
            ("Resiliency", "dapr.io/v1alpha1") => {
                out.resiliencies
                    .push(parse_resiliency(value, source).with_context(at)?);
            }
            ("Configuration", "dapr.io/v1alpha1") => {
                out.configurations
                    .push(super::Configuration::parse(value).with_context(at)?);
            }
            ("Component" | "Subscription" | "Resiliency" | "Configuration", other) => {
                bail!("{}: {kind} has unsupported apiVersion {other}", at());
            }
            _ => {
                tracing::debug!(file = %source.display(), kind, "skipping Dapr resource devstack does not use");
            }
        }
    }
    Ok(out)
}

fn load_dir(dir: &Path) -> Result<Resources> {
    if !dir.is_dir() {
        bail!("Dapr resource directory {} does not exist", dir.display());
    }
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    files.sort();
    let mut layer = Resources::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let parsed = parse_str(&text, &file)?;
        for c in parsed.components {
            if let Some(prev) = layer.components.iter().find(|p| p.name == c.name) {
                bail!(
                    "Component {} is defined twice: {} and {}",
                    c.name,
                    prev.source.display(),
                    c.source.display()
                );
            }
            layer.components.push(c);
        }
        for s in parsed.subscriptions {
            if let Some(prev) = layer.subscriptions.iter().find(|p| p.name == s.name) {
                bail!(
                    "Subscription {} is defined twice: {} and {}",
                    s.name,
                    prev.source.display(),
                    s.source.display()
                );
            }
            layer.subscriptions.push(s);
        }
        for c in parsed.configurations {
            if layer.configurations.iter().any(|p| p.name == c.name) {
                bail!(
                    "Configuration {} is defined twice ({})",
                    c.name,
                    file.display()
                );
            }
            layer.configurations.push(c);
        }
        layer.app_configs.extend(parsed.app_configs);
        for r in parsed.resiliencies {
            if let Some(prev) = layer.resiliencies.iter().find(|p| p.name == r.name) {
                bail!(
                    "Resiliency {} is defined twice: {} and {}",
                    r.name,
                    prev.source.display(),
                    r.source.display()
                );
            }
            layer.resiliencies.push(r);
        }
    }
    Ok(layer)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml") | Some("yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn parse_kafka_topic(value: &serde_yaml::Value) -> Result<KafkaTopic> {
    let name = value
        .get("spec")
        .and_then(|s| s.get("topicName"))
        .or_else(|| value.get("metadata").and_then(|m| m.get("name")))
        .and_then(|n| n.as_str())
        .ok_or_else(|| anyhow!("KafkaTopic without metadata.name"))?;
    let partitions = value
        .get("spec")
        .and_then(|s| s.get("partitions"))
        .and_then(|p| p.as_u64())
        .unwrap_or(1);
    Ok(KafkaTopic {
        name: name.to_string(),
        partitions: u32::try_from(partitions.max(1)).unwrap_or(u32::MAX),
    })
}

fn merge(base: &mut Resources, layer: Resources) {
    for t in layer.topics {
        base.topics.retain(|p| p.name != t.name);
        base.topics.push(t);
    }
    for c in layer.components {
        if let Some(slot) = base.components.iter_mut().find(|p| p.name == c.name) {
            tracing::debug!(component = %c.name, from = %slot.source.display(), to = %c.source.display(), "component overridden");
            *slot = c;
        } else {
            base.components.push(c);
        }
    }
    for s in layer.subscriptions {
        if let Some(slot) = base.subscriptions.iter_mut().find(|p| p.name == s.name) {
            *slot = s;
        } else {
            base.subscriptions.push(s);
        }
    }
    for c in layer.configurations {
        base.configurations.retain(|p| p.name != c.name);
        base.configurations.push(c);
    }
    base.app_configs.extend(layer.app_configs);
    for r in layer.resiliencies {
        if let Some(slot) = base.resiliencies.iter_mut().find(|p| p.name == r.name) {
            *slot = r;
        } else {
            base.resiliencies.push(r);
        }
    }
}

#[derive(Deserialize)]
struct RawMeta {
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawComponent {
    metadata: Option<RawMeta>,
    spec: Option<RawComponentSpec>,
    auth: Option<RawAuth>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuth {
    secret_store: String,
}

#[derive(Deserialize)]
struct RawComponentSpec {
    #[serde(rename = "type")]
    kind: Option<String>,
    version: Option<String>,
    metadata: Option<Vec<RawNameValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNameValue {
    name: String,
    value: Option<serde_yaml::Value>,
    secret_key_ref: Option<RawSecretKeyRef>,
    env_ref: Option<String>,
}

#[derive(Deserialize)]
struct RawSecretKeyRef {
    name: String,
    key: Option<String>,
}

fn resource_name(meta: Option<RawMeta>, kind: &str) -> Result<String> {
    match meta.and_then(|m| m.name) {
        Some(n) if !n.is_empty() => Ok(n),
        _ => bail!("{kind} without metadata.name"),
    }
}

fn scalar_string(value: &serde_yaml::Value) -> Result<String> {
    Ok(match value {
        serde_yaml::Value::Null => String::new(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_json::to_string(other)?,
    })
}

fn parse_component(value: serde_yaml::Value, source: &Path) -> Result<Component> {
    let raw: RawComponent = serde_yaml::from_value(value)?;
    let name = resource_name(raw.metadata, "Component")?;
    let spec = raw
        .spec
        .ok_or_else(|| anyhow!("Component {name}: spec is required"))?;
    let kind = spec
        .kind
        .filter(|k| !k.is_empty())
        .ok_or_else(|| anyhow!("Component {name}: spec.type is required"))?;
    let version = spec
        .version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| anyhow!("Component {name}: spec.version is required"))?;
    let raw_items = spec
        .metadata
        .ok_or_else(|| anyhow!("Component {name}: spec.metadata is required (may be [])"))?;
    let mut metadata = Vec::with_capacity(raw_items.len());
    for item in raw_items {
        let value = match (item.value, item.secret_key_ref, item.env_ref) {
            (_, Some(r), _) => MetadataValue::SecretKeyRef {
                key: r.key.unwrap_or_else(|| r.name.clone()),
                name: r.name,
            },
            (_, None, Some(env)) => MetadataValue::EnvRef(env),
            (Some(v), None, None) => MetadataValue::Plain(scalar_string(&v)?),
            (None, None, None) => MetadataValue::Plain(String::new()),
        };
        metadata.push(MetadataItem {
            name: item.name,
            value,
        });
    }
    Ok(Component {
        name,
        kind,
        version,
        metadata,
        secret_store: raw.auth.map(|a| a.secret_store),
        scopes: raw.scopes,
        source: source.to_path_buf(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubscription {
    metadata: Option<RawMeta>,
    spec: Option<RawSubscriptionSpec>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubscriptionSpec {
    pubsubname: Option<String>,
    topic: Option<String>,
    routes: Option<RawRoutes>,
    /// v1alpha1 only.
    route: Option<String>,
    dead_letter_topic: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct RawRoutes {
    #[serde(default)]
    rules: Vec<RawRule>,
    default: Option<String>,
}

#[derive(Deserialize)]
struct RawRule {
    #[serde(rename = "match")]
    match_text: Option<String>,
    path: Option<String>,
}

fn parse_subscription(
    value: serde_yaml::Value,
    source: &Path,
    api_version: &str,
) -> Result<Subscription> {
    let raw: RawSubscription = serde_yaml::from_value(value)?;
    let name = resource_name(raw.metadata, "Subscription")?;
    let spec = raw
        .spec
        .ok_or_else(|| anyhow!("Subscription {name}: spec is required"))?;
    let pubsubname = spec
        .pubsubname
        .filter(|p| !p.is_empty())
        .ok_or_else(|| anyhow!("Subscription {name}: spec.pubsubname is required"))?;
    let topic = spec
        .topic
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("Subscription {name}: spec.topic is required"))?;
    let mut rules = Vec::new();
    if api_version == "dapr.io/v1alpha1" {
        let route = spec
            .route
            .ok_or_else(|| anyhow!("Subscription {name}: spec.route is required (v1alpha1)"))?;
        rules.push(Rule {
            match_text: String::new(),
            matcher: Match::Always,
            path: route,
        });
    } else {
        let routes = spec
            .routes
            .ok_or_else(|| anyhow!("Subscription {name}: spec.routes is required"))?;
        for (i, rule) in routes.rules.into_iter().enumerate() {
            let path = rule.path.filter(|p| !p.is_empty()).ok_or_else(|| {
                anyhow!("Subscription {name}: routes.rules[{i}].path is required")
            })?;
            let match_text = rule.match_text.unwrap_or_default();
            let matcher = if match_text.trim().is_empty() {
                Match::Always
            } else {
                Match::parse(&match_text).map_err(|e| {
                    anyhow!("Subscription {name}: routes.rules[{i}].match {match_text:?}: {e}")
                })?
            };
            rules.push(Rule {
                match_text,
                matcher,
                path,
            });
        }
        if let Some(default) = routes.default.filter(|d| !d.is_empty()) {
            rules.push(Rule {
                match_text: String::new(),
                matcher: Match::Always,
                path: default,
            });
        }
        if rules.is_empty() {
            bail!("Subscription {name}: routes needs at least one rule or a default");
        }
    }
    let mut metadata = BTreeMap::new();
    for (k, v) in spec.metadata {
        metadata.insert(k, scalar_string(&v)?);
    }
    Ok(Subscription {
        name,
        pubsubname,
        topic,
        rules,
        dead_letter_topic: spec.dead_letter_topic.filter(|t| !t.is_empty()),
        metadata,
        scopes: raw.scopes,
        source: source.to_path_buf(),
    })
}

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

fn parse_resiliency(value: serde_yaml::Value, source: &Path) -> Result<Resiliency> {
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
