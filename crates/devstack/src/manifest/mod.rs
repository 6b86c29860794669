//! The Spin application manifest (`spin.toml`) as devstack uses it.
//!
//! devstack reads the very file `spin up` and SpinKube read, so the routes,
//! outbound permissions and environment of every component have one source
//! of truth. Reading and validating it is `app_files::spin_toml`, the one
//! parser k8s-check uses too (Spin 3's rules: unknown fields are errors, a
//! route is a string or `{ private = true }`, …); its model is re-exported
//! here. This module adds what devstack does with a loaded manifest:
//!
//! - [`load`] logs what deserves a warning: a `{{ … }}` in `environment`
//!   (Spin never expands templates there, so it would work nowhere) and a
//!   remote `source` (devstack does not fetch it);
//! - [`build_hint`] and [`unsupported_features`] say how to build a
//!   component and which manifest features devstack does not provide when
//!   a component that uses them is served;
//! - `variables.rs` resolves application variables at run time, like Spin's
//!   expression resolver, and expands `{{ var }}` in
//!   `allowed_outbound_hosts` ([`resolve_variables`],
//!   [`resolved_allowed_outbound_hosts`]).

mod variables;

use std::path::Path;

use anyhow::Result;

pub use app_files::spin_toml::{
    Application, Build, Commands, Component, HttpTrigger, Manifest, Route, Source, Template,
    Variable, Warning,
};
pub use variables::{resolve_variables, resolve_variables_with, resolved_allowed_outbound_hosts};

/// Reads and validates a manifest (see [`Manifest::load`]; every error names
/// the file and the offending field) and logs its warnings.
pub fn load(path: &Path) -> Result<Manifest> {
    let manifest = Manifest::load(path)?;
    let file = path.display();
    for warning in manifest.warnings() {
        match warning {
            Warning::EnvironmentTemplate { component, key } => tracing::warn!(
                manifest = %file,
                component = %component,
                key = %key,
                "environment values are not templates in Spin; {{{{ … }}}} is passed verbatim"
            ),
            Warning::RemoteSource { component } => {
                tracing::warn!(manifest = %file, component = %component, "remote component sources are not fetched by devstack")
            }
        }
    }
    Ok(manifest)
}

/// A human-readable hint on how to build `component`
/// (`cd <workdir> && <command>`), if the manifest says.
pub fn build_hint(component: &Component) -> Option<String> {
    let build = component.build.as_ref()?;
    let cmds = build.command.list().join(" && ");
    Some(match &build.workdir {
        Some(dir) => format!("(cd {dir} && {cmds})"),
        None => cmds,
    })
}

/// Manifest features `component` asks for that devstack does not provide
/// (for a warning when it is served).
pub fn unsupported_features(component: &Component) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !component.files.is_empty() {
        out.push("files");
    }
    if !component.key_value_stores.is_empty() {
        out.push("key_value_stores");
    }
    if !component.sqlite_databases.is_empty() {
        out.push("sqlite_databases");
    }
    if !component.ai_models.is_empty() {
        out.push("ai_models");
    }
    if !component.dependencies.is_empty() {
        out.push("dependencies");
    }
    if !component.variables.is_empty() {
        out.push("variables (spin:variables)");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn parse(text: &str) -> Manifest {
        Manifest::parse(text, Path::new("/app/spin.toml")).unwrap()
    }

    const BASIC: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
port = { default = "3500" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/api/..."
component = "api"
[component.api]
source = "target/api.wasm"
allowed_outbound_hosts = ["http://localhost:{{ port }}", "https://*.example.com"]
[component.api.build]
command = "cargo build"
workdir = "api"
[component.kv]
source = "kv.wasm"
key_value_stores = ["default"]
variables = { a = "b" }
[component.kv.build]
command = ["npm ci", "npm run build"]
"#;

    #[test]
    fn build_hints_and_unsupported_features() {
        let m = parse(BASIC);
        assert_eq!(
            build_hint(&m.components["api"]).unwrap(),
            "(cd api && cargo build)"
        );
        assert_eq!(
            build_hint(&m.components["kv"]).unwrap(),
            "npm ci && npm run build"
        );
        assert!(unsupported_features(&m.components["api"]).is_empty());
        assert_eq!(
            unsupported_features(&m.components["kv"]),
            vec!["key_value_stores", "variables (spin:variables)"]
        );
    }

    #[test]
    fn resolves_variables_with_precedence() {
        let m = parse(BASIC);
        let err = resolve_variables_with(&m, &BTreeMap::new(), |_| None).unwrap_err();
        assert!(err.to_string().contains("\"token\""), "{err}");

        let given = BTreeMap::from([("token".to_string(), "t".to_string())]);
        let vars = resolve_variables_with(&m, &given, |_| None).unwrap();
        assert_eq!(vars["port"], "3500");

        let vars =
            resolve_variables_with(&m, &given, |n| (n == "port").then(|| "9".to_string())).unwrap();
        assert_eq!(vars["port"], "9");

        let given = BTreeMap::from([
            ("token".to_string(), "t".to_string()),
            ("port".to_string(), "4000".to_string()),
        ]);
        let vars =
            resolve_variables_with(&m, &given, |n| (n == "port").then(|| "9".to_string())).unwrap();
        assert_eq!(vars["port"], "4000");
        let hosts = resolved_allowed_outbound_hosts(&m, "api", &vars).unwrap();
        assert_eq!(
            hosts,
            vec!["http://localhost:4000", "https://*.example.com"]
        );
        let err = resolved_allowed_outbound_hosts(&m, "apx", &vars).unwrap_err();
        assert!(err.to_string().contains("\"apx\""), "{err}");
    }

    #[test]
    fn the_repository_manifest_resolves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let m = load(&path).unwrap();
        let vars = resolve_variables(&m, &BTreeMap::new()).unwrap();
        for id in m.components.keys() {
            resolved_allowed_outbound_hosts(&m, id, &vars).unwrap();
        }
        assert!(m.components.contains_key("task-api"));
    }
}
