//! Loading the repository's Dapr resources: `k8s/dapr` with the
//! `devstack/` overlay on top (the overlay wins by component name).

mod support;

use std::path::Path;
use std::time::Duration;

use devstack::config::{self, Backoff};
use serde_json::json;
use support::*;

#[test]
fn the_overlay_replaces_only_what_needs_a_cluster() {
    let r = config::load(&[repo_root().join("k8s/dapr"), repo_root().join("devstack")]).unwrap();
    let kind = |name: &str| {
        r.components
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("component {name}"))
            .kind
            .clone()
    };
    assert_eq!(kind("kafka-pubsub"), "pubsub.devstack");
    assert_eq!(kind("statestore"), "state.devstack");
    assert_eq!(kind("todo-secrets"), "secretstores.local.file");
    assert_eq!(kind("email"), "bindings.smtp");
    assert_eq!(kind("outbox-sweep"), "bindings.cron");
    let email = r.components.iter().find(|c| c.name == "email").unwrap();
    assert_eq!(email.meta("host"), Some("localhost"));
    assert_eq!(email.scopes, vec!["notify"]);
    let sweep = r.component("task-api", "outbox-sweep").unwrap();
    assert_eq!(sweep.meta("route"), Some("/internal/outbox-sweep"));
    assert!(
        r.component("audit", "outbox-sweep").is_none(),
        "scoped to task-api"
    );
    assert!(
        r.component("recurrence", "statestore").is_none(),
        "recurrence has no state"
    );

    // Production files alone keep the production types.
    let prod = config::load(&[repo_root().join("k8s/dapr")]).unwrap();
    assert!(prod.components.iter().any(|c| c.kind == "pubsub.kafka"));
    assert!(prod
        .components
        .iter()
        .any(|c| c.kind == "state.postgresql" && c.version == "v2"));
}

#[test]
fn subscriptions_are_scoped_with_dead_letter_topics() {
    let r = config::load(&[repo_root().join("k8s/dapr"), repo_root().join("devstack")]).unwrap();
    let expect = [
        (
            "audit",
            "task-events",
            "/events/audit/task-events",
            "task-events-dlq",
        ),
        (
            "recurrence",
            "task-events",
            "/events/recurrence/task-events",
            "task-events-dlq",
        ),
        (
            "notify",
            "reminders",
            "/events/notify/reminders",
            "reminders-dlq",
        ),
        (
            "sync-relay",
            "task-updates",
            "/events/sync-relay/task-updates",
            "task-updates-dlq",
        ),
    ];
    for (app, topic, path, dlq) in expect {
        let subs: Vec<_> = r
            .subscriptions_for(app)
            .filter(|s| s.topic == topic)
            .collect();
        assert_eq!(subs.len(), 1, "{app}");
        let s = subs[0];
        assert_eq!(s.pubsubname, "kafka-pubsub");
        assert_eq!(s.dead_letter_topic.as_deref(), Some(dlq));
        let completed = json!({ "type": "todo.task.completed.v1" });
        assert_eq!(s.route_for(&completed), Ok(Some(path)), "{app}");
    }
    // Sign-ups: audit records them, notify welcomes the new account.
    for app in ["audit", "notify"] {
        let subs: Vec<_> = r
            .subscriptions_for(app)
            .filter(|s| s.topic == "account-events")
            .collect();
        assert_eq!(subs.len(), 1, "{app}");
        assert_eq!(
            subs[0].dead_letter_topic.as_deref(),
            Some("account-events-dlq")
        );
        let created = json!({ "type": "todo.account.created.v1" });
        let path = format!("/events/{app}/account-events");
        assert_eq!(
            subs[0].route_for(&created),
            Ok(Some(path.as_str())),
            "{app}"
        );
    }
    let topics: Vec<&str> = ["audit", "recurrence", "notify", "sync-relay"]
        .iter()
        .flat_map(|app| r.subscriptions_for(app).map(|s| s.topic.as_str()))
        .collect();
    assert_eq!(topics.len(), 6, "no other subscription: {topics:?}");
    // recurrence: completions by rule, everything else to the default route
    // (acknowledged there without work instead of being dead-lettered).
    let rec = r.subscriptions_for("recurrence").next().unwrap();
    assert_eq!(
        rec.route_for(&json!({ "type": "todo.task.created.v1" })),
        Ok(Some("/events/recurrence/task-events/other"))
    );
    let audit = r
        .subscriptions_for("audit")
        .find(|s| s.topic == "task-events")
        .unwrap();
    assert_eq!(
        audit.route_for(&json!({ "type": "todo.task.created.v1" })),
        Ok(Some("/events/audit/task-events"))
    );
}

#[test]
fn resiliency_gives_deliveries_a_bounded_retry_policy() {
    let r = config::load(&[repo_root().join("k8s/dapr"), repo_root().join("devstack")]).unwrap();
    let p = r
        .inbound_policy("audit", "kafka-pubsub")
        .retry
        .expect("inbound policy");
    assert!(matches!(p.backoff, Backoff::Exponential { .. }));
    assert_eq!(p.max_retries, Some(5));
    assert!(r
        .inbound_policy("somebody-else", "kafka-pubsub")
        .retry
        .is_none());
}

#[test]
fn unsupported_routing_rules_are_refused() {
    let yaml = r#"
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: s }
spec:
  pubsubname: p
  topic: t
  routes:
    rules:
      - match: event.type.startsWith("todo.")
        path: /x
"#;
    let err = config::parse_str(yaml, Path::new("s.yaml")).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("devstack understands only"), "{text}");

    let ok = r#"
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: s }
spec:
  pubsubname: p
  topic: t
  routes:
    rules:
      - match: event.type != "a" && !(event.source == "x")
        path: /x
"#;
    let r = config::parse_str(ok, Path::new("s.yaml")).unwrap();
    let s = &r.subscriptions[0];
    assert_eq!(
        s.route_for(&json!({"type": "b", "source": "y"})),
        Ok(Some("/x"))
    );
    assert_eq!(s.route_for(&json!({"type": "b", "source": "x"})), Ok(None));
}

#[test]
fn required_fields_and_directories_are_checked() {
    let missing_version = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: c }
spec: { type: state.devstack, metadata: [] }
"#;
    assert!(config::parse_str(missing_version, Path::new("c.yaml")).is_err());
    assert!(config::load(&[repo_root().join("no-such-dir")]).is_err());
    // Non-Dapr documents are skipped.
    let other = "apiVersion: v1\nkind: Namespace\nmetadata: { name: todo }\n";
    let r = config::parse_str(other, Path::new("ns.yaml")).unwrap();
    assert!(r.components.is_empty());
}

/// Which policies a component gets, as dapr/dapr
/// `pkg/resiliency/resiliency.go` (`ComponentOutboundPolicy`,
/// `ComponentInboundPolicy`, `getDefaultPolicy`) resolves them: a component
/// named in `targets.components` gets what its target names and nothing
/// else; any other component gets the default policies, the most specific
/// name first (`Default<ComponentType>Component<Direction><Kind>Policy`,
/// then without the type, without the direction, and `Default<Kind>Policy`),
/// where a state store's type is `Statestore` and a pubsub's `Pubsub`.
#[test]
fn default_policies_apply_only_to_components_no_target_names() {
    let yaml = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: statestore }
spec: { type: state.postgresql, version: v2, metadata: [] }
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: pubsub }
spec: { type: pubsub.kafka, version: v1, metadata: [] }
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: named }
spec: { type: state.postgresql, version: v2, metadata: [] }
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: defaults }
spec:
  policies:
    timeouts:
      DefaultComponentInboundTimeoutPolicy: 3s
    retries:
      DefaultStatestoreComponentOutboundRetryPolicy: { policy: constant, duration: 1s, maxRetries: 2 }
      DefaultRetryPolicy: { policy: constant, duration: 2s, maxRetries: 7 }
    circuitBreakers:
      DefaultPubsubComponentInboundCircuitBreakerPolicy: { trip: consecutiveFailures > 3 }
  targets:
    components:
      named:
        outbound: { timeout: 5s }
"#;
    let r = config::parse_str(yaml, Path::new("defaults.yaml")).unwrap();
    let retries = |p: &config::ComponentPolicy| p.retry.as_ref().and_then(|r| r.max_retries);

    let store_out = r.outbound_policy("any-app", "statestore");
    assert_eq!(
        retries(&store_out),
        Some(2),
        "the Statestore-specific default"
    );
    assert_eq!(
        store_out.timeout, None,
        "the timeout default is inbound only"
    );

    let pubsub_in = r.inbound_policy("any-app", "pubsub");
    assert_eq!(retries(&pubsub_in), Some(7), "the top-level default");
    assert_eq!(pubsub_in.timeout, Some(Duration::from_secs(3)));
    assert!(pubsub_in.breaker.is_some(), "the Pubsub inbound breaker");
    assert!(r.outbound_policy("any-app", "pubsub").breaker.is_none());

    let named = r.outbound_policy("any-app", "named");
    assert_eq!(named.timeout, Some(Duration::from_secs(5)));
    assert!(
        named.retry.is_none(),
        "a targeted component gets no defaults"
    );
    assert!(r.inbound_policy("any-app", "named").retry.is_none());
}

/// Service-invocation (`targets.apps`) and actor policies are not applied by
/// devstack, so a Resiliency naming them does not load — a local run never
/// silently differs from daprd, which would apply them.
#[test]
fn policies_devstack_cannot_apply_do_not_load() {
    for target in [
        "apps:\n      task-api: { retry: quick }",
        "actors:\n      Cart: { retry: quick }",
    ] {
        let yaml = format!(
            r#"
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {{ name: app-policies }}
spec:
  policies:
    retries:
      quick: {{ policy: constant, duration: 1s, maxRetries: 2 }}
  targets:
    {target}
"#
        );
        let err = config::parse_str(&yaml, Path::new("apps.yaml")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("Resiliency app-policies: targets."), "{text}");
    }
}
