//! The Kustomize subset: what it renders, and what it refuses.

use std::path::{Path, PathBuf};

use k8s_check::kustomize::render;
use serde_json::json;

/// A scratch directory tree, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!(
            "k8s-check-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Tree(dir)
    }

    fn file(&self, rel: &str, text: &str) -> &Tree {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: "nginx:1.27"}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: store}
spec: {type: state.redis, version: v1, metadata: []}
"#;

fn err(dir: &Path) -> String {
    format!("{:#}", render(dir).unwrap_err())
}

#[test]
fn renders_resources_patches_namespace_and_labels() {
    let t = Tree::new("ok");
    t.file("base/app.yaml", APP)
        .file(
            "base/kustomization.yaml",
            "resources: [app.yaml]\nlabels:\n  - pairs: {tier: web}\n    includeTemplates: true\n",
        )
        .file(
            "overlay/kustomization.yaml",
            r#"
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources: [../base]
labels:
  - pairs: {team: a}
patches:
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: add
        path: /spec/replicas
        value: 3
  - patch: |-
      apiVersion: dapr.io/v1alpha1
      kind: Component
      metadata: {name: store}
      spec: {version: v2}
  - target: {group: dapr.io, kind: Comp.*}
    patch: |-
      apiVersion: dapr.io/v1alpha1
      kind: Component
      metadata:
        name: any
        annotations: {note: all-components}
"#,
        );
    let rs = render(&t.path("overlay")).unwrap();
    assert_eq!(rs.len(), 3);
    let dep = rs.iter().find(|r| r.kind() == "Deployment").unwrap();
    assert_eq!(dep.value["spec"]["replicas"], 3);
    assert_eq!(dep.value["metadata"]["namespace"], "shop");
    assert_eq!(
        dep.value["metadata"]["labels"],
        json!({"app": "web", "tier": "web", "team": "a"})
    );
    // includeTemplates only where asked; selectors never touched.
    assert_eq!(
        dep.value["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web", "tier": "web"})
    );
    assert_eq!(
        dep.value["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
    let ns = rs.iter().find(|r| r.kind() == "Namespace").unwrap();
    assert!(ns.value["metadata"].get("namespace").is_none());
    let c = rs.iter().find(|r| r.kind() == "Component").unwrap();
    assert_eq!(c.value["spec"]["version"], "v2");
    assert_eq!(c.value["spec"]["type"], "state.redis");
    assert_eq!(c.value["metadata"]["annotations"]["note"], "all-components");
}

#[test]
fn refuses_what_it_does_not_render() {
    let t = Tree::new("refuse");
    t.file("base/app.yaml", APP);

    t.file("a/kustomization.yaml", "resources: [../base/app.yaml]\n");
    assert!(
        err(&t.path("a")).contains("outside"),
        "{}",
        err(&t.path("a"))
    );

    t.file("b/kustomization.yaml", "resources: [x.yaml]\nimages: []\n");
    assert!(err(&t.path("b")).contains("not in the Kustomize subset"));

    t.file("base/kustomization.yaml", "resources: [app.yaml]\n")
        .file(
            "c/kustomization.yaml",
            "resources: [../base]\npatches:\n  - target: {kind: Deployment, name: nope}\n    patch: |-\n      - {op: remove, path: /spec}\n",
        );
    assert!(err(&t.path("c")).contains("matches no resource"));

    t.file(
        "d/kustomization.yaml",
        "resources: [../base]\npatches:\n  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: web}\n      spec: {template: {spec: {containers: [{name: web, image: x}]}}}\n",
    );
    assert!(err(&t.path("d")).contains("may not contain lists"));

    t.file(
        "e/kustomization.yaml",
        "resources: [../base]\nlabels:\n  - pairs: {a: b}\n    includeSelectors: true\n",
    );
    assert!(err(&t.path("e")).contains("includeSelectors"));

    t.file(
        "j/kustomization.yaml",
        "resources: [../base]\npatches:\n  - target: {kind: Deployment}\n    patch: |-\n      metadata: {labels: {a: b}}\n",
    );
    assert!(err(&t.path("j")).contains("must carry apiVersion"));

    t.file("f/kustomization.yaml", "resources: [../base, ../base]\n");
    assert!(err(&t.path("f")).contains("defined twice"));

    // A kustomization that includes its own parent is a cycle.
    t.file("g/kustomization.yaml", "resources: [inner]\n")
        .file("g/inner/kustomization.yaml", "resources: [..]\n");
    assert!(err(&t.path("g")).contains("cycle"), "{}", err(&t.path("g")));

    t.file(
        "h/kustomization.yaml",
        "namespace: other\nresources: [../base]\n",
    );
    assert!(err(&t.path("h")).contains("Namespace shop is not"));

    t.file(
        "i/kustomization.yaml",
        "resources: [https://github.com/acme/x//k8s]\n",
    );
    assert!(err(&t.path("i")).contains("remote"));
}
