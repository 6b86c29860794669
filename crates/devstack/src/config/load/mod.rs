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
//! the CEL subset devstack understands is refused at load time; a
//! `Resiliency`'s policies and targets in `resiliency.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use super::{
    Component, KafkaTopic, Match, MetadataItem, MetadataValue, Resources, Rule, Subscription,
};

mod resiliency;
use resiliency::parse_resiliency;

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
