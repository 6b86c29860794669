//! Secrets, service invocation and output bindings.
mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use todo_dapr::DaprError;

// ---- secrets ------------------------------------------------------------

#[test]
fn get_secret_returns_the_map() {
    let c = client(vec![json_response(
        200,
        json!({"app-token": "s3cr3t", "api-token": "t0k"}),
    )]);
    let got = run(c.get_secret("kubernetes", "todo-tokens")).unwrap();
    let want: BTreeMap<String, String> = [("api-token", "t0k"), ("app-token", "s3cr3t")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.uri, "/v1.0/secrets/kubernetes/todo-tokens");
    assert_token(&req);
}

#[test]
fn get_secret_204_is_empty() {
    let c = client(vec![no_content()]);
    assert!(run(c.get_secret("kubernetes", "x")).unwrap().is_empty());
}

#[test]
fn missing_secret_is_not_found() {
    for store_error in [
        r#"secrets "todo-tokens" not found"#,
        "secret todo-tokens not found",
    ] {
        let c = client(vec![dapr_error(
            500,
            "ERR_SECRET_GET",
            &format!("failed getting secret with key todo-tokens from secret store kubernetes: {store_error}"),
        )]);
        let err = run(c.get_secret("kubernetes", "todo-tokens")).unwrap_err();
        assert!(
            matches!(err, DaprError::NotFound(ref m) if m.contains("todo-tokens")),
            "{err:?}"
        );
        assert!(!err.is_transient());
    }
}

#[test]
fn secret_errors_are_classified() {
    let c = client(vec![dapr_error(
        500,
        "ERR_SECRET_GET",
        "failed getting secret with key k from secret store kubernetes: connection refused",
    )]);
    let err = run(c.get_secret("kubernetes", "k")).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");

    let c = client(vec![dapr_error(
        401,
        "ERR_SECRET_STORE_NOT_FOUND",
        "failed finding secret store with key nope",
    )]);
    let err = run(c.get_secret("nope", "k")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 401, ref code, .. } if code == "ERR_SECRET_STORE_NOT_FOUND"),
        "{err:?}"
    );

    let c = client(vec![dapr_error(
        403,
        "ERR_PERMISSION_DENIED",
        "access denied by policy to get \"k\" from \"kubernetes\"",
    )]);
    let err = run(c.get_secret("kubernetes", "k")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 403, .. }),
        "{err:?}"
    );

    let c = client(vec![unreachable()]);
    assert!(matches!(
        run(c.get_secret("kubernetes", "k")).unwrap_err(),
        DaprError::Unavailable(_)
    ));
}

// ---- invoke -------------------------------------------------------------

fn next_occurrence_request() -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(http::Method::POST)
        .uri("/internal/tasks/next?dryRun=false")
        .header("content-type", "application/json")
        .header("idempotency-key", "series-1:4")
        .body(br#"{"seriesId":"series-1"}"#.to_vec())
        .unwrap()
}

#[test]
fn invoke_forwards_method_path_headers_and_body() {
    let c = client(vec![json_response(201, json!({"id": "t9"}))]);
    let response = run(c.invoke("task-api", next_occurrence_request())).unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.body(), br#"{"id":"t9"}"#);
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(
        req.uri,
        "/v1.0/invoke/task-api/method/internal/tasks/next?dryRun=false"
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("idempotency-key"), Some("series-1:4"));
    assert_token(&req);
    assert_eq!(req.body, br#"{"seriesId":"series-1"}"#);
}

#[test]
fn invoke_returns_callee_errors_as_responses() {
    let problem = r#"{"type":"about:blank","title":"Conflict","status":409}"#;
    let c = client(vec![Ok(http::Response::builder()
        .status(409)
        .header("content-type", "application/problem+json")
        .body(problem.as_bytes().to_vec())
        .unwrap())]);
    let answer = run(c.invoke("task-api", next_occurrence_request())).unwrap();
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert_eq!(answer.body(), problem.as_bytes());

    // Even a callee 500 with a JSON body is the callee's answer.
    let c = client(vec![json_response(
        500,
        json!({"errorCode": "INTERNAL", "message": "boom"}),
    )]);
    let answer = run(c.invoke("task-api", next_occurrence_request())).unwrap();
    assert_eq!(answer.status(), 500);
    let c = client(vec![response(503, "busy")]);
    assert_eq!(
        run(c.invoke("task-api", next_occurrence_request()))
            .unwrap()
            .status(),
        503
    );
}

#[test]
fn invoke_sidecar_failures_are_errors() {
    let c = client(vec![dapr_error(
        500,
        "ERR_DIRECT_INVOKE",
        "failed to invoke, id: task-api, err: rpc error: code = Unavailable desc = connection refused",
    )]);
    let err = run(c.invoke("task-api", next_occurrence_request())).unwrap_err();
    assert!(
        matches!(err, DaprError::Unavailable(ref m) if m.contains("ERR_DIRECT_INVOKE")),
        "{err:?}"
    );
    assert!(err.is_transient());

    let c = client(vec![dapr_error(
        403,
        "ERR_DIRECT_INVOKE",
        "failed to invoke, id: task-api, err: access control policy has denied access",
    )]);
    let err = run(c.invoke("task-api", next_occurrence_request())).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 403, .. }),
        "{err:?}"
    );

    let c = client(vec![unreachable()]);
    let err = run(c.invoke("task-api", next_occurrence_request())).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}

#[test]
fn invoke_get_without_token() {
    let c = client_no_token(vec![response(200, "ok")]);
    let request = http::Request::builder()
        .method(http::Method::GET)
        .uri("/internal/health")
        .body(Vec::new())
        .unwrap();
    run(c.invoke("task-api", request)).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.uri, "/v1.0/invoke/task-api/method/internal/health");
    assert_eq!(req.header("dapr-api-token"), None);
}

// ---- bindings -----------------------------------------------------------

fn smtp_metadata() -> BTreeMap<String, String> {
    [
        ("emailTo", "a@example.com"),
        ("subject", "Reminder: buy milk"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn invoke_binding_sends_operation_data_metadata() {
    let c = client(vec![no_content()]);
    let out = run(c.invoke_binding(
        "smtp",
        "create",
        &json!("<p>Buy milk</p>"),
        &smtp_metadata(),
    ))
    .unwrap();
    assert!(out.is_empty());
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri, "/v1.0/bindings/smtp");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_token(&req);
    assert_eq!(
        req.json(),
        json!({
            "operation": "create",
            "data": "<p>Buy milk</p>",
            "metadata": {"emailTo": "a@example.com", "subject": "Reminder: buy milk"}
        })
    );
}

#[test]
fn invoke_binding_returns_the_200_body() {
    let c = client(vec![response(200, r#"{"ok":true}"#)]);
    let out = run(c.invoke_binding("b", "get", &json!({}), &BTreeMap::new())).unwrap();
    assert_eq!(out, br#"{"ok":true}"#);
    assert_eq!(
        c.transport().only().json(),
        json!({"operation": "get", "data": {}, "metadata": {}})
    );
}

#[test]
fn invoke_binding_failure_is_unavailable() {
    let c = client(vec![dapr_error(
        500,
        "ERR_INVOKE_OUTPUT_BINDING",
        "error when invoke output binding smtp: dial tcp: refused",
    )]);
    let err = run(c.invoke_binding("smtp", "create", &json!("x"), &smtp_metadata())).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}

// ---- healthz ------------------------------------------------------------

#[test]
fn healthz() {
    let c = client(vec![no_content()]);
    run(c.healthz()).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.uri, "/v1.0/healthz");

    let c = client(vec![dapr_error(
        500,
        "ERR_HEALTH_NOT_READY",
        "dapr is not ready",
    )]);
    assert!(matches!(
        run(c.healthz()).unwrap_err(),
        DaprError::Unavailable(_)
    ));
}
