//! Rules on a deployable rendering (an overlay): [`check_deployable`]
//! relates the objects to each other (one namespace; a SpinApp per app-id
//! with its executor, service account and Configuration; scopes, access
//! control, subscriptions and topics; Ingress backends; Services) and to the
//! rest of the repository (spin.toml, scripts/deploy).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::{list, meta_value, of_kind, s, strings};
use super::kafka::kafka_cluster;
use super::secrets::{referenced_secrets, secrets_granted};
use super::{RepoFacts, APP_IDS, PLACEHOLDER_IMAGE, SIDECARLESS};

/// Rules on a complete rendering (an overlay): cross-references between the
/// objects and with the rest of the repository.
pub fn check_deployable(rs: &[Resource], facts: &RepoFacts) -> Vec<String> {
    let mut out = Vec::new();

    // One namespace, which the rendering creates.
    let namespaces: BTreeSet<&str> = rs
        .iter()
        .filter(|r| !crate::kustomize::is_cluster_scoped(r.kind()))
        .map(|r| r.namespace())
        .collect();
    let ns = match namespaces.iter().collect::<Vec<_>>().as_slice() {
        [one] if !one.is_empty() => one.to_string(),
        other => {
            out.push(format!(
                "all objects must be in one namespace, found {other:?}"
            ));
            String::new()
        }
    };
    if !rs.iter().any(|r| r.kind() == "Namespace" && r.name() == ns) {
        out.push(format!("the Namespace {ns} is not part of the rendering"));
    }

    let by = |group: &str, kind: &str| -> BTreeMap<String, &Resource> {
        of_kind(rs, group, kind)
            .map(|r| (r.name().to_string(), r))
            .collect()
    };
    let spinapps = by("core.spinkube.dev", "SpinApp");
    let executors = by("core.spinkube.dev", "SpinAppExecutor");
    let components = by("dapr.io", "Component");
    let configurations = by("dapr.io", "Configuration");
    let accounts = by("", "ServiceAccount");
    let kafkas = by("kafka.strimzi.io", "Kafka");
    let topics = by("kafka.strimzi.io", "KafkaTopic");
    let services = by("", "Service");

    // One SpinApp per app-id (and web), and every spin.toml component with a
    // sidecar has one.
    let names: BTreeSet<&str> = spinapps.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = APP_IDS.into_iter().chain(SIDECARLESS).collect();
    if names != want {
        out.push(format!("SpinApps must be exactly {want:?}, are {names:?}"));
    }
    for c in facts.spin.components.keys() {
        if !spinapps.contains_key(c) {
            out.push(format!("spin.toml component {c} has no SpinApp"));
        }
    }

    let secrets_read: BTreeSet<String> = ["jwt-secret", "app-api-token"].map(String::from).into();
    for (name, app) in &spinapps {
        let v = &app.value;
        let at = app.describe();
        match s(v, "/spec/image") {
            Some(PLACEHOLDER_IMAGE) | None => {
                out.push(format!("{at}: the overlay must set spec.image"))
            }
            Some(_) => {}
        }
        // Executor in the namespace, running the Spin shim.
        let exec = s(v, "/spec/executor").unwrap_or("");
        match executors.get(exec) {
            None => out.push(format!(
                "{at}: SpinAppExecutor {exec} is not in the rendering (it is namespaced)"
            )),
            Some(e) => {
                if s(&e.value, "/spec/deploymentConfig/runtimeClassName")
                    != Some("wasmtime-spin-v2")
                    || e.value.pointer("/spec/createDeployment") != Some(&Value::Bool(true))
                {
                    out.push(format!(
                        "{}: must create Deployments with runtimeClassName wasmtime-spin-v2",
                        e.describe()
                    ));
                }
            }
        }
        if SIDECARLESS.contains(&name.as_str()) {
            // No sidecar: no secrets, no Dapr Configuration; only the probes'
            // route must exist in spin.toml.
            let health = format!("/healthz/{name}");
            if !facts.has_route(name, &health) {
                out.push(format!(
                    "{at}: spin.toml has no route {health} for the probes"
                ));
            }
            continue;
        }
        // Service account that may read the two secrets.
        let sa = s(v, "/spec/serviceAccountName").unwrap_or("");
        if !accounts.contains_key(sa) {
            out.push(format!("{at}: ServiceAccount {sa} is not in the rendering"));
        } else {
            let granted = secrets_granted(rs, sa, &ns);
            for secret in &secrets_read {
                if !granted.contains(secret) && !granted.contains("*") {
                    out.push(format!("{at}: ServiceAccount {sa} may not `get` secret {secret}, which its sidecar reads through todo-secrets"));
                }
            }
        }
        // Dapr Configuration exists, and lets the app read its secrets.
        let config = s(v, "/spec/podAnnotations/dapr.io~1config").unwrap_or("");
        match configurations.get(config) {
            None => out.push(format!(
                "{at}: Dapr Configuration {config} is not in the rendering"
            )),
            Some(c) => {
                for scope in list(&c.value, "/spec/secrets/scopes") {
                    if scope.get("storeName").and_then(Value::as_str) == Some("todo-secrets")
                        && scope.get("defaultAccess").and_then(Value::as_str) == Some("deny")
                    {
                        let allowed = strings(scope, "/allowedSecrets");
                        for secret in &secrets_read {
                            if !allowed.contains(secret) {
                                out.push(format!("{}: secret scope of todo-secrets denies {secret}, which {name} reads", c.describe()));
                            }
                        }
                    }
                }
            }
        }
        // spin.toml agrees: health route, the Dapr names the component uses.
        if let Some(sc) = facts.spin.components.get(name.as_str()) {
            let health = format!("/healthz/{name}");
            if !facts.has_route(name, &health) {
                out.push(format!(
                    "{at}: spin.toml has no route {health} for the probes"
                ));
            }
            for (var, block) in [
                ("STATE_STORE", "state"),
                ("PUBSUB_NAME", "pubsub"),
                ("SECRET_STORE", "secretstores"),
            ] {
                let Some(store) = sc.environment.get(var) else {
                    continue;
                };
                match components.get(store.as_str()) {
                    None => out.push(format!(
                        "{at}: spin.toml sets {var}={store} but there is no Component {store}"
                    )),
                    Some(c) => {
                        let ty = s(&c.value, "/spec/type").unwrap_or("");
                        if !ty.starts_with(&format!("{block}.")) {
                            out.push(format!(
                                "{at}: {var}={store} is a {ty}, not a {block} component"
                            ));
                        }
                        if !strings(&c.value, "/scopes").iter().any(|x| x == name) {
                            out.push(format!(
                                "{at}: Component {store} (spin.toml {var}) is not scoped to {name}"
                            ));
                        }
                    }
                }
            }
        }
    }

    // Access-control policies name the namespace the callers run in.
    for c in configurations.values() {
        for p in list(&c.value, "/spec/accessControl/policies") {
            if let Some(pns) = p.get("namespace").and_then(Value::as_str) {
                if pns != ns {
                    out.push(format!("{}: accessControl policy for {} names namespace {pns}, the apps run in {ns}", c.describe(), p.get("appId").and_then(Value::as_str).unwrap_or("?")));
                }
            }
            if let Some(app) = p.get("appId").and_then(Value::as_str) {
                if !spinapps.contains_key(app) {
                    out.push(format!(
                        "{}: accessControl names unknown app-id {app}",
                        c.describe()
                    ));
                }
            }
        }
    }

    // Components are scoped to apps that exist.
    for c in components.values() {
        for sc in strings(&c.value, "/scopes") {
            if !spinapps.contains_key(&sc) {
                out.push(format!("{}: scope {sc} has no SpinApp", c.describe()));
            }
        }
    }

    // Subscriptions: pub/sub component in scope, topics exist (Strimzi).
    for sub in of_kind(rs, "dapr.io", "Subscription") {
        let v = &sub.value;
        let at = sub.describe();
        let pubsub = s(v, "/spec/pubsubname").unwrap_or("");
        match components.get(pubsub) {
            None => out.push(format!(
                "{at}: pubsub {pubsub} is not a Component of the rendering"
            )),
            Some(c) => {
                if !s(&c.value, "/spec/type")
                    .unwrap_or("")
                    .starts_with("pubsub.")
                {
                    out.push(format!("{at}: {pubsub} is not a pub/sub component"));
                }
                let scopes = strings(&c.value, "/scopes");
                for app in strings(v, "/scopes") {
                    if !scopes.contains(&app) {
                        out.push(format!(
                            "{at}: subscriber {app} is not in the scopes of {pubsub}"
                        ));
                    }
                    if !spinapps.contains_key(&app) {
                        out.push(format!("{at}: subscriber {app} has no SpinApp"));
                    }
                }
            }
        }
        if !kafkas.is_empty() {
            for field in ["/spec/topic", "/spec/deadLetterTopic"] {
                let Some(topic) = s(v, field) else { continue };
                let exists = topics
                    .values()
                    .any(|t| s(&t.value, "/spec/topicName").unwrap_or(t.name()) == topic);
                if !exists {
                    out.push(format!("{at}: no KafkaTopic for {topic} ({field}); the broker does not auto-create topics"));
                }
            }
        }
    }

    // Kafka: brokers, replication, the Dapr component's bootstrap address.
    for k in kafkas.values() {
        kafka_cluster(rs, k, &topics, &mut out);
    }
    if let Some(pubsub) = components.get("kafka-pubsub") {
        if !kafkas.is_empty() {
            let brokers = meta_value(&pubsub.value, "brokers").unwrap_or("");
            let ok = kafkas.values().any(|k| {
                list(&k.value, "/spec/kafka/listeners").iter().any(|l| {
                    l.get("tls") == Some(&Value::Bool(false))
                        && l.get("type").and_then(Value::as_str) == Some("internal")
                        && brokers
                            == format!(
                                "{}-kafka-bootstrap:{}",
                                k.name(),
                                l.get("port").and_then(Value::as_i64).unwrap_or(0)
                            )
                })
            });
            if !ok {
                out.push(format!("{}: brokers {brokers:?} is not the bootstrap service of a plain internal listener of the Strimzi cluster", pubsub.describe()));
            }
            if meta_value(&pubsub.value, "authType") != Some("none") {
                out.push(format!("{}: the in-cluster Strimzi listener has no client authentication: authType must be none", pubsub.describe()));
            }
        }
    }

    // Ingress → SpinApp services on port 80.
    for ing in of_kind(rs, "networking.k8s.io", "Ingress") {
        for rule in list(&ing.value, "/spec/rules") {
            for p in list(rule, "/http/paths") {
                let svc = s(p, "/backend/service/name").unwrap_or("");
                let port = p
                    .pointer("/backend/service/port/number")
                    .and_then(Value::as_i64);
                if !spinapps.contains_key(svc) || port != Some(80) {
                    out.push(format!(
                        "{}: backend {svc}:{port:?} must be a SpinApp's Service on port 80",
                        ing.describe()
                    ));
                }
            }
        }
    }

    // Services select a workload; StatefulSets name their Service.
    let templates: Vec<&serde_json::Map<String, Value>> = rs
        .iter()
        .filter(|r| matches!(r.kind(), "Deployment" | "StatefulSet"))
        .filter_map(|r| {
            r.value
                .pointer("/spec/template/metadata/labels")?
                .as_object()
        })
        .collect();
    for svc in services.values() {
        let Some(sel) = svc
            .value
            .pointer("/spec/selector")
            .and_then(Value::as_object)
        else {
            continue;
        };
        if !templates
            .iter()
            .any(|t| sel.iter().all(|(k, v)| t.get(k) == Some(v)))
        {
            out.push(format!(
                "{}: selector matches no pod template of the rendering",
                svc.describe()
            ));
        }
    }
    for ss in of_kind(rs, "apps", "StatefulSet") {
        let name = s(&ss.value, "/spec/serviceName").unwrap_or("");
        if !services.contains_key(name) {
            out.push(format!(
                "{}: serviceName {name} is not a Service of the rendering",
                ss.describe()
            ));
        }
    }

    // Every secret referenced is one scripts/deploy creates.
    for (secret, by) in referenced_secrets(rs) {
        if !facts.deploy_secrets.contains(&secret) {
            out.push(format!("{by} refers to secret {secret}, which scripts/deploy does not create (GENERATED_SECRETS / OPTIONAL_SECRETS)"));
        }
    }
    out
}
