//! Publish and delivery conformance: CloudEvent wrapping (contrib
//! pubsub/envelope.go), reply semantics (postman/http/http.go), dead letters
//! and routing (runtime/subscription/subscription.go).

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

fn subscription(name: &str, topic: &str, routes: &str, extra: &str) -> String {
    format!(
        r#"
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {{ name: {name} }}
spec:
  pubsubname: pubsub
  topic: {topic}
  routes:
{routes}
{extra}
scopes: [worker]
"#
    )
}

fn default_route(path: &str) -> String {
    format!("    default: {path}")
}

/// A worker app with one subscription `orders` → `/orders` (DLQ `orders-dlq`).
async fn worker(extra_yaml: &str) -> (RecordingApp, Sidecar) {
    let app = RecordingApp::start().await;
    let yaml = format!(
        "{BASE}{}{extra_yaml}",
        subscription(
            "orders-sub",
            "orders",
            &default_route("/orders"),
            "  deadLetterTopic: orders-dlq"
        )
    );
    let sc = start_sidecar(
        "worker",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    (app, sc)
}

async fn publish(
    sc: &Sidecar,
    topic: &str,
    content_type: Option<&str>,
    body: &[u8],
    query: &str,
) -> Answer {
    let url = sc.url(&format!("/v1.0/publish/pubsub/{topic}{query}"));
    match content_type {
        Some(ct) => call("POST", &url, &[("content-type", ct)], body).await,
        None => call("POST", &url, &[], body).await,
    }
}

fn event(id: &str, event_type: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "specversion": "1.0", "id": id, "type": event_type, "source": "task-api",
        "datacontenttype": "application/json", "data": { "id": id },
    }))
    .unwrap()
}

/// The consumer group of [`worker`]'s subscription.
const GROUP: &str = "worker/orders-sub";

/// The ids of the events the worker app got on `/orders`, in arrival order,
/// but the sentinel's.
fn order_ids(app: &RecordingApp) -> Vec<String> {
    app.requests_to("/orders")
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or_default().to_string())
        .filter(|id| id != "sentinel")
        .collect()
}

/// Publishes a `sentinel` event to `orders` (with partition key `key`, if
/// any) after everything else and waits until the worker app got it and
/// [`worker`]'s group has nothing pending: every earlier message was decided
/// (on the same key, before the sentinel was even attempted: a key's
/// messages go one at a time), and its publish made the worker pull again,
/// so nothing it pulled is left to be delivered again. What the app got by
/// then is all it gets.
async fn settle_with_sentinel(app: &RecordingApp, sc: &Sidecar, key: Option<&str>) {
    let query = key
        .map(|k| format!("?metadata.partitionKey={k}"))
        .unwrap_or_default();
    let r = publish(
        sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("sentinel", "t"),
        &query,
    )
    .await;
    assert_eq!(r.status, 204);
    eventually("the sentinel delivered", || async {
        app.requests_to("/orders")
            .iter()
            .any(|r| r.json()["id"] == "sentinel")
            .then_some(())
    })
    .await;
    wait_idle(&sc.store, GROUP).await;
}

#[tokio::test]
async fn plain_json_is_wrapped_in_a_cloudevent() {
    let (app, sc) = worker("").await;
    let r = publish(&sc, "orders", Some("application/json"), br#"{"a":1}"#, "").await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let got = app.wait_for("/orders", 1).await;
    let d = &got[0];
    assert_eq!(d.method, http::Method::POST);
    assert_eq!(
        d.header("content-type"),
        Some("application/cloudevents+json")
    );
    let ce = d.json();
    assert_eq!(ce["data"], json!({"a": 1}));
    assert_eq!(ce["type"], "com.dapr.event.sent");
    assert_eq!(ce["source"], "worker");
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(ce["topic"], "orders");
    assert_eq!(ce["pubsubname"], "pubsub");
    assert!(uuid::Uuid::parse_str(ce["id"].as_str().unwrap()).is_ok());
    assert_eq!(ce["traceid"], ce["traceparent"]);
    assert!(ce["time"].as_str().unwrap().ends_with('Z'));
    // The delivery continues the envelope's trace from a span of its own
    // (daprd starts one per delivery under the envelope's `traceparent`).
    let trace_of = |tp: &str| devstack::traces::parse_traceparent(tp).map(|(trace, _)| trace);
    let delivered = trace_of(d.header("traceparent").unwrap()).unwrap();
    assert_eq!(
        Some(delivered),
        trace_of(ce["traceparent"].as_str().unwrap())
    );
    assert_ne!(d.header("traceparent"), ce["traceparent"].as_str());
    assert_eq!(d.header("pubsubname"), Some("pubsub"));
}

#[tokio::test]
async fn text_without_content_type_becomes_text_plain_and_bad_json_a_string() {
    let (app, sc) = worker("").await;
    publish(&sc, "orders", None, b"hello", "").await;
    publish(&sc, "orders", Some("application/json"), b"{not json", "").await;
    let got = app.wait_for("/orders", 2).await;
    let texts: Vec<serde_json::Value> = got.iter().map(|r| r.json()).collect();
    let plain = texts
        .iter()
        .find(|c| c["data"] == "hello")
        .expect("text event");
    assert_eq!(plain["datacontenttype"], "text/plain");
    let broken = texts
        .iter()
        .find(|c| c["data"] == "{not json")
        .expect("string data");
    assert_eq!(broken["datacontenttype"], "application/json");
}

#[tokio::test]
async fn a_cloudevent_body_keeps_its_id_and_gets_topic_and_trace() {
    let (app, sc) = worker("").await;
    let body = json!({
        "specversion": "1.0", "id": "evt-1", "type": "todo.task.created.v1",
        "source": "task-api", "datacontenttype": "application/json",
        "data": {"userId": "u1"}, "topic": "wrong", "pubsubname": "wrong",
    });
    let r = publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &serde_json::to_vec(&body).unwrap(),
        "?metadata.partitionKey=u1",
    )
    .await;
    assert_eq!(r.status, 204);
    let got = app.wait_for("/orders", 1).await;
    let ce = got[0].json();
    assert_eq!(ce["id"], "evt-1");
    assert_eq!(ce["type"], "todo.task.created.v1");
    assert_eq!(ce["source"], "task-api");
    assert_eq!(ce["data"], json!({"userId": "u1"}));
    assert_eq!(ce["topic"], "orders");
    assert_eq!(ce["pubsubname"], "pubsub");
    assert!(ce["traceparent"].as_str().unwrap().starts_with("00-"));
    assert_eq!(got[0].header("__key"), Some("u1"));
}

#[tokio::test]
async fn unknown_pubsub_is_404() {
    let (_app, sc) = worker("").await;
    let r = call(
        "POST",
        &sc.url("/v1.0/publish/nope/orders"),
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "ERR_PUBSUB_NOT_FOUND");
}

/// On Strimzi with topic auto-creation off (k8s/kafka/kafka.yaml) the only
/// topics are the declared `KafkaTopic`s: daprd's Kafka producer (sarama, in
/// components-contrib `common/component/kafka/producer.go`) gets
/// `UNKNOWN_TOPIC_OR_PARTITION` and `onPublish` answers 500
/// `ERR_PUBSUB_PUBLISH_MESSAGE`. With declarations loaded devstack refuses the
/// same topics, and stores nothing for them.
#[tokio::test]
async fn publishing_to_an_undeclared_topic_fails_as_on_strimzi() {
    let (_app, sc) = worker(
        r#"
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: orders, labels: { strimzi.io/cluster: todo-kafka } }
spec: { partitions: 3, replicas: 1 }
"#,
    )
    .await;
    let declared = publish(&sc, "orders", Some("application/json"), b"{}", "").await;
    assert_eq!(declared.status, 204);
    let typo = publish(&sc, "order", Some("application/json"), b"{}", "").await;
    assert_eq!(typo.status, 500);
    assert_eq!(typo.error_code(), "ERR_PUBSUB_PUBLISH_MESSAGE");
    assert!(typo.text().contains("does not exist"), "{}", typo.text());
    assert!(sc
        .store
        .messages("pubsub", "order")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn success_empty_and_non_json_replies_ack() {
    let (app, sc) = worker(&fast_retries(3)).await;
    app.reply("/orders", 200, r#"{"status":"SUCCESS"}"#);
    app.reply("/orders", 200, "");
    app.reply("/orders", 200, "thanks");
    app.reply("/orders", 200, "{}");
    for i in 0..4 {
        publish(
            &sc,
            "orders",
            Some("application/cloudevents+json"),
            &event(&format!("e{i}"), "t"),
            "",
        )
        .await;
    }
    app.wait_for("/orders", 4).await;
    wait_idle(&sc.store, GROUP).await;
    settle_with_sentinel(&app, &sc, None).await;
    let mut ids = order_ids(&app);
    ids.sort();
    assert_eq!(ids, ["e0", "e1", "e2", "e3"], "no redelivery");
    assert!(sc.store.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn retry_and_unknown_status_strings_redeliver() {
    let (app, sc) = worker(&fast_retries(5)).await;
    app.reply("/orders", 200, r#"{"status":"RETRY"}"#);
    app.reply("/orders", 200, r#"{"status":"success"}"#);
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("e1", "t"),
        "",
    )
    .await;
    let got = app.wait_for("/orders", 3).await;
    assert!(got.iter().all(|r| r.json()["id"] == "e1"));
    assert!(sc.store.dead_letters().await.unwrap().is_empty());
}

#[tokio::test]
async fn drop_goes_to_the_dead_letter_topic_with_the_original_topic() {
    let (app, sc) = worker(&fast_retries(3)).await;
    app.reply("/orders", 200, r#"{"status":"DROP"}"#);
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("poison", "t"),
        "?metadata.partitionKey=u9",
    )
    .await;
    app.wait_for("/orders", 1).await;
    wait_dead_letter(&sc.store, GROUP).await;
    let dlq = sc.store.messages("pubsub", "orders-dlq").await.unwrap();
    assert_eq!(dlq.len(), 1, "republished to the dead-letter topic");
    let ce: serde_json::Value = serde_json::from_slice(&dlq[0].data).unwrap();
    assert_eq!(ce["id"], "poison");
    assert_eq!(ce["topic"], "orders", "original topic kept");
    assert_eq!(dlq[0].partition_key.as_deref(), Some("u9"));
    settle_with_sentinel(&app, &sc, Some("u9")).await;
    assert_eq!(order_ids(&app), ["poison"], "not redelivered");
    let letters = sc.store.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].dead_letter_topic.as_deref(), Some("orders-dlq"));
}

#[tokio::test]
async fn http_404_drops() {
    let (app, sc) = worker(&fast_retries(3)).await;
    app.reply("/orders", 404, "");
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("gone", "t"),
        "",
    )
    .await;
    app.wait_for("/orders", 1).await;
    wait_dead_letter(&sc.store, GROUP).await;
    let dlq = sc.store.messages("pubsub", "orders-dlq").await.unwrap();
    assert_eq!(dlq.len(), 1, "republished to the dead-letter topic");
    settle_with_sentinel(&app, &sc, None).await;
    assert_eq!(order_ids(&app), ["gone"], "not redelivered");
}

#[tokio::test]
async fn http_500_is_retried_per_policy_then_dead_lettered() {
    let (app, sc) = worker(&fast_retries(2)).await;
    app.default_reply("/orders", 500, "boom");
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("e500", "t"),
        "",
    )
    .await;
    app.wait_for("/orders", 3).await;
    wait_dead_letter(&sc.store, GROUP).await;
    let dlq = sc.store.messages("pubsub", "orders-dlq").await.unwrap();
    assert_eq!(dlq.len(), 1, "republished to the dead-letter topic");
    // From now on the app accepts: a further attempt at `e500` would count.
    app.default_reply("/orders", 200, r#"{"status":"SUCCESS"}"#);
    settle_with_sentinel(&app, &sc, None).await;
    assert_eq!(
        order_ids(&app),
        ["e500", "e500", "e500"],
        "1 attempt + 2 retries"
    );
}

#[tokio::test]
async fn routing_rules_pick_the_first_match_and_unroutable_is_acked() {
    let app = RecordingApp::start().await;
    let rules = r#"    rules:
      - match: event.type == "a"
        path: /a
      - match: event.type == "b" || event.type == "c"
        path: /bc
    default: /other"#;
    let only_rules = r#"    rules:
      - match: event.type == "done"
        path: /done"#;
    let yaml = format!(
        "{BASE}{}{}",
        subscription("routed", "events", rules, ""),
        subscription("picky", "events", only_rules, "")
    );
    let sc = start_sidecar(
        "worker",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    for (id, t) in [("1", "a"), ("2", "c"), ("3", "z"), ("4", "done")] {
        publish(
            &sc,
            "events",
            Some("application/cloudevents+json"),
            &event(id, t),
            "",
        )
        .await;
    }
    assert_eq!(app.wait_for("/a", 1).await[0].json()["id"], "1");
    assert_eq!(app.wait_for("/bc", 1).await[0].json()["id"], "2");
    let other = app.wait_for("/other", 2).await;
    let ids: Vec<_> = other.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(ids.contains(&json!("3")) && ids.contains(&json!("4")));
    assert_eq!(app.wait_for("/done", 1).await[0].json()["id"], "4");
    wait_idle(&sc.store, "worker/picky").await;
    assert_eq!(app.requests_to("/done").len(), 1);
}

/// A rule naming a field the event lacks is a CEL evaluation error, not
/// "false": daprd's `matchRoutingRule` returns it and the subscription handler
/// (`pkg/runtime/subscription/subscription.go`) sends the message to the
/// dead-letter topic without calling the app, or without one fails it back to
/// the broker for redelivery. A rule that does not need the missing field
/// (`event.type == "a" || …`, true on its left) still routes.
#[tokio::test]
async fn a_rule_on_a_missing_field_dead_letters_instead_of_skipping() {
    let app = RecordingApp::start().await;
    let rules = r#"    rules:
      - match: event.type == "a" || event.subject == "x"
        path: /a
    default: /other"#;
    let yaml = format!(
        "{BASE}{}",
        subscription("strict", "events", rules, "  deadLetterTopic: events-dlq")
    );
    let sc = start_sidecar(
        "worker",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    for (id, t) in [("1", "a"), ("2", "b")] {
        publish(
            &sc,
            "events",
            Some("application/cloudevents+json"),
            &event(id, t),
            "",
        )
        .await;
    }
    assert_eq!(app.wait_for("/a", 1).await[0].json()["id"], "1");
    wait_dead_letter(&sc.store, "worker/strict").await;
    let dead = sc.store.messages("pubsub", "events-dlq").await.unwrap();
    assert_eq!(dead.len(), 1, "republished to the dead-letter topic");
    let body: serde_json::Value = serde_json::from_slice(&dead[0].data).unwrap();
    assert_eq!(body["id"], "2");
    assert!(
        app.requests_to("/other").is_empty(),
        "not routed to the default"
    );
}

#[tokio::test]
async fn messages_for_one_key_are_delivered_in_order() {
    let (app, sc) = worker(&fast_retries(10)).await;
    // The first message for u1 fails twice; u1's second message must wait,
    // u2's message must not.
    app.responder(|r| {
        let id = r.json()["id"].as_str().unwrap_or_default().to_string();
        (id == "u1-1").then(|| Reply {
            status: 500,
            body: String::new(),
            content_type: "text/plain",
        })
    });
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("u1-1", "t"),
        "?metadata.partitionKey=u1",
    )
    .await;
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("u1-2", "t"),
        "?metadata.partitionKey=u1",
    )
    .await;
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("u2-1", "t"),
        "?metadata.partitionKey=u2",
    )
    .await;
    // u1-1 is retried (fails), u2-1 gets through, u1-2 is held back.
    app.wait_for("/orders", 5).await;
    let ids: Vec<String> = app
        .requests_to("/orders")
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&"u2-1".to_string()), "{ids:?}");
    assert!(!ids.contains(&"u1-2".to_string()), "{ids:?}");
    // Let u1-1 succeed: now u1-2 follows it.
    app.responder(|_| None);
    let got = eventually("u1-2 delivered", || {
        let app = app.clone();
        async move {
            let ids: Vec<String> = app
                .requests_to("/orders")
                .iter()
                .map(|r| r.json()["id"].as_str().unwrap().to_string())
                .collect();
            ids.contains(&"u1-2".to_string()).then_some(ids)
        }
    })
    .await;
    let last_u1_1 = got.iter().rposition(|i| i == "u1-1").unwrap();
    let u1_2 = got.iter().position(|i| i == "u1-2").unwrap();
    assert!(last_u1_1 < u1_2, "{got:?}");
}

/// On Kafka a key picks a partition (Sarama's hash partitioner, see
/// `devstack::kafka_partition`) and the consumer hands one partition's
/// messages to the app one at a time (components-contrib
/// `common/component/kafka/consumer.go` `ConsumeClaim`), so a message being
/// retried holds up every later message of its partition, whatever their
/// keys, while other partitions go on. With `orders` declared with 3
/// partitions: `u1` and `u4` share partition 0, `u2` is on partition 2.
#[tokio::test]
async fn a_retried_message_blocks_its_whole_partition_and_only_it() {
    let topics = r#"
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: orders, labels: { strimzi.io/cluster: todo-kafka } }
spec: { partitions: 3, replicas: 1 }
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: orders-dlq, labels: { strimzi.io/cluster: todo-kafka } }
spec: { partitions: 1, replicas: 1 }
"#;
    let (app, sc) = worker(&format!("{}{topics}", fast_retries(-1))).await;
    app.responder(|r| {
        let id = r.json()["id"].as_str().unwrap_or_default().to_string();
        (id == "u1-1").then(|| Reply {
            status: 500,
            body: String::new(),
            content_type: "text/plain",
        })
    });
    for (id, key) in [("u1-1", "u1"), ("u4-1", "u4"), ("u2-1", "u2")] {
        let answer = publish(
            &sc,
            "orders",
            Some("application/cloudevents+json"),
            &event(id, "t"),
            &format!("?metadata.partitionKey={key}"),
        )
        .await;
        assert_eq!(answer.status, 204);
    }
    let ids = |app: &RecordingApp| -> Vec<String> {
        app.requests_to("/orders")
            .iter()
            .map(|r| r.json()["id"].as_str().unwrap().to_string())
            .collect()
    };
    // u1-1 keeps failing; u2-1 (partition 2) gets through, u4-1 (partition
    // 0, another key) waits behind u1-1.
    app.wait_for("/orders", 6).await;
    let seen = ids(&app);
    assert!(seen.contains(&"u2-1".to_string()), "{seen:?}");
    assert!(!seen.contains(&"u4-1".to_string()), "{seen:?}");
    let u2 = app
        .requests_to("/orders")
        .into_iter()
        .find(|r| r.json()["id"] == "u2-1")
        .unwrap();
    assert_eq!(u2.header("__partition"), Some("2"));
    let u1 = &app.requests_to("/orders")[0];
    assert_eq!(u1.header("__partition"), Some("0"));

    app.responder(|_| None);
    let got = eventually("u4-1 delivered after u1-1", || {
        let app = app.clone();
        async move {
            let seen = ids(&app);
            seen.contains(&"u4-1".to_string()).then_some(seen)
        }
    })
    .await;
    let last_u1 = got.iter().rposition(|i| i == "u1-1").unwrap();
    let u4 = got.iter().position(|i| i == "u4-1").unwrap();
    assert!(last_u1 < u4, "{got:?}");
}

/// The pubsub's `inbound.timeout` bounds each delivery (daprd's policy
/// runner, `pkg/resiliency/policy.go`: the timeout wraps each attempt, the
/// retry policy the whole): an app slower than it is cut off and the
/// message retried, not waited for.
#[tokio::test]
async fn a_delivery_slower_than_the_inbound_timeout_is_cut_off_and_retried() {
    let policy = r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: slow-app }
spec:
  policies:
    timeouts:
      appCall: 300ms
    retries:
      quick: { policy: constant, duration: 50ms, maxRetries: 3 }
  targets:
    components:
      pubsub:
        inbound: { retry: quick, timeout: appCall }
"#;
    let (app, sc) = worker(policy).await;
    app.stall_next(Duration::from_secs(20));
    let answer = publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("slow-1", "t"),
        "",
    )
    .await;
    assert_eq!(answer.status, 204);
    let got = app.wait_for("/orders", 2).await;
    let gap = got[1].at_ms - got[0].at_ms;
    assert!(
        (300..5_000).contains(&gap),
        "retried after the 300 ms timeout, not after the app's 20 s: {gap} ms"
    );
}

/// The pubsub's outbound policy wraps a publish (daprd's
/// `publisher.Publish` under `ComponentOutboundPolicy`): a publish the
/// broker refuses is retried before the app gets its 500.
#[tokio::test]
async fn a_refused_publish_is_retried_by_the_outbound_policy_before_the_500() {
    let policy = r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: publish-retries }
spec:
  policies:
    retries:
      publish: { policy: constant, duration: 400ms, maxRetries: 2 }
  targets:
    components:
      pubsub:
        outbound: { retry: publish }
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: { name: orders, labels: { strimzi.io/cluster: todo-kafka } }
spec: { partitions: 3, replicas: 1 }
"#;
    let (_app, sc) = worker(policy).await;
    let started = std::time::Instant::now();
    let refused = publish(&sc, "undeclared", Some("application/json"), b"{}", "").await;
    let took = started.elapsed();
    assert_eq!(refused.status, 500);
    assert_eq!(refused.error_code(), "ERR_PUBSUB_PUBLISH_MESSAGE");
    assert!(
        took >= Duration::from_millis(800),
        "two retries 400 ms apart before answering: {took:?}"
    );
    let started = std::time::Instant::now();
    let accepted = publish(&sc, "orders", Some("application/json"), b"{}", "").await;
    assert_eq!(accepted.status, 204);
    assert!(started.elapsed() < Duration::from_millis(400), "no retry");
}

#[tokio::test]
async fn deliveries_carry_the_app_token() {
    let app = RecordingApp::start().await;
    let yaml = format!(
        "{BASE}{}",
        subscription("s", "orders", &default_route("/orders"), "")
    );
    let sc = start_sidecar(
        "worker",
        app.addr,
        resources(&yaml),
        SidecarConfig {
            app_token: Some("app-secret".into()),
            ..SidecarConfig::default()
        },
    )
    .await;
    publish(&sc, "orders", Some("application/json"), b"{}", "").await;
    let got = app.wait_for("/orders", 1).await;
    assert_eq!(got[0].header("dapr-api-token"), Some("app-secret"));
}

#[tokio::test]
async fn expired_messages_are_not_delivered() {
    let (app, sc) = worker("").await;
    let mut ce: serde_json::Value = serde_json::from_slice(&event("old", "t")).unwrap();
    ce["expiration"] = json!("2000-01-01T00:00:00Z");
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &serde_json::to_vec(&ce).unwrap(),
        "",
    )
    .await;
    publish(
        &sc,
        "orders",
        Some("application/cloudevents+json"),
        &event("fresh", "t"),
        "",
    )
    .await;
    let got = app.wait_for("/orders", 1).await;
    assert_eq!(got[0].json()["id"], "fresh");
    let expired = wait_dead_letter(&sc.store, GROUP).await;
    let dlq = sc.store.messages("pubsub", "orders-dlq").await.unwrap();
    assert_eq!(dlq.len(), 1, "republished to the dead-letter topic");
    let ce: serde_json::Value = serde_json::from_slice(&expired.data).unwrap();
    assert_eq!(ce["id"], "old");
    assert_eq!(app.requests_to("/orders").len(), 1);
}

/// An inbound circuit breaker on the pubsub
/// (`targets.components.<pubsub>.inbound.circuitBreaker`). daprd wraps each
/// delivery attempt in the component's breaker (dapr/dapr
/// `pkg/runtime/subscription/subscription.go`: `ComponentInboundPolicy` +
/// `NewRunner`); `pkg/resiliency/policy.go` makes the open breaker's refusal
/// permanent (`breaker.IsErrorPermanent` → `backoff.Permanent`), so the
/// retries stop, and the failed message goes to the dead-letter topic
/// without the app being called. After `timeout` the breaker is half-open:
/// one delivery through, and its success closes it (sony/gobreaker).
#[tokio::test]
async fn an_inbound_circuit_breaker_stops_retries_and_dead_letters_until_it_closes() {
    let breaker = r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: inbound-breaker }
spec:
  policies:
    retries:
      quick: { policy: constant, duration: 50ms, maxRetries: 5 }
    circuitBreakers:
      deliveries: { maxRequests: 1, timeout: 1s, trip: consecutiveFailures >= 2 }
  targets:
    components:
      pubsub:
        inbound: { retry: quick, circuitBreaker: deliveries }
"#;
    let (app, sc) = worker(breaker).await;
    app.default_reply("/orders", 500, "down");
    let ce = "application/cloudevents+json";
    publish(&sc, "orders", Some(ce), &event("first", "t"), "").await;
    let letters = wait_dead_letters(&sc.store, GROUP, 1).await;
    assert_eq!(
        app.requests_to("/orders").len(),
        2,
        "two failures trip the breaker; the third attempt (of 6 the retry policy allows) is refused"
    );
    assert!(
        letters[0].reason.contains("circuit breaker is open"),
        "{}",
        letters[0].reason
    );

    // While open, a new message is dead-lettered without a call.
    publish(&sc, "orders", Some(ce), &event("second", "t"), "").await;
    let letters = wait_dead_letters(&sc.store, GROUP, 2).await;
    assert!(letters[1].reason.contains("circuit breaker is open"));
    assert_eq!(
        app.requests_to("/orders").len(),
        2,
        "the app was not called"
    );

    // Healed: once the breaker is half-open a delivery goes through and
    // closes it. Probes published before then are refused like the second.
    // Each probe is published once the one before is decided: delivered
    // (through) or dead-lettered (refused).
    app.default_reply("/orders", 200, r#"{"status":"SUCCESS"}"#);
    let mut probe = 0;
    eventually("a delivery through the half-open breaker", || {
        probe += 1;
        let body = event(&format!("probe-{probe}"), "t");
        let sc = &sc;
        let app = &app;
        async move {
            let refused = dead_letters(&sc.store, GROUP).await.len();
            publish(sc, "orders", Some(ce), &body, "").await;
            eventually("the probe delivered or dead-lettered", || async {
                if app.requests_to("/orders").len() > 2 {
                    Some(true)
                } else if dead_letters(&sc.store, GROUP).await.len() > refused {
                    Some(false)
                } else {
                    None
                }
            })
            .await
            .then_some(())
        }
    })
    .await;
    let through = app.requests_to("/orders").len();
    publish(&sc, "orders", Some(ce), &event("after", "t"), "").await;
    let seen = app.wait_for("/orders", through + 1).await;
    assert!(
        seen.iter().any(|r| r.json()["id"] == "after"),
        "closed again: the next message is delivered"
    );
}
