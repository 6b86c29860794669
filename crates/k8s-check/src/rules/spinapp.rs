//! A SpinApp's rules: named after an app-id (or sidecarless), run by the
//! Spin shim, one component each, the Dapr pod annotations (none without a
//! sidecar), probes on its health route, resources, a service account.

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::{s, strings};
use super::{APP_IDS, SIDECARLESS};

pub(super) fn spinapp(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    let name = r.name();
    if !APP_IDS.contains(&name) && !SIDECARLESS.contains(&name) {
        out.push(format!(
            "{at}: SpinApp name must be one of the app-ids {APP_IDS:?} or {SIDECARLESS:?}"
        ));
    }
    let sidecarless = SIDECARLESS.contains(&name);
    if s(v, "/spec/executor") != Some("containerd-shim-spin") {
        out.push(format!("{at}: spec.executor must be containerd-shim-spin"));
    }
    let components = strings(v, "/spec/components");
    if components != [name.to_string()] {
        out.push(format!(
            "{at}: spec.components must be [{name}] (selective deployment of one component), is {components:?}"
        ));
    }
    let pa = |key: &str| {
        s(
            v,
            &format!("/spec/podAnnotations/{}", key.replace('/', "~1")),
        )
    };
    if sidecarless {
        // No sidecar: no Dapr annotation at all (an injected daprd would
        // wait for an app-id nobody subscribes or scopes).
        if let Some(pa) = v.pointer("/spec/podAnnotations").and_then(Value::as_object) {
            for key in pa.keys().filter(|k| k.starts_with("dapr.io/")) {
                out.push(format!(
                    "{at}: {name} runs without a Dapr sidecar: remove {key}"
                ));
            }
        }
    }
    for (key, want) in [
        ("dapr.io/enabled", "true"),
        ("dapr.io/app-id", name),
        ("dapr.io/app-port", "80"),
        ("dapr.io/app-protocol", "http"),
        ("dapr.io/app-token-secret", "app-api-token"),
    ] {
        if !sidecarless && pa(key) != Some(want) {
            out.push(format!(
                "{at}: spec.podAnnotations[{key}] must be {want:?}, is {:?}",
                pa(key)
            ));
        }
    }
    if !sidecarless && pa("dapr.io/config").is_none() {
        out.push(format!(
            "{at}: spec.podAnnotations[dapr.io/config] is required (tracing, secret scopes)"
        ));
    }
    if let Some(meta) = v
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for key in meta.keys().filter(|k| k.starts_with("dapr.io/")) {
            out.push(format!(
                "{at}: annotation {key} on the SpinApp's metadata never reaches the pod; put it in spec.podAnnotations"
            ));
        }
    }
    let health = format!("/healthz/{name}");
    for probe in ["readiness", "liveness"] {
        let path = s(v, &format!("/spec/checks/{probe}/httpGet/path"));
        if path != Some(health.as_str()) {
            out.push(format!(
                "{at}: spec.checks.{probe}.httpGet.path must be {health}, is {path:?}"
            ));
        }
    }
    for kind in ["requests", "limits"] {
        for res in ["cpu", "memory"] {
            if kind == "limits" && res == "cpu" {
                continue;
            }
            if v.pointer(&format!("/spec/resources/{kind}/{res}"))
                .is_none()
            {
                out.push(format!("{at}: spec.resources.{kind}.{res} is required"));
            }
        }
    }
    if !sidecarless && s(v, "/spec/serviceAccountName").is_none() {
        out.push(format!(
            "{at}: spec.serviceAccountName is required (the sidecar reads secrets with it)"
        ));
    }
}
