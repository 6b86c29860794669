//! State API conformance: what daprd answers (pkg/api/http/http.go state
//! handlers; shared/notes/dapr-http-contract.md "State").

mod sidecar_support;

use serde_json::json;
use sidecar_support::*;

async fn sidecar(app_id: &str) -> (TestApp, Sidecar) {
    let app = TestApp::start().await;
    let sc = start_sidecar(app_id, app.addr, resources(BASE), SidecarConfig::default()).await;
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

#[tokio::test]
async fn stale_etag_is_409_and_malformed_etag_is_400() {
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
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");

    // An ETag for a key that does not exist is a mismatch too.
    let r = post_json(&url, &json!([{ "key": "new", "value": 1, "etag": etag }])).await;
    assert_eq!(r.status, 409);
}

#[tokio::test]
async fn first_write_without_etag_only_inserts() {
    let (_app, sc) = sidecar("a").await;
    let url = sc.url("/v1.0/state/statestore");
    let item =
        json!([{ "key": "seen/e1", "value": true, "options": { "concurrency": "first-write" } }]);
    assert_eq!(post_json(&url, &item).await.status, 204);
    let r = post_json(&url, &item).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "ERR_STATE_SAVE");
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
    let app = TestApp::start().await;
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
