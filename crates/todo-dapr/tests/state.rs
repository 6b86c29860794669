mod common;

use common::*;
use serde_json::json;
use todo_dapr::state::{Concurrency, SaveItem, TxOperation, Versioned};
use todo_dapr::DaprError;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Task {
    title: String,
}

// ---- get ----------------------------------------------------------------

#[test]
fn get_returns_value_and_raw_etag_header() {
    let c = client(vec![Ok(http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("ETag", "17")
        .body(br#"{"title":"buy milk"}"#.to_vec())
        .unwrap())]);
    let got: Option<Versioned<Task>> = run(c.state("statestore").get("task/42")).unwrap();
    assert_eq!(
        got,
        Some(Versioned {
            value: Task {
                title: "buy milk".into()
            },
            etag: Some("17".into()),
        })
    );
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::GET);
    assert_eq!(req.uri, "/v1.0/state/statestore/task%2F42");
    assert_token(&req);
    assert!(req.body.is_empty());
    assert_eq!(req.header("content-type"), None);
}

#[test]
fn get_keeps_a_uuid_etag_verbatim() {
    let c = client(vec![Ok(http::Response::builder()
        .status(200)
        .header("etag", "9c4bd0a4-6c3e-4a7b-9c1e-2f1d7a6b0e11")
        .body(br#"{"title":"t"}"#.to_vec())
        .unwrap())]);
    let got: Versioned<Task> = run(c.state("statestore").get("k")).unwrap().unwrap();
    assert_eq!(
        got.etag.as_deref(),
        Some("9c4bd0a4-6c3e-4a7b-9c1e-2f1d7a6b0e11")
    );
}

#[test]
fn get_does_not_strip_or_unquote_the_etag() {
    let c = client(vec![Ok(http::Response::builder()
        .status(200)
        .header("etag", "\"W/1\"")
        .body(br#"{"title":"t"}"#.to_vec())
        .unwrap())]);
    let got: Versioned<Task> = run(c.state("statestore").get("k")).unwrap().unwrap();
    assert_eq!(got.etag.as_deref(), Some("\"W/1\""));
}

#[test]
fn get_without_etag_header_has_none() {
    let c = client(vec![response(200, r#"{"title":"t"}"#)]);
    let got: Versioned<Task> = run(c.state("statestore").get("k")).unwrap().unwrap();
    assert_eq!(got.etag, None);
}

#[test]
fn get_missing_key_is_204_and_none() {
    let c = client(vec![no_content()]);
    let got: Option<Versioned<Task>> = run(c.state("statestore").get("task/404")).unwrap();
    assert_eq!(got, None);
}

#[test]
fn no_api_token_header_when_not_configured() {
    let c = client_no_token(vec![no_content()]);
    let _: Option<Versioned<Task>> = run(c.state("statestore").get("k")).unwrap();
    let req = c.transport().only();
    assert_eq!(req.header("dapr-api-token"), None);
    assert!(!req.headers.contains_key("dapr-api-token"));
}

#[test]
fn keys_are_percent_encoded_as_one_segment() {
    let cases = [
        ("idem/u 1/a+b:c%", "idem%2Fu%201%2Fa%2Bb%3Ac%25"),
        ("entry/u1/7", "entry%2Fu1%2F7"),
        (
            "fired/reminder-1/2025-01-01T10:00:00Z",
            "fired%2Freminder-1%2F2025-01-01T10%3A00%3A00Z",
        ),
        ("a.b-c_d~e", "a.b-c_d~e"),
        ("ü?#&=", "%C3%BC%3F%23%26%3D"),
        ("..", "%2E%2E"),
        (".", "%2E"),
    ];
    for (key, encoded) in cases {
        let c = client(vec![no_content()]);
        let _: Option<Versioned<Task>> = run(c.state("statestore").get(key)).unwrap();
        assert_eq!(
            c.transport().only().uri,
            format!("/v1.0/state/statestore/{encoded}"),
            "{key}"
        );
    }
}

#[test]
fn empty_key_is_rejected_before_sending() {
    let c = client(vec![]);
    let err = run(c.state("statestore").get::<Task>("")).unwrap_err();
    assert!(matches!(err, DaprError::InvalidRequest(_)), "{err:?}");
    assert!(c.transport().requests().is_empty());
}

#[test]
fn get_errors_are_classified() {
    let c = client(vec![dapr_error(
        500,
        "ERR_STATE_GET",
        "fail to get k from state store statestore: db down",
    )]);
    let err = run(c.state("statestore").get::<Task>("k")).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient());

    let c = client(vec![unreachable()]);
    let err = run(c.state("statestore").get::<Task>("k")).unwrap_err();
    assert_eq!(err, DaprError::Unavailable("connection refused".into()));

    // daprd's token middleware answers 401 with a plain-text body.
    let c = client(vec![response(401, "invalid api token\n")]);
    let err = run(c.state("statestore").get::<Task>("k")).unwrap_err();
    match err {
        DaprError::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!(status, 401);
            assert_eq!(code, "");
            assert!(message.contains("invalid api token"));
        }
        other => panic!("{other:?}"),
    }

    let c = client(vec![dapr_error(
        400,
        "ERR_STATE_STORE_NOT_FOUND",
        "state store nope is not found",
    )]);
    let err = run(c.state("nope").get::<Task>("k")).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 400, ref code, .. } if code == "ERR_STATE_STORE_NOT_FOUND"),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[test]
fn get_with_unexpected_body_is_bad_response() {
    let c = client(vec![response(200, "not json")]);
    let err = run(c.state("statestore").get::<Task>("k")).unwrap_err();
    assert!(matches!(err, DaprError::BadResponse(_)), "{err:?}");
}

// ---- save ---------------------------------------------------------------

#[test]
fn save_sends_exact_body() {
    let c = client(vec![no_content()]);
    let items = vec![
        SaveItem {
            key: "idem/u1/k1".into(),
            value: json!({"taskId": "t1", "hash": "ab"}),
            etag: None,
            concurrency: Some(Concurrency::FirstWrite),
            ttl_seconds: Some(86400),
        },
        SaveItem {
            key: "task/1".into(),
            value: json!({"title": "x"}),
            etag: Some("3".into()),
            concurrency: Some(Concurrency::LastWrite),
            ttl_seconds: None,
        },
        SaveItem::new("plain", json!(1)),
    ];
    run(c.state("statestore").save(&items)).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri, "/v1.0/state/statestore");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_token(&req);
    assert_eq!(
        req.json(),
        json!([
            {
                "key": "idem/u1/k1",
                "value": {"taskId": "t1", "hash": "ab"},
                "options": {"concurrency": "first-write"},
                "metadata": {"ttlInSeconds": "86400"}
            },
            {
                "key": "task/1",
                "value": {"title": "x"},
                "etag": "3",
                "options": {"concurrency": "last-write"}
            },
            {"key": "plain", "value": 1}
        ])
    );
}

#[test]
fn save_etag_mismatch_is_409() {
    let c = client(vec![dapr_error(
        409,
        "ERR_STATE_SAVE",
        "failed saving state in state store statestore: possible etag mismatch. error from state store: ETag mismatch",
    )]);
    let err = run(c.state("statestore").save(&[SaveItem::new("k", json!({}))])).unwrap_err();
    assert!(matches!(err, DaprError::EtagMismatch(_)), "{err:?}");
}

#[test]
fn save_malformed_etag_is_400_rejected() {
    let c = client(vec![dapr_error(
        400,
        "ERR_STATE_SAVE",
        "failed saving state in state store statestore: invalid etag value",
    )]);
    let err = run(c.state("statestore").save(&[SaveItem::new("k", json!({}))])).unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 400, ref code, .. } if code == "ERR_STATE_SAVE"),
        "{err:?}"
    );
}

/// PostgreSQL v2 reports a lost first-write as the plain error "no item was
/// updated" (components-contrib `state/postgresql/v2/postgresql.go`, `doSet`:
/// `RowsAffected() != 1` without an ETag), which daprd's `onPostState`
/// answers as 500 `ERR_STATE_SAVE`: a conflict, like the 409 other stores give.
#[test]
fn a_first_write_lost_as_500_err_state_save_is_a_conflict() {
    let insert_only = SaveItem {
        concurrency: Some(Concurrency::FirstWrite),
        ..SaveItem::new("email/a@example.org", json!({"accountId": "1"}))
    };
    let c = client(vec![dapr_error(
        500,
        "ERR_STATE_SAVE",
        "failed saving state in state store statestore: no item was updated",
    )]);
    let err = run(c.state("statestore").save(&[insert_only])).unwrap_err();
    assert!(matches!(err, DaprError::EtagMismatch(_)), "{err:?}");
    assert!(todo_dapr::document::is_conflict(&err));
}

/// Without a first-write item the same 500 is the store failing: retry later,
/// not a conflict to re-read for.
#[test]
fn a_500_err_state_save_without_first_write_is_unavailable() {
    let c = client(vec![dapr_error(
        500,
        "ERR_STATE_SAVE",
        "failed saving state in state store statestore: connection refused",
    )]);
    let err = run(c.state("statestore").save(&[SaveItem::new("k", json!({}))])).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
    assert!(!todo_dapr::document::is_conflict(&err));
}

#[test]
fn save_nothing_sends_nothing() {
    let c = client(vec![]);
    run(c.state("statestore").save(&[])).unwrap();
    assert!(c.transport().requests().is_empty());
}

// ---- delete -------------------------------------------------------------

#[test]
fn delete_with_etag_sends_if_match() {
    let c = client(vec![no_content()]);
    run(c.state("statestore").delete("task/1", Some("5"))).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::DELETE);
    assert_eq!(req.uri, "/v1.0/state/statestore/task%2F1");
    assert_eq!(req.header("if-match"), Some("5"));
    assert_token(&req);
}

#[test]
fn delete_without_etag_has_no_if_match() {
    let c = client(vec![no_content()]);
    run(c.state("statestore").delete("task/1", None)).unwrap();
    assert!(!c.transport().only().headers.contains_key("if-match"));
}

#[test]
fn delete_conflict_is_etag_mismatch() {
    let c = client(vec![dapr_error(
        409,
        "ERR_STATE_DELETE",
        "failed deleting state with key task/1: possible etag mismatch",
    )]);
    let err = run(c.state("statestore").delete("task/1", Some("4"))).unwrap_err();
    assert!(matches!(err, DaprError::EtagMismatch(_)), "{err:?}");
    assert!(err.is_transient());
}

// ---- bulk ---------------------------------------------------------------

#[test]
fn bulk_get_keeps_request_order_and_reports_missing() {
    // Dapr may answer in any order; missing keys come back as {key} only.
    let c = client(vec![json_response(
        200,
        json!([
            {"key": "missing"},
            {"key": "task/1", "data": {"title": "one"}, "etag": "2"},
            {"key": "a", "data": {"title": "a"}, "etag": "1", "metadata": {"x": "y"}}
        ]),
    )]);
    let keys = vec!["a".to_string(), "task/1".to_string(), "missing".to_string()];
    let got = run(c.state("statestore").bulk_get::<Task>(&keys)).unwrap();
    assert_eq!(
        got,
        vec![
            (
                "a".to_string(),
                Some(Versioned {
                    value: Task { title: "a".into() },
                    etag: Some("1".into())
                })
            ),
            (
                "task/1".to_string(),
                Some(Versioned {
                    value: Task {
                        title: "one".into()
                    },
                    etag: Some("2".into())
                })
            ),
            ("missing".to_string(), None),
        ]
    );
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri, "/v1.0/state/statestore/bulk");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_token(&req);
    assert_eq!(req.json(), json!({"keys": ["a", "task/1", "missing"]}));
}

#[test]
fn bulk_get_present_null_data_is_a_value() {
    let c = client(vec![json_response(
        200,
        json!([{"key": "n", "data": null, "etag": "1"}, {"key": "m"}]),
    )]);
    let keys = vec!["n".to_string(), "m".to_string()];
    let got = run(c.state("statestore").bulk_get::<serde_json::Value>(&keys)).unwrap();
    assert_eq!(
        got,
        vec![
            (
                "n".to_string(),
                Some(Versioned {
                    value: serde_json::Value::Null,
                    etag: Some("1".into())
                })
            ),
            ("m".to_string(), None),
        ]
    );
}

#[test]
fn bulk_get_response_without_a_requested_key_is_bad_response() {
    let c = client(vec![json_response(200, json!([{"key": "a"}]))]);
    let keys = vec!["a".to_string(), "b".to_string()];
    let err = run(c.state("statestore").bulk_get::<Task>(&keys)).unwrap_err();
    assert!(matches!(err, DaprError::BadResponse(_)), "{err:?}");
}

#[test]
fn bulk_get_per_key_error_is_unavailable() {
    let c = client(vec![json_response(
        200,
        json!([{"key": "a", "error": "connection reset"}]),
    )]);
    let err = run(c.state("statestore").bulk_get::<Task>(&["a".to_string()])).unwrap_err();
    assert!(
        matches!(err, DaprError::Unavailable(ref m) if m.contains("connection reset")),
        "{err:?}"
    );
}

#[test]
fn bulk_get_failure_status_is_classified() {
    let c = client(vec![dapr_error(500, "ERR_STATE_BULK_GET", "db down")]);
    let err = run(c.state("statestore").bulk_get::<Task>(&["a".to_string()])).unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}

#[test]
fn bulk_get_of_no_keys_sends_nothing() {
    let c = client(vec![]);
    assert!(run(c.state("statestore").bulk_get::<Task>(&[]))
        .unwrap()
        .is_empty());
    assert!(c.transport().requests().is_empty());
}

// ---- transaction --------------------------------------------------------

#[test]
fn transaction_sends_exact_body() {
    let c = client(vec![no_content()]);
    let ops = vec![
        TxOperation::Upsert(SaveItem {
            key: "task/1".into(),
            value: json!({"title": "x", "version": 2}),
            etag: Some("4".into()),
            concurrency: Some(Concurrency::FirstWrite),
            ttl_seconds: Some(60),
        }),
        TxOperation::Upsert(SaveItem::new("user/u1", json!({"tasks": []}))),
        TxOperation::Delete {
            key: "idem/u1/k".into(),
            etag: Some("9".into()),
        },
        TxOperation::Delete {
            key: "y".into(),
            etag: None,
        },
    ];
    run(c.state("statestore").transaction(&ops)).unwrap();
    let req = c.transport().only();
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri, "/v1.0/state/statestore/transaction");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_token(&req);
    assert_eq!(
        req.json(),
        json!({"operations": [
            {"operation": "upsert", "request": {
                "key": "task/1",
                "value": {"title": "x", "version": 2},
                "etag": "4",
                "options": {"concurrency": "first-write"},
                "metadata": {"ttlInSeconds": "60"}
            }},
            {"operation": "upsert", "request": {"key": "user/u1", "value": {"tasks": []}}},
            {"operation": "delete", "request": {"key": "idem/u1/k", "etag": "9"}},
            {"operation": "delete", "request": {"key": "y"}}
        ]})
    );
}

#[test]
fn transaction_failure_is_500_err_state_transaction() {
    let c = client(vec![dapr_error(
        500,
        "ERR_STATE_TRANSACTION",
        "error while executing state transaction: possible etag mismatch",
    )]);
    let err = run(c.state("statestore").transaction(&[TxOperation::Delete {
        key: "k".into(),
        etag: Some("1".into()),
    }]))
    .unwrap_err();
    assert!(
        matches!(err, DaprError::TransactionFailed(ref m) if m.contains("etag mismatch")),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[test]
fn transaction_other_failures() {
    let c = client(vec![dapr_error(500, "ERR_STATE_STORE_NOT_FOUND_X", "boom")]);
    let err = run(c.state("statestore").transaction(&[TxOperation::Delete {
        key: "k".into(),
        etag: None,
    }]))
    .unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");

    let c = client(vec![dapr_error(
        400,
        "ERR_MALFORMED_REQUEST",
        "failed deserializing HTTP body",
    )]);
    let err = run(c.state("statestore").transaction(&[TxOperation::Delete {
        key: "k".into(),
        etag: None,
    }]))
    .unwrap_err();
    assert!(
        matches!(err, DaprError::Rejected { status: 400, ref code, .. } if code == "ERR_MALFORMED_REQUEST"),
        "{err:?}"
    );

    let c = client(vec![unreachable()]);
    let err = run(c.state("statestore").transaction(&[TxOperation::Delete {
        key: "k".into(),
        etag: None,
    }]))
    .unwrap_err();
    assert!(matches!(err, DaprError::Unavailable(_)), "{err:?}");
}

#[test]
fn empty_transaction_sends_nothing() {
    let c = client(vec![]);
    run(c.state("statestore").transaction(&[])).unwrap();
    assert!(c.transport().requests().is_empty());
}
