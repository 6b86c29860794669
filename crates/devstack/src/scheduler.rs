//! Time-driven calls into an app: Dapr Jobs and cron input bindings.
//!
//! **Jobs** behave like the Dapr Scheduler (`diagridio/go-etcd-cron`,
//! `internal/scheduler/builder.go` and `repeats.go`, driven by daprd's
//! `pkg/api/universal/jobs.go`):
//! - a job without `schedule` fires once at `dueTime`; with a `schedule` it
//!   fires at `dueTime` (if given) and then at every schedule tick after the
//!   previous trigger, at most `repeats` times, never after the `ttl`
//!   expiration (checked from the second trigger on, as upstream does);
//! - schedules are dapr/kit cron: six fields with seconds (five are
//!   rejected), an optional `TZ=`/`CRON_TZ=` prefix, `@every <Go duration>`
//!   and `@yearly|@annually|@monthly|@weekly|@daily|@midnight|@hourly`;
//!   `dueTime` and `ttl` are RFC 3339, a Go duration or an ISO 8601
//!   duration, relative to the (second-truncated) creation time;
//! - a trigger is `POST /job/{name}` to the owning app with
//!   `Content-Type: application/json` and the raw `data` JSON as body
//!   (plus `dapr-api-token`; no trace context, as daprd's Scheduler streamer
//!   sends none); a 2xx **or 404** reply means
//!   delivered; anything else follows the failure policy (default: constant
//!   1 s, 3 retries; `{"drop":{}}` = none), after which the trigger counts
//!   as done;
//! - at-least-once and never early: a trigger is sent only once the wall
//!   clock has reached its time, and its outcome is committed afterwards;
//!   all of it lives in SQLite, so a restart resumes where it stopped
//!   (ticks of a repeating job missed while devstack was down then fire
//!   back to back, each next tick computed from the previous one, as
//!   upstream; `repeats` and `ttl` bound them).
//!
//! **Cron bindings** (`bindings.cron`, components-contrib
//! `bindings/cron/cron.go`): `schedule` (seconds optional, same
//! descriptors, evaluated in local time) fires `POST <route>` (metadata
//! `route`, default `/<binding name>`) with `Content-Type: application/json`,
//! an empty body and the `timeZone`/`readTimeUTC` headers. As daprd does, the
//! binding is only started if the app answers `OPTIONS <route>` with 2xx or
//! 405, unless the component declares `direction: input`.
//!
//! What fires when — parsing schedules and due times, planning a job and
//! computing its next trigger — is [`crate::schedule`] (pure); this module
//! runs the triggers: the job loop (on `crate::worker`) and one task per
//! cron binding.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Component, Resources};
use crate::schedule::{after_trigger, parse_binding_schedule};
use crate::sidecar::app::{add_app_token, new_traceparent, AppChannel, AppTarget};
use crate::sidecar::wait_shutdown;
use crate::store::{now_ms, JobRecord, JobUpdate, Store};
use crate::worker;

/// How long an app may take to answer a trigger.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Characters escaped in a job name put into the callback path.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Starts the job trigger loop and the cron bindings of `app`. The handle
/// completes after `shutdown` once in-flight calls have finished.
pub fn start(
    store: Store,
    resources: Arc<Resources>,
    app: AppTarget,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let channel = AppChannel::new();
    let jobs = JobTriggers {
        store: store.clone(),
        app: app.clone(),
        channel: channel.clone(),
    };
    let jobs_shutdown = shutdown.clone();
    let mut tasks = vec![tokio::spawn(async move {
        // No bound on triggers in flight: at most one per job.
        worker::run(jobs, usize::MAX, store.changes(), jobs_shutdown).await
    })];
    for component in resources.components_of(&app.app_id, "bindings") {
        if component.kind != "bindings.cron" {
            continue;
        }
        let metadata = match resources.resolved_metadata(component) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(app_id = %app.app_id, binding = %component.name, error = %format!("{e:#}"), "cron binding not started");
                continue;
            }
        };
        tasks.push(tokio::spawn(run_cron_binding(
            component.clone(),
            metadata,
            app.clone(),
            channel.clone(),
            shutdown.clone(),
        )));
    }
    tokio::spawn(async move {
        for t in tasks {
            let _ = t.await;
        }
    })
}

/// The job triggers of one app, as a [`worker::Work`]: any number in flight
/// at once, one per job.
#[derive(Clone)]
struct JobTriggers {
    store: Store,
    app: AppTarget,
    channel: AppChannel,
}

impl worker::Work for JobTriggers {
    type Key = String;
    type Item = JobRecord;

    async fn due(&self, in_flight: Vec<String>, _room: usize) -> Vec<(String, JobRecord)> {
        match self
            .store
            .jobs_due(&self.app.app_id, now_ms(), in_flight)
            .await
        {
            Ok(due) => due.into_iter().map(|job| (job.name.clone(), job)).collect(),
            Err(e) => {
                tracing::error!(app_id = %self.app.app_id, error = %format!("{e:#}"), "reading due jobs failed");
                Vec::new()
            }
        }
    }

    async fn idle(&self) -> Duration {
        let next = self
            .store
            .job_next_due(&self.app.app_id)
            .await
            .ok()
            .flatten();
        let now = now_ms();
        let wait_ms = match next {
            Some(t) if t > now => (t - now).min(5_000) as u64,
            Some(_) => 250,
            None => 5_000,
        };
        Duration::from_millis(wait_ms)
    }

    async fn handle(&self, job: JobRecord) {
        fire_job(&self.store, &self.app, &self.channel, job).await;
    }
}

/// Sends one trigger and records its outcome.
async fn fire_job(store: &Store, app: &AppTarget, channel: &AppChannel, job: JobRecord) {
    // Never early: re-check the wall clock against the trigger time.
    loop {
        let now = now_ms();
        if now >= job.next_fire_at {
            break;
        }
        tokio::time::sleep(Duration::from_millis((job.next_fire_at - now) as u64)).await;
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // daprd sends a job callback no trace context (its Scheduler streamer
    // starts no span), so neither does devstack. Our components carry the
    // context they scheduled under in the job's `data`
    // (`todo_dapr::trace::attach`); devstack's span of the trigger joins
    // that trace when it is there.
    let scheduled_under = job
        .data
        .as_ref()
        .and_then(|d| d.get("traceparent"))
        .and_then(|t| t.as_str());
    let mut span = crate::traces::tracer().start(
        format!("job {}", job.name),
        crate::traces::Kind::Client,
        &app.app_id,
        scheduled_under,
    );
    span.set("job.attempt", job.attempts + 1);
    add_app_token(&mut headers, app.app_token.as_deref());
    let body = match &job.data {
        Some(d) => Bytes::from(serde_json::to_vec(d).unwrap_or_default()),
        None => {
            tracing::warn!(app_id = %app.app_id, job = %job.name, "job has no data: Dapr before 1.18.3 never delivers such a job over HTTP");
            Bytes::new()
        }
    };
    let path = format!("/job/{}", utf8_percent_encode(&job.name, PATH_SEGMENT));
    let sent_at = now_ms();
    let started = std::time::Instant::now();
    let result = channel
        .call(app.addr, Method::POST, &path, headers, body, CALL_TIMEOUT)
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match &result {
        Ok(r) => span.set("http.status", r.status.as_u16()),
        Err(e) => span.set("error", format!("{e:#}")),
    }
    span.end();
    let delivered_now = result
        .as_ref()
        .is_ok_and(|r| r.status.is_success() || r.status.as_u16() == 404);
    let late_ms = u64::try_from(sent_at - job.next_fire_at).unwrap_or(0);
    crate::metrics::metrics().job_trigger(
        &app.app_id,
        delivered_now,
        Duration::from_millis(late_ms),
    );
    let attempt = job.attempts + 1;
    let (delivered, status, error) = match &result {
        Ok(r) => {
            let code = r.status.as_u16();
            (r.status.is_success() || code == 404, Some(code), None)
        }
        Err(e) => (false, None, Some(format!("{e:#}"))),
    };
    let update = after_trigger(&job, delivered, now_ms());
    let outcome = match (&update, delivered) {
        (_, true) => "delivered",
        (JobUpdate::Reschedule { attempts, .. }, false) if *attempts > 0 => "retry",
        (_, false) => "failed",
    };
    if delivered {
        tracing::info!(target: "devstack::jobs", app_id = %app.app_id, job = %job.name, attempt, status, elapsed_ms, outcome, "job trigger");
    } else {
        tracing::warn!(target: "devstack::jobs", app_id = %app.app_id, job = %job.name, attempt, status, error, elapsed_ms, outcome, "job trigger");
    }
    if let Err(e) = store
        .job_update(&app.app_id, &job.name, job.revision, update)
        .await
    {
        tracing::error!(app_id = %app.app_id, job = %job.name, error = %format!("{e:#}"), "recording job trigger failed");
    }
}

async fn run_cron_binding(
    component: Component,
    metadata: BTreeMap<String, String>,
    app: AppTarget,
    channel: AppChannel,
    mut shutdown: watch::Receiver<bool>,
) {
    let meta = |k: &str| {
        metadata
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    let Some(spec) = meta("schedule").filter(|s| !s.is_empty()) else {
        tracing::error!(app_id = %app.app_id, binding = %component.name, "cron binding without schedule: not started");
        return;
    };
    let schedule = match parse_binding_schedule(&spec) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(app_id = %app.app_id, binding = %component.name, error = %format!("{e:#}"), "invalid format for cron binding schedule: not started");
            return;
        }
    };
    let route = meta("route")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| component.name.clone());
    let route = if route.starts_with('/') {
        route
    } else {
        format!("/{route}")
    };
    let explicit_input = meta("direction")
        .is_some_and(|d| d.split(',').any(|p| p.trim().eq_ignore_ascii_case("input")));
    let mut subscribed = explicit_input;
    loop {
        let now = Utc::now();
        let Some(next) = schedule.next_after(now) else {
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wait_shutdown(&mut shutdown) => return,
        }
        // Never early (the monotonic timer may run ahead of the wall clock).
        while Utc::now() < next {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if !subscribed {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            add_app_token(&mut headers, app.app_token.as_deref());
            match channel
                .call(
                    app.addr,
                    Method::OPTIONS,
                    &route,
                    headers,
                    Bytes::new(),
                    CALL_TIMEOUT,
                )
                .await
            {
                Ok(r) if r.status.is_success() || r.status.as_u16() == 405 => subscribed = true,
                Ok(r) => {
                    tracing::warn!(app_id = %app.app_id, binding = %component.name, route = %route, status = r.status.as_u16(), "app does not listen on the cron binding route (OPTIONS); binding not started, as daprd would (set metadata direction: input to skip the check)");
                    return;
                }
                Err(e) => {
                    tracing::debug!(app_id = %app.app_id, binding = %component.name, error = %format!("{e:#}"), "app not reachable yet; cron tick skipped");
                    continue;
                }
            }
        }
        let (app, channel, route, name) = (
            app.clone(),
            channel.clone(),
            route.clone(),
            component.name.clone(),
        );
        tokio::spawn(async move {
            send_cron_tick(&app, &channel, &route, &name).await;
        });
    }
}

async fn send_cron_tick(app: &AppTarget, channel: &AppChannel, route: &str, binding: &str) {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&new_traceparent()) {
        headers.insert("traceparent", v);
    }
    headers.insert("timezone", HeaderValue::from_static("Local"));
    // Go's time.Time.String() of the UTC read time.
    let read = Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&read) {
        headers.insert("readtimeutc", v);
    }
    add_app_token(&mut headers, app.app_token.as_deref());
    let started = std::time::Instant::now();
    let result = channel
        .call(
            app.addr,
            Method::POST,
            route,
            headers,
            Bytes::new(),
            CALL_TIMEOUT,
        )
        .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(r) if r.status.is_success() => {
            tracing::info!(target: "devstack::bindings", app_id = %app.app_id, binding, route, status = r.status.as_u16(), elapsed_ms, outcome = "delivered", "cron binding");
        }
        Ok(r) => {
            tracing::warn!(target: "devstack::bindings", app_id = %app.app_id, binding, route, status = r.status.as_u16(), elapsed_ms, outcome = "failed", "cron binding");
        }
        Err(e) => {
            tracing::warn!(target: "devstack::bindings", app_id = %app.app_id, binding, route, error = %format!("{e:#}"), elapsed_ms, outcome = "failed", "cron binding");
        }
    }
}
