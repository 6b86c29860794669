//! Kubernetes secrets in a rendering: which ones the objects refer to, and
//! which ones a service account may read.

use std::collections::{BTreeMap, BTreeSet};

use crate::kustomize::Resource;

use super::fields::{list, of_kind, s, strings};

/// Secret names `sa` may `get` (through RoleBindings in `ns`).
pub(super) fn secrets_granted(rs: &[Resource], sa: &str, ns: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rb in of_kind(rs, "rbac.authorization.k8s.io", "RoleBinding") {
        let binds = list(&rb.value, "/subjects").iter().any(|sub| {
            s(sub, "/kind") == Some("ServiceAccount")
                && s(sub, "/name") == Some(sa)
                && s(sub, "/namespace").unwrap_or(ns) == ns
        });
        if !binds || s(&rb.value, "/roleRef/kind") != Some("Role") {
            continue;
        }
        let role = s(&rb.value, "/roleRef/name").unwrap_or("");
        for r in of_kind(rs, "rbac.authorization.k8s.io", "Role").filter(|r| r.name() == role) {
            for rule in list(&r.value, "/rules") {
                let groups = strings(rule, "/apiGroups");
                let resources = strings(rule, "/resources");
                let verbs = strings(rule, "/verbs");
                if groups.iter().any(|g| g.is_empty() || g == "*")
                    && resources.iter().any(|x| x == "secrets" || x == "*")
                    && verbs.iter().any(|x| x == "get" || x == "*")
                {
                    let names = strings(rule, "/resourceNames");
                    if names.is_empty() {
                        out.insert("*".to_string());
                    }
                    out.extend(names);
                }
            }
        }
    }
    out
}

/// Every Kubernetes secret the rendering refers to, with who refers to it.
pub fn referenced_secrets(rs: &[Resource]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in rs {
        let v = &r.value;
        match (r.group(), r.kind()) {
            ("core.spinkube.dev", "SpinApp") => {
                for key in ["dapr.io~1app-token-secret", "dapr.io~1api-token-secret"] {
                    if let Some(name) = s(v, &format!("/spec/podAnnotations/{key}")) {
                        out.insert(name.to_string(), r.describe());
                    }
                }
            }
            // secretKeyRefs resolve against Kubernetes secrets unless the
            // component names another secret store.
            ("dapr.io", "Component") if v.pointer("/auth/secretStore").is_none() => {
                for m in list(v, "/spec/metadata") {
                    if let Some(name) = s(m, "/secretKeyRef/name") {
                        out.insert(name.to_string(), r.describe());
                    }
                }
            }
            ("rbac.authorization.k8s.io", "Role") => {
                for rule in list(v, "/rules") {
                    if strings(rule, "/resources").iter().any(|x| x == "secrets") {
                        for name in strings(rule, "/resourceNames") {
                            out.insert(name, r.describe());
                        }
                    }
                }
            }
            ("apps", "Deployment") | ("apps", "StatefulSet") => {
                let spec = v
                    .pointer("/spec/template/spec")
                    .cloned()
                    .unwrap_or_default();
                for c in list(&spec, "/containers")
                    .iter()
                    .chain(list(&spec, "/initContainers"))
                {
                    for e in list(c, "/env") {
                        if let Some(name) = s(e, "/valueFrom/secretKeyRef/name") {
                            out.insert(name.to_string(), r.describe());
                        }
                    }
                    for e in list(c, "/envFrom") {
                        if let Some(name) = s(e, "/secretRef/name") {
                            out.insert(name.to_string(), r.describe());
                        }
                    }
                }
                for vol in list(&spec, "/volumes") {
                    if let Some(name) = s(vol, "/secret/secretName") {
                        out.insert(name.to_string(), r.describe());
                    }
                }
            }
            _ => {}
        }
    }
    out
}
