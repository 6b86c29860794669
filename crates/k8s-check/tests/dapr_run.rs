//! dapr.yaml (Dapr multi-app run) is consistent with spin.toml and with the
//! cluster's Dapr resources — and each inconsistency is caught.

use std::path::{Path, PathBuf};

use k8s_check::rules::RepoFacts;
use k8s_check::schema::CrdSchemas;

fn repo() -> PathBuf {
    k8s_check::repo_root()
}

fn schemas() -> CrdSchemas {
    CrdSchemas::load(&k8s_check::crds_dir(&repo())).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A copy of what dapr.yaml reads, with `edit` applied to dapr.yaml.
fn check_edited(name: &str, edit: impl FnOnce(String) -> String) -> Vec<String> {
    let root = std::env::temp_dir().join(format!("k8s-check-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["dapr/local", "k8s/dapr"] {
        copy_dir(&repo().join(dir), &root.join(dir));
    }
    std::fs::copy(repo().join("spin.toml"), root.join("spin.toml")).unwrap();
    let text = std::fs::read_to_string(repo().join("dapr.yaml")).unwrap();
    std::fs::write(root.join("dapr.yaml"), edit(text)).unwrap();
    let facts = RepoFacts::load_spin_toml_only(&root).unwrap();
    let out = k8s_check::dapr_run::check(&root, &facts, &schemas()).unwrap();
    let _ = std::fs::remove_dir_all(&root);
    out
}

fn assert_flags(name: &str, expect: &str, edit: impl FnOnce(String) -> String) {
    let found = check_edited(name, edit);
    assert!(
        found.iter().any(|p| p.contains(expect)),
        "{name}: expected {expect:?} in:\n{}",
        found.join("\n")
    );
}

#[test]
fn dapr_yaml_is_consistent() {
    let found = check_edited("ok", |t| t);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn inconsistencies_are_caught() {
    assert_flags("port-clash", "used twice", |t| {
        t.replace("daprHTTPPort: 3502", "daprHTTPPort: 3501")
    });
    assert_flags("listen", "--listen 127.0.0.1:3003", |t| {
        t.replace("- 127.0.0.1:3003", "- 127.0.0.1:3999")
    });
    assert_flags("env", "-e DAPR_HTTP_PORT=3504", |t| {
        t.replace("- DAPR_HTTP_PORT=3504", "- DAPR_HTTP_PORT=3500")
    });
    assert_flags("variable", "--variable dapr_http_port=3505", |t| {
        t.replace("- dapr_http_port=3505", "- dapr_http_port=3500")
    });
    assert_flags("component-id", "exactly --component-id audit", |t| {
        t.replacen("      - audit\n", "      - notify\n", 1)
    });
    assert_flags("missing app", "apps must be exactly", |t| {
        let start = t.find("  - appID: sync-relay").unwrap();
        t[..start].to_string()
    });
    assert_flags("resources", "does not exist", |t| {
        t.replace("./k8s/dapr/subscriptions", "./k8s/dapr/subs")
    });
    assert_flags(
        "subscriptions not loaded",
        "the run loads Subscriptions",
        |t| t.replace("    - ./k8s/dapr/subscriptions\n", ""),
    );
}
