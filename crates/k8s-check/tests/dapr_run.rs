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

/// Checks a copy of what dapr.yaml reads, with `edit` applied to dapr.yaml
/// and `edit_spin` to spin.toml.
fn check_files(
    name: &str,
    edit: impl FnOnce(String) -> String,
    edit_spin: impl FnOnce(String) -> String,
) -> anyhow::Result<Vec<String>> {
    let root = std::env::temp_dir().join(format!("k8s-check-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in ["dapr/local", "k8s/dapr"] {
        copy_dir(&repo().join(dir), &root.join(dir));
    }
    let spin = std::fs::read_to_string(repo().join("spin.toml")).unwrap();
    std::fs::write(root.join("spin.toml"), edit_spin(spin)).unwrap();
    let text = std::fs::read_to_string(repo().join("dapr.yaml")).unwrap();
    std::fs::write(root.join("dapr.yaml"), edit(text)).unwrap();
    let out = RepoFacts::load_spin_toml_only(&root)
        .and_then(|facts| k8s_check::dapr_run::check(&root, &facts, &schemas()));
    let _ = std::fs::remove_dir_all(&root);
    out
}

/// A copy of what dapr.yaml reads, with `edit` applied to dapr.yaml.
fn check_edited(name: &str, edit: impl FnOnce(String) -> String) -> Vec<String> {
    check_files(name, edit, |t| t).unwrap()
}

/// Asserts that dapr.yaml edited by `edit` is refused by the parser with an
/// error mentioning `expect`.
fn assert_refused(name: &str, expect: &str, edit: impl FnOnce(String) -> String) {
    match check_files(name, edit, |t| t) {
        Ok(found) => panic!("{name}: parsed; problems:\n{}", found.join("\n")),
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains(expect), "{name}: expected {expect:?} in: {e}");
        }
    }
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

#[test]
fn the_shape_of_each_app_is_checked() {
    assert_flags("version", "version must be 1", |t| {
        t.replace("version: 1", "version: 2")
    });
    assert_flags(
        "reserved port",
        "apps[0] (task-api): appPort must be set",
        |t| t.replacen("appPort: 3001", "appPort: 80", 1),
    );
    assert_flags(
        "unset port",
        "apps[1] (audit): metricsPort must be set",
        |t| t.replace("    metricsPort: 9102\n", ""),
    );
    assert_flags(
        "app dir",
        "appDirPath must be the directory of spin.toml",
        |t| t.replacen("appDirPath: .", "appDirPath: ./components", 1),
    );
    assert_flags("protocol", "appProtocol must be http", |t| {
        t.replace("  appProtocol: http", "  appProtocol: grpc")
    });
    assert_flags("command", "command must be `spin up …`", |t| {
        t.replacen(
            "      - spin\n      - up\n",
            "      - spin\n      - build\n",
            1,
        )
    });
    assert_flags("no resources", "common.resourcesPaths is required", |t| {
        t.replace(
            "  resourcesPaths:\n    - ./dapr/local\n    - ./k8s/dapr\n    - ./k8s/dapr/subscriptions\n",
            "",
        )
    });
}

#[test]
fn spin_toml_is_checked_against_the_apps() {
    let found = check_files("spin-extra", |t| t, |t| {
        t + "\n[[trigger.http]]\nroute = \"/extra\"\ncomponent = \"extra\"\n[component.extra]\nsource = \"x.wasm\"\n"
    })
    .unwrap();
    assert!(
        found
            .iter()
            .any(|p| p.contains("spin.toml component extra has no app")),
        "{}",
        found.join("\n")
    );
    let found = check_files(
        "spin-fixed-port",
        |t| t,
        |t| {
            t.replacen(
                "http://localhost:{{ dapr_http_port }}",
                "http://localhost:3500",
                1,
            )
        },
    )
    .unwrap();
    assert!(
        found
            .iter()
            .any(|p| p
                .contains("component task-api must allow http://localhost:{{ dapr_http_port }}")),
        "{}",
        found.join("\n")
    );
}

#[test]
fn files_the_shared_parsers_refuse_are_errors() {
    assert_refused("port range", "apps[0].appPort", |t| {
        t.replacen("appPort: 3001", "appPort: 70000", 1)
    });
    assert_refused("no app-id", "`appID`", |t| {
        t.replacen(
            "  - appID: task-api\n    appDirPath: .",
            "  - appDirPath: .",
            1,
        )
    });
    assert_refused("no apps", "missing field `apps`", |t| {
        t[..t.find("apps:").unwrap()].to_string()
    });
    assert_refused("twice", "duplicate entry", |t| {
        t.replacen(
            "    appPort: 3001\n",
            "    appPort: 3001\n    appPort: 3001\n",
            1,
        )
    });
    match check_files(
        "spin-typo",
        |t| t,
        |t| t.replacen("environment =", "enviroment =", 1),
    ) {
        Ok(found) => panic!("a spin.toml devstack refuses passed: {found:?}"),
        Err(e) => assert!(format!("{e:#}").contains("enviroment"), "{e:#}"),
    }
}
