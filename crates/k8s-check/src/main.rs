//! `k8s-check check` — validate k8s/ and dapr.yaml, print every problem.
//! `k8s-check render <dir>` — print the rendering of a kustomization (what
//! `kubectl kustomize <dir>` prints, for the supported subset).

use std::process::ExitCode;

use anyhow::{bail, Result};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("k8s-check: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let repo = k8s_check::repo_root();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["check"] => {
            let schemas = k8s_check::schema::CrdSchemas::load(&k8s_check::crds_dir(&repo))?;
            let report = k8s_check::check_repository(&repo, &schemas)?;
            for r in &report.renders {
                println!(
                    "{:<40} {:>3} objects  {}",
                    r.dir,
                    r.objects.len(),
                    if r.problems.is_empty() {
                        "ok"
                    } else {
                        "PROBLEMS"
                    }
                );
            }
            let problems = report.all_problems();
            for p in &problems {
                println!("  - {p}");
            }
            println!(
                "{} kustomizations, dapr.yaml: {} problem(s)",
                report.renders.len(),
                problems.len()
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ["render", dir] => {
            for r in k8s_check::kustomize::render(std::path::Path::new(dir))? {
                println!("---\n{}", serde_yaml::to_string(&r.value)?.trim_end());
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("usage: k8s-check check | k8s-check render <kustomization dir>"),
    }
}
