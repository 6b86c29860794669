//! Loading the repository's Dapr resources: `k8s/dapr` with the
//! `devstack/` overlay on top (the overlay wins by component name).

use std::path::{Path, PathBuf};

use devstack::config::{self, Backoff};
use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_overlay_replaces_only_what_needs_a_cluster() {
    let r = config::load(&[repo().join("k8s/dapr"), repo().join("devstack")]).unwrap();
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
    let prod = config::load(&[repo().join("k8s/dapr")]).unwrap();
    assert!(prod.components.iter().any(|c| c.kind == "pubsub.kafka"));
    assert!(prod
        .components
        .iter()
        .any(|c| c.kind == "state.postgresql" && c.version == "v2"));
}

#[test]
fn subscriptions_are_scoped_with_dead_letter_topics() {
    let r = config::load(&[repo().join("k8s/dapr"), repo().join("devstack")]).unwrap();
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
    let r = config::load(&[repo().join("k8s/dapr"), repo().join("devstack")]).unwrap();
    let p = r
        .inbound_retry("audit", "kafka-pubsub")
        .expect("inbound policy");
    assert!(matches!(p.backoff, Backoff::Exponential { .. }));
    assert_eq!(p.max_retries, Some(5));
    assert!(r.inbound_retry("somebody-else", "kafka-pubsub").is_none());
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
    assert!(config::load(&[repo().join("no-such-dir")]).is_err());
    // Non-Dapr documents are skipped.
    let other = "apiVersion: v1\nkind: Namespace\nmetadata: { name: todo }\n";
    let r = config::parse_str(other, Path::new("ns.yaml")).unwrap();
    assert!(r.components.is_empty());
}
