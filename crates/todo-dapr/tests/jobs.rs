mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

use todo_dapr::jobs::{FailurePolicy, Job};
use todo_dapr::DaprError;

fn reminder_job() -> Job {
    Job {
        schedule: None,
        due_time: Some("2025-01-01T10:00:00Z".into()),
        repeats: None,
        ttl: None,
        data: json!({"taskId": "abc", "remindAt": "2025-01-01T10:00:00Z"}),
        overwrite: true,
        failure_policy: None,
    }
}

#[test]
fn schedule_posts_camel_case_job_with_data() {
    let c = client(vec![no_content()]);
    run(c.schedule_job("reminder-abc", &reminder_job())).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri, "/v1.0-alpha1/jobs/reminder-abc");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_token(&req);
    assert_eq!(
        req.json(),
        json!({
            "dueTime": "2025-01-01T10:00:00Z",
            "data": {"taskId": "abc", "remindAt": "2025-01-01T10:00:00Z"},
            "overwrite": true
        })
    );
}

#[test]
fn schedule_always_sends_data_and_omits_false_overwrite() {
    let c = client(vec![no_content()]);
    let job = Job {
        schedule: Some("@every 1m".into()),
        due_time: None,
        repeats: Some(3),
        ttl: Some("1h".into()),
        data: serde_json::Value::Null,
        overwrite: false,
        failure_policy: None,
    };
    run(c.schedule_job("sweep", &job)).unwrap();
    let body = c.transport().only().json();
    assert_eq!(
        body,
        json!({"schedule": "@every 1m", "repeats": 3, "ttl": "1h", "data": null})
    );
    assert!(body.as_object().unwrap().contains_key("data"));
}

#[test]
fn schedule_sends_a_constant_failure_policy_as_protojson() {
    // dapr/proto/common/v1/common.proto JobFailurePolicyConstant: `interval`
    // is a google.protobuf.Duration ("10s"), `max_retries` a uint32 whose JSON
    // name is `maxRetries`.
    let c = client(vec![no_content()]);
    let mut job = reminder_job();
    job.failure_policy = Some(FailurePolicy::constant(Duration::from_secs(10), 30));
    run(c.schedule_job("reminder-abc", &job)).unwrap();
    assert_eq!(
        c.transport().only().json(),
        json!({
            "dueTime": "2025-01-01T10:00:00Z",
            "data": {"taskId": "abc", "remindAt": "2025-01-01T10:00:00Z"},
            "overwrite": true,
            "failurePolicy": {"constant": {"interval": "10s", "maxRetries": 30}}
        })
    );
}

#[test]
fn schedule_sends_drop_and_unbounded_policies() {
    let c = client(vec![no_content(), no_content(), no_content()]);
    let mut job = reminder_job();
    job.failure_policy = Some(FailurePolicy::Drop);
    run(c.schedule_job("a", &job)).unwrap();
    job.failure_policy = Some(FailurePolicy::Constant {
        interval: Duration::from_millis(1500),
        max_retries: None,
    });
    run(c.schedule_job("b", &job)).unwrap();
    job.failure_policy = Some(FailurePolicy::Constant {
        interval: Duration::ZERO,
        max_retries: Some(0),
    });
    run(c.schedule_job("c", &job)).unwrap();
    let policies: Vec<_> = c
        .transport()
        .requests()
        .iter()
        .map(|r| r.json()["failurePolicy"].clone())
        .collect();
    assert_eq!(
        policies,
        [
            json!({"drop": {}}),
            json!({"constant": {"interval": "1.500s"}}),
            json!({"constant": {"interval": "0s", "maxRetries": 0}}),
        ]
    );
}

#[test]
fn failure_policies_parse_from_protojson_in_either_naming() {
    let parse = |v: serde_json::Value| serde_json::from_value::<FailurePolicy>(v);
    let ten_by_thirty = FailurePolicy::constant(Duration::from_secs(10), 30);
    // camelCase (what daprd writes) and snake_case (the proto names the docs
    // show); protojson also reads a uint32 from a string.
    for v in [
        json!({"constant": {"interval": "10s", "maxRetries": 30}}),
        json!({"constant": {"interval": "10s", "max_retries": 30}}),
        json!({"constant": {"interval": "10.000s", "maxRetries": "30"}}),
    ] {
        assert_eq!(parse(v.clone()).unwrap(), ten_by_thirty, "{v}");
    }
    assert_eq!(parse(json!({"drop": {}})).unwrap(), FailurePolicy::Drop);
    assert_eq!(
        parse(json!({"constant": {}})).unwrap(),
        FailurePolicy::Constant {
            interval: Duration::ZERO,
            max_retries: None
        },
        "no interval = at once; no maxRetries = without end"
    );
    assert_eq!(
        parse(json!({"constant": {"interval": "0.000000250s"}})).unwrap(),
        FailurePolicy::Constant {
            interval: Duration::from_nanos(250),
            max_retries: None
        }
    );
    for bad in [
        json!({}),
        json!({"drop": {}, "constant": {}}),
        json!({"constant": {"interval": "10"}}),
        json!({"constant": {"interval": "1m"}}),
        json!({"constant": {"interval": "-1s"}}),
        json!({"constant": {"interval": "1.s"}}),
        json!({"constant": {"interval": "1.0000000001s"}}),
        json!({"constant": {"maxRetries": -1}}),
        json!({"constant": {"maxRetries": "x"}}),
    ] {
        assert!(parse(bad.clone()).is_err(), "{bad}");
    }
    // Round trip, and the serialized form is what daprd itself writes.
    for p in [
        FailurePolicy::Drop,
        ten_by_thirty.clone(),
        FailurePolicy::Constant {
            interval: Duration::from_micros(2500),
            max_retries: None,
        },
    ] {
        assert_eq!(parse(serde_json::to_value(&p).unwrap()).unwrap(), p);
    }
    assert_eq!(
        serde_json::to_value(FailurePolicy::Constant {
            interval: Duration::from_micros(2500),
            max_retries: None,
        })
        .unwrap(),
        json!({"constant": {"interval": "0.002500s"}})
    );
}

#[test]
fn failure_policy_retry_windows() {
    assert_eq!(
        FailurePolicy::dapr_default().retry_window(),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        FailurePolicy::constant(Duration::from_secs(10), 30).retry_window(),
        Some(Duration::from_secs(300))
    );
    assert_eq!(FailurePolicy::Drop.retry_window(), Some(Duration::ZERO));
    let endless = FailurePolicy::Constant {
        interval: Duration::from_secs(1),
        max_retries: None,
    };
    assert_eq!(endless.retry_window(), None);
}

#[test]
fn schedule_conflict_is_a_non_transient_409_rejection() {
    let c = client(vec![dapr_error(
        409,
        "DAPR_SCHEDULER_SCHEDULE_JOB",
        "failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists",
    )]);
    let mut job = reminder_job();
    job.overwrite = false;
    let err = run(c.schedule_job("reminder-abc", &job)).unwrap_err();
    match &err {
        DaprError::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!(*status, 409);
            assert_eq!(code, "DAPR_SCHEDULER_SCHEDULE_JOB");
            assert!(message.contains("already exists"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
}

#[test]
fn schedule_conflict_without_body_is_still_409() {
    let c = client(vec![response(409, "")]);
    let err = run(c.schedule_job("reminder-abc", &reminder_job())).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 409, .. }),
        "{err:?}"
    );
}

#[test]
fn schedule_other_errors() {
    let c = client(vec![dapr_error(
        400,
        "DAPR_SCHEDULER_SCHEDULE_EMPTY",
        "Schedule is empty",
    )]);
    let err = run(c.schedule_job("x", &reminder_job())).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 400, .. }),
        "{err:?}"
    );

    let c = client(vec![dapr_error(
        500,
        "DAPR_SCHEDULER_SCHEDULE_JOB",
        "failed to schedule job due to: scheduler unavailable",
    )]);
    let err = run(c.schedule_job("x", &reminder_job())).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");

    let c = client(vec![unreachable()]);
    let err = run(c.schedule_job("x", &reminder_job())).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}

#[test]
fn schedule_rejects_invalid_jobs_before_sending() {
    let c = client(vec![]);
    let mut job = reminder_job();
    job.due_time = None;
    let err = run(c.schedule_job("x", &job)).unwrap_err();
    assert!(matches!(err, DaprError::InvalidRequest(_)), "{err:?}");
    for name in ["", "a|b"] {
        let err = run(c.schedule_job(name, &reminder_job())).unwrap_err();
        assert!(
            matches!(err, DaprError::InvalidRequest(_)),
            "{name}: {err:?}"
        );
    }
    assert!(c.transport().requests().is_empty());
}

#[test]
fn get_unwraps_protojson_any_data() {
    // The shape daprd answers (runtime.v1.Job as protojson; dapr/quickstarts jobs README).
    let c = client(vec![json_response(
        200,
        json!({
            "name": "reminder-abc",
            "dueTime": "2025-01-01T10:00:00Z",
            "data": {
                "@type": "type.googleapis.com/google.protobuf.Value",
                "value": {"taskId": "abc", "remindAt": "2025-01-01T10:00:00Z"}
            },
            "failurePolicy": {"constant": {"interval": "1s", "maxRetries": 3}}
        }),
    )]);
    let job = run(c.get_job("reminder-abc")).unwrap().unwrap();
    assert_eq!(
        job,
        Job {
            schedule: None,
            due_time: Some("2025-01-01T10:00:00Z".into()),
            repeats: None,
            ttl: None,
            data: json!({"taskId": "abc", "remindAt": "2025-01-01T10:00:00Z"}),
            overwrite: false,
            failure_policy: Some(FailurePolicy::dapr_default()),
        }
    );
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.uri, "/v1.0-alpha1/jobs/reminder-abc");
    assert_token(&req);
}

#[test]
fn get_keeps_schedule_fields_and_unwrapped_data() {
    let c = client(vec![json_response(
        200,
        json!({"name": "sweep", "schedule": "@every 1m", "repeats": 3, "ttl": "1h", "data": "plain"}),
    )]);
    let job = run(c.get_job("sweep")).unwrap().unwrap();
    assert_eq!(job.failure_policy, None, "a daprd that predates the field");
    assert_eq!(job.schedule.as_deref(), Some("@every 1m"));
    assert_eq!(job.repeats, Some(3));
    assert_eq!(job.ttl.as_deref(), Some("1h"));
    assert_eq!(job.data, json!("plain"));
}

#[test]
fn get_parses_the_failure_policy_back() {
    let c = client(vec![
        json_response(
            200,
            json!({
                "name": "reminder-abc",
                "dueTime": "2025-01-01T10:00:00Z",
                "data": {"@type": "type.googleapis.com/google.protobuf.Value", "value": {}},
                "failurePolicy": {"constant": {"interval": "10s", "maxRetries": 30}}
            }),
        ),
        json_response(
            200,
            json!({"name": "x", "dueTime": "1s", "data": 1, "failure_policy": {"drop": {}}}),
        ),
        json_response(
            200,
            json!({"name": "x", "dueTime": "1s", "data": 1, "failurePolicy": {"constant": {"interval": "soon"}}}),
        ),
    ]);
    let job = run(c.get_job("reminder-abc")).unwrap().unwrap();
    assert_eq!(
        job.failure_policy,
        Some(FailurePolicy::constant(Duration::from_secs(10), 30))
    );
    let job = run(c.get_job("x")).unwrap().unwrap();
    assert_eq!(job.failure_policy, Some(FailurePolicy::Drop));
    let err = run(c.get_job("x")).unwrap_err();
    assert!(matches!(err, DaprError::BadResponse(_)), "{err:?}");
}

#[test]
fn get_missing_job_is_none() {
    // Exact body from dapr/quickstarts jobs/python/http/README.md.
    let body = r#"{"errorCode":"DAPR_SCHEDULER_GET_JOB","message":"failed to get job due to: rpc error: code = NotFound desc = job not found: c-3po","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io","metadata":{"appID":"job-service","namespace":"default"},"reason":"DAPR_SCHEDULER_GET_JOB"}]}"#;
    let c = client(vec![response(500, body)]);
    assert_eq!(run(c.get_job("c-3po")).unwrap(), None);
}

#[test]
fn get_job_scheduler_failure_is_unavailable() {
    let c = client(vec![dapr_error(
        500,
        "DAPR_SCHEDULER_GET_JOB",
        "failed to get job due to: rpc error: code = Unavailable desc = connection refused",
    )]);
    let err = run(c.get_job("x")).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");

    // A not-found text under another error code is not a missing job.
    let c = client(vec![dapr_error(500, "ERR_OTHER", "job not found")]);
    assert!(run(c.get_job("x")).is_err());

    let c = client(vec![unreachable()]);
    assert!(matches!(
        run(c.get_job("x")).unwrap_err(),
        DaprError::Unavailable(_)
    ));
}

#[test]
fn delete_job_is_204_even_when_missing() {
    let c = client(vec![no_content()]);
    run(c.delete_job("reminder-abc")).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::DELETE);
    assert_eq!(req.uri, "/v1.0-alpha1/jobs/reminder-abc");
    assert_token(&req);
    assert!(req.body.is_empty());

    let c = client(vec![dapr_error(
        500,
        "DAPR_SCHEDULER_DELETE_JOB",
        "failed to delete job due to: boom",
    )]);
    assert!(matches!(
        run(c.delete_job("x")).unwrap_err(),
        DaprError::Unavailable(_)
    ));
}

#[test]
fn job_names_are_encoded() {
    let c = client(vec![no_content()]);
    run(c.delete_job("reminder/a b")).unwrap();
    assert_eq!(
        c.transport().only().uri,
        "/v1.0-alpha1/jobs/reminder%2Fa%20b"
    );
}
