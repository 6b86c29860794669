use serde_json::json;
use todo_core::events::CloudEvent;
use todo_dapr::inbound::{
    app_token_matches, job_name_from_path, parse_cloud_event, parse_job_data, presented_app_token,
    DeliveryError, DeliveryStatus,
};
use todo_dapr::DaprConfig;

#[test]
fn replies_are_exact() {
    for (status, body) in [
        (DeliveryStatus::Success, r#"{"status":"SUCCESS"}"#),
        (DeliveryStatus::Retry, r#"{"status":"RETRY"}"#),
        (DeliveryStatus::Drop, r#"{"status":"DROP"}"#),
    ] {
        let reply = status.reply();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.headers()["content-type"], "application/json");
        assert_eq!(std::str::from_utf8(reply.body()).unwrap(), body);
        // Serde agrees with the hand-written body.
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            json!(body.split('"').nth(3).unwrap())
        );
    }
}

#[derive(Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskData {
    user_id: String,
    task_id: String,
    version: u64,
}

/// What Dapr delivers for an envelope we published as application/cloudevents+json.
fn delivered() -> serde_json::Value {
    json!({
        "specversion": "1.0",
        "id": "0191f0c2-7d2e-7b6a-9f1e-3a2b1c0d9e8f",
        "source": "task-api",
        "type": "todo.task.created.v1",
        "datacontenttype": "application/json",
        "time": "2025-01-01T10:00:00Z",
        "data": {"userId": "u1", "taskId": "t1", "version": 3},
        "topic": "task-events",
        "pubsubname": "pubsub",
        "traceid": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": ""
    })
}

#[test]
fn parses_a_delivered_envelope_ignoring_dapr_fields() {
    let body = serde_json::to_vec(&delivered()).unwrap();
    let event: CloudEvent<TaskData> = parse_cloud_event(&body).unwrap();
    assert_eq!(event.id, "0191f0c2-7d2e-7b6a-9f1e-3a2b1c0d9e8f");
    assert_eq!(event.kind, "todo.task.created.v1");
    assert_eq!(event.source, "task-api");
    assert_eq!(event.specversion, "1.0");
    assert_eq!(event.time.to_rfc3339(), "2025-01-01T10:00:00+00:00");
    assert_eq!(
        event.data,
        TaskData {
            user_id: "u1".into(),
            task_id: "t1".into(),
            version: 3
        }
    );
    // Any data shape.
    let raw: CloudEvent<serde_json::Value> = parse_cloud_event(&body).unwrap();
    assert_eq!(raw.data, delivered()["data"]);
}

#[test]
fn not_a_cloud_event() {
    let mut missing_id = delivered();
    missing_id.as_object_mut().unwrap().remove("id");
    let mut empty_type = delivered();
    empty_type["type"] = json!("");
    let mut numeric_spec = delivered();
    numeric_spec["specversion"] = json!(1.0);
    for body in [
        b"not json".to_vec(),
        b"".to_vec(),
        b"[1,2]".to_vec(),
        b"\"str\"".to_vec(),
        serde_json::to_vec(&missing_id).unwrap(),
        serde_json::to_vec(&empty_type).unwrap(),
        serde_json::to_vec(&numeric_spec).unwrap(),
    ] {
        let err = parse_cloud_event::<CloudEvent<serde_json::Value>>(&body).unwrap_err();
        assert!(matches!(err, DeliveryError::NotCloudEvent(_)), "{err:?}");
        assert_eq!(err.status(), DeliveryStatus::Drop);
    }
}

#[test]
fn wrong_data_shape_is_bad_data() {
    let mut event = delivered();
    event["data"] = json!({"userId": 5});
    let err = parse_cloud_event::<CloudEvent<TaskData>>(&serde_json::to_vec(&event).unwrap())
        .unwrap_err();
    assert!(matches!(err, DeliveryError::BadData(_)), "{err:?}");
    assert_eq!(err.status(), DeliveryStatus::Drop);
}

#[test]
fn job_callbacks() {
    let data: serde_json::Value = parse_job_data(br#"{"taskId":"abc"}"#).unwrap();
    assert_eq!(data, json!({"taskId": "abc"}));
    assert!(matches!(
        parse_job_data::<TaskData>(b"{").unwrap_err(),
        DeliveryError::BadData(_)
    ));

    assert_eq!(
        job_name_from_path("/job/reminder-abc").as_deref(),
        Some("reminder-abc")
    );
    assert_eq!(
        job_name_from_path("/job/reminder%2Fa?x=1").as_deref(),
        Some("reminder/a")
    );
    assert_eq!(job_name_from_path("/job/"), None);
    assert_eq!(job_name_from_path("/job/a/b"), None);
    assert_eq!(job_name_from_path("/events/notify/reminders"), None);
}

#[test]
fn app_token_cases() {
    assert!(app_token_matches(None, None));
    assert!(app_token_matches(None, Some("anything")));
    assert!(app_token_matches(Some(""), None));
    assert!(app_token_matches(Some("s3cr3t"), Some("s3cr3t")));
    assert!(!app_token_matches(Some("s3cr3t"), None));
    assert!(!app_token_matches(Some("s3cr3t"), Some("")));
    assert!(!app_token_matches(Some("s3cr3t"), Some("S3CR3T")));
    assert!(!app_token_matches(Some("s3cr3t"), Some("s3cr3")));
    assert!(!app_token_matches(Some("s3cr3t"), Some("s3cr3tt")));
    assert!(!app_token_matches(Some("s3cr3t"), Some("x3cr3t")));
}

#[test]
fn presented_token_from_headers() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(presented_app_token(&headers), None);
    headers.insert("Dapr-Api-Token", http::HeaderValue::from_static("tok"));
    assert_eq!(presented_app_token(&headers), Some("tok"));
}

#[test]
fn config_from_env() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = DaprConfig::from_env(env(&[("DAPR_HTTP_PORT", "3501"), ("DAPR_API_TOKEN", "t")]));
    assert_eq!(c.http_port, 3501);
    assert_eq!(c.api_token.as_deref(), Some("t"));
    assert_eq!(c.base_url(), "http://localhost:3501");
    assert!(!format!("{c:?}").contains("\"t\""));

    let c = DaprConfig::from_env(env(&[("DAPR_HTTP_PORT", "nope"), ("DAPR_API_TOKEN", "")]));
    assert_eq!(c.http_port, 3500);
    assert_eq!(c.api_token, None);
}
