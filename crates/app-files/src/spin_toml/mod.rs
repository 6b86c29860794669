//! The Spin application manifest (`spin.toml`, manifest version 2).
//!
//! Why it exists: `spin up`, SpinKube, devstack and k8s-check all read this
//! one file, so the routes, outbound permissions and environment of every
//! component have one source of truth — and this module is the one reader of
//! it on our side. It parses the file the way Spin 3 does
//! (`spinframework/spin`: `crates/manifest/src/schema/v2.rs`,
//! `schema/common.rs`, `crates/http/src/config.rs`): unknown fields are
//! errors, a route is a string or `{ private = true }`, variables are
//! `lower_snake` and either `required` or given a `default`, every
//! `{{ var }}` in `allowed_outbound_hosts` names a declared variable.
//!
//! Spin features the Todo components do not use (remote sources, `files`,
//! key-value, SQLite, AI models, component dependencies, non-HTTP triggers)
//! parse, so a valid Spin manifest loads, and the tools decide what to do
//! with them. Trigger shapes devstack cannot serve at all (inline
//! components, `static_response`, other executors) are refused here, so a
//! `spin.toml` that k8s-check accepts is one devstack runs.
//!
//! Resolving variable values (`spin up --variable`, `SPIN_VARIABLE_*`,
//! defaults) is run-time behaviour and lives with the host
//! (`crates/devstack/src/manifest/variables.rs`).
//!
//! Files: this one holds the model ([`Manifest`], [`Component`], …);
//! `load.rs` parses and validates the TOML ([`Manifest::load`],
//! [`Manifest::parse`]); `template.rs` parses `{{ var }}` templates
//! ([`Template`]).

mod load;
mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde::Deserialize;

pub use template::Template;

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
    /// source.
    pub source: Source,
    /// `description`.
    #[serde(default)]
    pub description: String,
    /// `[component.x.variables]` (component configuration for
    /// `spin:variables`).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// `environment`: WASI environment variables, passed verbatim (Spin
    /// never expands templates there).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// `files`.
    #[serde(default)]
    pub files: Vec<toml::Value>,
    /// `exclude_files`.
    #[serde(default)]
    pub exclude_files: Vec<String>,
    /// Deprecated `allowed_http_hosts`: Spin converts it with a warning;
    /// parsing refuses it and names the `allowed_outbound_hosts` form, so
    /// it is always empty in a loaded manifest.
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    /// `allowed_outbound_hosts`, unresolved (may hold `{{ var }}`, each
    /// naming a declared variable).
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// `key_value_stores`.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// `sqlite_databases`.
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// `ai_models`.
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
    /// `[component.x.dependencies]`.
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
}

/// Something valid in a manifest that a reader should be told about; see
/// [`Manifest::warnings`]. The parser does not log: each tool decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// An `environment` value holds `{{`: Spin passes it verbatim (it never
    /// expands templates there), so it is almost certainly a mistake.
    EnvironmentTemplate {
        /// The component id.
        component: String,
        /// The environment variable.
        key: String,
    },
    /// A component's `source` is remote (`url` or `registry`).
    RemoteSource {
        /// The component id.
        component: String,
    },
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

    /// The routes of the HTTP triggers that run `component`, in file order.
    pub fn routes_of<'a>(&'a self, component: &'a str) -> impl Iterator<Item = &'a Route> + 'a {
        self.http_triggers
            .iter()
            .filter(move |t| t.component == component)
            .map(|t| &t.route)
    }

    /// What in this valid manifest deserves a warning, by component id.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        for (id, component) in &self.components {
            for (key, value) in &component.environment {
                if value.contains("{{") {
                    out.push(Warning::EnvironmentTemplate {
                        component: id.clone(),
                        key: key.clone(),
                    });
                }
            }
            if let Source::Remote(_) = component.source {
                out.push(Warning::RemoteSource {
                    component: id.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
