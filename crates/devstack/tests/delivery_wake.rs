//! A publish wakes the delivery workers: the message goes to the app as
//! soon as it is in the log, as daprd delivers a Kafka message as soon as
//! its consumer reads it — not at the worker's next idle recheck. Shown
//! with workers whose recheck is an hour: every message still arrives, and
//! in order (waits poll with a deadline; nothing is timed).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use devstack::delivery;
use devstack::sidecar::app::AppTarget;
use devstack::store::{NewMessage, Store};
use serde_json::json;
use support::*;
use tokio::sync::watch;

const SUBSCRIPTION: &str = r#"
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: { name: orders-sub }
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    default: /orders
scopes: [worker]
"#;

/// The consumer group of the subscription (`<app-id>/<subscription>`).
const GROUP: &str = "worker/orders-sub";

fn message(n: u64) -> NewMessage {
    let event = json!({
        "specversion": "1.0", "id": format!("order-{n}"), "type": "order.placed",
        "source": "test", "datacontenttype": "application/json", "data": { "n": n },
    });
    NewMessage {
        pubsub: "pubsub".into(),
        topic: "orders".into(),
        partition_key: Some("customer-1".into()),
        content_type: "application/cloudevents+json".into(),
        metadata: BTreeMap::new(),
        data: serde_json::to_vec(&event).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_is_delivered_without_waiting_for_a_recheck() {
    let app = RecordingApp::start().await;
    let store = Store::open(None).unwrap();
    let resources = Arc::new(resources(&format!("{BASE}{SUBSCRIPTION}")));
    let (stop, shutdown) = watch::channel(false);
    let workers = delivery::start_with_recheck(
        store.clone(),
        resources,
        Default::default(),
        AppTarget {
            app_id: "worker".into(),
            addr: app.addr,
            app_token: None,
        },
        shutdown,
        Duration::from_secs(3600),
    );

    // Each message is published while the worker is idle (it has delivered
    // the one before): only the publish can wake it within the test.
    for n in 1..=3 {
        store.publish(message(n)).await.unwrap();
        let got = app.wait_for("/orders", n as usize).await;
        let ids: Vec<String> = got
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                body["id"].as_str().unwrap().to_string()
            })
            .collect();
        let expected: Vec<String> = (1..=n).map(|i| format!("order-{i}")).collect();
        assert_eq!(ids, expected);
        // Acknowledged: the worker has nothing left and goes idle.
        wait_idle(&store, GROUP).await;
    }

    stop.send(true).unwrap();
    workers.await.unwrap();
}
