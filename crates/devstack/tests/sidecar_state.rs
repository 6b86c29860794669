//! State API conformance: what daprd answers (pkg/api/http/http.go state
//! handlers).

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

async fn sidecar(app_id: &str) -> (RecordingApp, Sidecar) {
    sidecar_with(app_id, "").await
}

/// A sidecar over [`BASE`] plus the resources in `extra_yaml`.
async fn sidecar_with(app_id: &str, extra_yaml: &str) -> (RecordingApp, Sidecar) {
    let app = RecordingApp::start().await;
    let yaml = format!("{BASE}{extra_yaml}");
    let sc = start_sidecar(app_id, app.addr, resources(&yaml), SidecarConfig::default()).await;
    (app, sc)
}

#[tokio::test]
async fn get_of_a_missing_key_is_204() {
    let (_app, sc) = sidecar("a").await;
    let r = get(&sc.url("/v1.0/state/statestore/nope")).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn save_then_get_returns_value_and_etag() {
    let (_app, sc) = sidecar("a").await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "task/1", "value": { "title": "x", "n": 1 } }]),
    )
    .await;
    assert_eq!(r.status, 204);
    // The client escapes `/` in the key; daprd unescapes the parameter.
    let r = get(&sc.url("/v1.0/state/statestore/task%2F1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "title": "x", "n": 1 }));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let etag = r.header("etag").expect("ETag header").to_string();
    assert!(!etag.is_empty());

    // Saving with the current ETag works and changes it.
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "task/1", "value": 2, "etag": etag }]),
    )
    .await;
    assert_eq!(r.status, 204);
    let r2 = get(&sc.url("/v1.0/state/statestore/task%2F1")).await;
    assert_ne!(r2.header("etag").unwrap(), etag);
}

/// A stale ETag is 409. So is one that is not a UUID: PostgreSQL v2's
/// `doSet`/`doDelete` (components-contrib `state/postgresql/v2/postgresql.go`)
/// `uuid.Parse` the ETag and answer `state.NewETagError(state.ETagMismatch,
/// err)`, which daprd's `stateErrorResponse` (`pkg/api/http/http.go`) maps
/// to 409 (only `ETagInvalid` is 400); inside a transaction every failure is
/// 500 `ERR_STATE_TRANSACTION`.
#[tokio::test]
async fn stale_and_malformed_etags_are_409() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore");
    post_json(&url, &json!([{ "key": "k", "value": 1 }])).await;
    let etag = get(&sc.url("/v1.0/state/statestore/k"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    post_json(&url, &json!([{ "key": "k", "value": 2 }])).await;

    let r = post_json(&url, &json!([{ "key": "k", "value": 3, "etag": etag }])).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/k")).await.json(),
        json!(2)
    );

    let r = post_json(
        &url,
        &json!([{ "key": "k", "value": 3, "etag": "not-an-etag" }]),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");
    assert!(
        r.text()
            .contains("possible etag mismatch. error from state store: invalid UUID length: 11"),
        "{}",
        r.text()
    );

    // An ETag for a key that does not exist is a mismatch too.
    let r = post_json(&url, &json!([{ "key": "new", "value": 1, "etag": etag }])).await;
    assert_eq!(r.status, 409);

    // Delete with a malformed If-Match: 409 ERR_STATE_DELETE, nothing deleted.
    let r = call(
        "DELETE",
        &sc.url("/v1.0/state/statestore/k"),
        &[("if-match", "abc")],
        b"",
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.error_code(), "ERR_STATE_DELETE");
    // In a transaction: 500 ERR_STATE_TRANSACTION.
    let r = post_json(
        &sc.url("/v1.0/state/statestore/transaction"),
        &json!({ "operations": [
            { "operation": "upsert", "request": { "key": "k", "value": 4, "etag": "abc" } }
        ] }),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_STATE_TRANSACTION");
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/k")).await.json(),
        json!(2)
    );
}

/// With an outbound retry policy on the state store, daprd retries what
/// fails — except a save's ETag mismatch, which `pkg/components/state/bulk.go`
/// makes `backoff.Permanent`; a delete (`onDeleteState`) and a transaction
/// (`onPostStateTransaction`) run under a plain policy runner, so even their
/// ETag mismatches are retried before the answer (architecture §6: why the
/// repository's Resiliency gives the state store no outbound retry).
#[tokio::test]
async fn an_outbound_retry_policy_retries_deletes_and_transactions_but_not_a_saves_etag() {
    let policy = r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: store-retries }
spec:
  policies:
    retries:
      store: { policy: constant, duration: 500ms, maxRetries: 1 }
  targets:
    components:
      statestore:
        outbound: { retry: store }
"#;
    let (_app, sc) = sidecar_with("a", policy).await;
    let url = sc.url("/v1.0/state/statestore");
    post_json(&url, &json!([{ "key": "k", "value": 1 }])).await;
    let stale = get(&sc.url("/v1.0/state/statestore/k"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    post_json(&url, &json!([{ "key": "k", "value": 2 }])).await;

    let started = std::time::Instant::now();
    let r = post_json(&url, &json!([{ "key": "k", "value": 3, "etag": stale }])).await;
    assert_eq!(r.status, 409);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "not retried"
    );

    let started = std::time::Instant::now();
    let r = post_json(
        &sc.url("/v1.0/state/statestore/transaction"),
        &json!({ "operations": [
            { "operation": "upsert", "request": { "key": "k", "value": 4, "etag": stale } }
        ] }),
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "retried once"
    );

    let started = std::time::Instant::now();
    let r = call(
        "DELETE",
        &sc.url("/v1.0/state/statestore/k"),
        &[("if-match", &stale)],
        b"",
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "retried once"
    );
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/k")).await.json(),
        json!(2)
    );
}

/// An outbound circuit breaker on the state store (daprd:
/// `pkg/resiliency/breaker/circuitbreaker.go` over sony/gobreaker, between
/// the retries and the timeout): failures that meet `trip` open it; while
/// open every call to the store is refused at once with "circuit breaker is
/// open", in the call's own error; after `timeout` one call may try
/// (half-open) and its success closes the breaker.
#[tokio::test]
async fn an_outbound_circuit_breaker_opens_refuses_and_closes_again() {
    let policy = r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: { name: store-breaker }
spec:
  policies:
    circuitBreakers:
      store:
        maxRequests: 1
        timeout: 300ms
        trip: consecutiveFailures >= 2
  targets:
    components:
      statestore:
        outbound: { circuitBreaker: store }
"#;
    let (_app, sc) = sidecar_with("a", policy).await;
    let url = sc.url("/v1.0/state/statestore");
    assert_eq!(
        post_json(&url, &json!([{ "key": "k", "value": 1 }]))
            .await
            .status,
        204
    );
    let stale = json!({ "operations": [
        { "operation": "upsert", "request": { "key": "k", "value": 2, "etag": "00000000-0000-4000-8000-000000000000" } }
    ] });
    let transaction = sc.url("/v1.0/state/statestore/transaction");
    for _ in 0..2 {
        let r = post_json(&transaction, &stale).await;
        assert_eq!(r.status, 500);
        assert!(!r.text().contains("circuit breaker"), "{}", r.text());
    }
    // Open: a read that would succeed is refused without reaching the store.
    let r = get(&sc.url("/v1.0/state/statestore/k")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_STATE_GET");
    assert!(r.text().contains("circuit breaker is open"), "{}", r.text());

    // After its timeout, one read goes through and closes it.
    let back = eventually("the breaker lets a read through", || {
        let url = sc.url("/v1.0/state/statestore/k");
        async move {
            let r = get(&url).await;
            (r.status == 200).then_some(r)
        }
    })
    .await;
    assert_eq!(back.json(), json!(1));
    assert_eq!(get(&sc.url("/v1.0/state/statestore/k")).await.status, 200);
}

/// A first-write on an existing key loses as on PostgreSQL v2, the store
/// production runs: its `doSet` (components-contrib
/// `state/postgresql/v2/postgresql.go`) upserts with `DO UPDATE … WHERE` the
/// row has expired, affects no row and returns `errors.New("no item was
/// updated")` — not an ETag error — so daprd's `onPostState`
/// (`pkg/api/http/http.go`, via `stateErrorResponse`) answers 500
/// `ERR_STATE_SAVE`, not 409. The stored value is untouched.
#[tokio::test]
async fn first_write_on_an_existing_key_is_500_err_state_save() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore");
    let item =
        json!([{ "key": "seen-e1", "value": 1, "options": { "concurrency": "first-write" } }]);
    assert_eq!(post_json(&url, &item).await.status, 204);
    let again =
        json!([{ "key": "seen-e1", "value": 2, "options": { "concurrency": "first-write" } }]);
    let r = post_json(&url, &again).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");
    assert!(r.text().contains("no item was updated"), "{}", r.text());
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/seen-e1")).await.json(),
        json!(1)
    );
}

/// A save of several items is not atomic in daprd: `onPostState` hands them
/// to `stateLoader.PerformBulkStoreOperation` → `BulkSet`, which PostgreSQL v2
/// takes from components-contrib's default bulk store (one `Set` per item,
/// errors joined). The item that succeeded stays; the ETag error among the
/// failures makes the answer 409 (`stateErrorResponse`, `errors.As`).
#[tokio::test]
async fn a_save_of_several_items_is_not_atomic() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore");
    post_json(&url, &json!([{ "key": "held", "value": 1 }])).await;
    let r = post_json(
        &url,
        &json!([
            { "key": "fresh", "value": "written" },
            { "key": "held", "value": 2, "etag": "00000000-0000-0000-0000-000000000000" }
        ]),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/fresh")).await.json(),
        json!("written"),
        "the other item was saved"
    );
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/held")).await.json(),
        json!(1)
    );
}

/// The URL's `metadata.*` parameters are merged over each item's metadata
/// (`onPostState`: `for k, v := range metadata { reqs[i].Metadata[k] = v }`),
/// so a query-string `ttlInSeconds` wins over the item's.
#[tokio::test]
async fn a_query_string_ttl_wins_over_the_items() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore?metadata.ttlInSeconds=60");
    let r = post_json(
        &url,
        &json!([{ "key": "k", "value": 1, "metadata": { "ttlInSeconds": "86400" } }]),
    )
    .await;
    assert_eq!(r.status, 204);
    let got = get(&sc.url("/v1.0/state/statestore/k")).await;
    let expires = chrono::DateTime::parse_from_rfc3339(
        got.header("metadata.ttlExpireTime")
            .expect("an expiring entry"),
    )
    .unwrap();
    let left = expires
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!(
        (50..=61).contains(&left),
        "expires in {left} s, not in a day"
    );
}

#[tokio::test]
async fn delete_with_if_match() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore");
    post_json(&url, &json!([{ "key": "k", "value": 1 }])).await;
    let etag = get(&sc.url("/v1.0/state/statestore/k"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let wrong = uuid::Uuid::new_v4().to_string();
    let r = call(
        "DELETE",
        &sc.url("/v1.0/state/statestore/k"),
        &[("if-match", &wrong)],
        b"",
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "ERR_STATE_DELETE");
    let r = call(
        "DELETE",
        &sc.url("/v1.0/state/statestore/k"),
        &[("if-match", &etag)],
        b"",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&sc.url("/v1.0/state/statestore/k")).await.status, 204);
    // Deleting a missing key without an ETag succeeds.
    let r = call("DELETE", &sc.url("/v1.0/state/statestore/k"), &[], b"").await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn bulk_get_lists_missing_keys_with_key_only() {
    let (_app, sc) = sidecar("a").await;
    post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "a", "value": {"v": 1} }, { "key": "c", "value": "s" }]),
    )
    .await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["a", "b", "c"] }),
    )
    .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["key"], "a");
    assert_eq!(items[0]["data"], json!({"v": 1}));
    assert!(items[0]["etag"].is_string());
    assert_eq!(items[1], json!({ "key": "b" }));
    assert_eq!(items[2]["data"], json!("s"));
}

#[tokio::test]
async fn transaction_is_atomic_and_an_etag_mismatch_is_500() {
    let (_app, sc) = sidecar("a").await;
    let tx = sc.url("/v1.0/state/statestore/transaction");
    let r = post_json(
        &tx,
        &json!({ "operations": [
            { "operation": "upsert", "request": { "key": "task/1", "value": {"v": 1} } },
            { "operation": "upsert", "request": { "key": "user/u", "value": ["task/1"] } },
        ]}),
    )
    .await;
    assert_eq!(r.status, 204);
    let etag = get(&sc.url("/v1.0/state/statestore/task%2F1"))
        .await
        .header("etag")
        .unwrap()
        .to_string();

    // One stale ETag fails the whole transaction with 500, not 409.
    let stale = uuid::Uuid::new_v4().to_string();
    let r = post_json(
        &tx,
        &json!({ "operations": [
            { "operation": "upsert", "request": { "key": "task/1", "value": {"v": 2}, "etag": etag } },
            { "operation": "upsert", "request": { "key": "user/u", "value": [], "etag": stale } },
        ]}),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_STATE_TRANSACTION");
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/task%2F1")).await.json(),
        json!({"v": 1}),
        "nothing applied"
    );

    // Delete inside a transaction.
    let r = post_json(
        &tx,
        &json!({ "operations": [
            { "operation": "delete", "request": { "key": "task/1", "etag": etag } },
        ]}),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/task%2F1")).await.status,
        204
    );

    let r = post_json(
        &tx,
        &json!({ "operations": [{ "operation": "merge", "request": { "key": "x" } }] }),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn ttl_expires_entries() {
    let (_app, sc) = sidecar("a").await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "idem/u/k", "value": 1, "metadata": { "ttlInSeconds": "1" } }]),
    )
    .await;
    assert_eq!(r.status, 204);
    let first = get(&sc.url("/v1.0/state/statestore/idem%2Fu%2Fk")).await;
    assert_eq!(first.status, 200);
    assert!(first.header("metadata.ttlExpireTime").is_some());
    let url = sc.url("/v1.0/state/statestore/idem%2Fu%2Fk");
    eventually("the entry to expire", || {
        let url = url.clone();
        async move { (get(&url).await.status == 204).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_key_containing_the_separator_is_400() {
    let (_app, sc) = sidecar("a").await;
    let r = get(&sc.url("/v1.0/state/statestore/a%7C%7Cb")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "ERR_MALFORMED_REQUEST");
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "x||y", "value": 1 }]),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn keys_are_prefixed_with_the_app_id() {
    let store = devstack::store::Store::open(None).unwrap();
    let app = RecordingApp::start().await;
    let a = start_sidecar(
        "app-a",
        app.addr,
        resources(BASE),
        SidecarConfig {
            store: Some(store.clone()),
            ..SidecarConfig::default()
        },
    )
    .await;
    let b = start_sidecar(
        "app-b",
        app.addr,
        resources(BASE),
        SidecarConfig {
            store: Some(store.clone()),
            ..SidecarConfig::default()
        },
    )
    .await;
    post_json(
        &a.url("/v1.0/state/statestore"),
        &json!([{ "key": "k", "value": "a" }]),
    )
    .await;
    assert_eq!(get(&b.url("/v1.0/state/statestore/k")).await.status, 204);
    assert_eq!(
        get(&a.url("/v1.0/state/statestore/k")).await.json(),
        json!("a")
    );
    let raw = store.state_get("statestore", "app-a||k").await.unwrap();
    assert_eq!(raw.unwrap().value, b"\"a\"".to_vec());
}

#[tokio::test]
async fn unknown_store_is_400() {
    let (_app, sc) = sidecar("a").await;
    let r = get(&sc.url("/v1.0/state/other/k")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "ERR_STATE_STORE_NOT_FOUND");
}

// ---------------------------------------------------------------------------
// Values are bytes: daprd hands the stored JSON back as is.
// - GET: pkg/api/http/http.go `onGetState` writes the store's `Data` as the
//   body; components-contrib state/postgresql/v2/postgresql.go `Get` returns
//   the `value` BYTEA column untouched.
// - bulk GET: `onBulkGetState` puts that same `Data` into each
//   `BulkGetResponse.Data` (a `json.RawMessage`, pkg/api/http/responses.go),
//   fields in the order key, data, etag, metadata; PostgreSQL v2 `BulkGet`
//   adds `ttlExpireTime` metadata for rows that expire.
// A parse and re-serialise would reorder the keys, drop the whitespace, turn
// 12345678901234567890 into 12345678901234567000 or 1.0 into 1, and unescape
// `\u00e9`; none of that may happen.

/// A document whose bytes any parse + re-serialise would change.
const DOC: &str = "{\"z\": 1,  \"a\" : [1.0, 12345678901234567890, 1e2, -0.0],\n \"s\":\"\\u00e9<&>\\/\", \"n\":null}";

/// Saves `DOC` under `doc` with a hand-written request body, so the value's
/// text is exactly `DOC`.
async fn save_doc(sc: &Sidecar) {
    let body = format!(r#"[{{"key":"doc","value":{DOC}}}]"#);
    let r = call(
        "POST",
        &sc.url("/v1.0/state/statestore"),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
}

#[tokio::test]
async fn get_returns_the_saved_value_byte_for_byte() {
    let (_app, sc) = sidecar("a").await;
    save_doc(&sc).await;
    let r = get(&sc.url("/v1.0/state/statestore/doc")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), DOC);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Stored as sent, too.
    let stored = sc.store.state_get("statestore", "a||doc").await.unwrap();
    assert_eq!(stored.unwrap().value, DOC.as_bytes());
}

#[tokio::test]
async fn get_and_bulk_get_return_the_stored_bytes_without_parsing_them() {
    let (_app, sc) = sidecar("a").await;
    // Written behind the API: whatever the store holds is what comes back.
    let stored = "[ 1.0 ,{\"b\":2,\"a\":1} , 123456789012345678901234567890 ]";
    sc.store
        .state_apply(
            "statestore",
            vec![devstack::store::StateOp::Set {
                key: "a||raw".into(),
                value: stored.as_bytes().to_vec(),
                etag: None,
                first_write: false,
                expires_at: None,
            }],
        )
        .await
        .unwrap();
    let r = get(&sc.url("/v1.0/state/statestore/raw")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), stored);
    let etag = r.header("etag").unwrap().to_string();
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["raw"] }),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        format!(r#"[{{"key":"raw","data":{stored},"etag":"{etag}"}}]"#)
    );
}

#[tokio::test]
async fn bulk_get_returns_each_saved_value_byte_for_byte() {
    let (_app, sc) = sidecar("a").await;
    save_doc(&sc).await;
    let etag = get(&sc.url("/v1.0/state/statestore/doc"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "s", "value": "a \"quoted\" <string>" }]),
    )
    .await;
    let s_etag = get(&sc.url("/v1.0/state/statestore/s"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["doc", "missing", "s", "we\"ird"] }),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let expected = format!(
        concat!(
            r#"[{{"key":"doc","data":{doc},"etag":"{etag}"}},"#,
            r#"{{"key":"missing"}},"#,
            r#"{{"key":"s","data":"a \"quoted\" <string>","etag":"{s_etag}"}},"#,
            r#"{{"key":"we\"ird"}}]"#
        ),
        doc = DOC,
        etag = etag,
        s_etag = s_etag,
    );
    assert_eq!(r.text(), expected);
    // And it is JSON a client can read.
    assert_eq!(
        r.json()[0]["data"]["a"][1].to_string(),
        "12345678901234567890"
    );
}

#[tokio::test]
async fn a_transaction_upsert_stores_the_value_byte_for_byte() {
    let (_app, sc) = sidecar("a").await;
    let body = format!(
        r#"{{"operations":[{{"operation":"upsert","request":{{"key":"doc","value":{DOC}}}}}]}}"#
    );
    let r = call(
        "POST",
        &sc.url("/v1.0/state/statestore/transaction"),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(get(&sc.url("/v1.0/state/statestore/doc")).await.text(), DOC);
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["doc"] }),
    )
    .await;
    assert!(
        r.text().contains(&format!(r#""data":{DOC},"#)),
        "{}",
        r.text()
    );
}

/// PostgreSQL v2 `doSet` stores `json.Marshal(value)`: a string as its JSON
/// encoding, a missing or null value as `null`.
#[tokio::test]
async fn strings_are_stored_as_json_and_a_missing_value_as_null() {
    let (_app, sc) = sidecar("a").await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([{ "key": "s", "value": "plain" }, { "key": "none" }, { "key": "nul", "value": null }]),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/s")).await.text(),
        "\"plain\""
    );
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/none")).await.text(),
        "null"
    );
    assert_eq!(
        get(&sc.url("/v1.0/state/statestore/nul")).await.text(),
        "null"
    );
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["none"] }),
    )
    .await;
    assert_eq!(r.json()[0]["data"], serde_json::Value::Null);
    assert!(r.text().contains(r#""data":null"#));
}

/// PostgreSQL v2 `BulkGet` reports the expiry as `ttlExpireTime` metadata,
/// the same value `Get` sends as the `metadata.ttlExpireTime` header.
#[tokio::test]
async fn bulk_get_reports_the_ttl_expire_time() {
    let (_app, sc) = sidecar("a").await;
    let r = post_json(
        &sc.url("/v1.0/state/statestore"),
        &json!([
            { "key": "t", "value": {"v": 1}, "metadata": { "ttlInSeconds": "3600" } },
            { "key": "p", "value": 2 },
        ]),
    )
    .await;
    assert_eq!(r.status, 204);
    let header = get(&sc.url("/v1.0/state/statestore/t"))
        .await
        .header("metadata.ttlExpireTime")
        .expect("ttl header")
        .to_string();
    let r = post_json(
        &sc.url("/v1.0/state/statestore/bulk"),
        &json!({ "keys": ["t", "p"] }),
    )
    .await;
    let body = r.json();
    assert_eq!(body[0]["metadata"], json!({ "ttlExpireTime": header }));
    assert!(chrono::DateTime::parse_from_rfc3339(&header).is_ok());
    assert!(body[1].get("metadata").is_none(), "{body}");
}
