//! Jobs API conformance (pkg/api/http/jobs.go, pkg/api/universal/jobs.go,
//! diagridio/go-etcd-cron scheduling).

mod support;

use serde_json::json;
use support::*;

async fn sidecar(app_token: Option<&str>) -> (RecordingApp, Sidecar) {
    let app = RecordingApp::start().await;
    let sc = start_sidecar(
        "notify",
        app.addr,
        resources(BASE),
        SidecarConfig {
            app_token: app_token.map(str::to_string),
            ..SidecarConfig::default()
        },
    )
    .await;
    (app, sc)
}

#[tokio::test]
async fn schedule_get_conflict_and_overwrite() {
    let (_app, sc) = sidecar(None).await;
    let url = sc.url("/v1.0-alpha1/jobs/reminder-1");
    let job = json!({ "dueTime": in_secs(3600), "data": { "taskId": "t1" } });
    let r = post_json(&url, &job).await;
    assert_eq!(r.status, 204);

    let r = get(&url).await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["name"], "reminder-1");
    assert_eq!(body["dueTime"], job["dueTime"]);
    assert_eq!(
        body["data"],
        json!({ "@type": "type.googleapis.com/google.protobuf.Value", "value": { "taskId": "t1" } })
    );

    // Exists and overwrite is not true → 409.
    let r = post_json(&url, &job).await;
    assert_eq!(r.status, 409);
    let r = post_json(
        &url,
        &json!({ "dueTime": in_secs(60), "data": 2, "overwrite": true }),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&url).await.json()["data"]["value"], json!(2));

    // The stable path serves the same jobs.
    let r = get(&sc.url("/v1.0/jobs/reminder-1")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn get_of_a_missing_job_is_500_and_delete_is_always_204() {
    let (_app, sc) = sidecar(None).await;
    let r = get(&sc.url("/v1.0-alpha1/jobs/nope")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "DAPR_SCHEDULER_GET_JOB");
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .contains("code = NotFound"));
    let r = call("DELETE", &sc.url("/v1.0-alpha1/jobs/nope"), &[], b"").await;
    assert_eq!(r.status, 204);

    post_json(
        &sc.url("/v1.0-alpha1/jobs/j"),
        &json!({ "dueTime": "1h", "data": {} }),
    )
    .await;
    let r = call("DELETE", &sc.url("/v1.0-alpha1/jobs/j"), &[], b"").await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&sc.url("/v1.0-alpha1/jobs/j")).await.status, 500);
}

#[tokio::test]
async fn invalid_jobs_are_rejected_like_daprd() {
    let (_app, sc) = sidecar(None).await;
    let r = post_json(&sc.url("/v1.0-alpha1/jobs/j"), &json!({ "data": 1 })).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DAPR_SCHEDULER_SCHEDULE_EMPTY");
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/j"),
        &json!({ "name": "j", "dueTime": "1s" }),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DAPR_SCHEDULER_JOB_NAME");
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/a%7Cb"),
        &json!({ "dueTime": "1s" }),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "DAPR_SCHEDULER_JOB_NAME_EMPTY");
    // Five-field cron is rejected (seconds are required).
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/j"),
        &json!({ "schedule": "*/5 * * * *", "data": 1 }),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "DAPR_SCHEDULER_SCHEDULE_JOB");
    // repeats > 1 needs a schedule.
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/j"),
        &json!({ "dueTime": "1s", "repeats": 3 }),
    )
    .await;
    assert_eq!(r.status, 500);
}

#[tokio::test]
async fn the_callback_posts_the_raw_data_never_early() {
    let (app, sc) = sidecar(Some("app-secret")).await;
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let due_text = due.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let data = json!({ "taskId": "t1", "remindAt": "2026-01-01T09:00:00Z", "n": [1, 2] });
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/reminder-t1"),
        &json!({ "dueTime": due_text, "data": data }),
    )
    .await;
    assert_eq!(r.status, 204);
    let got = app.wait_for("/job/reminder-t1", 1).await;
    let cb = &got[0];
    assert_eq!(cb.method, http::Method::POST);
    assert_eq!(cb.header("content-type"), Some("application/json"));
    assert_eq!(cb.json(), data, "body is the raw data, not wrapped");
    assert_eq!(cb.header("dapr-api-token"), Some("app-secret"));
    // daprd's Scheduler streamer starts no span for a trigger and its
    // callback carries no trace context (`pkg/runtime/scheduler/internal/
    // cluster/streamer.go`: `appChannel.TriggerJob(ctx, …)` on the stream's
    // context; `traceparent` is only set when a span has a trace id).
    assert!(cb.header("traceparent").is_none());
    assert!(
        cb.at_ms >= due.timestamp_millis(),
        "fired {} ms early",
        due.timestamp_millis() - cb.at_ms
    );
    // Delivered once (a one-shot job), then gone.
    wait_job_gone(sc.addr, "reminder-t1").await;
    assert_eq!(app.requests_to("/job/reminder-t1").len(), 1);
}

#[tokio::test]
async fn a_404_reply_counts_as_delivered() {
    let (app, sc) = sidecar(None).await;
    app.default_reply("/job/j404", 404, "");
    post_json(
        &sc.url("/v1.0-alpha1/jobs/j404"),
        &json!({ "dueTime": "0s", "data": 1 }),
    )
    .await;
    app.wait_for("/job/j404", 1).await;
    // Deleted once its callback returned, as delivered: none can follow.
    wait_job_gone(sc.addr, "j404").await;
    assert_eq!(app.requests_to("/job/j404").len(), 1);
}

#[tokio::test]
async fn failures_follow_the_failure_policy() {
    let (app, sc) = sidecar(None).await;
    app.default_reply("/job/flaky", 500, "");
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/flaky"),
        &json!({
            "dueTime": "0s", "data": "x",
            "failurePolicy": { "constant": { "interval": "0.1s", "maxRetries": 2 } }
        }),
    )
    .await;
    assert_eq!(r.status, 204);
    let got = app.wait_for("/job/flaky", 3).await;
    assert!(
        got[1].at_ms - got[0].at_ms >= 90,
        "retried after the interval"
    );
    // Given up on (and deleted) after its last retry: none can follow.
    wait_job_gone(sc.addr, "flaky").await;
    assert_eq!(
        app.requests_to("/job/flaky").len(),
        3,
        "1 attempt + 2 retries"
    );
}

#[tokio::test]
async fn the_default_failure_policy_retries() {
    let (app, sc) = sidecar(None).await;
    app.reply("/job/once", 503, "");
    post_json(
        &sc.url("/v1.0-alpha1/jobs/once"),
        &json!({ "dueTime": "0s", "data": {} }),
    )
    .await;
    let got = app.wait_for("/job/once", 2).await;
    let gap = got[1].at_ms - got[0].at_ms;
    assert!(gap >= 900, "default constant 1 s interval, got {gap} ms");
}

#[tokio::test]
async fn schedules_repeat() {
    let (app, sc) = sidecar(None).await;
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/tick"),
        &json!({ "schedule": "@every 1s", "repeats": 2, "data": { "k": 1 } }),
    )
    .await;
    assert_eq!(r.status, 204);
    app.wait_for("/job/tick", 2).await;
    // Deleted after its last repeat: none can follow.
    wait_job_gone(sc.addr, "tick").await;
    assert_eq!(app.requests_to("/job/tick").len(), 2, "repeats: 2");
    let r = post_json(
        &sc.url("/v1.0-alpha1/jobs/cron6"),
        &json!({ "schedule": "* * * * * *", "repeats": 1, "data": 1 }),
    )
    .await;
    assert_eq!(r.status, 204);
    app.wait_for("/job/cron6", 1).await;
}
