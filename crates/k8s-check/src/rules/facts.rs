//! What the rules know about the rest of the repository: spin.toml (read by
//! the parser devstack uses) and the secrets scripts/deploy creates.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use app_files::spin_toml::{Manifest, Route};

/// What the rules need to know about the rest of the repository.
#[derive(Debug, Clone)]
pub struct RepoFacts {
    /// spin.toml, read by the parser devstack uses (`app_files`): a
    /// manifest devstack would refuse is an error here too.
    pub spin: Manifest,
    /// Secrets scripts/deploy creates (always, or on demand).
    pub deploy_secrets: BTreeSet<String>,
}

impl RepoFacts {
    /// Reads spin.toml and scripts/deploy under `repo`.
    pub fn load(repo: &Path) -> Result<RepoFacts> {
        let mut facts = RepoFacts::load_spin_toml_only(repo)?;
        let deploy = repo.join("scripts/deploy");
        let script = std::fs::read_to_string(&deploy)
            .with_context(|| format!("reading {}", deploy.display()))?;
        facts.deploy_secrets = deploy_secrets(&script);
        Ok(facts)
    }

    /// Reads only spin.toml under `repo` (no deploy script: no secrets known).
    pub fn load_spin_toml_only(repo: &Path) -> Result<RepoFacts> {
        Ok(RepoFacts {
            spin: Manifest::load(&repo.join("spin.toml"))?,
            deploy_secrets: BTreeSet::new(),
        })
    }

    /// Does spin.toml route the path `path` (exactly as written) to
    /// `component`?
    pub fn has_route(&self, component: &str, path: &str) -> bool {
        self.spin
            .routes_of(component)
            .any(|r| matches!(r, Route::Path(p) if p == path))
    }
}

/// The names in scripts/deploy's `GENERATED_SECRETS=(…)` and
/// `OPTIONAL_SECRETS=(…)` arrays.
pub fn deploy_secrets(script: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in script.lines() {
        let line = line.trim().trim_start_matches("readonly ");
        for prefix in ["GENERATED_SECRETS=(", "OPTIONAL_SECRETS=("] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let list = rest.split(')').next().unwrap_or("");
                out.extend(
                    list.split_whitespace()
                        .map(|s| s.trim_matches('"').to_string()),
                );
            }
        }
    }
    out
}
