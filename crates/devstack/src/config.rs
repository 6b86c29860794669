//! Dapr resources read from the same YAML files production applies.
//!
//! `load` walks directories of (multi-document) YAML and keeps the three
//! kinds devstack acts on: `Component` (`dapr.io/v1alpha1`), `Subscription`
//! (`dapr.io/v2alpha1`, and the older `v1alpha1` with `spec.route`) and
//! `Resiliency` (`dapr.io/v1alpha1`). Directories are layered in the order
//! given: a later resource of the same kind and name replaces an earlier one,
//! which is how `devstack/components/*.yaml` swaps Kafka, PostgreSQL and the
//! Kubernetes secret store for local stand-ins while everything else
//! (subscriptions, resiliency, the cron and SMTP bindings) comes straight from
//! `k8s/dapr`. Strimzi `KafkaTopic`s (`kafka.strimzi.io/v1`, from `k8s/kafka`)
//! are kept too: they are the only topics the cluster has (auto-create is
//! off), so publishing elsewhere must fail here as it does there. Documents
//! of other API groups are skipped.
//!
//! As in the CRDs, `scopes` sits at the top level of each resource, next to
//! `spec`; an empty list means "every app-id".
//!
//! Routing rules are CEL in Dapr. devstack understands the subset the project
//! uses — `event.<field> == "…"` / `!=`, combined with `&&`, `||`, `!` and
//! parentheses — and refuses anything else at load time with a clear error,
//! so a rule can never silently route differently than daprd would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

/// Everything loaded from the resource directories.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub components: Vec<Component>,
    pub subscriptions: Vec<Subscription>,
    pub resiliencies: Vec<Resiliency>,
    /// The declared Kafka topics; none at all means "any topic" (a broker
    /// with auto-create, as in tests that bring their own resources).
    pub topics: Vec<KafkaTopic>,
}

/// A Strimzi `KafkaTopic`: a topic the broker has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTopic {
    /// `spec.topicName`, else `metadata.name` (Strimzi's rule).
    pub name: String,
    /// `spec.partitions`.
    pub partitions: u32,
}

impl Resources {
    /// Whether a publish to `topic` reaches a topic the broker has.
    pub fn topic_exists(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t.name == topic)
    }
}

/// A Dapr `Component`.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// `metadata.name`: the name apps use in API paths.
    pub name: String,
    /// `spec.type`, e.g. `state.postgresql`, `pubsub.devstack`, `bindings.cron`.
    pub kind: String,
    /// `spec.version`, e.g. `v1`, `v2`.
    pub version: String,
    /// `spec.metadata`, in file order.
    pub metadata: Vec<MetadataItem>,
    /// `auth.secretStore`: the store `secretKeyRef`s are resolved against.
    pub secret_store: Option<String>,
    /// Top-level `scopes`: app-ids allowed to use it (empty = all).
    pub scopes: Vec<String>,
    /// The file it was read from (for messages).
    pub source: PathBuf,
}

/// One `spec.metadata` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataItem {
    pub name: String,
    pub value: MetadataValue,
}

/// Where a metadata value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    /// `value:` (any YAML scalar, kept as its string form).
    Plain(String),
    /// `secretKeyRef: {name, key}` (key defaults to the name).
    SecretKeyRef { name: String, key: String },
    /// `envRef:` an environment variable of the sidecar.
    EnvRef(String),
}

/// A declarative `Subscription`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// `metadata.name`; with the app-id it names the consumer group.
    pub name: String,
    pub pubsubname: String,
    pub topic: String,
    /// `routes.rules` in order; `routes.default` is appended as a rule that
    /// always matches, exactly as daprd does.
    pub rules: Vec<Rule>,
    pub dead_letter_topic: Option<String>,
    /// `spec.metadata` (e.g. `rawPayload`).
    pub metadata: BTreeMap<String, String>,
    pub scopes: Vec<String>,
    pub source: PathBuf,
}

/// One routing rule: the first whose `matcher` accepts the event wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The CEL text as written (empty for the default route).
    pub match_text: String,
    pub matcher: Match,
    pub path: String,
}

/// A `Resiliency` resource (retries only; timeouts and circuit breakers are
/// accepted and ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct Resiliency {
    pub name: String,
    pub retries: BTreeMap<String, RetryPolicy>,
    /// component name → (inbound retry policy name, outbound retry policy name).
    pub component_targets: BTreeMap<String, ComponentTarget>,
    pub scopes: Vec<String>,
    pub source: PathBuf,
}

/// `targets.components.<name>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentTarget {
    pub inbound_retry: Option<String>,
    pub outbound_retry: Option<String>,
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

impl Component {
    /// Whether `app_id` may use this component (`scopes` empty = everyone).
    pub fn in_scope(&self, app_id: &str) -> bool {
        in_scope(&self.scopes, app_id)
    }

    /// The `spec.type` prefix: `state`, `pubsub`, `bindings`, `secretstores`…
    pub fn building_block(&self) -> &str {
        self.kind.split('.').next().unwrap_or("")
    }

    /// A plain `value:` metadata entry (names compare case-insensitively, as
    /// Dapr's metadata decoding does). Secret and env references are not
    /// resolved here: use [`Resources::resolved_metadata`].
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metadata.iter().find_map(|m| match &m.value {
            MetadataValue::Plain(v) if m.name.eq_ignore_ascii_case(name) => Some(v.as_str()),
            _ => None,
        })
    }
}

impl Subscription {
    pub fn in_scope(&self, app_id: &str) -> bool {
        in_scope(&self.scopes, app_id)
    }

    /// The route for `event`: the first matching rule's path, or `None`
    /// (no rule matched and there is no default → the message is acked and
    /// skipped). A rule whose evaluation fails (it names a field the event
    /// lacks) stops the search with that error, as daprd's
    /// `matchRoutingRule` (`pkg/runtime/subscription/subscription.go`) does.
    pub fn route_for(
        &self,
        event: &serde_json::Value,
    ) -> std::result::Result<Option<&str>, String> {
        for rule in &self.rules {
            if rule.matcher.eval(event)? {
                return Ok(Some(rule.path.as_str()));
            }
        }
        Ok(None)
    }

    /// `spec.metadata.rawPayload == "true"`.
    pub fn raw_payload(&self) -> bool {
        self.metadata
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("rawPayload") && v.eq_ignore_ascii_case("true"))
    }
}

impl Resiliency {
    pub fn in_scope(&self, app_id: &str) -> bool {
        in_scope(&self.scopes, app_id)
    }
}

fn in_scope(scopes: &[String], app_id: &str) -> bool {
    scopes.is_empty() || scopes.iter().any(|s| s == app_id)
}

impl Resources {
    /// The component `name` as `app_id` sees it (`None` if unknown or out of scope).
    pub fn component(&self, app_id: &str, name: &str) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.name == name && c.in_scope(app_id))
    }

    /// Components of one building block (`state`, `pubsub`, …) visible to `app_id`.
    pub fn components_of<'a>(
        &'a self,
        app_id: &'a str,
        block: &'a str,
    ) -> impl Iterator<Item = &'a Component> + 'a {
        self.components
            .iter()
            .filter(move |c| c.building_block() == block && c.in_scope(app_id))
    }

    /// Subscriptions delivered to `app_id`.
    pub fn subscriptions_for<'a>(
        &'a self,
        app_id: &'a str,
    ) -> impl Iterator<Item = &'a Subscription> + 'a {
        self.subscriptions
            .iter()
            .filter(move |s| s.in_scope(app_id))
    }

    /// The inbound retry policy for `component` in `app_id`'s sidecar (what
    /// daprd's `ComponentInboundPolicy` finds): an explicit
    /// `targets.components.<name>.inbound.retry`, else the built-in default
    /// policy names `Default<Block>ComponentInboundRetryPolicy`,
    /// `DefaultComponentInboundRetryPolicy`, `DefaultComponentRetryPolicy`,
    /// `DefaultRetryPolicy`. `None` = no retries by Dapr.
    pub fn inbound_retry(&self, app_id: &str, component: &str) -> Option<RetryPolicy> {
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
            if let Some(name) = r
                .component_targets
                .get(component)
                .and_then(|t| t.inbound_retry.as_ref())
            {
                if let Some(p) = r.retries.get(name) {
                    return Some(p.clone());
                }
            }
        }
        let mut block_title = block.clone();
        if let Some(first) = block_title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        let defaults = [
            format!("Default{block_title}ComponentInboundRetryPolicy"),
            "DefaultComponentInboundRetryPolicy".to_string(),
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

    /// `spec.metadata` of `component` with every value resolved: plain values
    /// as written, `envRef` from the process environment, `secretKeyRef`
    /// through the component's `auth.secretStore` (only local stores —
    /// `secretstores.local.file` / `.local.env` — can be read by devstack).
    pub fn resolved_metadata(&self, component: &Component) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for item in &component.metadata {
            let value = match &item.value {
                MetadataValue::Plain(v) => v.clone(),
                MetadataValue::EnvRef(var) => std::env::var(var).unwrap_or_default(),
                MetadataValue::SecretKeyRef { name, key } => {
                    let store_name = component.secret_store.as_deref().ok_or_else(|| {
                        anyhow!(
                            "component {}: metadata {} uses secretKeyRef but the component has no auth.secretStore",
                            component.name,
                            item.name
                        )
                    })?;
                    let store = self
                        .components
                        .iter()
                        .find(|c| c.name == store_name && c.building_block() == "secretstores")
                        .ok_or_else(|| {
                            anyhow!(
                                "component {}: secret store {store_name} not found",
                                component.name
                            )
                        })?;
                    let secret = crate::sidecar::secrets::read_secret(self, store, name)
                        .map_err(|e| anyhow!("component {}: {e}", component.name))?;
                    secret.get(key).cloned().ok_or_else(|| {
                        anyhow!(
                            "component {}: secret {name} has no key {key}",
                            component.name
                        )
                    })?
                }
            };
            out.insert(item.name.clone(), value);
        }
        Ok(out)
    }

    /// Sets (or adds) a plain metadata value on component `name`, e.g. to
    /// point the SMTP binding at the port devstack chose. Returns false when
    /// there is no such component.
    pub fn set_component_metadata(&mut self, name: &str, key: &str, value: &str) -> bool {
        let Some(c) = self.components.iter_mut().find(|c| c.name == name) else {
            return false;
        };
        match c
            .metadata
            .iter_mut()
            .find(|m| m.name.eq_ignore_ascii_case(key))
        {
            Some(m) => m.value = MetadataValue::Plain(value.to_string()),
            None => c.metadata.push(MetadataItem {
                name: key.to_string(),
                value: MetadataValue::Plain(value.to_string()),
            }),
        }
        true
    }
}

// ---------------------------------------------------------------------------
// Loading

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
            ("Component" | "Subscription" | "Resiliency", other) => {
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
}

#[derive(Deserialize)]
struct RawComponentTarget {
    inbound: Option<RawDirection>,
    outbound: Option<RawDirection>,
}

#[derive(Deserialize)]
struct RawDirection {
    retry: Option<String>,
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
    let mut component_targets = BTreeMap::new();
    for (component, t) in targets.components {
        let target = ComponentTarget {
            inbound_retry: t.inbound.and_then(|d| d.retry),
            outbound_retry: t.outbound.and_then(|d| d.retry),
        };
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
        component_targets,
        scopes: raw.scopes,
        source: source.to_path_buf(),
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

// ---------------------------------------------------------------------------
// Go durations

/// Parses a Go `time.ParseDuration` string: `300ms`, `1.5h`, `2h45m`, `0`.
/// Negative durations are refused (nothing here can wait a negative time).
pub fn parse_go_duration(text: &str) -> Result<Duration> {
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        bail!("negative duration {text:?}");
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        bail!("empty duration");
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| anyhow!("missing unit in duration {text:?}"))?;
        if num_len == 0 {
            bail!("invalid duration {text:?}");
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| anyhow!("invalid duration {text:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => bail!("unknown unit {unit:?} in duration {text:?}"),
        };
        total += number * scale;
    }
    Ok(Duration::from_secs_f64(total))
}

// ---------------------------------------------------------------------------
// Routing-rule matches: a small, strict subset of CEL.

/// A parsed routing-rule condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// The default route (no condition).
    Always,
    Literal(bool),
    /// `event.<path> == "value"` (or `!=` with `negate`).
    Compare {
        path: Vec<String>,
        value: String,
        negate: bool,
    },
    Not(Box<Match>),
    And(Box<Match>, Box<Match>),
    Or(Box<Match>, Box<Match>),
}

const CEL_SUBSET: &str = "devstack understands only `event.<field> == \"…\"` and `!=`, combined with `&&`, `||`, `!` and parentheses";

impl Match {
    /// Parses the supported CEL subset; anything else is an error naming
    /// what devstack understands.
    pub fn parse(text: &str) -> std::result::Result<Match, String> {
        let tokens = tokenize(text)?;
        let mut parser = CelParser { tokens, pos: 0 };
        let expr = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!(
                "unexpected {} after a complete expression; {CEL_SUBSET}",
                parser.tokens[parser.pos].describe()
            ));
        }
        Ok(expr)
    }

    /// Evaluates against a CloudEvent (`event`) with CEL's semantics: a
    /// field the event lacks is an error ("no such key"), not false; a
    /// present non-string field never equals a string (heterogeneous
    /// equality is false); `&&` and `||` absorb an error when the other side
    /// decides (`false && error` is false, `true || error` is true), `!`
    /// keeps it (cel-spec `langdef.md`, "Logical operators").
    pub fn eval(&self, event: &serde_json::Value) -> std::result::Result<bool, String> {
        match self {
            Match::Always => Ok(true),
            Match::Literal(b) => Ok(*b),
            Match::Compare {
                path,
                value,
                negate,
            } => {
                let mut cur = event;
                for seg in path {
                    match cur.get(seg) {
                        Some(v) => cur = v,
                        None => return Err(format!("no such key: {seg}")),
                    }
                }
                let equal = cur.as_str() == Some(value.as_str());
                Ok(equal != *negate)
            }
            Match::Not(m) => m.eval(event).map(|b| !b),
            Match::And(a, b) => match (a.eval(event), b.eval(event)) {
                (Ok(false), _) | (_, Ok(false)) => Ok(false),
                (Ok(true), Ok(true)) => Ok(true),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Match::Or(a, b) => match (a.eval(event), b.eval(event)) {
                (Ok(true), _) | (_, Ok(true)) => Ok(true),
                (Ok(false), Ok(false)) => Ok(false),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(Vec<String>),
    Str(String),
    Bool(bool),
    Eq,
    Ne,
    And,
    Or,
    Not,
    LParen,
    RParen,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(p) => format!("`{}`", p.join(".")),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
        }
    }
}

fn tokenize(text: &str) -> std::result::Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Eq);
                i += 2;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Ne);
                i += 2;
            }
            '!' => {
                out.push(Tok::Not);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err("unterminated string literal".into());
                    };
                    i += 1;
                    if ch == quote {
                        break;
                    }
                    if ch == '\\' {
                        let Some(&esc) = chars.get(i) else {
                            return Err("unterminated string literal".into());
                        };
                        i += 1;
                        s.push(match esc {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '\\' | '"' | '\'' => esc,
                            other => return Err(format!("unsupported escape \\{other} in string")),
                        });
                    } else {
                        s.push(ch);
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "true" => out.push(Tok::Bool(true)),
                    "false" => out.push(Tok::Bool(false)),
                    _ => {
                        let parts: Vec<String> = word.split('.').map(str::to_string).collect();
                        if parts.len() < 2
                            || parts[0] != "event"
                            || parts.iter().any(|p| p.is_empty())
                        {
                            return Err(format!(
                                "unsupported identifier `{word}` (only `event.<field>` is available); {CEL_SUBSET}"
                            ));
                        }
                        out.push(Tok::Ident(parts[1..].to_vec()));
                    }
                }
                if chars.get(i) == Some(&'(') || chars.get(i) == Some(&'[') {
                    return Err(format!(
                        "function calls and indexing are not supported; {CEL_SUBSET}"
                    ));
                }
            }
            other => {
                return Err(format!("unsupported character {other:?}; {CEL_SUBSET}"));
            }
        }
    }
    Ok(out)
}

struct CelParser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl CelParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> std::result::Result<Match, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Match::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> std::result::Result<Match, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary()?;
            left = Match::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> std::result::Result<Match, String> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Match::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(format!("missing `)`; {CEL_SUBSET}")),
                }
            }
            Some(Tok::Bool(b)) => {
                let b = *b;
                self.pos += 1;
                Ok(Match::Literal(b))
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> std::result::Result<Match, String> {
        let left = self.next();
        let op = self.next();
        let right = self.next();
        let negate = match op {
            Some(Tok::Eq) => false,
            Some(Tok::Ne) => true,
            other => {
                return Err(format!(
                    "expected `==` or `!=`, found {}; {CEL_SUBSET}",
                    other
                        .map(|t| t.describe())
                        .unwrap_or_else(|| "the end".into())
                ))
            }
        };
        match (left, right) {
            (Some(Tok::Ident(path)), Some(Tok::Str(value)))
            | (Some(Tok::Str(value)), Some(Tok::Ident(path))) => Ok(Match::Compare {
                path,
                value,
                negate,
            }),
            (l, r) => Err(format!(
                "cannot compare {} with {}; {CEL_SUBSET}",
                l.map(|t| t.describe()).unwrap_or_else(|| "nothing".into()),
                r.map(|t| t.describe()).unwrap_or_else(|| "nothing".into())
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cel_subset() {
        let m = Match::parse(r#"event.type == "a" || (event.type != 'b' && event.source == "s")"#)
            .unwrap();
        assert_eq!(
            m.eval(&json!({"type": "a"})),
            Ok(true),
            "|| absorbs the missing source"
        );
        assert_eq!(m.eval(&json!({"type": "c", "source": "s"})), Ok(true));
        assert_eq!(m.eval(&json!({"type": "b", "source": "s"})), Ok(false));
        assert_eq!(m.eval(&json!({"type": "c", "source": "x"})), Ok(false));
        assert_eq!(
            m.eval(&json!({"type": "b"})),
            Ok(false),
            "false && error is false"
        );
        // A missing field is an error in CEL, not false (cel-spec langdef).
        assert!(m.eval(&json!({"type": "c"})).is_err());
        let not = Match::parse(r#"!(event.subject == "x")"#).unwrap();
        assert!(not.eval(&json!({})).is_err());
        assert_eq!(
            not.eval(&json!({"subject": 3})),
            Ok(true),
            "3 == \"x\" is false"
        );
        assert!(Match::parse("event.type.startsWith(\"a\")").is_err());
        assert!(Match::parse("event.type in [\"a\"]").is_err());
        assert!(Match::parse("event.type == 1").is_err());
        assert!(Match::parse("size(event.data) > 2").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5d").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }
}
