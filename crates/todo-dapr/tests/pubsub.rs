mod common;

use common::*;
use serde_json::json;
use todo_dapr::DaprError;

fn event() -> serde_json::Value {
    json!({
        "specversion": "1.0",
        "id": "0191f0c2-7d2e-7b6a-9f1e-3a2b1c0d9e8f",
        "source": "task-api",
        "type": "todo.task.created.v1",
        "datacontenttype": "application/json",
        "time": "2025-01-01T10:00:00Z",
        "data": {"userId": "u1", "taskId": "t1", "version": 1}
    })
}

#[test]
fn publish_sends_the_envelope_as_cloudevents_json_with_partition_key() {
    let c = client(vec![no_content()]);
    run(c.publish_event("pubsub", "task-events", &event(), "user+1@x.io/é")).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(
        req.uri,
        "/v1.0/publish/pubsub/task-events?metadata.partitionKey=user%2B1%40x.io%2F%C3%A9"
    );
    assert_eq!(
        req.header("content-type"),
        Some("application/cloudevents+json")
    );
    assert_token(&req);
    assert_eq!(req.json(), event());
}

#[test]
fn publish_without_partition_key_has_no_query() {
    let c = client_no_token(vec![no_content()]);
    run(c.publish_event("pubsub", "task-updates", &event(), "")).unwrap();
    let req = c.transport().only();
    assert_eq!(req.uri, "/v1.0/publish/pubsub/task-updates");
    assert_eq!(req.header("dapr-api-token"), None);
}

#[test]
fn publish_requires_an_event_id() {
    for bad in [
        json!({"specversion": "1.0", "type": "t", "data": {}}),
        json!({"specversion": "1.0", "id": "", "type": "t"}),
        json!({"specversion": "1.0", "id": 7, "type": "t"}),
        json!(["not", "an", "object"]),
    ] {
        let c = client(vec![]);
        let err = run(c.publish_event("pubsub", "task-events", &bad, "u1")).unwrap_err();
        assert!(matches!(err, DaprError::InvalidRequest(_)), "{err:?}");
        assert!(c.transport().requests().is_empty());
    }
}

#[test]
fn publish_errors_are_classified() {
    let c = client(vec![dapr_error(
        404,
        "ERR_PUBSUB_NOT_FOUND",
        "pubsub pubsub is not found",
    )]);
    let err = run(c.publish_event("pubsub", "task-events", &event(), "u1")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 404, ref code, .. } if code == "ERR_PUBSUB_NOT_FOUND"),
        "{err:?}"
    );
    assert!(!err.is_transient());

    let c = client(vec![dapr_error(
        403,
        "ERR_PUBSUB_FORBIDDEN",
        "topic task-events is not allowed for app id task-api",
    )]);
    let err = run(c.publish_event("pubsub", "task-events", &event(), "u1")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 403, ref code, .. } if code == "ERR_PUBSUB_FORBIDDEN"),
        "{err:?}"
    );

    let c = client(vec![dapr_error(
        400,
        "ERR_PUBSUB_NOT_CONFIGURED",
        "no pubsub is configured",
    )]);
    let err = run(c.publish_event("pubsub", "task-events", &event(), "u1")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 400, .. }),
        "{err:?}"
    );

    let c = client(vec![dapr_error(
        500,
        "ERR_PUBSUB_PUBLISH_MESSAGE",
        "error when publish to topic task-events",
    )]);
    let err = run(c.publish_event("pubsub", "task-events", &event(), "u1")).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());

    let c = client(vec![unreachable()]);
    let err = run(c.publish_event("pubsub", "task-events", &event(), "u1")).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}
