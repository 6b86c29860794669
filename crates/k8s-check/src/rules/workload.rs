//! Deployments' and StatefulSets' rules: the selector matches the pod
//! template, images are pinned, every container has probes, resource
//! requests and a memory limit.

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::list;

pub(super) fn workload(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    let labels = v
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(sel) = v
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    {
        for (k, want) in sel {
            if labels.get(k) != Some(want) {
                out.push(format!(
                    "{at}: selector {k}={want} does not match the pod template's labels"
                ));
            }
        }
    }
    for c in list(v, "/spec/template/spec/containers") {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let last = image.rsplit('/').next().unwrap_or("");
        if !(last.contains(':') || image.contains('@')) || image.ends_with(":latest") {
            out.push(format!(
                "{at}: container {name}: image {image} must be pinned to a version"
            ));
        }
        for probe in ["readinessProbe", "livenessProbe"] {
            if c.get(probe).is_none() {
                out.push(format!("{at}: container {name}: {probe} is required"));
            }
        }
        for res in ["cpu", "memory"] {
            if c.pointer(&format!("/resources/requests/{res}")).is_none() {
                out.push(format!(
                    "{at}: container {name}: resources.requests.{res} is required"
                ));
            }
        }
        if c.pointer("/resources/limits/memory").is_none() {
            out.push(format!(
                "{at}: container {name}: resources.limits.memory is required"
            ));
        }
    }
}
