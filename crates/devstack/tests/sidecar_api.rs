//! API token, service invocation, secrets, output and cron bindings,
//! metadata and health — each checked against what daprd answers.

mod support;

use std::collections::HashMap;

use devstack::sidecar::Peer;
use serde_json::json;
use support::*;

#[tokio::test]
async fn dapr_api_token_is_enforced_with_a_plain_text_401() {
    let app = RecordingApp::start().await;
    let sc = start_sidecar(
        "a",
        app.addr,
        resources(BASE),
        SidecarConfig {
            api_token: Some("s3cret".into()),
            ..SidecarConfig::default()
        },
    )
    .await;
    for path in [
        "/v1.0/state/statestore/k",
        "/v1.0/metadata",
        "/v1.0-alpha1/jobs/j",
    ] {
        let r = get(&sc.url(path)).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.text(), "invalid api token\n");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        let r = call("GET", &sc.url(path), &[("dapr-api-token", "wrong")], b"").await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(get(&sc.url("/v1.0/healthz")).await.status, 204);
    assert_eq!(get(&sc.url("/v1.0/healthz/outbound")).await.status, 204);
    let r = call(
        "GET",
        &sc.url("/v1.0/state/statestore/k"),
        &[("dapr-api-token", "s3cret")],
        b"",
    )
    .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn service_invocation_forwards_with_dapr_headers() {
    let caller_app = RecordingApp::start().await;
    let callee = RecordingApp::start().await;
    callee.responder(|r| {
        (r.path_only() == "/internal/tasks/next").then(|| Reply {
            status: 201,
            body: r#"{"id":"t2"}"#.into(),
            content_type: "application/json",
        })
    });
    let mut peers = HashMap::new();
    peers.insert(
        "task-api".to_string(),
        Peer {
            addr: callee.addr,
            app_token: Some("callee-token".into()),
        },
    );
    let sc = start_sidecar(
        "recurrence",
        caller_app.addr,
        resources(BASE),
        SidecarConfig {
            api_token: Some("caller-api".into()),
            app_token: Some("caller-app-token".into()),
            peers,
            ..SidecarConfig::default()
        },
    )
    .await;
    let r = call(
        "POST",
        &sc.url("/v1.0/invoke/task-api/method/internal/tasks/next?x=1"),
        &[
            ("dapr-api-token", "caller-api"),
            ("idempotency-key", "s1:4"),
            ("content-type", "application/json"),
            ("connection", "keep-alive"),
            // A caller cannot claim another identity: daprd strips and
            // re-stamps these (pkg/messaging `StripUntrustedCallerIdentity`,
            // `SetCallerIdentity`).
            ("dapr-caller-app-id", "admin"),
            ("dapr-caller-namespace", "kube-system"),
        ],
        br#"{"seriesId":"s1"}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!({"id": "t2"}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let got = callee.wait_for("/internal/tasks/next", 1).await;
    let req = &got[0];
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.path, "/internal/tasks/next?x=1");
    assert_eq!(req.header("dapr-caller-app-id"), Some("recurrence"));
    assert_eq!(req.header("dapr-caller-namespace"), Some("todo"));
    assert_eq!(req.header("dapr-callee-app-id"), Some("task-api"));
    assert_eq!(req.header("dapr-api-token"), Some("callee-token"));
    assert_eq!(req.header("idempotency-key"), Some("s1:4"));
    assert!(req
        .header("traceparent")
        .is_some_and(|t| t.starts_with("00-")));
    assert_eq!(req.json(), json!({"seriesId": "s1"}));

    // The dapr-app-id header form.
    let r = call(
        "GET",
        &sc.url("/healthz/task-api"),
        &[
            ("dapr-api-token", "caller-api"),
            ("dapr-app-id", "task-api"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(callee.wait_for("/healthz/task-api", 1).await.len(), 1);

    let r = call(
        "POST",
        &sc.url("/v1.0/invoke/nobody/method/x"),
        &[("dapr-api-token", "caller-api")],
        b"",
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_DIRECT_INVOKE");
}

#[tokio::test]
async fn local_file_secrets_single_and_multi_valued() {
    let file = temp_file(
        "secrets.json",
        r#"{ "jwt-secret": "s3", "app-api-token": { "token": "tok" },
             "db": { "user": "u", "nested": { "pw": "p" } } }"#,
    );
    let yaml = format!(
        r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{ name: todo-secrets }}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - {{ name: secretsFile, value: "{file}" }}
    - {{ name: multiValued, value: "true" }}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{ name: flat }}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - {{ name: secretsFile, value: "{file}" }}
"#
    );
    let app = RecordingApp::start().await;
    let sc = start_sidecar("a", app.addr, resources(&yaml), SidecarConfig::default()).await;
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/jwt-secret")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "jwt-secret": "s3" }));
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/app-api-token")).await;
    assert_eq!(r.json(), json!({ "token": "tok" }));
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/db")).await;
    assert_eq!(r.json(), json!({ "user": "u", "nested:pw": "p" }));
    // Flattened (multiValued false): nested keys joined with ":".
    let r = get(&sc.url("/v1.0/secrets/flat/db:nested:pw")).await;
    assert_eq!(r.json(), json!({ "db:nested:pw": "p" }));
    let r = get(&sc.url("/v1.0/secrets/flat/db")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_SECRET_GET");
    assert!(r.json()["message"].as_str().unwrap().contains("not found"));
    let r = get(&sc.url("/v1.0/secrets/nope/x")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "ERR_SECRET_STORE_NOT_FOUND");
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/bulk")).await;
    assert_eq!(r.json()["app-api-token"], json!({ "token": "tok" }));
}

#[tokio::test]
async fn smtp_binding_sends_a_real_mail() {
    let smtp = Smtp::start().await;
    let yaml = format!(
        r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{ name: email }}
spec:
  type: bindings.smtp
  version: v1
  metadata:
    - {{ name: host, value: "127.0.0.1" }}
    - {{ name: port, value: "{port}" }}
    - {{ name: emailFrom, value: "todo@localhost" }}
    - {{ name: subject, value: "default subject" }}
scopes: [notify]
"#,
        port = smtp.addr.port()
    );
    let app = RecordingApp::start().await;
    let sc = start_sidecar(
        "notify",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    let r = post_json(
        &sc.url("/v1.0/bindings/email"),
        &json!({
            "operation": "create",
            "data": "<p>Weekly report is due</p>",
            "metadata": { "emailTo": "alice@example.com", "subject": "Reminder: Weekly report",
                          "emailCC": "bob@example.com" },
        }),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let (rcpt, data) = (&mails[0].to, &mails[0].data);
    assert!(rcpt.iter().any(|r| r.contains("alice@example.com")));
    assert!(rcpt.iter().any(|r| r.contains("bob@example.com")));
    assert!(data.contains("Subject: Reminder: Weekly report"), "{data}");
    assert!(data.contains("From: todo@localhost"), "{data}");
    assert!(data.contains("text/html"), "{data}");
    assert!(data.contains("Weekly report is due"), "{data}");

    // Non-string data cannot be unquoted: 500, like the contrib binding.
    let r = post_json(
        &sc.url("/v1.0/bindings/email"),
        &json!({ "operation": "create", "data": {"x": 1}, "metadata": { "emailTo": "a@b.c" } }),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_INVOKE_OUTPUT_BINDING");
    // Unknown binding.
    let r = post_json(
        &sc.url("/v1.0/bindings/nope"),
        &json!({ "operation": "create" }),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_code(), "ERR_INVOKE_OUTPUT_BINDING");
}

#[tokio::test]
async fn http_binding_calls_the_url() {
    let target = RecordingApp::start().await;
    target.default_reply("/hooks/x", 200, r#"{"ok":true}"#);
    let yaml = format!(
        r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{ name: webhook }}
spec:
  type: bindings.http
  version: v1
  metadata:
    - {{ name: url, value: "http://{addr}/hooks" }}
"#,
        addr = target.addr
    );
    let app = RecordingApp::start().await;
    let sc = start_sidecar(
        "notify",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    let r = post_json(
        &sc.url("/v1.0/bindings/webhook"),
        &json!({ "operation": "post", "data": {"a": 1}, "metadata": { "path": "/x", "X-Signature": "sig" } }),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(r.header("metadata.statusCode"), Some("200"));
    let got = target.wait_for("/hooks/x", 1).await;
    assert_eq!(got[0].json(), json!({"a": 1}));
    assert_eq!(got[0].header("x-signature"), Some("sig"));

    target.default_reply("/hooks/bad", 502, "");
    let r = post_json(
        &sc.url("/v1.0/bindings/webhook"),
        &json!({ "operation": "post", "data": {}, "metadata": { "path": "bad" } }),
    )
    .await;
    assert_eq!(r.status, 500);
}

#[tokio::test]
async fn cron_binding_posts_to_its_route() {
    let app = RecordingApp::start().await;
    app.default_reply("/unheard", 404, "");
    let yaml = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: outbox-sweep }
spec:
  type: bindings.cron
  version: v1
  metadata:
    - { name: schedule, value: "@every 1s" }
    - { name: route, value: /internal/outbox-sweep }
scopes: [task-api]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: unheard }
spec:
  type: bindings.cron
  version: v1
  metadata:
    - { name: schedule, value: "*/1 * * * * *" }
scopes: [task-api]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: elsewhere }
spec:
  type: bindings.cron
  version: v1
  metadata:
    - { name: schedule, value: "@every 1s" }
    - { name: route, value: /not-mine }
scopes: [audit]
"#;
    let sc = start_sidecar(
        "task-api",
        app.addr,
        resources(yaml),
        SidecarConfig {
            app_token: Some("tok".into()),
            ..SidecarConfig::default()
        },
    )
    .await;
    let got = app.wait_for("/internal/outbox-sweep", 3).await;
    // daprd first checks the app listens (OPTIONS), then POSTs each tick.
    assert_eq!(got[0].method, http::Method::OPTIONS);
    let post = got.iter().find(|r| r.method == http::Method::POST).unwrap();
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert!(post.body.is_empty());
    assert_eq!(post.header("dapr-api-token"), Some("tok"));
    assert!(post.header("readtimeutc").is_some());
    // The app answered 404 to OPTIONS /unheard: that binding never posts.
    let unheard = app.requests_to("/unheard");
    assert_eq!(unheard.len(), 1);
    assert_eq!(unheard[0].method, http::Method::OPTIONS);
    assert!(
        app.requests_to("/not-mine").is_empty(),
        "scoped to another app"
    );
    drop(sc);
}

#[tokio::test]
async fn metadata_and_health() {
    let app = RecordingApp::start().await;
    let yaml = format!(
        r#"{BASE}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {{ name: rec }}
spec:
  pubsubname: pubsub
  topic: task-events
  routes:
    rules:
      - {{ match: 'event.type == "todo.task.completed.v1"', path: /events/recurrence/task-events }}
  deadLetterTopic: task-events-dlq
scopes: [recurrence]
"#
    );
    let sc = start_sidecar(
        "recurrence",
        app.addr,
        resources(&yaml),
        SidecarConfig::default(),
    )
    .await;
    assert_eq!(get(&sc.url("/v1.0/healthz")).await.status, 204);
    let m = get(&sc.url("/v1.0/metadata")).await;
    assert_eq!(m.status, 200);
    let body = m.json();
    assert_eq!(body["id"], "recurrence");
    let comps = body["components"].as_array().unwrap();
    assert!(comps.iter().any(|c| c["name"] == "statestore"
        && c["type"] == "state.devstack"
        && c["version"] == "v1"));
    let sub = &body["subscriptions"][0];
    assert_eq!(sub["pubsubname"], "pubsub");
    assert_eq!(sub["topic"], "task-events");
    assert_eq!(sub["deadLetterTopic"], "task-events-dlq");
    assert_eq!(sub["type"], "DECLARATIVE");
    assert_eq!(
        sub["rules"][0],
        json!({ "match": "event.type == \"todo.task.completed.v1\"", "path": "/events/recurrence/task-events" })
    );
    sc.stop().await;
}
