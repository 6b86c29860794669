//! Dapr `Configuration` enforcement: secret scopes and service-invocation
//! access control, with the app's Configuration picked by its SpinApp's
//! `dapr.io/config` annotation — each checked against what daprd answers.

mod support;

use std::collections::HashMap;

use devstack::sidecar::Peer;
use serde_json::json;
use support::*;

fn spinapp(name: &str, config: &str) -> String {
    format!(
        r#"
---
apiVersion: core.spinkube.dev/v1alpha1
kind: SpinApp
metadata: {{ name: {name} }}
spec:
  podAnnotations:
    dapr.io/app-id: {name}
    dapr.io/config: {config}
"#
    )
}

/// daprd `onGetSecret` checks `isSecretAllowed` (pkg/api/http/http.go)
/// and answers 403 `ERR_PERMISSION_DENIED` "access denied by policy to get
/// %q from %q" (`messages.ErrPermissionDenied`); `onBulkGetSecret` leaves
/// disallowed secrets out.
#[tokio::test]
async fn secret_scopes_deny_with_403_and_filter_bulk() {
    let file = temp_file(
        "secrets.json",
        r#"{ "jwt-secret": "s3", "app-api-token": { "token": "tok" }, "other": "x" }"#,
    );
    let mut yaml = format!(
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
kind: Configuration
metadata: {{ name: scoped }}
spec:
  secrets:
    scopes:
      - storeName: todo-secrets
        defaultAccess: deny
        allowedSecrets: [jwt-secret, app-api-token]
"#
    );
    yaml.push_str(&spinapp("a", "scoped"));
    let app = RecordingApp::start().await;
    let sc = start_sidecar("a", app.addr, resources(&yaml), SidecarConfig::default()).await;
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/jwt-secret")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({ "jwt-secret": "s3" }));
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/other")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "ERR_PERMISSION_DENIED");
    assert_eq!(
        r.json()["message"],
        json!("access denied by policy to get \"other\" from \"todo-secrets\"")
    );
    let r = get(&sc.url("/v1.0/secrets/todo-secrets/bulk")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({ "jwt-secret": { "jwt-secret": "s3" }, "app-api-token": { "token": "tok" } })
    );

    // Another app without a Configuration may read everything.
    let sc_b = start_sidecar("b", app.addr, resources(&yaml), SidecarConfig::default()).await;
    let r = get(&sc_b.url("/v1.0/secrets/todo-secrets/other")).await;
    assert_eq!(r.status, 200);
}

/// The callee's `accessControl` (daprd `pkg/acl`
/// `IsOperationAllowedByAccessControlPolicy`): a denied call is 403
/// `ERR_DIRECT_INVOKE` "failed to invoke, id: <callee>, err: rpc error:
/// code = PermissionDenied desc = access control policy has denied access
/// to id: spiffe://public/ns/<ns>/<caller> operation: <op> verb: <VERB>"
/// (dapr tests/e2e/allowlists), and the callee app never sees it.
#[tokio::test]
async fn invocation_access_control_is_enforced_by_the_callee() {
    let mut yaml = String::from(
        r#"
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: { name: callee-config }
spec:
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
      - appId: recurrence
        defaultAction: deny
        trustDomain: public
        namespace: todo
        operations:
          - name: /internal/tasks/next
            httpVerb: [POST]
            action: allow
          - name: /open/**
            httpVerb: ["*"]
            action: allow
"#,
    );
    yaml.push_str(&spinapp("task-api", "callee-config"));
    let callee = RecordingApp::start().await;
    let peers = HashMap::from([(
        "task-api".to_string(),
        Peer {
            addr: callee.addr,
            app_token: None,
        },
    )]);
    let caller_app = RecordingApp::start().await;
    let start = |id: &'static str| {
        let yaml = yaml.clone();
        let peers = peers.clone();
        let addr = caller_app.addr;
        async move {
            start_sidecar(
                id,
                addr,
                resources(&yaml),
                SidecarConfig {
                    peers,
                    ..SidecarConfig::default()
                },
            )
            .await
        }
    };
    let recurrence = start("recurrence").await;
    let other = start("audit").await;

    let r = call(
        "POST",
        &recurrence.url("/v1.0/invoke/task-api/method/internal/tasks/next"),
        &[],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(
        "DELETE",
        &recurrence.url("/v1.0/invoke/task-api/method/open/a/b"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);

    for (sc, verb, path, caller) in [
        (&recurrence, "GET", "internal/tasks/next", "recurrence"),
        (&recurrence, "POST", "internal/tasks/other", "recurrence"),
        (&other, "POST", "internal/tasks/next", "audit"),
    ] {
        let r = call(
            verb,
            &sc.url(&format!("/v1.0/invoke/task-api/method/{path}")),
            &[],
            b"",
        )
        .await;
        assert_eq!(r.status, 403, "{verb} {path} from {caller}");
        assert_eq!(r.error_code(), "ERR_DIRECT_INVOKE");
        assert_eq!(
            r.json()["message"],
            json!(format!(
                "failed to invoke, id: task-api, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://public/ns/todo/{caller} operation: {path} verb: {verb}"
            ))
        );
    }
    // The dapr-app-id header form is checked too.
    let r = call(
        "GET",
        &other.url("/internal/tasks/next"),
        &[("dapr-app-id", "task-api")],
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(callee.requests().len(), 2);
}

/// The repository's Configurations load, and each app's `dapr.io/config`
/// names one of them.
#[test]
fn repository_configurations_and_spinapps_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let r = devstack::config::load(&[root.join("k8s/dapr"), root.join("k8s/apps")]).unwrap();
    r.check_app_configs().unwrap();
    let task_api = r.configuration_of("task-api").expect("task-api config");
    assert!(task_api.invocation_allowed("recurrence", "todo", "/internal/tasks/next", "POST"));
    assert!(!task_api.invocation_allowed("notify", "todo", "/internal/tasks/next", "POST"));
    let audit = r.configuration_of("audit").expect("audit config");
    assert!(audit.secret_allowed("todo-secrets", "jwt-secret"));
    assert!(!audit.secret_allowed("todo-secrets", "postgres"));
}
