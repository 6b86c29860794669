//! Jobs API: `/v1.0-alpha1/jobs/{name}` and `/v1.0/jobs/{name}` (daprd
//! `pkg/api/http/jobs.go` → `pkg/api/universal/jobs.go`; the schedule rules
//! live in [`crate::scheduler`]).
//!
//! - `POST`: body `{schedule, dueTime, repeats, ttl, data, failurePolicy,
//!   overwrite}` (protojson: camelCase or snake_case) → 204; 409 when the
//!   job exists and `overwrite` is not true; 400 `DAPR_SCHEDULER_JOB_NAME`
//!   (name in the body), `DAPR_SCHEDULER_JOB_NAME_EMPTY` (empty or contains
//!   `|`), `DAPR_SCHEDULER_SCHEDULE_EMPTY` (neither schedule nor dueTime);
//!   500 `DAPR_SCHEDULER_SCHEDULE_JOB` when the Scheduler rejects it.
//! - `GET`: 200 with the `runtime.v1.Job` protojson (`data` wrapped in a
//!   `google.protobuf.Any` of a `google.protobuf.Value`); a missing job is
//!   500 `DAPR_SCHEDULER_GET_JOB` with the Scheduler's NotFound in the message.
//! - `DELETE`: 204, even when the job does not exist.

use serde_json::{json, Map, Value};

use super::{api_error, empty, json_response, kit_error, Ctx, Req, Resp};
use crate::schedule::{plan_job, JobSpec};

fn meta(ctx: &Ctx) -> Value {
    json!({ "appID": ctx.app_id, "namespace": "default" })
}

fn name_empty(ctx: &Ctx) -> Resp {
    kit_error(
        400,
        "DAPR_SCHEDULER_JOB_NAME_EMPTY",
        "DAPR_SCHEDULER_JOB_NAME_EMPTY",
        "Name is empty",
        meta(ctx),
    )
}

/// A protojson field under its JSON (camelCase) or proto (snake_case) name.
fn field<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(snake))
        .filter(|v| !v.is_null())
}

fn string_field(
    obj: &Map<String, Value>,
    camel: &str,
    snake: &str,
) -> Result<Option<String>, String> {
    match field(obj, camel, snake) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("invalid value for string field {camel}: {other}")),
    }
}

/// `POST …/jobs/{name}`.
pub(crate) async fn schedule(ctx: &Ctx, name: &str, req: &Req) -> Resp {
    let name = name.trim();
    let body: Value = if req.body.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return api_error(
                    400,
                    "ERR_MALFORMED_REQUEST",
                    format!("failed deserializing HTTP body: {e}"),
                )
            }
        }
    };
    let Some(obj) = body.as_object() else {
        return api_error(
            400,
            "ERR_MALFORMED_REQUEST",
            "failed deserializing HTTP body: expected a JSON object",
        );
    };
    if field(obj, "name", "name")
        .and_then(|n| n.as_str())
        .is_some_and(|n| !n.is_empty())
    {
        return kit_error(
            400,
            "DAPR_SCHEDULER_JOB_NAME",
            "DAPR_SCHEDULER_JOB_NAME",
            "Set the job name in the url only",
            meta(ctx),
        );
    }
    if name.is_empty() || name.contains('|') {
        return name_empty(ctx);
    }
    let parsed = (|| -> Result<(JobSpec, bool), String> {
        let repeats = match field(obj, "repeats", "repeats") {
            None => None,
            Some(v) => Some(
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                    .filter(|r| *r <= u32::MAX as u64)
                    .ok_or_else(|| format!("invalid value for uint32 field repeats: {v}"))?
                    as u32,
            ),
        };
        let overwrite = match field(obj, "overwrite", "overwrite") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("invalid value for bool field overwrite: {other}")),
        };
        Ok((
            JobSpec {
                schedule: string_field(obj, "schedule", "schedule")?,
                due_time: string_field(obj, "dueTime", "due_time")?,
                repeats,
                ttl: string_field(obj, "ttl", "ttl")?,
                data: field(obj, "data", "data").cloned(),
                failure_policy: field(obj, "failurePolicy", "failure_policy").cloned(),
            },
            overwrite,
        ))
    })();
    let (spec, overwrite) = match parsed {
        Ok(p) => p,
        Err(e) => {
            return api_error(
                400,
                "ERR_MALFORMED_REQUEST",
                format!("failed deserializing HTTP body: {e}"),
            )
        }
    };
    if spec.schedule.is_none() && spec.due_time.is_none() {
        return kit_error(
            400,
            "DAPR_SCHEDULER_SCHEDULE_EMPTY",
            "DAPR_SCHEDULER_SCHEDULE_EMPTY",
            "Schedule is empty",
            meta(ctx),
        );
    }
    let job = match plan_job(&ctx.app_id, name, spec, chrono::Utc::now()) {
        Ok(j) => j,
        Err(e) => {
            return kit_error(
                500,
                "DAPR_SCHEDULER_SCHEDULE_JOB",
                "DAPR_SCHEDULER_SCHEDULE_JOB",
                format!(
                    "failed to schedule job due to: rpc error: code = InvalidArgument desc = {e:#}"
                ),
                meta(ctx),
            )
        }
    };
    match ctx.store.job_put(job, overwrite).await {
        Ok(true) => {
            tracing::debug!(app_id = %ctx.app_id, job = name, "job scheduled");
            empty(204)
        }
        Ok(false) => kit_error(
            409,
            "DAPR_SCHEDULER_SCHEDULE_JOB",
            "DAPR_SCHEDULER_SCHEDULE_JOB",
            format!(
                "failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: {name}"
            ),
            meta(ctx),
        ),
        Err(e) => kit_error(
            500,
            "DAPR_SCHEDULER_SCHEDULE_JOB",
            "DAPR_SCHEDULER_SCHEDULE_JOB",
            format!("failed to schedule job due to: {e:#}"),
            meta(ctx),
        ),
    }
}

/// `GET …/jobs/{name}`.
pub(crate) async fn get(ctx: &Ctx, name: &str) -> Resp {
    if name.is_empty() {
        return name_empty(ctx);
    }
    match ctx.store.job_get(&ctx.app_id, name).await {
        Ok(Some(job)) => {
            let mut out = Map::new();
            out.insert("name".into(), Value::String(job.name.clone()));
            if let Some(s) = &job.schedule {
                out.insert("schedule".into(), Value::String(s.clone()));
            }
            if let Some(r) = job.repeats {
                out.insert("repeats".into(), json!(r));
            }
            if let Some(d) = &job.due_time {
                out.insert("dueTime".into(), Value::String(d.clone()));
            }
            if let Some(t) = &job.ttl {
                out.insert("ttl".into(), Value::String(t.clone()));
            }
            if let Some(data) = &job.data {
                out.insert(
                    "data".into(),
                    json!({ "@type": "type.googleapis.com/google.protobuf.Value", "value": data }),
                );
            }
            out.insert("failurePolicy".into(), job.failure_policy.clone());
            json_response(200, &Value::Object(out))
        }
        Ok(None) => kit_error(
            500,
            "DAPR_SCHEDULER_GET_JOB",
            "DAPR_SCHEDULER_GET_JOB",
            format!(
                "failed to get job due to: rpc error: code = NotFound desc = job not found: {name}"
            ),
            meta(ctx),
        ),
        Err(e) => kit_error(
            500,
            "DAPR_SCHEDULER_GET_JOB",
            "DAPR_SCHEDULER_GET_JOB",
            format!("failed to get job due to: {e:#}"),
            meta(ctx),
        ),
    }
}

/// `DELETE …/jobs/{name}`: 204 whether or not it existed.
pub(crate) async fn delete(ctx: &Ctx, name: &str) -> Resp {
    if name.is_empty() {
        return name_empty(ctx);
    }
    match ctx.store.job_delete(&ctx.app_id, name).await {
        Ok(()) => empty(204),
        Err(e) => kit_error(
            500,
            "DAPR_SCHEDULER_DELETE_JOB",
            "DAPR_SCHEDULER_DELETE_JOB",
            format!("failed to delete job due to: {e:#}"),
            meta(ctx),
        ),
    }
}
