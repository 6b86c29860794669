//! The Spin application manifest (`spin.toml`, manifest version 2).
//!
//! devstack reads the very file `spin up` and SpinKube read, so the routes,
//! outbound permissions and environment of every component have one source of
//! truth. This module parses it the way Spin 3 does
//! (`spinframework/spin`: `crates/manifest/src/schema/v2.rs`,
//! `schema/common.rs`, `crates/http/src/config.rs`): unknown fields are
//! errors, a route is a string or `{ private = true }`, variables are
//! `lower_snake` and either `required` or given a `default`.
//!
//! Application variables are resolved like Spin's expression resolver
//! (`crates/expressions`): a value passed by the caller (`spin up --variable
//! k=v`) wins, then the `SPIN_VARIABLE_<NAME>` environment variable (Spin's
//! default env provider), then the manifest `default`. `{{ name }}` templates
//! are expanded in `allowed_outbound_hosts`, the only component field Spin
//! templates that devstack acts on. `environment` values are passed verbatim,
//! exactly as Spin does (Spin never expands templates there): a template in
//! `environment` would work here and break under `spin up`, so it is logged
//! instead of expanded.
//!
//! Spin features the Todo components do not use (inline components, remote
//! sources, `files`, key-value, SQLite, AI models, component dependencies,
//! non-HTTP triggers) parse, so a valid Spin manifest always loads, but are
//! reported when a component that uses them is served.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

/// A loaded, validated `spin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The directory relative paths (`source`, `build.workdir`) start from.
    pub base_dir: PathBuf,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, Variable>,
    /// Every `[[trigger.http]]`, in file order (order decides duplicates).
    pub http_triggers: Vec<HttpTrigger>,
    /// Trigger types other than `http` and how many triggers each has;
    /// devstack does not run them.
    pub other_triggers: BTreeMap<String, usize>,
    /// `[component.<id>]`, by id.
    pub components: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// `name`.
    pub name: String,
    /// `version`.
    #[serde(default)]
    pub version: String,
    /// `description`.
    #[serde(default)]
    pub description: String,
    /// `authors`.
    #[serde(default)]
    pub authors: Vec<String>,
    /// `targets` (deployment environments; informational here).
    #[serde(default)]
    pub targets: Vec<toml::Value>,
    /// `[application.trigger.<type>]` global trigger settings.
    #[serde(default, rename = "trigger")]
    pub trigger_global_configs: BTreeMap<String, toml::Table>,
    /// `[application.tool.<name>]`: ignored, as by Spin.
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Table>,
}

/// One `[variables]` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `required = true`: a value must be supplied at run time.
    #[serde(default)]
    pub required: bool,
    /// `default`: the value when none is supplied.
    #[serde(default)]
    pub default: Option<String>,
    /// `secret = true`: never log the value.
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// `id` (optional).
    pub id: Option<String>,
    /// The component it runs.
    pub component: String,
    /// `route`.
    pub route: Route,
}

/// A trigger's `route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A path pattern: exact (`/api/tags`), with `:name` segments, or with a
    /// trailing wildcard (`/api/tasks/...`).
    Path(String),
    /// `{ private = true }`: reachable only by service chaining, never over
    /// HTTP.
    Private,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Path(p) => f.write_str(p),
            Route::Private => f.write_str("{ private = true }"),
        }
    }
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// `source`: the `.wasm` file (relative to the manifest) or a remote
    /// source devstack cannot fetch.
    pub source: Source,
    /// `description`.
    #[serde(default)]
    pub description: String,
    /// `[component.x.variables]` (component configuration for
    /// `spin:variables`; not provided by devstack).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// `environment`: WASI environment variables, passed verbatim.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// `files` (not mounted by devstack).
    #[serde(default)]
    pub files: Vec<toml::Value>,
    /// `exclude_files`.
    #[serde(default)]
    pub exclude_files: Vec<String>,
    /// Deprecated `allowed_http_hosts`: Spin converts it with a warning;
    /// devstack refuses it and names the `allowed_outbound_hosts` form.
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    /// `allowed_outbound_hosts`, unresolved (may hold `{{ var }}`).
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// `key_value_stores` (not provided by devstack).
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// `sqlite_databases` (not provided by devstack).
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// `ai_models` (not provided by devstack).
    #[serde(default)]
    pub ai_models: Vec<String>,
    /// `[component.x.build]`.
    #[serde(default)]
    pub build: Option<Build>,
    /// `[component.x.tool.<name>]`: ignored, as by Spin.
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Table>,
    /// `dependencies_inherit_configuration`.
    #[serde(default)]
    pub dependencies_inherit_configuration: bool,
    /// `[component.x.dependencies]` (not composed by devstack).
    #[serde(default)]
    pub dependencies: BTreeMap<String, toml::Value>,
    /// `[component.x.profile.<name>]`.
    #[serde(default)]
    pub profile: BTreeMap<String, toml::Table>,
}

/// A component's `source`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Source {
    /// A path to a `.wasm` file, relative to the manifest.
    Local(String),
    /// `{ url, digest }` or `{ registry, package, version }`.
    Remote(toml::Table),
}

/// `[component.x.build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// `command`: one command or a list run in order.
    pub command: Commands,
    /// `workdir`, relative to the manifest.
    #[serde(default)]
    pub workdir: Option<String>,
    /// `watch` globs (for `spin watch`).
    #[serde(default)]
    pub watch: Vec<String>,
}

/// `command = "…"` or `command = ["…", "…"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Commands {
    /// One command.
    Single(String),
    /// Several commands, run left to right.
    Multiple(Vec<String>),
}

impl Commands {
    /// The commands in order.
    pub fn list(&self) -> Vec<&str> {
        match self {
            Commands::Single(c) => vec![c.as_str()],
            Commands::Multiple(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

impl Component {
    /// The absolute path of the component's `.wasm`, if it is a local file.
    pub fn source_path(&self, base_dir: &Path) -> Option<PathBuf> {
        match &self.source {
            Source::Local(p) => Some(base_dir.join(p)),
            Source::Remote(_) => None,
        }
    }

    /// A human-readable hint on how to build this component
    /// (`cd <workdir> && <command>`), if the manifest says.
    pub fn build_hint(&self) -> Option<String> {
        let build = self.build.as_ref()?;
        let cmds = build.command.list().join(" && ");
        Some(match &build.workdir {
            Some(dir) => format!("(cd {dir} && {cmds})"),
            None => cmds,
        })
    }

    /// Manifest features this component asks for that devstack does not
    /// provide (for a warning when it is served).
    pub fn unsupported_features(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.files.is_empty() {
            out.push("files");
        }
        if !self.key_value_stores.is_empty() {
            out.push("key_value_stores");
        }
        if !self.sqlite_databases.is_empty() {
            out.push("sqlite_databases");
        }
        if !self.ai_models.is_empty() {
            out.push("ai_models");
        }
        if !self.dependencies.is_empty() {
            out.push("dependencies");
        }
        if !self.variables.is_empty() {
            out.push("variables (spin:variables)");
        }
        out
    }
}

// ---- raw (serde) shapes ----------------------------------------------------

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
    route: RawRoute,
    #[serde(default)]
    executor: Option<toml::Value>,
    #[serde(default)]
    static_response: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private(RawPrivate),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivate {
    private: bool,
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
            for (key, value) in &component.environment {
                if value.contains("{{") {
                    tracing::warn!(
                        manifest = %file,
                        component = %id,
                        key = %key,
                        "environment values are not templates in Spin; {{{{ … }}}} is passed verbatim"
                    );
                }
            }
            if let Source::Remote(_) = component.source {
                tracing::warn!(manifest = %file, component = %id, "remote component sources are not fetched by devstack");
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
                let route = match t.route {
                    RawRoute::Path(p) => Route::Path(p),
                    RawRoute::Private(RawPrivate { private: true }) => Route::Private,
                    RawRoute::Private(RawPrivate { private: false }) => bail!(
                        "{at}: route must be a string pattern or '{{ private = true }}': component '{component}' has {{ private = false }}"
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

    /// Resolves every application variable: `values` (like `spin up
    /// --variable`) first, then `SPIN_VARIABLE_<NAME>` from the process
    /// environment, then the manifest default. A required variable with no
    /// value is an error. Values for undeclared variables are ignored.
    pub fn resolve_variables(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        self.resolve_variables_with(values, |name| {
            std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
        })
    }

    /// [`Manifest::resolve_variables`] with an explicit environment lookup.
    pub fn resolve_variables_with(
        &self,
        values: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (name, var) in &self.variables {
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
                    self.path.display(),
                    name.to_ascii_uppercase()
                ),
            }
        }
        for name in values.keys() {
            if !self.variables.contains_key(name) {
                tracing::debug!(variable = %name, manifest = %self.path.display(), "value given for a variable the manifest does not declare; ignored");
            }
        }
        Ok(out)
    }

    /// A component's `allowed_outbound_hosts` with `{{ var }}` expanded from
    /// resolved variable values (see [`Manifest::resolve_variables`]).
    pub fn resolved_allowed_outbound_hosts(
        &self,
        component_id: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        let component = self.component(component_id)?;
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
                            self.path.display()
                        )
                    })
            })
            .collect()
    }

    /// A component by id, or an error listing the ids there are.
    pub fn component(&self, id: &str) -> Result<&Component> {
        self.components.get(id).ok_or_else(|| {
            anyhow!(
                "{}: no component {id:?} (components: {})",
                self.path.display(),
                self.components
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
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

/// A `{{ name }}` template as Spin parses it (`spin_expressions::Template`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Expr(String),
}

impl Template {
    /// Splits a string into literals and `{{ expr }}` parts (whitespace
    /// inside the braces is trimmed).
    pub fn parse(s: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{{") {
                let (expr, tail) = after.split_once("}}").ok_or_else(|| {
                    anyhow!("invalid variable template: unmatched '{{{{' in template")
                })?;
                parts.push(Part::Expr(expr.trim().to_string()));
                rest = tail;
            } else {
                let idx = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Lit(rest[..idx].to_string()));
                rest = &rest[idx..];
            }
        }
        Ok(Template { parts })
    }

    /// The variables it refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// True when there is nothing to expand.
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// Expands it from resolved variable values.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Expr(e) => out.push_str(
                    values
                        .get(e)
                        .ok_or_else(|| anyhow!("invalid variable name: unknown variable {e:?}"))?,
                ),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(text, Path::new("/app/spin.toml"))
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
[[trigger.http]]
route = { private = true }
component = "api"
[component.api]
source = "target/api.wasm"
allowed_outbound_hosts = ["http://localhost:{{ port }}", "https://*.example.com"]
environment = { A = "1" }
[component.api.build]
command = "cargo build"
workdir = "api"
"#;

    #[test]
    fn loads_the_basics() {
        let m = parse(BASIC).unwrap();
        assert_eq!(m.application.name, "demo");
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.http_triggers[0].route, Route::Path("/api/...".into()));
        assert_eq!(m.http_triggers[1].route, Route::Private);
        let api = m.component("api").unwrap();
        assert_eq!(
            api.source_path(&m.base_dir).unwrap(),
            PathBuf::from("/app/target/api.wasm")
        );
        assert_eq!(api.build_hint().unwrap(), "(cd api && cargo build)");
        assert_eq!(api.environment["A"], "1");
    }

    #[test]
    fn resolves_variables_with_precedence() {
        let m = parse(BASIC).unwrap();
        let err = m
            .resolve_variables_with(&BTreeMap::new(), |_| None)
            .unwrap_err();
        assert!(err.to_string().contains("\"token\""), "{err}");

        let given = BTreeMap::from([("token".to_string(), "t".to_string())]);
        let vars = m.resolve_variables_with(&given, |_| None).unwrap();
        assert_eq!(vars["port"], "3500");

        let vars = m
            .resolve_variables_with(&given, |n| (n == "port").then(|| "9".to_string()))
            .unwrap();
        assert_eq!(vars["port"], "9");

        let given = BTreeMap::from([
            ("token".to_string(), "t".to_string()),
            ("port".to_string(), "4000".to_string()),
        ]);
        let vars = m
            .resolve_variables_with(&given, |n| (n == "port").then(|| "9".to_string()))
            .unwrap();
        assert_eq!(vars["port"], "4000");
        let hosts = m.resolved_allowed_outbound_hosts("api", &vars).unwrap();
        assert_eq!(
            hosts,
            vec!["http://localhost:4000", "https://*.example.com"]
        );
    }

    #[test]
    fn errors_name_file_and_field() {
        let e = parse(&BASIC.replace("spin_manifest_version = 2", "spin_manifest_version = 1"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/app/spin.toml") && e.contains("spin_manifest_version"),
            "{e}"
        );

        let e = parse(&BASIC.replace("{{ port }}", "{{ nope }}"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("allowed_outbound_hosts[0]") && e.contains("nope"),
            "{e}"
        );

        let e = parse(&BASIC.replace("environment =", "enviroment ="))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/app/spin.toml") && e.contains("enviroment"),
            "{e}"
        );

        let e = parse(&BASIC.replace("{ private = true }", "{ private = false }"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("private = false"), "{e}");

        let e = parse(&BASIC.replace("component = \"api\"\n[[", "component = \"apx\"\n[["))
            .unwrap_err()
            .to_string();
        assert!(e.contains("apx"), "{e}");

        let e = parse(&BASIC.replace("port = { default", "Port = { default"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"Port\""), "{e}");

        let e = parse(&BASIC.replace("{ required = true, secret = true }", "{ secret = true }"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("token") && e.contains("default"), "{e}");
    }

    #[test]
    fn templates_parse_like_spin() {
        let t = Template::parse("a-{{ x }}-{{y}}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), vec!["x", "y"]);
        let vals = BTreeMap::from([
            ("x".to_string(), "1".to_string()),
            ("y".to_string(), "2".to_string()),
        ]);
        assert_eq!(t.render(&vals).unwrap(), "a-1-2");
        assert!(Template::parse("{{ open").is_err());
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn the_repository_manifest_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml");
        let m = Manifest::load(&path).unwrap();
        let vars = m.resolve_variables(&BTreeMap::new()).unwrap();
        for id in m.components.keys() {
            m.resolved_allowed_outbound_hosts(id, &vars).unwrap();
        }
        assert!(m.components.contains_key("task-api"));
        assert!(m
            .http_triggers
            .iter()
            .any(|t| t.route == Route::Path("/api/openapi.json".into())));
    }
}
