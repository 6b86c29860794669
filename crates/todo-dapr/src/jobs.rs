//! Jobs API (`/v1.0-alpha1/jobs/{name}`): schedule, get, delete.
//!
//! The alpha path is served by Dapr 1.15–1.18 (1.18 adds `/v1.0/jobs` and keeps
//! the alpha routes; pkg/api/http/jobs.go).

use serde::{Deserialize, Serialize};

use crate::{request, DaprClient, DaprError, Transport};

/// protojson's `@type` of the `google.protobuf.Any` that wraps `data` in a GET
/// answer: daprd stores HTTP job data as `anypb.New(structpb.Value)`
/// (pkg/api/universal/jobs.go `ScheduleJobAlpha1HTTP`).
const PROTOBUF_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.Value";

/// A job as sent to and returned by Dapr. `data` is always sent: before Dapr
/// 1.18.3 an HTTP job without data is never delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    pub data: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overwrite: bool,
}

fn job_path(name: &str) -> Result<String, DaprError> {
    if name.contains('|') {
        return Err(DaprError::InvalidRequest(format!(
            "job name {name:?} contains '|'"
        )));
    }
    Ok(format!(
        "/v1.0-alpha1/jobs/{}",
        request::segment(name, "job name")?
    ))
}

/// The GET answer: the `runtime.v1.Job` proto as protojson, e.g.
/// `{"name":"n","dueTime":"30s","data":{"@type":"type.googleapis.com/google.protobuf.Value",
/// "value":{…}},"failurePolicy":{…}}` (pkg/api/http/jobs.go `onGetJobHandler`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobResponse {
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    due_time: Option<String>,
    #[serde(default)]
    repeats: Option<u32>,
    #[serde(default)]
    ttl: Option<String>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// Unwraps `{"@type": "…google.protobuf.Value", "value": X}` to `X`.
fn unwrap_any(data: serde_json::Value) -> serde_json::Value {
    match data {
        serde_json::Value::Object(mut map)
            if map.get("@type").and_then(|t| t.as_str()) == Some(PROTOBUF_VALUE_TYPE) =>
        {
            map.remove("value").unwrap_or(serde_json::Value::Null)
        }
        other => other,
    }
}

/// 500 `DAPR_SCHEDULER_GET_JOB` whose message carries the scheduler's gRPC
/// NotFound, e.g. `failed to get job due to: rpc error: code = NotFound desc =
/// job not found: c-3po` (pkg/api/errors/scheduler.go; dapr/quickstarts
/// jobs/*/http/README.md). Dapr before 1.15 used the code `SCHEDULER_GET_JOB`.
fn is_job_not_found(response: &http::Response<Vec<u8>>) -> bool {
    if response.status() != http::StatusCode::INTERNAL_SERVER_ERROR {
        return false;
    }
    let Some(body) = request::error_body(response) else {
        return false;
    };
    matches!(
        body.error_code.as_str(),
        "DAPR_SCHEDULER_GET_JOB" | "SCHEDULER_GET_JOB"
    ) && (body.message.contains("code = NotFound") || body.message.contains("job not found"))
}

impl<T: Transport> DaprClient<T> {
    /// Schedules (or with `overwrite`, replaces) job `name`:
    /// `POST /v1.0-alpha1/jobs/{name}` with the job as camelCase JSON → 204.
    ///
    /// 409 (the job exists and `overwrite` is false) → `Rejected { status: 409, .. }`
    /// (deliberately not [`DaprError::EtagMismatch`]: it is not transient).
    /// Other 4xx (`DAPR_SCHEDULER_SCHEDULE_EMPTY`, `…_JOB_NAME_EMPTY`) → `Rejected`;
    /// 5xx (`DAPR_SCHEDULER_SCHEDULE_JOB`) → `Unavailable`.
    pub async fn schedule_job(&self, name: &str, job: &Job) -> Result<(), DaprError> {
        if job.schedule.is_none() && job.due_time.is_none() {
            return Err(DaprError::InvalidRequest(format!(
                "job {name:?} needs a schedule or a dueTime"
            )));
        }
        let req = request::post_json(&job_path(name)?, job)?;
        let response = self.send(req).await?;
        if response.status().is_success() {
            return Ok(());
        }
        if response.status() == http::StatusCode::CONFLICT {
            let body = request::error_body(&response).unwrap_or_default();
            let message = if body.message.is_empty() {
                format!("job {name:?} already exists")
            } else {
                body.message
            };
            return Err(DaprError::Rejected {
                status: 409,
                code: body.error_code,
                message,
            });
        }
        Err(DaprError::from_response(&response))
    }

    /// The job, or `None` when Dapr reports it missing (500 `DAPR_SCHEDULER_GET_JOB`
    /// with a not-found message).
    ///
    /// `data` is returned unwrapped (Dapr answers it inside a protojson
    /// `google.protobuf.Any`); `overwrite` is not reported and reads `false`.
    pub async fn get_job(&self, name: &str) -> Result<Option<Job>, DaprError> {
        let req = request::empty(http::Method::GET, &job_path(name)?)?;
        let response = self.send(req).await?;
        if is_job_not_found(&response) {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(DaprError::from_response(&response));
        }
        if response.status() == http::StatusCode::NO_CONTENT || response.body().is_empty() {
            return Ok(None);
        }
        let raw: JobResponse = serde_json::from_slice(response.body())
            .map_err(|e| DaprError::BadResponse(format!("job {name:?}: {e}")))?;
        Ok(Some(Job {
            schedule: raw.schedule,
            due_time: raw.due_time,
            repeats: raw.repeats,
            ttl: raw.ttl,
            data: raw.data.map(unwrap_any).unwrap_or(serde_json::Value::Null),
            overwrite: false,
        }))
    }

    /// Deletes job `name`; Dapr answers 204 even when it did not exist.
    pub async fn delete_job(&self, name: &str) -> Result<(), DaprError> {
        let req = request::empty(http::Method::DELETE, &job_path(name)?)?;
        let response = self.send(req).await?;
        request::expect_success(&response)
    }
}
