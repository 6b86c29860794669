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
//!
//! Files: this one holds the model ([`Manifest`], [`Component`], …);
//! `load.rs` parses and validates the TOML ([`Manifest::load`]);
//! `variables.rs` resolves application variables and expands `{{ var }}`
//! templates ([`Manifest::resolve_variables`], [`Template`]).

mod load;
mod variables;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::Deserialize;

pub use variables::Template;

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

impl Manifest {
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
