//! The users the scenarios request as: their tokens (from `devstack
//! token`) and their tasks, seeded over HTTP for the list user and the
//! 1-task user and straight into task-api's state (through its sidecar) for
//! the 10,000-task user; then what the list queries match over them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use http::{Method, StatusCode};
use serde_json::Value;

use crate::cli::Cli;
use crate::client::{self, Conn, Req};
use crate::data;
use crate::scenarios::{Fixture, Scenario, User, BIG_USER, LIST_USER, ONE_USER};
use crate::target::Target;

/// A token for `user` from `devstack token` (its last line).
pub(crate) fn token(cli: &Cli, user: &str) -> Result<String> {
    let output = std::process::Command::new(&cli.devstack)
        .arg("token")
        .arg("--state-dir")
        .arg(&cli.state_dir)
        .args(["--user", user])
        .output()
        .with_context(|| format!("cannot run {}", cli.devstack.display()))?;
    if !output.status.success() {
        bail!(
            "`devstack token --user {user}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout)?
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
        .context("`devstack token` printed nothing")
}

/// Creates `count` tasks for the list user, one at a time (they all update
/// the same per-user index), and completes about a quarter of them.
pub(crate) async fn seed(target: &Target, fx: &Fixture, count: u64) -> Result<Vec<String>> {
    let started = Instant::now();
    let mut conn = Conn::open(target.addr).await?;
    let mut rng = data::Rng::new(0x5EED);
    let mut ids = Vec::with_capacity(count as usize);
    let mut completed = 0;
    for n in 0..count {
        let body = data::task_body(&mut rng, n).to_string().into_bytes();
        let req = Req::post_json("/api/tasks", &fx.list_token, body);
        let resp = send_retrying(&mut conn, &req, target.timeout).await?;
        let task: Value = serde_json::from_slice(&resp.body).context("create: not JSON")?;
        let id = task["id"].as_str().context("create: no id")?.to_string();
        if rng.below(4) == 0 {
            let complete = Req {
                method: Method::POST,
                target: format!("/api/tasks/{id}/complete"),
                token: Some(fx.list_token.clone()),
                body: None,
                expect: StatusCode::OK,
            };
            send_retrying(&mut conn, &complete, target.timeout).await?;
            completed += 1;
        }
        ids.push(id);
    }
    println!(
        "loadgen: seeded {count} tasks for user {LIST_USER} ({completed} completed) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ids)
}

/// The 1-task user: one task created over HTTP.
pub(crate) async fn seed_one(target: &Target, token: String) -> Result<User> {
    let mut conn = Conn::open(target.addr).await?;
    let body = data::task_body(&mut data::Rng::new(0x0_0E), 0);
    let req = Req::post_json("/api/tasks", &token, body.to_string().into_bytes());
    let resp = send_retrying(&mut conn, &req, target.timeout).await?;
    let task: Value = serde_json::from_slice(&resp.body).context("create: not JSON")?;
    let id = task["id"].as_str().context("create: no id")?.to_string();
    println!("loadgen: seeded 1 task for user {ONE_USER}");
    Ok(User {
        token,
        ids: vec![id.clone()],
        open: vec![id],
    })
}

/// Documents per `POST /v1.0/state/statestore` while seeding directly.
const SEED_BATCH: usize = 500;

/// The big user: `count` tasks (`completed` of them completed) built as
/// task-api builds them (todo-core's validation and `Task`), written with
/// every document task-api keeps for them (`task_api::store::documents_for`)
/// straight into its state through its sidecar, in batches.
pub(crate) async fn seed_direct(
    target: &Target,
    sidecar: SocketAddr,
    token: String,
    count: usize,
    completed: usize,
) -> Result<User> {
    use todo_core::{task::validate, Task};
    if count == 0 || completed > count {
        bail!("--big-tasks must be positive and at least --big-completed");
    }
    let started = Instant::now();
    let now = chrono::Utc::now();
    let mut rng = data::Rng::new(0xB16_5EED);
    let mut tasks = Vec::with_capacity(count);
    let mut user = User {
        token,
        ..User::default()
    };
    // Every `count / (count - completed)`-th task stays open, the rest are completed.
    let open_every = count.checked_div(count - completed).unwrap_or(usize::MAX);
    for n in 0..count {
        let body = data::task_body(&mut rng, n as u64).to_string();
        let input =
            validate::parse_task_input(body.as_bytes()).map_err(|p| anyhow!("task {n}: {p:?}"))?;
        let fields = validate::validate(input).map_err(|e| anyhow!("task {n}: {e:?}"))?;
        let mut task = Task::create(uuid::Uuid::now_v7(), fields, now);
        let open = n % open_every == 0 && user.open.len() < count - completed;
        if !open {
            task.complete(now);
        } else {
            user.open.push(task.id.to_string());
        }
        user.ids.push(task.id.to_string());
        tasks.push(task);
    }
    let documents = task_api::store::documents_for(BIG_USER, &tasks);
    let mut conn = Conn::open(sidecar).await?;
    for batch in documents.chunks(SEED_BATCH) {
        let items: Vec<Value> = batch
            .iter()
            .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
            .collect();
        let req = Req {
            method: Method::POST,
            target: "/v1.0/state/statestore".into(),
            token: None,
            body: Some(serde_json::to_vec(&items)?.into()),
            expect: StatusCode::NO_CONTENT,
        };
        send_retrying(&mut conn, &req, target.timeout)
            .await
            .context("seeding through task-api's sidecar")?;
    }
    println!(
        "loadgen: seeded {count} tasks ({completed} completed) for user {BIG_USER} directly in task-api's state ({} documents via {sidecar}) in {:.1} s",
        documents.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(user)
}

/// Sends `req`, retrying a few times on 503 (contention) or transport errors.
async fn send_retrying(conn: &mut Conn, req: &Req, timeout: Duration) -> Result<client::Resp> {
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        match conn.send(req, timeout).await {
            Ok(resp) if resp.status == req.expect => return Ok(resp),
            Ok(resp) if resp.status == StatusCode::SERVICE_UNAVAILABLE => {
                last = "503".into();
            }
            Ok(resp) => bail!(
                "{} {} → {}: {}",
                req.method,
                req.target,
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ),
            Err(e) => last = format!("{e:#}"),
        }
    }
    bail!("{} {} failed: {last}", req.method, req.target)
}

/// Prints what the list query matches, so the figures can be interpreted.
pub(crate) async fn describe_list(target: &Target, fx: &Fixture, scenario: Scenario) -> Result<()> {
    let mut conn = Conn::open(target.addr).await?;
    let req = scenario.request(fx, 0, 0);
    let resp = send_retrying(&mut conn, &req, target.timeout).await?;
    let page: Value = serde_json::from_slice(&resp.body).context("list: not JSON")?;
    println!(
        "loadgen: {} query matches {} tasks; a page has {} items ({} bytes, next cursor: {})",
        scenario.name(),
        page["total"],
        page["items"].as_array().map_or(0, Vec::len),
        resp.body.len(),
        if page["nextCursor"].is_string() {
            "yes"
        } else {
            "no"
        },
    );
    Ok(())
}
