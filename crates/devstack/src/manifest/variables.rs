//! Application variables, resolved at run time like Spin's expression
//! resolver (`crates/expressions`): a value passed by the caller (`spin up
//! --variable k=v`) wins, then the `SPIN_VARIABLE_<NAME>` environment
//! variable (Spin's default env provider), then the manifest `default`.
//! `{{ name }}` templates are expanded in `allowed_outbound_hosts`, the only
//! component field Spin templates that devstack acts on. `environment`
//! values are passed verbatim, exactly as Spin does ([`super::load`] warns
//! about a template there). Parsing the templates, and checking at load time
//! that each names a declared variable, is `app_files::spin_toml`.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use super::{Manifest, Template};

/// Resolves every application variable of `manifest`: `values` (like `spin
/// up --variable`) first, then `SPIN_VARIABLE_<NAME>` from the process
/// environment, then the manifest default. A required variable with no value
/// is an error. Values for undeclared variables are ignored.
pub fn resolve_variables(
    manifest: &Manifest,
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    resolve_variables_with(manifest, values, |name| {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
    })
}

/// [`resolve_variables`] with an explicit environment lookup.
pub fn resolve_variables_with(
    manifest: &Manifest,
    values: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, var) in &manifest.variables {
        let value = values
            .get(name)
            .cloned()
            .or_else(|| env(name))
            .or_else(|| var.default.clone());
        match value {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None => bail!(
                "{}: no value for required variable {name:?} (pass it like `spin up --variable {name}=…` or set SPIN_VARIABLE_{})",
                manifest.path.display(),
                name.to_ascii_uppercase()
            ),
        }
    }
    for name in values.keys() {
        if !manifest.variables.contains_key(name) {
            tracing::debug!(variable = %name, manifest = %manifest.path.display(), "value given for a variable the manifest does not declare; ignored");
        }
    }
    Ok(out)
}

/// A component's `allowed_outbound_hosts` with `{{ var }}` expanded from
/// resolved variable values (see [`resolve_variables`]).
pub fn resolved_allowed_outbound_hosts(
    manifest: &Manifest,
    component_id: &str,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let component = manifest.component(component_id)?;
    component
        .allowed_outbound_hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            Template::parse(host)
                .and_then(|t| t.render(variables))
                .map_err(|e| {
                    anyhow!(
                        "{}: [component.{component_id}] allowed_outbound_hosts[{i}] {host:?}: {e}",
                        manifest.path.display()
                    )
                })
        })
        .collect()
}
