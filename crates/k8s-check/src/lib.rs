//! Offline validation of the Kubernetes manifests in `k8s/` and of the Dapr
//! multi-app run file `dapr.yaml`.
//!
//! No cluster, `kubectl` or `kustomize` is needed:
//! 1. [`kustomize`] renders every kustomization under `k8s/` (the subset of
//!    Kustomize the repository uses, refusing the rest);
//! 2. [`schema`] validates every rendered object: custom resources against
//!    the `openAPIV3Schema` of the matching served version of the official
//!    CRDs in `k8s/crds/` (verbatim upstream copies, see its SOURCES.md; with Kubernetes structural-schema
//!    semantics), core kinds against a hand-written subset schema;
//! 3. [`rules`] checks the project's deployment rules (SpinApp annotations,
//!    scoping, dead-letter topics, ingress only on /api, …), one file per
//!    concern under `rules/` (its `mod.rs` maps them):
//!    [`rules::check_objects`] on every rendering, [`rules::check_deployable`]
//!    on the overlays, with what [`rules::RepoFacts`] reads from spin.toml
//!    and scripts/deploy;
//! 4. [`dapr_run`] checks `dapr.yaml` against spin.toml and the resources
//!    (both files read by `app_files`, the parsers devstack uses too);
//! 5. [`observability`] checks the Prometheus alert rules (fields, runbook
//!    anchors, metric names against `known-metrics.txt`), the YAML embedded
//!    in ConfigMaps and the Configurations' trace exporter.
//!
//! Beside them, [`yaml`] reads (multi-document) YAML as JSON values and
//! [`patch`] applies the two patch forms the overlays may use (for
//! [`kustomize`]).
//!
//! [`check_repository`] runs all of it; `cargo test -p k8s-check` and
//! `cargo run -p k8s-check -- check` call it.

pub mod dapr_run;
pub mod kustomize;
pub mod observability;
pub mod patch;
pub mod rules;
pub mod schema;
pub mod yaml;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use kustomize::Resource;
use rules::RepoFacts;
use schema::CrdSchemas;

/// The repository root (this crate lives in `crates/k8s-check`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The official CRDs kept in the repository (schemas, not manifests to deploy).
pub const CRDS_DIR: &str = "k8s/crds";

/// Where the official CRDs are: `$K8S_CHECK_CRDS`, else `<repo>/k8s/crds`.
pub fn crds_dir(repo: &Path) -> PathBuf {
    std::env::var_os("K8S_CHECK_CRDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join(CRDS_DIR))
}

/// One kustomization's outcome.
#[derive(Debug)]
pub struct RenderReport {
    /// Relative to the repository, e.g. `k8s/overlays/minikube`.
    pub dir: String,
    /// Objects rendered (empty when rendering failed).
    pub objects: Vec<Resource>,
    /// Whether the deployable-rendering rules applied (overlays).
    pub deployable: bool,
    pub problems: Vec<String>,
}

/// Everything [`check_repository`] found.
#[derive(Debug, Default)]
pub struct Report {
    pub renders: Vec<RenderReport>,
    /// Problems not tied to one rendering (orphan files, dapr.yaml, …).
    pub problems: Vec<String>,
}

impl Report {
    pub fn all_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.renders {
            out.extend(r.problems.iter().map(|p| format!("[{}] {p}", r.dir)));
        }
        out.extend(self.problems.iter().cloned());
        out
    }

    pub fn render(&self, dir: &str) -> Option<&RenderReport> {
        self.renders.iter().find(|r| r.dir == dir)
    }
}

/// Is this kustomization an overlay (something `kubectl apply -k` deploys)?
pub fn is_deployable(rel: &str) -> bool {
    rel.starts_with("k8s/overlays/")
}

/// Renders and checks everything under `<repo>/k8s`, and `dapr.yaml`.
pub fn check_repository(repo: &Path, schemas: &CrdSchemas) -> Result<Report> {
    let facts = RepoFacts::load(repo)?;
    let k8s = repo.join("k8s");
    let mut report = Report::default();
    let mut sources: BTreeSet<PathBuf> = BTreeSet::new();

    for dir in kustomize::find_kustomizations(&k8s)? {
        let rel = dir
            .strip_prefix(repo)
            .unwrap_or(&dir)
            .to_string_lossy()
            .to_string();
        let deployable = is_deployable(&rel);
        let mut rr = RenderReport {
            dir: rel,
            objects: Vec::new(),
            deployable,
            problems: Vec::new(),
        };
        match kustomize::render(&dir) {
            Err(e) => rr.problems.push(format!("rendering failed: {e:#}")),
            Ok(objects) => {
                for o in &objects {
                    sources.insert(o.source.clone());
                    rr.problems.extend(schemas.validate(o));
                }
                rr.problems.extend(rules::check_objects(&objects));
                rr.problems
                    .extend(observability::check_objects(&objects, repo));
                if deployable {
                    rr.problems
                        .extend(rules::check_deployable(&objects, &facts));
                    rr.problems
                        .extend(observability::check_deployable(&objects, repo));
                }
                rr.objects = objects;
            }
        }
        report.renders.push(rr);
    }
    if !report.renders.iter().any(|r| r.deployable) {
        report
            .problems
            .push("no overlay under k8s/overlays: nothing deployable is checked".into());
    }

    // Every YAML file under k8s/ is a kustomization or part of a rendering
    // (the CRD schemas aside: they are what the objects are checked against).
    let crds = repo.join(CRDS_DIR);
    for file in kustomize::find_yaml_files(&k8s)? {
        if file.starts_with(&crds) {
            continue;
        }
        let canonical = file.canonicalize()?;
        let is_kustomization = file
            .file_name()
            .is_some_and(|n| n == "kustomization.yaml" || n == "kustomization.yml");
        if !is_kustomization && !sources.contains(&canonical) {
            report.problems.push(format!(
                "{} is not listed in any kustomization's resources (add it to the kustomization.yaml of its directory)",
                file.strip_prefix(repo).unwrap_or(&file).display()
            ));
        }
    }

    // dapr.yaml
    let run = dapr_run::check(repo, &facts, schemas).context("checking dapr.yaml")?;
    report.problems.extend(run);
    Ok(report)
}
