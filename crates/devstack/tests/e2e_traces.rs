//! One trace from a click to every effect (architecture §9): a task created
//! with a webhook reminder, through the real task-api, audit, notify and
//! sync-relay `.wasm`. devstack records a span per Wasm request, per call
//! out of an instance, per sidecar API call, per delivery attempt and per
//! job firing; the components carry the W3C trace context they were called
//! with onto every Dapr call and the webhook, and a job the context it was
//! scheduled under in its data (daprd sends job callbacks none). The
//! create, the three deliveries it causes (task-events → audit, reminders →
//! notify, task-updates → sync-relay), the job that fires the reminder and
//! the webhook call must all be one trace, each span the child of the one
//! that caused it. The gateway's `GET /metrics` shows the requests, deliveries,
//! queue depths and job firings of the same run.

mod support;

use std::collections::BTreeMap;

use devstack::traces::{self, Span};
use serde_json::json;
use support::*;

/// The value of the sample of `name` whose labels include `labels`, summed
/// over the samples that match (0 when none does).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The spans from `span` up to the root, `span` first.
fn ancestry<'a>(span: &'a Span, by_id: &BTreeMap<&str, &'a Span>) -> Vec<&'a Span> {
    let mut chain = vec![span];
    let mut current = span;
    while let Some(parent) = current.parent_id.as_deref() {
        let Some(next) = by_id.get(parent) else {
            panic!("{} has a parent {parent} not in its trace", current.name);
        };
        chain.push(next);
        current = next;
    }
    chain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_its_deliveries_the_reminder_job_and_the_webhook_are_one_trace() {
    let hooks = RecordingApp::start().await;
    let env = start(&["audit", "notify", "sync-relay"]).await;
    let user = unique_user("traced");
    let api = env.api(&user);
    let settings = api
        .send_json(
            "PUT",
            "/api/notifications/settings",
            &json!({
                "webhookUrl": format!("http://127.0.0.1:{}/hook", hooks.addr.port()),
                "webhookSecret": "e2e-webhook-secret-0123456789",
            }),
            &[],
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.text());

    let metrics_before = env.anonymous().get("/metrics").await.text();

    // A plain create, as a browser sends it: no trace context of its own.
    let task = api
        .create(json!({
            "title": "traced",
            "dueAt": in_secs(62),
            "reminder": { "before": "PT1M", "channels": ["webhook"] },
        }))
        .await;
    let task_id = id_of(&task);

    let hook = eventually("the reminder's webhook", || {
        let hooks = hooks.clone();
        async move { hooks.requests_to("/hook").into_iter().next() }
    })
    .await;
    let (trace_id, webhook_parent) = traces::parse_traceparent(
        hook.header("traceparent")
            .expect("the webhook carries traceparent"),
    )
    .expect("a valid traceparent");

    // Everything has ended once the deliveries are acknowledged; wait for
    // the spans to be in.
    let wanted = [
        "deliver task-events",
        "deliver reminders",
        "deliver task-updates",
        "job reminder-",
    ];
    let spans = eventually("the trace's spans", || {
        let trace_id = trace_id.clone();
        async move {
            let spans = traces::tracer().trace(&trace_id);
            wanted
                .iter()
                .all(|w| spans.iter().any(|s| s.name.starts_with(w)))
                .then_some(spans)
        }
    })
    .await;
    println!("{}", traces::render(&spans));

    let by_id: BTreeMap<&str, &Span> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let roots: Vec<&Span> = spans.iter().filter(|s| s.parent_id.is_none()).collect();
    assert_eq!(roots.len(), 1, "one root");
    let root = roots[0];
    assert_eq!(root.app, "task-api");
    assert!(root.name.starts_with("POST /api/tasks"), "{}", root.name);

    let find = |prefix: &str, app: &str| -> &Span {
        spans
            .iter()
            .find(|s| s.name.starts_with(prefix) && s.app == app)
            .unwrap_or_else(|| panic!("no {prefix} span of {app}:\n{}", traces::render(&spans)))
    };
    for (delivery, app) in [
        ("deliver task-events", "audit"),
        ("deliver reminders", "notify"),
        ("deliver task-updates", "sync-relay"),
    ] {
        // The delivery of what task-api published (notify publishes to
        // task-updates too, later in the same trace).
        let span = spans
            .iter()
            .find(|s| {
                s.name.starts_with(delivery)
                    && s.app == app
                    && s.parent_id
                        .as_deref()
                        .and_then(|p| by_id.get(p))
                        .is_some_and(|p| p.app == "task-api")
            })
            .unwrap_or_else(|| panic!("no {delivery} to {app} of task-api's publish"));
        let chain = ancestry(span, &by_id);
        // deliver ← publish (task-api's sidecar) ← call out of task-api ← the create.
        assert!(
            chain[1].name.starts_with("dapr POST publish") && chain[1].app == "task-api",
            "{delivery}: {:?}",
            chain.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        assert_eq!(chain.last().unwrap().span_id, root.span_id);
        // The consumer's own request continues from the delivery.
        assert!(
            spans
                .iter()
                .any(|s| s.parent_id.as_deref() == Some(span.span_id.as_str())
                    && s.app == app
                    && s.name.starts_with("POST /events/")),
            "{app} handles {delivery} under it"
        );
    }

    // daprd sends a job callback no trace context; the reminder job carries
    // the context notify scheduled it under in its data. devstack's span of
    // the trigger and the firing's work (here: the webhook call) continue
    // from the request that scheduled it: the reminders delivery.
    let job = find(&format!("job reminder-{task_id}"), "notify");
    let job_chain: Vec<&str> = ancestry(job, &by_id)
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        job_chain[1].starts_with("POST /events/notify/"),
        "{job_chain:?}"
    );
    assert!(
        job_chain[2].starts_with("deliver reminders"),
        "{job_chain:?}"
    );
    assert_eq!(*job_chain.last().unwrap(), root.name);
    let scheduled_by = job.parent_id.as_deref().unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s.parent_id.as_deref() == Some(scheduled_by)
                && s.name.starts_with("dapr POST jobs")
                || by_id
                    .get(s.parent_id.as_deref().unwrap_or(""))
                    .is_some_and(|p| p.parent_id.as_deref() == Some(scheduled_by))
                    && s.name.starts_with("dapr POST jobs")),
        "the job was scheduled from that request:\n{}",
        traces::render(&spans)
    );

    // The webhook call: notify's request to the receiver, in the same place
    // of the trace, and the receiver saw that call as its parent.
    let call = by_id.get(webhook_parent.as_str()).unwrap_or_else(|| {
        panic!(
            "the webhook's parent is not in the trace:\n{}",
            traces::render(&spans)
        )
    });
    assert_eq!(call.app, "notify");
    assert!(call.name.starts_with("POST 127.0.0.1:"), "{}", call.name);
    assert_eq!(call.parent_id.as_deref(), Some(scheduled_by));

    // The gateway's metrics moved with what happened.
    let metrics = env.anonymous().get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let metrics = metrics.text();
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&metrics, name, labels) - sample(&metrics_before, name, labels)
    };
    let create = [
        ("app", "task-api"),
        ("route", "/api/tasks/..."),
        ("status", "201"),
    ];
    assert!(
        moved("devstack_requests_total", &create) >= 1.0,
        "{metrics}"
    );
    assert!(moved("devstack_request_duration_seconds_count", &create[..2]) >= 1.0);
    for api in ["state", "publish"] {
        let called = [("app", "task-api"), ("method", "POST"), ("api", api)];
        assert!(
            moved("devstack_sidecar_requests_total", &called) >= 1.0,
            "task-api's {api} calls: {metrics}"
        );
    }
    for (group, topic) in [
        ("audit/audit-task-events", "task-events"),
        ("notify/notify-reminders", "reminders"),
        ("sync-relay/sync-relay-task-updates", "task-updates"),
    ] {
        let delivered = [("subscription", group), ("outcome", "success")];
        assert!(
            moved("devstack_deliveries_total", &delivered) >= 1.0,
            "{group}: {metrics}"
        );
        assert!(
            metrics.contains(&format!(
                "devstack_pending_deliveries{{subscription=\"{group}\",topic=\"{topic}\"}}"
            )),
            "{group}'s queue depth: {metrics}"
        );
    }
    let fired = [("app", "notify"), ("outcome", "delivered")];
    assert!(
        moved("devstack_job_triggers_total", &fired) >= 1.0,
        "{metrics}"
    );
    assert!(
        moved("devstack_job_lateness_seconds_count", &[]) >= 1.0,
        "{metrics}"
    );
    assert!(
        sample(&metrics, "devstack_store_bytes", &[]) > 0.0,
        "{metrics}"
    );

    hooks.stop();
    env.shutdown().await;
}
