//! "A restart loses nothing that was acknowledged" (architecture §6), for the real
//! `devstack` binary: with a persistent `--state-dir`, events published
//! while their subscriber is unreachable and jobs scheduled for later
//! survive a SIGKILL, and after a restart on the same state directory every
//! acknowledged publish is delivered and every job fires — never early.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use devstack::local_secrets::DevSecrets;
use serde_json::{json, Value};
use support::*;

/// One `devstack up` process; SIGKILLed when dropped.
struct Devstack {
    child: Child,
    gateway: SocketAddr,
    /// app-id → (app, sidecar), as printed at start.
    apps: BTreeMap<String, (SocketAddr, SocketAddr)>,
    log: PathBuf,
}

impl Devstack {
    /// Starts `devstack up` hosting task-api, with the test subscriber as an
    /// external app at `subscriber`, and waits until it printed its endpoints.
    fn start(
        root: &Path,
        state_dir: &Path,
        resources: &Path,
        subscriber: SocketAddr,
        log: PathBuf,
    ) -> Devstack {
        // devstack logs to stdout (tracing) and errors to stderr: both are
        // kept in `log`, stdout also scanned for the endpoints it prints.
        let mut log_file = std::fs::File::create(&log).unwrap();
        let stderr_file = log_file.try_clone().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_devstack"))
            .arg("up")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--root")
            .arg(root)
            .arg("--state-dir")
            .arg(state_dir)
            .args(["--app", "task-api"])
            .arg("--resources")
            .arg(resources)
            .arg("--external-app")
            .arg(format!("{SUBSCRIBER}={subscriber}"))
            .current_dir(state_dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("DAPR_API_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_file))
            .spawn()
            .expect("devstack starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Write as _;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_file, "{line}");
                let _ = tx.send(line);
            }
        });
        let mut gateway = None;
        let mut apps = BTreeMap::new();
        // Generous: a cold start compiles task-api (debug Wasmtime, shared cores).
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "devstack did not print its endpoints; log:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["Todo", "API:", url, ..] => {
                    gateway = Some(addr_of(url));
                }
                [app_id, "app", app, "sidecar", sidecar] => {
                    apps.insert(app_id.to_string(), (addr_of(app), addr_of(sidecar)));
                }
                // The last thing printed: everything is up.
                [token] if token.matches('.').count() == 2 && gateway.is_some() => break,
                _ => {}
            }
        }
        Devstack {
            child,
            gateway: gateway.expect("gateway address printed"),
            apps,
            log,
        }
    }

    fn sidecar(&self, app_id: &str) -> SocketAddr {
        self.apps
            .get(app_id)
            .unwrap_or_else(|| panic!("{app_id} in {:?}", self.apps))
            .1
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown path runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status:?}");
    }
}

impl Drop for Devstack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `http://127.0.0.1:1234/api/tasks` → `127.0.0.1:1234`.
fn addr_of(url: &str) -> SocketAddr {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let host = rest.split('/').next().unwrap();
    host.parse()
        .unwrap_or_else(|e| panic!("{url} has no address: {e}"))
}

/// The repository root if task-api's `.wasm` is where `spin.toml` says;
/// else a scratch root whose `spin.toml` points at the built file and whose
/// `k8s` and `devstack` are the repository's.
fn devstack_root(scratch: &Path) -> PathBuf {
    let root = repo_root();
    let wasm = task_api_wasm();
    if wasm.canonicalize().ok() == root.join(TASK_API_SOURCE).canonicalize().ok() {
        return root;
    }
    let dir = scratch.join("root");
    std::fs::create_dir_all(&dir).unwrap();
    manifest_in(&dir);
    #[cfg(unix)]
    for sub in ["k8s", "devstack"] {
        std::os::unix::fs::symlink(root.join(sub), dir.join(sub)).unwrap();
    }
    dir
}

fn millis(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A test's scratch directory: devstack's root, its state directory and the
/// test subscriber's resources, kept across restarts.
struct Scratch {
    dir: TempDir,
    root: PathBuf,
    state_dir: PathBuf,
    resources: PathBuf,
}

impl Scratch {
    async fn new(name: &str) -> Scratch {
        let dir = TempDir::new(name);
        let root = {
            let scratch = dir.path().to_path_buf();
            tokio::task::spawn_blocking(move || devstack_root(&scratch))
                .await
                .unwrap()
        };
        let state_dir = dir.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        let resources =
            write_subscriber_resources(&dir.path().join("resources"), &Overlay::default());
        Scratch {
            dir,
            root,
            state_dir,
            resources,
        }
    }

    /// Starts devstack (run `n`, logged to `devstack-{n}.log`) on this
    /// state, with the subscriber expected at `subscriber`.
    async fn start(&self, n: usize, subscriber: SocketAddr) -> Devstack {
        let (root, state, resources, log) = (
            self.root.clone(),
            self.state_dir.clone(),
            self.resources.clone(),
            self.dir.path().join(format!("devstack-{n}.log")),
        );
        tokio::task::spawn_blocking(move || {
            Devstack::start(&root, &state, &resources, subscriber, log)
        })
        .await
        .unwrap()
    }

    fn secrets(&self) -> DevSecrets {
        DevSecrets::load(&self.state_dir.join("secrets.json")).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_loses_no_acknowledged_event_and_no_job() {
    let scratch = Scratch::new("durability").await;

    // Phase 1: the subscriber is down (nothing listens where it should be).
    let down = unused_addr().await;
    let first = scratch.start(1, down).await;
    let secrets = scratch.secrets();
    let user = unique_user("durable");
    let api = Api::new(first.gateway, Some(secrets.token_for(&user, 3600)));

    // Changes through task-api: each 2xx means committed and published.
    let due = (Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let a = api
        .create(json!({ "title": "a", "dueAt": due, "reminder": { "before": "PT1H" } }))
        .await;
    let b = api.create(json!({ "title": "b" })).await;
    let c = api.create(json!({ "title": "c" })).await;
    let r = api
        .patch(
            &format!("/api/tasks/{}", id_of(&b)),
            &json!({ "title": "b2" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = api
        .call(
            "POST",
            &format!("/api/tasks/{}/complete", id_of(&c)),
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // (topic route, type, task id, version) of every event those changes published.
    let mut expected: BTreeSet<(String, String, String, u64)> = BTreeSet::new();
    let mut expect = |route: &str, kind: &str, task: &Value, version: u64| {
        expected.insert((route.into(), kind.into(), id_of(task), version));
    };
    expect(ROUTE_TASK_EVENTS, "todo.task.created.v1", &a, 1);
    expect(ROUTE_REMINDERS, "todo.reminder.scheduled.v1", &a, 1);
    expect(ROUTE_TASK_UPDATES, "todo.sync.task-changed.v1", &a, 1);
    for t in [&b, &c] {
        expect(ROUTE_TASK_EVENTS, "todo.task.created.v1", t, 1);
        expect(ROUTE_TASK_UPDATES, "todo.sync.task-changed.v1", t, 1);
    }
    expect(ROUTE_TASK_EVENTS, "todo.task.updated.v1", &b, 2);
    expect(ROUTE_TASK_UPDATES, "todo.sync.task-changed.v1", &b, 2);
    expect(ROUTE_TASK_EVENTS, "todo.task.completed.v1", &c, 2);
    expect(ROUTE_TASK_UPDATES, "todo.sync.task-changed.v1", &c, 2);

    // Publishes straight to the sidecar's API: a 204 is an acknowledgement.
    let sidecar = Api::new(first.sidecar(SUBSCRIBER), None);
    let direct_user = unique_user("direct");
    let mut direct_ids = Vec::new();
    for i in 0..5 {
        let id = format!("direct-{i}-{}", uuid::Uuid::new_v4());
        let event = json!({
            "specversion": "1.0", "id": id, "source": "durability-test",
            "type": "test.direct.v1", "datacontenttype": "application/json",
            "data": { "userId": direct_user, "n": i },
        });
        let r = sidecar
            .call(
                "POST",
                &format!("/v1.0/publish/{PUBSUB}/task-updates?metadata.partitionKey={direct_user}"),
                &[("content-type", "application/cloudevents+json")],
                &serde_json::to_vec(&event).unwrap(),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text());
        direct_ids.push(id);
    }

    // Jobs: one due while devstack is down, one due after it is back.
    let scheduled_at = Utc::now();
    let missed_due = scheduled_at + chrono::Duration::seconds(3);
    let later_due = scheduled_at + chrono::Duration::seconds(8);
    for (name, due) in [("missed", missed_due), ("later", later_due)] {
        let r = sidecar
            .send_json(
                "POST",
                &format!("/v1.0-alpha1/jobs/{name}"),
                &json!({ "dueTime": millis(due), "data": { "job": name } }),
                &[],
            )
            .await;
        assert_eq!(r.status, 204, "{name}: {}", r.text());
    }

    // The deliveries are failing (and being retried) when the process dies.
    eventually_explained(
        "a failed delivery to the unreachable subscriber in the log",
        WAIT,
        || format!("; log:\n{}", first.log()),
        || async {
            first
                .log()
                .lines()
                .any(|l| l.contains(SUBSCRIBER) && l.contains("retry"))
                .then_some(())
        },
    )
    .await;
    assert!(
        Utc::now() < missed_due,
        "the test ran too slowly to kill before the first job"
    );
    first.kill();

    // Devstack stays down past the first job's due time. A downtime that
    // spans a due time is what is under test, and while devstack is down
    // nothing runs that could tell: this one wait is on the wall clock.
    eventually(
        "the first job's due time to pass while devstack is down",
        || async move { (Utc::now() > missed_due).then_some(()) },
    )
    .await;

    // Phase 2: same state directory, the subscriber is up.
    let subscriber = RecordingApp::start().await;
    let second = scratch.start(2, subscriber.addr).await;

    // Every acknowledged publish arrives, exactly once.
    let key_of = |d: &Recorded| {
        let ce = d.json();
        (
            d.path_only().to_string(),
            ce["type"].as_str().unwrap_or_default().to_string(),
            ce["data"]["taskId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ce["data"]["version"].as_u64().unwrap_or_default(),
        )
    };
    let delivered = eventually("every task-api event after the restart", || {
        let got: Vec<(String, String, String, u64)> =
            [ROUTE_TASK_EVENTS, ROUTE_REMINDERS, ROUTE_TASK_UPDATES]
                .iter()
                .flat_map(|route| subscriber.events_for(route, &user))
                .map(|d| key_of(&d))
                .collect();
        let all_in = expected.iter().all(|e| got.contains(e));
        async move { all_in.then_some(got) }
    })
    .await;
    assert_eq!(
        delivered.len(),
        expected.len(),
        "no duplicates: {delivered:#?}"
    );
    let direct = subscriber
        .wait_events(ROUTE_TASK_UPDATES, &direct_user, direct_ids.len())
        .await;
    let got_ids: Vec<String> = direct
        .iter()
        .map(|d| d.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got_ids, direct_ids, "all, once, in publish order");
    for d in &direct {
        assert_eq!(d.header("dapr-api-token"), Some(secrets.app_token.as_str()));
    }
    // Per-user order survived the restart too.
    let versions: Vec<u64> = subscriber
        .events_for(ROUTE_TASK_EVENTS, &user)
        .iter()
        .filter(|d| d.json()["data"]["taskId"] == b["id"])
        .map(|d| d.json()["data"]["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);

    // Both jobs fire once, neither before its due time.
    let missed = eventually("the missed job to fire after the restart", || {
        let got = subscriber.requests_to("/job/missed");
        async move { (!got.is_empty()).then_some(got) }
    })
    .await;
    assert_eq!(missed[0].json(), json!({ "job": "missed" }));
    assert!(
        missed[0].at_ms >= missed_due.timestamp_millis(),
        "never early"
    );
    let later = eventually("the later job to fire", || {
        let got = subscriber.requests_to("/job/later");
        async move { (!got.is_empty()).then_some(got) }
    })
    .await;
    assert_eq!(later[0].json(), json!({ "job": "later" }));
    assert!(
        later[0].at_ms >= later_due.timestamp_millis(),
        "fired {} ms early",
        later_due.timestamp_millis() - later[0].at_ms
    );
    assert_eq!(
        later[0].header("dapr-api-token"),
        Some(secrets.app_token.as_str())
    );

    // And the state behind the acknowledged changes is all there.
    let api = Api::new(second.gateway, Some(secrets.token_for(&user, 3600)));
    let list = api.get("/api/tasks?sort=title").await;
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    let titles: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["a", "b2", "c"]);
    assert_eq!(list["items"][2]["status"], "completed");

    // Nothing fired twice.
    assert_eq!(subscriber.requests_to("/job/missed").len(), 1);
    assert_eq!(subscriber.requests_to("/job/later").len(), 1);
    second.kill();
    subscriber.stop();
}

/// The crash point between a commit and its publishes (architecture §5, bounded
/// delay): task-api commits a change whose publishes fail (its sidecar has no
/// `kafka-pubsub` for it), devstack is SIGKILLed, and after a restart — with
/// no request from that user — the outbox job task-api armed before the
/// commit fires and the events arrive within 60 s, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_publish_never_happened_is_delivered_after_a_restart() {
    let scratch = Scratch::new("outbox-crash").await;
    // Phase 1: kafka-pubsub is scoped to the subscriber only, so task-api's
    // publishes fail after its commits (ERR_PUBSUB_NOT_FOUND), as if the
    // instance had died right after committing.
    let pubsub_file = scratch.resources.join("kafka-pubsub.yaml");
    let full = std::fs::read_to_string(&pubsub_file).unwrap();
    let mut scoped: serde_yaml::Value = serde_yaml::from_str(&full).unwrap();
    scoped["scopes"] = serde_yaml::Value::Sequence(vec![SUBSCRIBER.into()]);
    std::fs::write(&pubsub_file, serde_yaml::to_string(&scoped).unwrap()).unwrap();

    let subscriber = RecordingApp::start().await;
    let first = scratch.start(1, subscriber.addr).await;
    let secrets = scratch.secrets();
    let user = unique_user("crash");
    let api = Api::new(first.gateway, Some(secrets.token_for(&user, 3600)));
    let task = api
        .create(json!({ "title": "committed, not published" }))
        .await;
    let committed_at = Utc::now();
    let log = first.log();
    assert!(
        log.contains("kept in the outbox"),
        "task-api's publish failed after the commit:\n{log}"
    );
    first.kill();
    assert!(subscriber.events_for(ROUTE_TASK_EVENTS, &user).is_empty());

    // Phase 2: the same state, kafka-pubsub back for task-api; nobody calls.
    std::fs::write(&pubsub_file, full).unwrap();
    let second = scratch.start(2, subscriber.addr).await;
    let restarted_at = Utc::now();
    let created = eventually_within(
        "the outbox job to publish the committed event",
        Duration::from_secs(60),
        || {
            let got = subscriber.events_for(ROUTE_TASK_EVENTS, &user);
            async move { (!got.is_empty()).then_some(got) }
        },
    )
    .await;
    let arrived = chrono::DateTime::from_timestamp_millis(created[0].at_ms).unwrap();
    assert_eq!(created[0].json()["type"], "todo.task.created.v1");
    assert_eq!(created[0].json()["data"]["taskId"], task["id"]);
    assert!(
        arrived - restarted_at <= chrono::Duration::seconds(60),
        "delivered {} s after the restart ({} s after the commit)",
        (arrived - restarted_at).num_seconds(),
        (arrived - committed_at).num_seconds()
    );
    let updates = subscriber.wait_events(ROUTE_TASK_UPDATES, &user, 1).await;
    assert_eq!(updates[0].json()["data"]["taskId"], task["id"]);
    // Once each: the job is done, nothing else publishes it again. The job
    // trims the outbox after its publishes, so the trim may land just after
    // the subscriber saw the event: wait for it rather than race it.
    let sidecar = Api::new(second.sidecar("task-api"), None);
    let key = format!("/v1.0/state/statestore/task%2F{}", id_of(&task));
    eventually("the outbox emptied after the publish", || async {
        let doc = sidecar.get(&key).await.json();
        doc.get("outbox").is_none().then_some(())
    })
    .await;
    assert_eq!(subscriber.events_for(ROUTE_TASK_EVENTS, &user).len(), 1);
    assert_eq!(subscriber.events_for(ROUTE_TASK_UPDATES, &user).len(), 1);
    second.kill();
    subscriber.stop();
}
