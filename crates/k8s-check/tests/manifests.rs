//! Every manifest in k8s/ (each kustomization and every rendered overlay) and
//! dapr.yaml, validated against the official CRD schemas in k8s/crds,
//! the core-kind subset schemas and the deployment rules. The mutation tests
//! below prove each kind of check can fail.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use app_files::spin_toml::Manifest;
use k8s_check::kustomize::{self, Resource};
use k8s_check::rules::{self, RepoFacts};
use k8s_check::schema::CrdSchemas;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    k8s_check::repo_root()
}

fn schemas() -> &'static CrdSchemas {
    static S: OnceLock<CrdSchemas> = OnceLock::new();
    S.get_or_init(|| {
        CrdSchemas::load(&k8s_check::crds_dir(&repo())).unwrap_or_else(|e| {
            panic!("{e:#}\n(the official CRDs are expected in <repo>/k8s/crds)")
        })
    })
}

fn facts() -> RepoFacts {
    RepoFacts::load(&repo()).unwrap()
}

/// The repository's facts with `from` replaced by `to` in spin.toml.
fn facts_with_spin_toml(from: &str, to: &str) -> RepoFacts {
    let path = repo().join("spin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "spin.toml has no {from:?}");
    RepoFacts {
        spin: Manifest::parse(&text.replacen(from, to, 1), &path).unwrap(),
        ..facts()
    }
}

fn render(overlay: &str) -> Vec<Resource> {
    kustomize::render(&repo().join("k8s/overlays").join(overlay)).unwrap()
}

/// Every problem the checks report for a deployable rendering.
fn problems(rs: &[Resource]) -> Vec<String> {
    let mut out: Vec<String> = rs.iter().flat_map(|r| schemas().validate(r)).collect();
    out.extend(rules::check_objects(rs));
    out.extend(rules::check_deployable(rs, &facts()));
    out
}

fn find<'a>(rs: &'a mut [Resource], kind: &str, name: &str) -> &'a mut Value {
    &mut rs
        .iter_mut()
        .find(|r| r.kind() == kind && r.name() == name)
        .unwrap_or_else(|| panic!("{kind} {name} not rendered"))
        .value
}

/// Applies `change` to a fresh minikube rendering and asserts that some
/// problem mentions `expect`.
fn assert_flags(what: &str, expect: &str, change: impl FnOnce(&mut Vec<Resource>)) {
    let mut rs = render("minikube");
    change(&mut rs);
    let found = problems(&rs);
    assert!(
        found.iter().any(|p| p.contains(expect)),
        "{what}: expected a problem mentioning {expect:?}, got:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_manifest_validates() {
    let report = k8s_check::check_repository(&repo(), schemas()).unwrap();
    let all = report.all_problems();
    assert!(
        all.is_empty(),
        "{} problem(s):\n{}",
        all.len(),
        all.join("\n")
    );
    for dir in [
        "k8s/base",
        "k8s/dapr",
        "k8s/overlays/minikube",
        "k8s/overlays/cloud",
        "k8s/overlays/cloud-external-kafka",
    ] {
        let r = report
            .render(dir)
            .unwrap_or_else(|| panic!("{dir} was not rendered"));
        assert!(!r.objects.is_empty(), "{dir} renders nothing");
    }
    let deployable: Vec<&str> = report
        .renders
        .iter()
        .filter(|r| r.deployable)
        .map(|r| r.dir.as_str())
        .collect();
    assert!(
        deployable.contains(&"k8s/overlays/minikube"),
        "{deployable:?}"
    );
}

#[test]
fn minikube_overlay_has_the_whole_system() {
    let rs = render("minikube");
    let count = |kind: &str| rs.iter().filter(|r| r.kind() == kind).count();
    assert_eq!(count("SpinApp"), 7); // six with a sidecar, and web
    assert_eq!(count("Kafka"), 1);
    assert_eq!(count("KafkaNodePool"), 1);
    assert_eq!(count("KafkaTopic"), 8);
    assert_eq!(count("Subscription"), 6); // audit, notify: two each (their topic and account-events)
    assert_eq!(count("Ingress"), 1);
    assert!(rs
        .iter()
        .all(|r| r.kind() == "Namespace" || r.namespace() == "todo"));
    let pubsub = rs
        .iter()
        .find(|r| r.kind() == "Component" && r.name() == "kafka-pubsub")
        .unwrap();
    let auth = pubsub.value["spec"]["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "authType")
        .unwrap();
    assert_eq!(auth["value"], "none");
    // Every object carries the tier label scripts/deploy applies by.
    for r in &rs {
        let tier = r.value.pointer("/metadata/labels/todo.dev~1tier");
        assert!(
            matches!(
                tier.and_then(Value::as_str),
                Some("infra" | "dapr" | "apps")
            ),
            "{} has no todo.dev/tier label",
            r.describe()
        );
    }
    // The cloud overlay scales what it should.
    let cloud = render("cloud");
    let pool = cloud.iter().find(|r| r.kind() == "KafkaNodePool").unwrap();
    assert_eq!(pool.value["spec"]["replicas"], 3);
    assert!(cloud
        .iter()
        .filter(|r| r.kind() == "KafkaTopic")
        .all(|t| t.value["spec"]["replicas"] == 3));
    let aks = render("cloud-aks");
    let ss = aks.iter().find(|r| r.kind() == "StatefulSet").unwrap();
    assert_eq!(
        ss.value["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        "managed-csi-premium"
    );
    let external = render("cloud-external-kafka");
    assert!(!external.iter().any(|r| r.group() == "kafka.strimzi.io"));
}

/// `kubectl kustomize DIR` (stdout), or None if it does not finish within a
/// minute (a wrapper that goes looking for a cluster, say). A non-zero exit
/// fails the test: kubectl refused what k8s-check rendered.
fn kubectl_kustomize(dir: &Path) -> Option<String> {
    use std::io::Read;
    let mut child = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(
        status.success(),
        "kubectl kustomize {}: {stderr}",
        dir.display()
    );
    Some(reader.join().unwrap().unwrap())
}

/// With `kubectl` on PATH (and K8S_CHECK_SKIP_KUBECTL unset), its built-in kustomize must render exactly what
/// k8s-check renders (the same objects, field for field).
#[test]
fn rendering_matches_kubectl_kustomize() {
    if std::env::var_os("K8S_CHECK_SKIP_KUBECTL").is_some() {
        eprintln!("K8S_CHECK_SKIP_KUBECTL set: skipping the comparison with `kubectl kustomize`");
        return;
    }
    let available = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("kubectl not found: skipping the comparison with `kubectl kustomize`");
        return;
    }
    for dir in kustomize::find_kustomizations(&repo().join("k8s")).unwrap() {
        let ours = kustomize::render(&dir).unwrap();
        let Some(text) = kubectl_kustomize(&dir) else {
            eprintln!("kubectl kustomize did not answer within 60 s: skipping the comparison");
            return;
        };
        let theirs = k8s_check::yaml::parse_documents(&text, Path::new("kubectl")).unwrap();
        let key = |v: &Value| {
            format!(
                "{}/{}/{}/{}",
                v["apiVersion"], v["kind"], v["metadata"]["namespace"], v["metadata"]["name"]
            )
        };
        let mut a: Vec<(String, &Value)> = ours.iter().map(|r| (key(&r.value), &r.value)).collect();
        let mut b: Vec<(String, &Value)> = theirs.iter().map(|v| (key(v), v)).collect();
        a.sort_by(|x, y| x.0.cmp(&y.0));
        b.sort_by(|x, y| x.0.cmp(&y.0));
        let ka: Vec<&String> = a.iter().map(|x| &x.0).collect();
        let kb: Vec<&String> = b.iter().map(|x| &x.0).collect();
        assert_eq!(ka, kb, "objects of {}", dir.display());
        for ((k, x), (_, y)) in a.iter().zip(&b) {
            assert_eq!(
                x,
                y,
                "{k} in {} differs from kubectl kustomize",
                dir.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Mutations: each check can fail.

#[test]
fn spinapp_rules_fail_meaningfully() {
    assert_flags("annotation on metadata", "never reaches the pod", |rs| {
        let app = find(rs, "SpinApp", "audit");
        app["metadata"]["annotations"] = json!({"dapr.io/enabled": "true"});
    });
    assert_flags("wrong app port", "dapr.io/app-port", |rs| {
        find(rs, "SpinApp", "audit")["spec"]["podAnnotations"]["dapr.io/app-port"] = json!("8080");
    });
    assert_flags("app-id not the component", "dapr.io/app-id", |rs| {
        find(rs, "SpinApp", "notify")["spec"]["podAnnotations"]["dapr.io/app-id"] =
            json!("notifier");
    });
    assert_flags("two components", "selective deployment", |rs| {
        find(rs, "SpinApp", "audit")["spec"]["components"] = json!(["audit", "notify"]);
    });
    assert_flags("probe path", "/healthz/recurrence", |rs| {
        find(rs, "SpinApp", "recurrence")["spec"]["checks"]["liveness"]["httpGet"]["path"] =
            json!("/healthz");
    });
    assert_flags("other executor", "containerd-shim-spin", |rs| {
        find(rs, "SpinApp", "audit")["spec"]["executor"] = json!("spintainer");
    });
    assert_flags(
        "typo in a field name (schema)",
        "'podAnnotation' was unexpected",
        |rs| {
            let spec = &mut find(rs, "SpinApp", "audit")["spec"];
            let a = spec["podAnnotations"].take();
            spec.as_object_mut().unwrap().remove("podAnnotations");
            spec["podAnnotation"] = a;
        },
    );
    assert_flags(
        "wrong type (schema)",
        "/spec/replicas: \"two\" is not of type",
        |rs| {
            find(rs, "SpinApp", "audit")["spec"]["replicas"] = json!("two");
        },
    );
    assert_flags("image placeholder left", "must set spec.image", |rs| {
        find(rs, "SpinApp", "audit")["spec"]["image"] = json!(rules::PLACEHOLDER_IMAGE);
    });
    assert_flags("missing Configuration", "Dapr Configuration nope", |rs| {
        find(rs, "SpinApp", "audit")["spec"]["podAnnotations"]["dapr.io/config"] = json!("nope");
    });
}

#[test]
fn dapr_rules_fail_meaningfully() {
    assert_flags("unscoped component", "must be scoped", |rs| {
        find(rs, "Component", "statestore")
            .as_object_mut()
            .unwrap()
            .remove("scopes");
    });
    assert_flags(
        "cron binding to everyone",
        "scoped to task-api only",
        |rs| {
            find(rs, "Component", "outbox-sweep")["scopes"] = json!(["task-api", "audit"]);
        },
    );
    assert_flags("inline secret", "use secretKeyRef", |rs| {
        let c = find(rs, "Component", "statestore");
        c["spec"]["metadata"][0] =
            json!({"name": "connectionString", "value": "host=x password=y"});
    });
    assert_flags("state store v1", "state.postgresql v2", |rs| {
        find(rs, "Component", "statestore")["spec"]["version"] = json!("v1");
    });
    assert_flags(
        "scopes under spec (schema)",
        "'scopes' was unexpected",
        |rs| {
            find(rs, "Subscription", "audit-task-events")["spec"]["scopes"] = json!(["audit"]);
        },
    );
    assert_flags("no dead-letter topic", "deadLetterTopic", |rs| {
        find(rs, "Subscription", "audit-task-events")["spec"]
            .as_object_mut()
            .unwrap()
            .remove("deadLetterTopic");
    });
    assert_flags(
        "dead-letter topic without KafkaTopic",
        "no KafkaTopic for audit-dlq",
        |rs| {
            find(rs, "Subscription", "audit-task-events")["spec"]["deadLetterTopic"] =
                json!("audit-dlq");
        },
    );
    assert_flags(
        "subscriber without pub/sub scope",
        "not in the scopes of kafka-pubsub",
        |rs| {
            find(rs, "Component", "kafka-pubsub")["scopes"] =
                json!(["task-api", "audit", "recurrence", "sync-relay"]);
        },
    );
    assert_flags(
        "v1alpha1 subscription (schema: no routes)",
        "\"route\" is a required property",
        |rs| {
            find(rs, "Subscription", "notify-reminders")["apiVersion"] = json!("dapr.io/v1alpha1");
        },
    );
    assert_flags("unbounded delivery retries", "must be bounded", |rs| {
        find(rs, "Resiliency", "todo-resiliency")["spec"]["policies"]["retries"]["deliveries"]
            ["maxRetries"] = json!(-1);
    });
    assert_flags(
        "access control in another namespace",
        "names namespace default",
        |rs| {
            find(rs, "Configuration", "todo-task-api-config")["spec"]["accessControl"]
                ["policies"][0]["namespace"] = json!("default");
        },
    );
    assert_flags(
        "secret scope denies the JWT secret",
        "denies jwt-secret",
        |rs| {
            find(rs, "Configuration", "todo-config")["spec"]["secrets"]["scopes"][0]
                ["allowedSecrets"] = json!(["app-api-token"]);
        },
    );
    assert_flags("wrong bootstrap address", "bootstrap service", |rs| {
        find(rs, "Component", "kafka-pubsub")["spec"]["metadata"][0]["value"] = json!("kafka:9092");
    });
}

#[test]
fn kafka_and_core_rules_fail_meaningfully() {
    assert_flags("too few partitions", "partitions must be ≥ 3", |rs| {
        find(rs, "KafkaTopic", "reminders")["spec"]["partitions"] = json!(1);
    });
    assert_flags("no retention", "retention", |rs| {
        find(rs, "KafkaTopic", "reminders")["spec"]["config"] = json!({"cleanup.policy": "delete"});
    });
    assert_flags("more replicas than brokers", "exceeds the 1 broker", |rs| {
        find(rs, "KafkaTopic", "reminders")["spec"]["replicas"] = json!(3);
    });
    assert_flags("old Strimzi API", "not served", |rs| {
        find(rs, "KafkaTopic", "reminders")["apiVersion"] = json!("kafka.strimzi.io/v1beta2");
    });
    assert_flags(
        "listener name pattern (schema)",
        "does not match \"^[a-z0-9]{1,11}$\"",
        |rs| {
            find(rs, "Kafka", "todo-kafka")["spec"]["kafka"]["listeners"][0]["name"] =
                json!("plain_listener");
        },
    );
    assert_flags("enum (schema)", "\"leader\" is not one of", |rs| {
        find(rs, "KafkaNodePool", "dual-role")["spec"]["roles"] = json!(["broker", "leader"]);
    });
    assert_flags("CEL-guarded field", "CEL validation rules", |rs| {
        find(rs, "Kafka", "todo-kafka")["spec"]["kafka"]["rack"] = json!({"topologyKey": ""});
    });
    assert_flags("ingress outside /api", "outside /api", |rs| {
        let ing = find(rs, "Ingress", "todo-api");
        ing["spec"]["rules"][0]["http"]["paths"][0]["path"] = json!("/internal");
    });
    assert_flags("UI path to another app", "must route to web", |rs| {
        let ing = find(rs, "Ingress", "todo-api");
        let paths = ing["spec"]["rules"][0]["http"]["paths"]
            .as_array_mut()
            .unwrap();
        let root = paths.iter_mut().find(|p| p["path"] == "/").unwrap();
        root["backend"]["service"]["name"] = json!("task-api");
    });
    assert_flags("UI prefix wider than /", "outside /api", |rs| {
        let ing = find(rs, "Ingress", "todo-api");
        let paths = ing["spec"]["rules"][0]["http"]["paths"]
            .as_array_mut()
            .unwrap();
        let root = paths.iter_mut().find(|p| p["path"] == "/").unwrap();
        root["pathType"] = json!("Prefix");
    });
    assert_flags("web with a sidecar", "runs without a Dapr sidecar", |rs| {
        find(rs, "SpinApp", "web")["spec"]["podAnnotations"] = json!({"dapr.io/enabled": "true"});
    });
    assert_flags(
        "ingress to a non-app service",
        "must be a SpinApp's Service",
        |rs| {
            let ing = find(rs, "Ingress", "todo-api");
            ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] =
                json!("postgres");
        },
    );
    assert_flags(
        "typo in a core field (core schema)",
        "'readinesProbe' was unexpected",
        |rs| {
            let c =
                &mut find(rs, "Deployment", "mailpit")["spec"]["template"]["spec"]["containers"][0];
            let p = c["readinessProbe"].take();
            c.as_object_mut().unwrap().remove("readinessProbe");
            c["readinesProbe"] = p;
        },
    );
    assert_flags("unpinned image", "must be pinned", |rs| {
        find(rs, "StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0]["image"] =
            json!("postgres");
    });
    assert_flags("secret nobody creates", "does not create", |rs| {
        find(rs, "StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0]["env"]
            [2]["valueFrom"]["secretKeyRef"]["name"] = json!("pg-admin");
    });
    assert_flags("committed Secret", "never committed", |rs| {
        rs.push(Resource {
            value: json!({"apiVersion": "v1", "kind": "Secret",
                          "metadata": {"name": "jwt-secret", "namespace": "todo"},
                          "stringData": {"jwt-secret": "x"}}),
            source: PathBuf::from("k8s/oops.yaml"),
        });
    });
    assert_flags(
        "missing namespace object",
        "Namespace todo is not part",
        |rs| {
            rs.retain(|r| r.kind() != "Namespace");
        },
    );
    assert_flags(
        "service account may not read the secrets",
        "may not `get` secret jwt-secret",
        |rs| {
            find(rs, "Role", "todo-apps-secret-reader")["rules"][0]["resourceNames"] =
                json!(["app-api-token"]);
        },
    );
}

#[test]
fn the_deploy_script_lists_the_secrets() {
    let f = facts();
    for s in [
        "jwt-secret",
        "app-api-token",
        "todo-postgres",
        "todo-kafka-external",
    ] {
        assert!(f.deploy_secrets.contains(s), "{s}: {:?}", f.deploy_secrets);
    }
}

#[test]
fn spin_toml_rules_fail_meaningfully() {
    let rs = render("minikube");
    for (what, from, to, expect) in [
        (
            "health route",
            "route = \"/healthz/audit\"",
            "route = \"/healthz/audit2\"",
            "spin.toml has no route /healthz/audit",
        ),
        (
            "sidecarless health route",
            "route = \"/healthz/web\"",
            "route = \"/healthz/ui\"",
            "spin.toml has no route /healthz/web",
        ),
        (
            "missing store",
            "STATE_STORE = \"statestore\"",
            "STATE_STORE = \"nostore\"",
            "spin.toml sets STATE_STORE=nostore but there is no Component nostore",
        ),
        (
            "wrong building block",
            "PUBSUB_NAME = \"kafka-pubsub\"",
            "PUBSUB_NAME = \"statestore\"",
            "PUBSUB_NAME=statestore is a state.postgresql, not a pubsub component",
        ),
        (
            "component without SpinApp",
            "[component.web]",
            "[[trigger.http]]\nroute = \"/extra\"\ncomponent = \"extra\"\n[component.extra]\nsource = \"x.wasm\"\n\n[component.web]",
            "spin.toml component extra has no SpinApp",
        ),
    ] {
        let found = rules::check_deployable(&rs, &facts_with_spin_toml(from, to));
        assert!(
            found.iter().any(|p| p.contains(expect)),
            "{what}: expected a problem mentioning {expect:?}, got:\n{}",
            found.join("\n")
        );
    }
}
