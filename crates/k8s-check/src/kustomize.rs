//! Renders a kustomization the way `kubectl kustomize` does, for the subset
//! of Kustomize this repository uses — and refuses everything else, so the
//! rendering checked here can never silently differ from what is applied.
//!
//! Supported (`kustomize.config.k8s.io/v1beta1`, `kind: Kustomization`):
//! - `resources`: local files (within the kustomization's directory, as
//!   kustomize's default load restrictor demands) and local directories that
//!   hold a kustomization (anywhere, but not an ancestor: that is a cycle).
//!   Remote resources are refused.
//! - `patches`: `path` or inline `patch`; a JSON6902 patch (a list of
//!   operations, needs `target`) or a strategic-merge patch without lists
//!   (see [`crate::patch`]). `target` selects by `group`, `version`, `kind`,
//!   `name`, `namespace` (anchored regular expressions, as in kustomize).
//!   Unlike kustomize, a patch that matches nothing is an error.
//! - `namespace`: set on every namespaced object. A `Namespace` object must
//!   carry that name; RoleBinding subjects (ServiceAccounts) must already name
//!   it (kustomize rewrites some of them by rules not worth reproducing).
//! - `labels`: `pairs` added to `metadata.labels`, and with
//!   `includeTemplates: true` to pod templates; `includeSelectors: true` is
//!   refused (selectors are immutable and must not change under us).
//!
//! Transformers run in kustomize's order: patches, then namespace, then labels.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use regex::Regex;
use serde_json::{Map, Value};

use crate::patch;
use crate::yaml;

/// One rendered object and the file it came from.
#[derive(Debug, Clone)]
pub struct Resource {
    pub value: Value,
    pub source: PathBuf,
}

/// What identifies an object in a kustomization: kustomize refuses two with
/// the same id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResId {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ResId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!(".{}", self.group)
        };
        if self.namespace.is_empty() {
            write!(f, "{}{group}/{}", self.kind, self.name)
        } else {
            write!(f, "{}{group}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl Resource {
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        group_of(self.api_version())
    }

    /// The API version without the group (`v1`, `v1alpha1`).
    pub fn version(&self) -> &str {
        let av = self.api_version();
        av.rsplit_once('/').map_or(av, |(_, v)| v)
    }

    pub fn id(&self) -> ResId {
        ResId {
            group: self.group().to_string(),
            kind: self.kind().to_string(),
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// `kind name (file)`, for messages; the file relative to the repository.
    pub fn describe(&self) -> String {
        let repo = crate::repo_root();
        let file = self.source.strip_prefix(&repo).unwrap_or(&self.source);
        format!("{} {} ({})", self.kind(), self.name(), file.display())
    }
}

pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Kinds that live outside namespaces (the ones kustomize knows; custom
/// resources are taken as namespaced, as kustomize does without CRDs).
pub fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "IngressClass"
            | "RuntimeClass"
            | "PriorityClass"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "APIService"
            | "CSIDriver"
            | "Node"
    )
}

/// The file that makes a directory a kustomization.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Renders the kustomization in `dir`.
pub fn render(dir: &Path) -> Result<Vec<Resource>> {
    render_dir(dir, &mut Vec::new())
}

fn render_dir(dir: &Path, stack: &mut Vec<PathBuf>) -> Result<Vec<Resource>> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("kustomization directory {}", dir.display()))?;
    if let Some(visited) = stack.iter().find(|v| v.starts_with(&dir)) {
        bail!(
            "cycle: {} contains {}, which is already being rendered",
            dir.display(),
            visited.display()
        );
    }
    let file = kustomization_file(&dir)
        .ok_or_else(|| anyhow!("{} has no kustomization.yaml", dir.display()))?;
    stack.push(dir.clone());
    let result = render_file(&dir, &file, stack);
    stack.pop();
    result.with_context(|| format!("rendering {}", file.display()))
}

fn render_file(dir: &Path, file: &Path, stack: &mut Vec<PathBuf>) -> Result<Vec<Resource>> {
    let k = yaml::read_single(file)?;
    let k = k
        .as_object()
        .ok_or_else(|| anyhow!("a kustomization is a map"))?;
    for (key, _) in k {
        if !matches!(
            key.as_str(),
            "apiVersion" | "kind" | "resources" | "patches" | "namespace" | "labels"
        ) {
            bail!("field `{key}` is not in the Kustomize subset k8s-check renders (resources, patches, namespace, labels); see docs/kubernetes.md");
        }
    }
    match k.get("apiVersion").and_then(Value::as_str) {
        Some("kustomize.config.k8s.io/v1beta1") | None => {}
        Some(other) => bail!("apiVersion {other} (expected kustomize.config.k8s.io/v1beta1)"),
    }
    match k.get("kind").and_then(Value::as_str) {
        Some("Kustomization") | None => {}
        Some(other) => bail!("kind {other} (expected Kustomization)"),
    }

    // resources
    let mut out: Vec<Resource> = Vec::new();
    for entry in string_list(k.get("resources"), "resources")? {
        if entry.contains("://") || entry.starts_with("github.com/") {
            bail!("remote resource {entry} is not supported");
        }
        let path = dir.join(&entry);
        if path.is_dir() {
            out.extend(render_dir(&path, stack)?);
        } else if path.is_file() {
            let canonical = path.canonicalize()?;
            if !canonical.starts_with(dir) {
                bail!("resource file {entry} is outside {} (kustomize refuses files outside the kustomization root; make it a base with its own kustomization.yaml)", dir.display());
            }
            for value in yaml::read_documents(&canonical)? {
                let r = Resource {
                    value,
                    source: canonical.clone(),
                };
                if r.api_version().is_empty() || r.kind().is_empty() || r.name().is_empty() {
                    bail!(
                        "{}: every object needs apiVersion, kind and metadata.name",
                        canonical.display()
                    );
                }
                out.push(r);
            }
        } else {
            bail!("resource {entry} does not exist");
        }
    }
    check_unique(&out)?;

    // patches
    if let Some(patches) = k.get("patches") {
        let patches = patches
            .as_array()
            .ok_or_else(|| anyhow!("`patches` is a list"))?;
        for (i, p) in patches.iter().enumerate() {
            apply_patch(dir, p, &mut out).with_context(|| format!("patches[{i}]"))?;
        }
    }

    // namespace
    if let Some(ns) = k.get("namespace") {
        let ns = ns
            .as_str()
            .ok_or_else(|| anyhow!("`namespace` is a string"))?;
        set_namespace(&mut out, ns)?;
    }

    // labels
    if let Some(labels) = k.get("labels") {
        let labels = labels
            .as_array()
            .ok_or_else(|| anyhow!("`labels` is a list"))?;
        for (i, l) in labels.iter().enumerate() {
            add_labels(l, &mut out).with_context(|| format!("labels[{i}]"))?;
        }
    }
    check_unique(&out)?;
    Ok(out)
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Vec<String>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    v.as_array()
        .ok_or_else(|| anyhow!("`{what}` is a list"))?
        .iter()
        .map(|e| {
            e.as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("`{what}` holds strings"))
        })
        .collect()
}

fn check_unique(resources: &[Resource]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for r in resources {
        if !seen.insert(r.id()) {
            bail!(
                "{} is defined twice (second in {})",
                r.id(),
                r.source.display()
            );
        }
    }
    Ok(())
}

/// A `target` selector.
struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
}

impl Selector {
    fn parse(v: &Value) -> Result<Selector> {
        let obj = v.as_object().ok_or_else(|| anyhow!("`target` is a map"))?;
        let mut sel = Selector {
            group: None,
            version: None,
            kind: None,
            name: None,
            namespace: None,
        };
        for (key, value) in obj {
            let text = value
                .as_str()
                .ok_or_else(|| anyhow!("target.{key} is a string"))?;
            let re = Some(Regex::new(&format!("^(?:{text})$"))?);
            match key.as_str() {
                "group" => sel.group = re,
                "version" => sel.version = re,
                "kind" => sel.kind = re,
                "name" => sel.name = re,
                "namespace" => sel.namespace = re,
                other => bail!("target.{other} is not in the supported subset (group, version, kind, name, namespace)"),
            }
        }
        Ok(sel)
    }

    fn matches(&self, r: &Resource) -> bool {
        let m = |re: &Option<Regex>, v: &str| re.as_ref().is_none_or(|re| re.is_match(v));
        m(&self.group, r.group())
            && m(&self.version, r.version())
            && m(&self.kind, r.kind())
            && m(&self.name, r.name())
            && m(&self.namespace, r.namespace())
    }
}

fn apply_patch(dir: &Path, p: &Value, resources: &mut [Resource]) -> Result<()> {
    let obj = p
        .as_object()
        .ok_or_else(|| anyhow!("a patch entry is a map"))?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "path" | "patch" | "target") {
            bail!("patch field `{key}` is not in the supported subset (path, patch, target)");
        }
    }
    let text = match (obj.get("path"), obj.get("patch")) {
        (Some(path), None) => {
            let path = path.as_str().ok_or_else(|| anyhow!("`path` is a string"))?;
            let full = dir.join(path).canonicalize()?;
            if !full.starts_with(dir) {
                bail!("patch file {path} is outside the kustomization root");
            }
            std::fs::read_to_string(&full)?
        }
        (None, Some(inline)) => inline
            .as_str()
            .ok_or_else(|| anyhow!("`patch` is a string"))?
            .to_string(),
        _ => bail!("a patch needs exactly one of `path` and `patch`"),
    };
    let mut docs = yaml::parse_documents(&text, Path::new("<patch>"))?;
    if docs.len() != 1 {
        bail!("a patch holds exactly one document, found {}", docs.len());
    }
    let body = docs.remove(0);
    if !body.is_array() {
        let pr = Resource {
            value: body.clone(),
            source: PathBuf::new(),
        };
        if pr.api_version().is_empty() || pr.kind().is_empty() || pr.name().is_empty() {
            bail!("a strategic-merge patch must carry apiVersion, kind and metadata.name (kustomize cannot parse it otherwise)");
        }
    }
    let selector = obj.get("target").map(Selector::parse).transpose()?;

    let mut matched = 0;
    for r in resources.iter_mut() {
        let before = r.id();
        let selected = match &selector {
            Some(sel) => sel.matches(r),
            None => {
                // A strategic-merge patch names its target itself.
                let pr = Resource {
                    value: body.clone(),
                    source: PathBuf::new(),
                };
                pr.group() == r.group()
                    && pr.kind() == r.kind()
                    && pr.name() == r.name()
                    && (pr.namespace().is_empty() || pr.namespace() == r.namespace())
            }
        };
        if !selected {
            continue;
        }
        matched += 1;
        if body.is_array() {
            if selector.is_none() {
                bail!("a JSON6902 patch needs a `target`");
            }
            patch::apply_json6902(&mut r.value, &body)
                .with_context(|| format!("patching {}", r.describe()))?;
        } else {
            let mut smp = body.clone();
            if let Some(m) = smp.as_object_mut() {
                m.remove("apiVersion");
                m.remove("kind");
                if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("name");
                    meta.remove("namespace");
                }
            }
            patch::apply_merge(&mut r.value, &smp)
                .with_context(|| format!("patching {}", r.describe()))?;
        }
        if r.id() != before {
            bail!("the patch changed the identity of {before} (kustomize refuses that by default)");
        }
    }
    if matched == 0 {
        bail!("the patch matches no resource (check its target)");
    }
    Ok(())
}

fn set_namespace(resources: &mut [Resource], ns: &str) -> Result<()> {
    for r in resources.iter_mut() {
        let kind = r.kind().to_string();
        if kind == "Namespace" {
            if r.name() != ns {
                bail!(
                    "Namespace {} is not the kustomization's namespace {ns}",
                    r.name()
                );
            }
            continue;
        }
        if is_cluster_scoped(&kind) {
            continue;
        }
        if matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            for s in r
                .value
                .get("subjects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                    && s.get("namespace").and_then(Value::as_str) != Some(ns)
                {
                    bail!("{}: a ServiceAccount subject must name namespace {ns} explicitly (kustomize would rewrite it by its own rules)", r.describe());
                }
            }
        }
        let meta = metadata_mut(&mut r.value)?;
        meta.insert("namespace".into(), Value::String(ns.to_string()));
    }
    Ok(())
}

fn metadata_mut(v: &mut Value) -> Result<&mut Map<String, Value>> {
    v.as_object_mut()
        .ok_or_else(|| anyhow!("object is not a map"))?
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("metadata is not a map"))
}

fn add_labels(spec: &Value, resources: &mut [Resource]) -> Result<()> {
    let obj = spec
        .as_object()
        .ok_or_else(|| anyhow!("a labels entry is a map"))?;
    let mut include_templates = false;
    let mut pairs = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "pairs" => {
                for (k, v) in value
                    .as_object()
                    .ok_or_else(|| anyhow!("`pairs` is a map"))?
                {
                    let v = v
                        .as_str()
                        .ok_or_else(|| anyhow!("label {k} must be a string (quote it)"))?;
                    pairs.insert(k.clone(), Value::String(v.to_string()));
                }
            }
            "includeSelectors" => {
                if value.as_bool() != Some(false) {
                    bail!("includeSelectors: true is not in the supported subset (selectors are immutable)");
                }
            }
            "includeTemplates" => {
                include_templates = value
                    .as_bool()
                    .ok_or_else(|| anyhow!("includeTemplates is a boolean"))?;
            }
            other => bail!("labels field `{other}` is not in the supported subset"),
        }
    }
    for r in resources.iter_mut() {
        let kind = r.kind().to_string();
        insert_all(metadata_mut(&mut r.value)?, "labels", &pairs)?;
        if include_templates {
            let template = match kind.as_str() {
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                    Some("/spec/template")
                }
                "CronJob" => Some("/spec/jobTemplate/spec/template"),
                _ => None,
            };
            if let Some(t) = template.and_then(|t| r.value.pointer_mut(t)) {
                insert_all(metadata_mut(t)?, "labels", &pairs)?;
            }
        }
    }
    Ok(())
}

fn insert_all(
    meta: &mut Map<String, Value>,
    field: &str,
    pairs: &Map<String, Value>,
) -> Result<()> {
    let target = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("metadata.{field} is not a map"))?;
    for (k, v) in pairs {
        target.insert(k.clone(), v.clone());
    }
    Ok(())
}

/// Every directory under `root` (itself included) that holds a
/// kustomization, sorted.
pub fn find_kustomizations(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(root, &mut |p| {
        if p.is_dir() && kustomization_file(p).is_some() {
            out.push(p.to_path_buf());
        }
    })?;
    out.sort();
    Ok(out)
}

/// Every `*.yaml`/`*.yml` file under `root`, sorted.
pub fn find_yaml_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(root, &mut |p| {
        if p.is_file()
            && matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml") | Some("yml")
            )
        {
            out.push(p.to_path_buf());
        }
    })?;
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> Result<()> {
    f(dir);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, f)?;
        } else {
            f(&p);
        }
    }
    Ok(())
}
