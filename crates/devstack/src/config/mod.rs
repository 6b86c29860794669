//! Dapr resources read from the same YAML files production applies: the
//! model every other module reads.
//!
//! Three kinds matter to devstack — `Component`, `Subscription` and
//! `Resiliency` — plus the Strimzi `KafkaTopic`s (the only topics the
//! cluster has). As in the CRDs, `scopes` sits at the top level of each
//! resource, next to `spec`; an empty list means "every app-id".
//!
//! - this file: the [`Resources`] model and the questions asked of it
//!   (which component an app-id sees, which subscriptions it gets, a
//!   component's resolved metadata);
//! - `load/` ([`load`], [`parse_str`]): walking the YAML directories,
//!   parsing each kind (a `Resiliency` in `load/resiliency.rs`) and
//!   layering the devstack overlay over `k8s/dapr`;
//! - `configuration.rs` ([`Configuration`], [`Resources::configuration_of`]):
//!   Dapr Configurations' secret scopes and invocation access control, and
//!   which one each app-id uses (its SpinApp's `dapr.io/config`);
//! - `resiliency.rs` ([`RetryPolicy`], [`Resources::inbound_policy`],
//!   [`Resources::outbound_policy`]): retry, timeout and breaker policies,
//!   the backoff maths, and which policies apply to a component, inbound
//!   and outbound; `circuit_breaker.rs` ([`CircuitBreakerPolicy`], [`Trip`]):
//!   circuit-breaker policies and their trip expressions.
//!
//! Routing-rule conditions are CEL, parsed by [`crate::cel`] ([`Match`]).

mod circuit_breaker;
mod configuration;
mod load;
mod resiliency;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Result};

pub use crate::cel::Match;
pub use circuit_breaker::{CircuitBreakerPolicy, Counts, Trip};
pub use configuration::{
    parse_spinapp, AccessControl, AppPolicy, Configuration, Operation, SecretScope,
    DEFAULT_TRUST_DOMAIN,
};
pub use load::{load, parse_str};
pub use resiliency::{Backoff, ComponentPolicy, ComponentTarget, Resiliency, RetryPolicy};

/// Everything loaded from the resource directories.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub components: Vec<Component>,
    pub subscriptions: Vec<Subscription>,
    pub resiliencies: Vec<Resiliency>,
    /// The declared Kafka topics; none at all means "any topic" (a broker
    /// with auto-create, as in tests that bring their own resources).
    pub topics: Vec<KafkaTopic>,
    /// Dapr `Configuration`s (secret scopes, invocation access control).
    pub configurations: Vec<Configuration>,
    /// app-id → the Configuration its SpinApp names (`dapr.io/config`).
    pub app_configs: BTreeMap<String, String>,
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

    /// `topic`'s partition count, from its `KafkaTopic`; `None` when no
    /// `KafkaTopic` declares it (resources without any: messages are then
    /// ordered per key, as if every key had a partition of its own).
    pub fn partitions(&self, topic: &str) -> Option<u32> {
        self.topics
            .iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions)
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

fn in_scope(scopes: &[String], app_id: &str) -> bool {
    scopes.is_empty() || scopes.iter().any(|s| s == app_id)
}

impl Resources {
    /// The Configuration app-id `app_id` runs with (its SpinApp's
    /// `dapr.io/config`); `None` means daprd's defaults: everything allowed.
    /// A named Configuration that was not loaded is an error at stack start
    /// ([`Resources::check_app_configs`]), as daprd refuses to start then.
    pub fn configuration_of(&self, app_id: &str) -> Option<&Configuration> {
        let name = self.app_configs.get(app_id)?;
        self.configurations.iter().find(|c| &c.name == name)
    }

    /// Every `dapr.io/config` annotation names a loaded Configuration.
    pub fn check_app_configs(&self) -> Result<()> {
        for (app, name) in &self.app_configs {
            if !self.configurations.iter().any(|c| &c.name == name) {
                return Err(anyhow!(
                    "app {app} uses Dapr Configuration {name} (dapr.io/config), which is not defined"
                ));
            }
        }
        Ok(())
    }
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
