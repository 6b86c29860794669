//! Dapr `Configuration` (`dapr.io/v1alpha1`): the parts daprd enforces that
//! a component can tell — secret scopes (`spec.secrets.scopes`) and the
//! service-invocation access control (`spec.accessControl`) — plus which
//! Configuration each app-id uses (the `dapr.io/config` annotation in its
//! SpinApp's `spec.podAnnotations`).
//!
//! An app-id with no Configuration (no annotation, or none loaded) is
//! allowed everything, as daprd without `dapr.io/config`.

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;

/// The trust domain daprd assumes when a Configuration names none.
pub const DEFAULT_TRUST_DOMAIN: &str = "public";

/// One `Configuration` resource.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    pub name: String,
    pub secret_scopes: Vec<SecretScope>,
    pub access_control: Option<AccessControl>,
}

/// `spec.secrets.scopes[]`.
#[derive(Debug, Clone)]
pub struct SecretScope {
    pub store_name: String,
    /// `defaultAccess: deny`; allow otherwise (daprd's default).
    pub default_deny: bool,
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
}

/// `spec.accessControl`.
#[derive(Debug, Clone)]
pub struct AccessControl {
    pub default_allow: bool,
    pub trust_domain: String,
    pub policies: Vec<AppPolicy>,
}

/// `spec.accessControl.policies[]`.
#[derive(Debug, Clone)]
pub struct AppPolicy {
    pub app_id: String,
    pub default_allow: bool,
    pub trust_domain: String,
    pub namespace: String,
    pub operations: Vec<Operation>,
}

/// `operations[]` of a policy.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Path segments of `name` (`*` one segment, `**` any number).
    pub segments: Vec<String>,
    pub verbs: Vec<String>,
    pub allow: bool,
}

fn action(text: Option<&str>, default_allow: bool, what: &str) -> Result<bool> {
    match text.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(default_allow),
        Some("allow") => Ok(true),
        Some("deny") => Ok(false),
        Some(other) => bail!("{what}: {other:?} is neither allow nor deny"),
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Configuration {
    /// Parses one `Configuration` document.
    pub fn parse(value: serde_yaml::Value) -> Result<Configuration> {
        let raw: RawConfiguration = serde_yaml::from_value(value)?;
        let name = raw
            .metadata
            .and_then(|m| m.name)
            .ok_or_else(|| anyhow!("Configuration without metadata.name"))?;
        let spec = raw.spec.unwrap_or_default();
        let mut secret_scopes = Vec::new();
        for s in spec.secrets.map(|s| s.scopes).unwrap_or_default() {
            secret_scopes.push(SecretScope {
                default_deny: !action(s.default_access.as_deref(), true, "defaultAccess")?,
                store_name: s.store_name,
                allowed: s.allowed_secrets,
                denied: s.denied_secrets,
            });
        }
        let access_control = match spec.access_control {
            None => None,
            Some(ac) => {
                let trust_domain = ac
                    .trust_domain
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| DEFAULT_TRUST_DOMAIN.to_string());
                let default_allow = action(ac.default_action.as_deref(), true, "defaultAction")?;
                let mut policies = Vec::new();
                for p in ac.policies {
                    let mut operations = Vec::new();
                    for o in p.operations {
                        operations.push(Operation {
                            segments: segments(&o.name),
                            verbs: o.http_verb.iter().map(|v| v.to_ascii_uppercase()).collect(),
                            allow: action(o.action.as_deref(), false, "operation action")?,
                        });
                    }
                    policies.push(AppPolicy {
                        default_allow: action(
                            p.default_action.as_deref(),
                            default_allow,
                            "policy defaultAction",
                        )?,
                        app_id: p.app_id,
                        trust_domain: p
                            .trust_domain
                            .filter(|t| !t.is_empty())
                            .unwrap_or_else(|| DEFAULT_TRUST_DOMAIN.to_string()),
                        namespace: p.namespace.unwrap_or_default(),
                        operations,
                    });
                }
                Some(AccessControl {
                    default_allow,
                    trust_domain,
                    policies,
                })
            }
        };
        Ok(Configuration {
            name,
            secret_scopes,
            access_control,
        })
    }

    /// daprd `isSecretAllowed`: no scope for the store → allowed; a denied
    /// secret → no; an allow list → only its secrets; else `defaultAccess`.
    pub fn secret_allowed(&self, store: &str, key: &str) -> bool {
        let Some(scope) = self.secret_scopes.iter().find(|s| s.store_name == store) else {
            return true;
        };
        if scope.denied.iter().any(|d| d == key) {
            return false;
        }
        if !scope.allowed.is_empty() {
            return scope.allowed.iter().any(|a| a == key);
        }
        !scope.default_deny
    }

    /// daprd `IsOperationAllowedByAccessControlPolicy` for a caller
    /// `caller_app_id` in `namespace` (trust domain `public`, as devstack's
    /// callers have no other), `operation` a path and `verb` an HTTP method.
    pub fn invocation_allowed(
        &self,
        caller_app_id: &str,
        namespace: &str,
        operation: &str,
        verb: &str,
    ) -> bool {
        let Some(ac) = &self.access_control else {
            return true;
        };
        let Some(policy) = ac.policies.iter().find(|p| {
            p.app_id == caller_app_id
                && p.namespace == namespace
                && p.trust_domain == DEFAULT_TRUST_DOMAIN
        }) else {
            return ac.default_allow;
        };
        let op = segments(operation.split('?').next().unwrap_or_default());
        let verb = verb.to_ascii_uppercase();
        for o in &policy.operations {
            if path_matches(&o.segments, &op) {
                if o.verbs.iter().any(|v| v == "*" || *v == verb) {
                    return o.allow;
                }
                return policy.default_allow;
            }
        }
        policy.default_allow
    }
}

fn path_matches(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| path_matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((p, path_rest)) if first == "*" || first == p => path_matches(rest, path_rest),
            _ => false,
        },
    }
}

/// From a SpinApp (`core.spinkube.dev/v1alpha1`): the app-id
/// (`dapr.io/app-id`, else `metadata.name`) and its `dapr.io/config`.
pub fn parse_spinapp(value: &serde_yaml::Value) -> Option<(String, String)> {
    let annotations = value.get("spec")?.get("podAnnotations")?;
    let config = annotations.get("dapr.io/config")?.as_str()?.to_string();
    let app_id = annotations
        .get("dapr.io/app-id")
        .and_then(|v| v.as_str())
        .or_else(|| value.get("metadata")?.get("name")?.as_str())?
        .to_string();
    Some((app_id, config))
}

#[derive(Deserialize)]
struct RawMeta {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawConfiguration {
    metadata: Option<RawMeta>,
    spec: Option<RawSpec>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    secrets: Option<RawSecrets>,
    access_control: Option<RawAccessControl>,
}

#[derive(Deserialize)]
struct RawSecrets {
    #[serde(default)]
    scopes: Vec<RawScope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawScope {
    store_name: String,
    default_access: Option<String>,
    #[serde(default)]
    allowed_secrets: Vec<String>,
    #[serde(default)]
    denied_secrets: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAccessControl {
    default_action: Option<String>,
    trust_domain: Option<String>,
    #[serde(default)]
    policies: Vec<RawPolicy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPolicy {
    app_id: String,
    default_action: Option<String>,
    trust_domain: Option<String>,
    namespace: Option<String>,
    #[serde(default)]
    operations: Vec<RawOperation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    name: String,
    #[serde(default)]
    http_verb: Vec<String>,
    action: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Configuration {
        Configuration::parse(serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn wildcards_verbs_and_callers() {
        let c = config(
            "metadata: {name: c}\nspec:\n  accessControl:\n    defaultAction: deny\n    policies:\n      - appId: a\n        defaultAction: deny\n        namespace: todo\n        operations:\n          - {name: /x/*/y, httpVerb: [GET], action: allow}\n          - {name: /z/**, httpVerb: ['*'], action: allow}\n",
        );
        assert!(c.invocation_allowed("a", "todo", "/x/1/y", "GET"));
        assert!(!c.invocation_allowed("a", "todo", "/x/1/y", "POST"));
        assert!(!c.invocation_allowed("a", "todo", "/x/1/2/y", "GET"));
        assert!(c.invocation_allowed("a", "todo", "z/1/2?q=1", "DELETE"));
        assert!(!c.invocation_allowed("a", "other", "/z/1", "GET"));
        assert!(!c.invocation_allowed("b", "todo", "/z/1", "GET"));
    }

    #[test]
    fn secret_scopes() {
        let c = config(
            "metadata: {name: c}\nspec:\n  secrets:\n    scopes:\n      - {storeName: s, defaultAccess: deny, allowedSecrets: [a]}\n      - {storeName: t, deniedSecrets: [b]}\n",
        );
        assert!(c.secret_allowed("s", "a"));
        assert!(!c.secret_allowed("s", "b"));
        assert!(c.secret_allowed("t", "a"));
        assert!(!c.secret_allowed("t", "b"));
        assert!(c.secret_allowed("other", "b"));
    }
}
