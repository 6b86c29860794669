//! The observability checks (src/observability.rs) on the repository's
//! manifests — the alerts the runbook describes, the sampling per overlay —
//! and mutations proving each check can fail.

use std::path::PathBuf;

use k8s_check::kustomize::{self, Resource};
use k8s_check::observability::{check_deployable, check_objects, check_rules, known_metrics};
use serde_json::Value;

fn repo() -> PathBuf {
    k8s_check::repo_root()
}

fn render(overlay: &str) -> Vec<Resource> {
    kustomize::render(&repo().join("k8s/overlays").join(overlay)).unwrap()
}

fn find<'a>(rs: &'a mut [Resource], kind: &str, name: &str) -> &'a mut Value {
    &mut rs
        .iter_mut()
        .find(|r| r.kind() == kind && r.name() == name)
        .unwrap_or_else(|| panic!("{kind} {name} not rendered"))
        .value
}

fn rules_text() -> String {
    let mut rs = render("minikube");
    find(&mut rs, "ConfigMap", "prometheus-rules")["data"]["todo.rules.yml"]
        .as_str()
        .expect("data[todo.rules.yml]")
        .to_string()
}

#[test]
fn the_alerts_and_the_exporter_are_sound() {
    let rs = render("minikube");
    let found: Vec<String> = check_objects(&rs, &repo())
        .into_iter()
        .chain(check_deployable(&rs, &repo()))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));

    let text = rules_text();
    let (problems, alerts) = check_rules(&text, &known_metrics(), &repo());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(alerts, 6);
    for alert in [
        "TodoEventDeadLettered",
        "TodoOutboxBacklog",
        "TodoDeliveryRetries",
        "TodoReminderLate",
        "TodoAppAnswers5xx",
        "TodoApi5xxRatio",
    ] {
        assert!(
            text.contains(&format!("alert: {alert}\n")),
            "{alert} missing"
        );
    }

    // Every overlay exports to the collector; Minikube samples everything,
    // the cloud overlays one request in ten.
    for (overlay, rate) in [
        ("minikube", "1"),
        ("cloud", "0.1"),
        ("cloud-aks", "0.1"),
        ("cloud-gke", "0.1"),
        ("cloud-oke", "0.1"),
        ("cloud-external-kafka", "0.1"),
    ] {
        let rs = render(overlay);
        let configs: Vec<&Resource> = rs.iter().filter(|r| r.kind() == "Configuration").collect();
        assert_eq!(configs.len(), 2, "{overlay}");
        for c in configs {
            assert_eq!(
                c.value["spec"]["tracing"]["samplingRate"],
                rate,
                "{overlay} {}",
                c.name()
            );
            assert_eq!(
                c.value["spec"]["tracing"]["otel"]["endpointAddress"],
                "otel-collector.todo.svc.cluster.local:4317"
            );
            assert_eq!(
                c.value["spec"]["metric"]["http"]["increasedCardinality"],
                false
            );
        }
    }
}

fn assert_rules_flag(what: &str, expect: &str, edit: impl FnOnce(String) -> String) {
    let text = edit(rules_text());
    let (problems, _) = check_rules(&text, &known_metrics(), &repo());
    assert!(
        problems.iter().any(|p| p.contains(expect)),
        "{what}: expected a problem mentioning {expect:?}, got:\n{}",
        problems.join("\n")
    );
}

#[test]
fn rule_mistakes_are_caught() {
    assert_rules_flag(
        "misspelt metric",
        "dapr_scheduler_trigger_latencies_bucket",
        |t| {
            t.replace(
                "dapr_scheduler_trigger_latency_bucket",
                "dapr_scheduler_trigger_latencies_bucket",
            )
        },
    );
    assert_rules_flag(
        "a _total suffix on a daprd counter",
        "dapr_http_client_completed_total",
        |t| {
            t.replace(
                "dapr_http_client_completed_count",
                "dapr_http_client_completed_total",
            )
        },
    );
    assert_rules_flag("no severity", "labels.severity", |t| {
        t.replacen("severity: warning", "level: warning", 1)
    });
    assert_rules_flag("unknown severity", "labels.severity", |t| {
        t.replacen("severity: warning", "severity: page", 1)
    });
    assert_rules_flag("no summary", "annotations.summary is required", |t| {
        t.replacen("summary:", "title:", 1)
    });
    assert_rules_flag(
        "no description",
        "annotations.description is required",
        |t| t.replacen("description:", "details:", 1),
    );
    assert_rules_flag(
        "runbook anchor",
        "no heading with anchor #a-reminder-is-lat",
        |t| t.replace("#a-reminder-is-late", "#a-reminder-is-lat"),
    );
    assert_rules_flag(
        "runbook file",
        "cannot read docs/kubernetes-runbook.md",
        |t| t.replacen("docs/kubernetes.md#", "docs/kubernetes-runbook.md#", 1),
    );
    assert_rules_flag("bad `for`", "is not a duration", |t| {
        t.replacen("for: 10m", "for: 10 minutes", 1)
    });
    assert_rules_flag("misspelt field", "unknown field `annotation`", |t| {
        t.replacen("annotations:", "annotation:", 1)
    });
    assert_rules_flag("duplicate alert", "defined twice", |t| {
        t.replace("alert: TodoApi5xxRatio", "alert: TodoAppAnswers5xx")
    });
    assert_rules_flag("no groups", "`groups` must be a non-empty list", |_| {
        "groups: []\n".into()
    });
}

fn assert_flags(what: &str, expect: &str, change: impl FnOnce(&mut Vec<Resource>)) {
    let mut rs = render("minikube");
    change(&mut rs);
    let found: Vec<String> = check_objects(&rs, &repo())
        .into_iter()
        .chain(check_deployable(&rs, &repo()))
        .collect();
    assert!(
        found.iter().any(|p| p.contains(expect)),
        "{what}: expected a problem mentioning {expect:?}, got:\n{}",
        found.join("\n")
    );
}

#[test]
fn config_and_exporter_mistakes_are_caught() {
    assert_flags(
        "broken embedded YAML",
        "data[prometheus.yml] is not valid YAML",
        |rs| {
            find(rs, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"] =
                "global:\n  scrape_interval: 15s\n   evaluation_interval: [\n".into();
        },
    );
    assert_flags("no rules in an overlay", "no Prometheus alert rule", |rs| {
        rs.retain(|r| r.name() != "prometheus-rules");
    });
    let otel = "/spec/tracing/otel";
    assert_flags("a scheme in the endpoint", "without a scheme", |rs| {
        *find(rs, "Configuration", "todo-config")
            .pointer_mut(&format!("{otel}/endpointAddress"))
            .unwrap() = "http://otel-collector.todo.svc.cluster.local:4317".into();
    });
    assert_flags(
        "a port the collector does not serve",
        "no Service otel-collector with port 4319",
        |rs| {
            *find(rs, "Configuration", "todo-task-api-config")
                .pointer_mut(&format!("{otel}/endpointAddress"))
                .unwrap() = "otel-collector.todo.svc.cluster.local:4319".into();
        },
    );
    assert_flags("no protocol", "protocol must be grpc or http", |rs| {
        find(rs, "Configuration", "todo-config")
            .pointer_mut(otel)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("protocol");
    });
    assert_flags(
        "sampling out of range",
        "samplingRate must be a number",
        |rs| {
            find(rs, "Configuration", "todo-config")["spec"]["tracing"]["samplingRate"] =
                "10".into();
        },
    );
}
