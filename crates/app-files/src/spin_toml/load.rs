//! Reading `spin.toml`: the raw serde shapes and the checks Spin makes
//! (manifest version 2, variable names, component ids, trigger shapes,
//! templates naming declared variables), every error naming the file and
//! the offending field. It exists apart from the model so that the model
//! reads as what a loaded manifest *is*, and this file as what makes one
//! invalid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use super::{Application, Component, HttpTrigger, Manifest, Route, Template, Variable};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, Variable>,
    #[serde(rename = "trigger", default)]
    triggers: BTreeMap<String, Vec<toml::Table>>,
    #[serde(rename = "component", default)]
    components: BTreeMap<String, Component>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    component: Option<toml::Value>,
    #[serde(default)]
    components: Option<toml::Value>,
    /// A string or `{ private = true }`; matched by hand below so that a
    /// wrong shape gets an error saying what a route must be.
    route: toml::Value,
    #[serde(default)]
    executor: Option<toml::Value>,
    #[serde(default)]
    static_response: Option<toml::Value>,
}

impl Manifest {
    /// Reads and validates a manifest. Every error names the file and the
    /// offending field.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read Spin manifest {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses manifest text; `path` is used for error messages and as the
    /// base for relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let file = path.display();
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| anyhow!("invalid Spin manifest {file}: {e}"))?;

        match raw.spin_manifest_version.as_integer() {
            Some(2) => {}
            _ => bail!(
                "{file}: `spin_manifest_version` must be 2 (found {}); devstack reads manifest v2 only",
                raw.spin_manifest_version
            ),
        }

        for (name, var) in &raw.variables {
            validate_variable_name(name)
                .map_err(|reason| anyhow!("{file}: [variables] {name:?}: {reason}"))?;
            match (var.required, &var.default) {
                (true, Some(_)) => bail!(
                    "{file}: [variables] {name:?} is `required` and also has a `default`; use one"
                ),
                (false, None) => {
                    bail!("{file}: [variables] {name:?} needs a `default` or `required = true`")
                }
                _ => {}
            }
        }

        for (id, component) in &raw.components {
            validate_component_id(id)
                .map_err(|reason| anyhow!("{file}: [component.{id}]: {reason}"))?;
            if !component.allowed_http_hosts.is_empty() {
                bail!(
                    "{file}: [component.{id}] `allowed_http_hosts` is deprecated; use `allowed_outbound_hosts` (e.g. \"https://example.com\")"
                );
            }
            for (i, host) in component.allowed_outbound_hosts.iter().enumerate() {
                let template = Template::parse(host).map_err(|e| {
                    anyhow!("{file}: [component.{id}] allowed_outbound_hosts[{i}] {host:?}: {e}")
                })?;
                for var in template.variables() {
                    if !raw.variables.contains_key(var) {
                        bail!(
                            "{file}: [component.{id}] allowed_outbound_hosts[{i}] {host:?}: unknown variable {var:?} (declare it under [variables])"
                        );
                    }
                }
            }
        }

        let mut http_triggers = Vec::new();
        let mut other_triggers = BTreeMap::new();
        for (kind, triggers) in raw.triggers {
            if kind != "http" {
                other_triggers.insert(kind, triggers.len());
                continue;
            }
            for (i, table) in triggers.into_iter().enumerate() {
                let at = format!("{file}: [[trigger.http]] #{}", i + 1);
                let t: RawHttpTrigger = toml::Value::Table(table)
                    .try_into()
                    .map_err(|e| anyhow!("{at}: {e}"))?;
                if t.components.is_some() {
                    bail!("{at}: `components` is reserved by Spin and not supported");
                }
                if t.static_response.is_some() {
                    bail!("{at}: `static_response` is not supported by devstack");
                }
                if let Some(exec) = &t.executor {
                    let kind = exec.get("type").and_then(|v| v.as_str()).unwrap_or("");
                    if kind != "http" {
                        bail!("{at}: executor {exec} is not supported by devstack (only the default wasi-http executor)");
                    }
                }
                let component = match t.component {
                    Some(toml::Value::String(c)) => c,
                    Some(toml::Value::Table(_)) => bail!(
                        "{at}: inline components are not supported by devstack; declare [component.<id>] and reference it"
                    ),
                    Some(other) => bail!("{at}: `component` must be a component id, found {other}"),
                    None => bail!("{at}: missing `component`"),
                };
                if !raw.components.contains_key(&component) {
                    bail!("{at}: `component = {component:?}` names no [component.{component}]");
                }
                let private = match &t.route {
                    toml::Value::Table(table) if table.len() == 1 => {
                        table.get("private").and_then(toml::Value::as_bool)
                    }
                    _ => None,
                };
                let route = match (t.route, private) {
                    (toml::Value::String(p), _) => Route::Path(p),
                    (_, Some(true)) => Route::Private,
                    (_, Some(false)) => bail!(
                        "{at}: route must be a string pattern or '{{ private = true }}': component '{component}' has {{ private = false }}"
                    ),
                    (other, None) => bail!(
                        "{at}: route must be a string pattern or '{{ private = true }}': component '{component}' has {other}"
                    ),
                };
                http_triggers.push(HttpTrigger {
                    id: t.id,
                    component,
                    route,
                });
            }
        }

        let base_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));

        Ok(Manifest {
            path: path.to_path_buf(),
            base_dir,
            application: raw.application,
            variables: raw.variables,
            http_triggers,
            other_triggers,
            components: raw.components,
        })
    }
}

/// Spin's variable-name rule (`spin_expressions::Key::validate`): lower-case
/// ASCII letters, digits and single underscores, starting with a letter and
/// ending with a letter or digit.
fn validate_variable_name(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        Err("must not be empty".to_string())
    } else if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Err(format!("invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."))
    } else if !key.as_bytes()[0].is_ascii_lowercase() {
        Err("must start with a lowercase ASCII letter".to_string())
    } else if !key.as_bytes()[key.len() - 1].is_ascii_alphanumeric() {
        Err("must end with a lowercase ASCII letter or digit".to_string())
    } else if key.contains("__") {
        Err("must not contain multiple consecutive underscores".to_string())
    } else {
        Ok(())
    }
}

/// Spin's component-id rule (`KebabId`): lower-case letters, digits and
/// single dashes, starting with a letter.
fn validate_component_id(id: &str) -> std::result::Result<(), String> {
    if id.is_empty() {
        return Err("component id must not be empty".to_string());
    }
    if !id.as_bytes()[0].is_ascii_lowercase() {
        return Err("component id must start with a lower-case ASCII letter".to_string());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "component id may contain only lower-case letters, digits and dashes (found {c:?})"
        ));
    }
    if id.ends_with('-') || id.contains("--") {
        return Err("component id must not end with a dash or contain consecutive dashes".into());
    }
    Ok(())
}
