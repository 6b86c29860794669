//! Checks `dapr.yaml` (Dapr multi-app run) against spin.toml and the Dapr
//! resources it loads, the way the `dapr` CLI and daprd will read them. Both
//! files are read by `app_files` (the parsers devstack uses); the checks
//! here are over their typed models:
//! - the six app-ids, each `spin up --component-id <id>` of spin.toml,
//!   listening on `127.0.0.1:<appPort>`, told its sidecar's port through
//!   `-e DAPR_HTTP_PORT=` *and* `--variable dapr_http_port=` (the component's
//!   `allowed_outbound_hosts` must use that variable);
//! - every port distinct across all apps;
//! - `resourcesPaths` exist; loaded like daprd does (the YAML files directly
//!   in each directory, not below), they give exactly the cluster's Component
//!   names with the same scopes, the cluster's Subscriptions and a Resiliency;
//! - the local secret file holds the two secrets the components read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use app_files::dapr_yaml::RunFile;
use serde_json::Value;

use crate::kustomize::Resource;
use crate::rules::{RepoFacts, APP_IDS};
use crate::schema::CrdSchemas;
use crate::yaml;

/// The values following `flag` (or its short form) in a command line.
fn flag_values<'a>(cmd: &'a [String], long: &str, short: Option<&str>) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cmd.len() {
        let a = cmd[i].as_str();
        if a == long || Some(a) == short {
            if let Some(v) = cmd.get(i + 1) {
                out.push(v.as_str());
            }
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix(&format!("{long}=")) {
            out.push(v);
        }
        i += 1;
    }
    out
}

/// Checks `<repo>/dapr.yaml`; returns the problems found. A file that does
/// not parse (`app_files::dapr_yaml`, the parser devstack uses) is an error.
pub fn check(repo: &Path, facts: &RepoFacts, schemas: &CrdSchemas) -> Result<Vec<String>> {
    let run = RunFile::load(&repo.join("dapr.yaml"))?;
    let mut out = Vec::new();
    let at = "dapr.yaml";

    if run.version != Some(1) {
        out.push(format!("{at}: version must be 1"));
    }

    // Each app: the five ports set (to ports not reserved), the directory of
    // spin.toml, HTTP. `ports` keeps the valid ports of each app.
    let mut ports: Vec<BTreeMap<&'static str, u16>> = Vec::new();
    for (i, a) in run.apps.iter().enumerate() {
        let app_id = &a.app_id;
        let mut valid = BTreeMap::new();
        for (field, port) in a.ports() {
            match port {
                Some(p) if p >= 1024 => {
                    valid.insert(field, p);
                }
                other => out.push(format!(
                    "{at}: apps[{i}] ({app_id}): {field} must be set to a port in 1024..65535 (unset means a random port), is {other:?}"
                )),
            }
        }
        ports.push(valid);
        match a.app_dir_path.as_deref() {
            Some(dir) if repo.join(dir).join("spin.toml").is_file() => {}
            other => out.push(format!(
                "{at}: {app_id}: appDirPath must be the directory of spin.toml, is {other:?}"
            )),
        }
        if run.app_protocol(a) != "http" {
            out.push(format!("{at}: {app_id}: appProtocol must be http"));
        }
    }

    // The app-ids, once each.
    let ids: Vec<&str> = run.apps.iter().map(|a| a.app_id.as_str()).collect();
    let set: BTreeSet<&str> = ids.iter().copied().collect();
    if set != APP_IDS.into_iter().collect() || ids.len() != APP_IDS.len() {
        out.push(format!(
            "{at}: apps must be exactly {APP_IDS:?}, once each; are {ids:?}"
        ));
    }
    for c in facts.spin.components.keys() {
        if c != "web" && !set.contains(c.as_str()) {
            out.push(format!("{at}: spin.toml component {c} has no app"));
        }
    }

    // Distinct ports.
    let mut used: BTreeMap<u16, String> = BTreeMap::new();
    for (a, valid) in run.apps.iter().zip(&ports) {
        for (field, port) in valid {
            if let Some(prev) = used.insert(*port, format!("{} {field}", a.app_id)) {
                out.push(format!(
                    "{at}: port {port} is used twice ({prev} and {} {field})",
                    a.app_id
                ));
            }
        }
    }

    // The commands.
    for (a, valid) in run.apps.iter().zip(&ports) {
        let id = a.app_id.as_str();
        let cmd = &a.command;
        if cmd.first().map(String::as_str) != Some("spin")
            || cmd.get(1).map(String::as_str) != Some("up")
        {
            out.push(format!(
                "{at}: {id}: command must be `spin up …`, is {cmd:?}"
            ));
            continue;
        }
        let components = flag_values(cmd, "--component-id", Some("-c"));
        if components != [id] {
            out.push(format!(
                "{at}: {id}: command must run exactly --component-id {id}, runs {components:?}"
            ));
        }
        if let Some(from) = flag_values(cmd, "--from", Some("-f")).first() {
            if !repo.join(from).is_file() {
                out.push(format!("{at}: {id}: --from {from} does not exist"));
            }
        }
        let app_port = valid.get("appPort").copied().unwrap_or(0);
        let http_port = valid.get("daprHTTPPort").copied().unwrap_or(0);
        let listen = flag_values(cmd, "--listen", None);
        let want_listen = format!("127.0.0.1:{app_port}");
        if listen != [want_listen.as_str()] {
            out.push(format!(
                "{at}: {id}: command must --listen {want_listen} (appPort), has {listen:?}"
            ));
        }
        let env = flag_values(cmd, "--env", Some("-e"));
        let want_env = format!("DAPR_HTTP_PORT={http_port}");
        if !env.contains(&want_env.as_str()) {
            out.push(format!(
                "{at}: {id}: command must pass -e {want_env} (daprHTTPPort), passes {env:?}"
            ));
        }
        let vars = flag_values(cmd, "--variable", None);
        let want_var = format!("dapr_http_port={http_port}");
        if !vars.contains(&want_var.as_str()) {
            out.push(format!(
                "{at}: {id}: command must pass --variable {want_var} (allowed_outbound_hosts), passes {vars:?}"
            ));
        }
        if let Some(c) = facts.spin.components.get(id) {
            if !c
                .allowed_outbound_hosts
                .iter()
                .any(|h| h.replace(' ', "") == "http://localhost:{{dapr_http_port}}")
            {
                out.push(format!(
                    "spin.toml: component {id} must allow http://localhost:{{{{ dapr_http_port }}}} (not a fixed port), or its sidecar on {http_port} is unreachable under dapr.yaml"
                ));
            }
        }
    }

    // Resources, loaded like daprd.
    let paths = &run.common.resources_paths;
    if paths.is_empty() {
        out.push(format!("{at}: common.resourcesPaths is required"));
    }
    let mut loaded: Vec<Resource> = Vec::new();
    for p in paths {
        let dir = repo.join(p);
        if !dir.is_dir() {
            out.push(format!("{at}: resources path {p} does not exist"));
            continue;
        }
        loaded.extend(load_like_daprd(&dir)?);
    }
    if let Some(cfg) = &run.common.config_file_path {
        let file = repo.join(cfg);
        match yaml::read_single(&file) {
            Ok(value) => loaded_config(value, file, schemas, &mut out),
            Err(e) => out.push(format!("{at}: configFilePath {cfg}: {e:#}")),
        }
    }
    for r in &loaded {
        out.extend(schemas.validate(r));
    }
    let kind_names = |kind: &str| -> BTreeMap<String, &Resource> {
        loaded
            .iter()
            .filter(|r| r.group() == "dapr.io" && r.kind() == kind)
            .map(|r| (r.name().to_string(), r))
            .collect()
    };
    let local_components = kind_names("Component");
    let n_components = loaded
        .iter()
        .filter(|r| r.group() == "dapr.io" && r.kind() == "Component")
        .count();
    if n_components != local_components.len() {
        out.push(format!(
            "{at}: a Component name is defined twice across resourcesPaths"
        ));
    }

    // Same names and scopes as the cluster.
    let cluster_components: BTreeMap<String, Resource> =
        load_like_daprd(&repo.join("k8s/dapr/components"))?
            .into_iter()
            .filter(|r| r.kind() == "Component")
            .map(|r| (r.name().to_string(), r))
            .collect();
    let local_names: BTreeSet<&String> = local_components.keys().collect();
    let cluster_names: BTreeSet<&String> = cluster_components.keys().collect();
    if local_names != cluster_names {
        out.push(format!(
            "{at}: local Components {local_names:?} must have the names of k8s/dapr/components {cluster_names:?}"
        ));
    }
    for (name, c) in &cluster_components {
        let Some(local) = local_components.get(name) else {
            continue;
        };
        let scopes = |r: &Resource| -> Vec<String> {
            r.value
                .get("scopes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        if scopes(local) != scopes(c) {
            out.push(format!(
                "{}: scopes {:?} differ from the cluster's {:?}",
                local.describe(),
                scopes(local),
                scopes(c)
            ));
        }
    }
    if let (Some(local), Some(cluster)) = (
        local_components.get("outbox-sweep"),
        cluster_components.get("outbox-sweep"),
    ) {
        if local.value.get("spec") != cluster.value.get("spec") {
            out.push(format!(
                "{}: must equal k8s/dapr/components/outbox-sweep.yaml",
                local.describe()
            ));
        }
    }

    // The cluster's Subscriptions, and a Resiliency.
    let cluster_subs: BTreeSet<String> = load_like_daprd(&repo.join("k8s/dapr/subscriptions"))?
        .iter()
        .filter(|r| r.kind() == "Subscription")
        .map(|r| r.name().to_string())
        .collect();
    let local_subs: BTreeSet<String> = kind_names("Subscription").into_keys().collect();
    if local_subs != cluster_subs {
        out.push(format!(
            "{at}: the run loads Subscriptions {local_subs:?}, the cluster has {cluster_subs:?}"
        ));
    }
    if kind_names("Resiliency").is_empty() {
        out.push(format!(
            "{at}: no Resiliency is loaded (deliveries would not be retried, then dead-lettered)"
        ));
    }

    // The secret file.
    if let Some(store) = local_components.get("todo-secrets") {
        secrets_file(repo, store, &mut out);
    }
    Ok(out)
}

fn loaded_config(value: Value, file: PathBuf, schemas: &CrdSchemas, out: &mut Vec<String>) {
    let r = Resource {
        value,
        source: file,
    };
    if r.kind() != "Configuration" {
        out.push(format!(
            "{}: configFilePath must hold a Dapr Configuration",
            r.describe()
        ));
    }
    out.extend(schemas.validate(&r));
}

fn secrets_file(repo: &Path, store: &Resource, out: &mut Vec<String>) {
    let file = store
        .value
        .pointer("/spec/metadata")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|m| m.get("name").and_then(Value::as_str) == Some("secretsFile"))
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str);
    let Some(file) = file else {
        out.push(format!("{}: secretsFile is required", store.describe()));
        return;
    };
    let parsed: Result<Value> = std::fs::read_to_string(repo.join(file))
        .map_err(anyhow::Error::from)
        .and_then(|t| serde_json::from_str(&t).context("not JSON"));
    match parsed {
        Err(e) => out.push(format!("{}: secrets file {file}: {e:#}", store.describe())),
        Ok(v) => {
            if !v.get("jwt-secret").is_some_and(Value::is_string) {
                out.push(format!("{file}: needs a string jwt-secret"));
            }
            if !v
                .pointer("/app-api-token/token")
                .is_some_and(Value::is_string)
            {
                out.push(format!("{file}: needs app-api-token.token"));
            }
        }
    }
}

/// The resources daprd reads from a resources path: every YAML file directly
/// in it (no subdirectories), every document, any kind.
pub fn load_like_daprd(dir: &Path) -> Result<Vec<Resource>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        if !f.is_file()
            || !matches!(
                f.extension().and_then(|e| e.to_str()),
                Some("yaml") | Some("yml")
            )
        {
            continue;
        }
        for value in yaml::read_documents(&f)? {
            let r = Resource {
                value,
                source: f.clone(),
            };
            if r.group() == "dapr.io" {
                out.push(r);
            }
        }
    }
    Ok(out)
}
