//! Jobs API (`/v1.0-alpha1/jobs/{name}`): schedule, get, delete.
//!
//! The alpha path is served by Dapr 1.15–1.18 (1.18 adds `/v1.0/jobs` and keeps
//! the alpha routes; pkg/api/http/jobs.go).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use serde::de::{self, IgnoredAny};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{request, DaprClient, DaprError, Transport};

/// protojson's `@type` of the `google.protobuf.Any` that wraps `data` in a GET
/// answer: daprd stores HTTP job data as `anypb.New(structpb.Value)`
/// (pkg/api/universal/jobs.go `ScheduleJobAlpha1HTTP`).
const PROTOBUF_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.Value";

/// A job as sent to and returned by Dapr. `data` is always sent: before Dapr
/// 1.18.3 an HTTP job without data is never delivered.
///
/// `failure_policy` is sent as `failurePolicy` (daprd decodes the body with
/// protojson, which takes the JSON name or the proto name `failure_policy`,
/// and discards unknown fields: a daprd whose `JobHTTPRequest` predates the
/// field ignores it and applies the default). `None` = the Scheduler's
/// default, constant 1 s with 3 retries.
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
    #[serde(
        default,
        alias = "failure_policy",
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_policy: Option<FailurePolicy>,
}

impl Job {
    /// A timer that fires once, `delay` after `now` (its `dueTime` in RFC
    /// 3339, whole seconds) and, while its callback fails, again every
    /// `retry_every` without end: what an outbox uses to bound the delay of
    /// a committed event (architecture §8, decision 2).
    /// `overwrite`, so arming again under the same name just moves it.
    pub fn outbox_timer(
        now: DateTime<Utc>,
        delay: Duration,
        data: serde_json::Value,
        retry_every: Duration,
    ) -> Job {
        let due = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        Job {
            schedule: None,
            due_time: Some(due.to_rfc3339_opts(SecondsFormat::Secs, true)),
            repeats: None,
            ttl: None,
            data,
            overwrite: true,
            failure_policy: Some(FailurePolicy::Constant {
                interval: retry_every,
                max_retries: None,
            }),
        }
    }
}

/// What the Scheduler does when a trigger fails (the callback answers
/// anything but 2xx or 404, or does not answer): `common.v1.JobFailurePolicy`
/// in protojson, a oneof of
/// - `{"drop": {}}`: no retry, the trigger is done;
/// - `{"constant": {"interval": "10s", "maxRetries": 30}}`: call again after
///   `interval` (a `google.protobuf.Duration`: decimal seconds with an `s`
///   suffix; absent = at once), at most `maxRetries` times (a `uint32`;
///   absent = without end, `0` = never).
///
/// (dapr/dapr `dapr/proto/common/v1/common.proto`, `JobFailurePolicy*`;
/// dapr/docs `reference/api/jobs_api.md` `failure_policy`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailurePolicy {
    Drop,
    Constant {
        interval: Duration,
        max_retries: Option<u32>,
    },
}

impl FailurePolicy {
    /// Retry every `interval`, at most `max_retries` times.
    pub fn constant(interval: Duration, max_retries: u32) -> FailurePolicy {
        FailurePolicy::Constant {
            interval,
            max_retries: Some(max_retries),
        }
    }

    /// What the Scheduler applies to a job scheduled without a policy:
    /// constant, 1 s, 3 retries.
    pub fn dapr_default() -> FailurePolicy {
        FailurePolicy::constant(Duration::from_secs(1), 3)
    }

    /// How long after the first failed call the last retry comes
    /// (`interval × maxRetries`, ignoring the calls' own durations); `None`
    /// when retries never end.
    pub fn retry_window(&self) -> Option<Duration> {
        match self {
            FailurePolicy::Drop => Some(Duration::ZERO),
            FailurePolicy::Constant {
                interval,
                max_retries,
            } => max_retries.map(|n| *interval * n),
        }
    }
}

/// A `google.protobuf.Duration` in protojson: `"10s"`, `"1.500s"` (0, 3, 6 or
/// 9 fractional digits, as protojson writes it).
fn proto_duration(d: Duration) -> String {
    let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
    if nanos == 0 {
        format!("{secs}s")
    } else if nanos % 1_000_000 == 0 {
        format!("{secs}.{:03}s", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!("{secs}.{:06}s", nanos / 1_000)
    } else {
        format!("{secs}.{nanos:09}s")
    }
}

/// Parses a protojson `google.protobuf.Duration` (non-negative).
fn parse_proto_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid google.protobuf.Duration {text:?}");
    let number = text.strip_suffix('s').ok_or_else(invalid)?;
    let (secs, frac) = number.split_once('.').unwrap_or((number, ""));
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 9
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (number.contains('.') && frac.is_empty())
    {
        return Err(invalid());
    }
    let secs: u64 = secs.parse().map_err(|_| invalid())?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| invalid())?
    };
    Ok(Duration::new(secs, nanos))
}

impl Serialize for FailurePolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            FailurePolicy::Drop => {
                map.serialize_entry("drop", &serde_json::Map::new())?;
            }
            FailurePolicy::Constant {
                interval,
                max_retries,
            } => {
                let mut constant = serde_json::Map::new();
                constant.insert("interval".into(), proto_duration(*interval).into());
                if let Some(n) = max_retries {
                    constant.insert("maxRetries".into(), (*n).into());
                }
                map.serialize_entry("constant", &constant)?;
            }
        }
        map.end()
    }
}

/// protojson's reading of a `uint32`: a number or a decimal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Uint32 {
    Number(u32),
    Text(String),
}

#[derive(Deserialize)]
struct WireConstant {
    #[serde(default)]
    interval: Option<String>,
    #[serde(default, rename = "maxRetries", alias = "max_retries")]
    max_retries: Option<Uint32>,
}

#[derive(Deserialize)]
struct WirePolicy {
    #[serde(default)]
    drop: Option<IgnoredAny>,
    #[serde(default)]
    constant: Option<WireConstant>,
}

impl<'de> Deserialize<'de> for FailurePolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WirePolicy::deserialize(deserializer)?;
        match (wire.drop, wire.constant) {
            (Some(_), None) => Ok(FailurePolicy::Drop),
            (None, Some(c)) => {
                let interval = match c.interval.as_deref() {
                    None => Duration::ZERO,
                    Some(text) => parse_proto_duration(text).map_err(de::Error::custom)?,
                };
                let max_retries = match c.max_retries {
                    None => None,
                    Some(Uint32::Number(n)) => Some(n),
                    Some(Uint32::Text(t)) => Some(
                        t.parse()
                            .map_err(|_| de::Error::custom(format!("invalid maxRetries {t:?}")))?,
                    ),
                };
                Ok(FailurePolicy::Constant {
                    interval,
                    max_retries,
                })
            }
            (Some(_), Some(_)) => Err(de::Error::custom(
                "failurePolicy sets both drop and constant",
            )),
            (None, None) => Err(de::Error::custom(
                "failurePolicy must be {\"drop\":{}} or {\"constant\":{…}}",
            )),
        }
    }
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
/// "value":{…}},"failurePolicy":{…}}` (pkg/api/http/jobs.go `onGetJobHandler`;
/// pkg/api/universal/jobs.go `GetJobAlpha1` copies the stored policy, which
/// the Scheduler fills with its default when none was given).
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
    #[serde(default, alias = "failure_policy")]
    failure_policy: Option<FailurePolicy>,
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
        // The job carries the context it is scheduled under (see
        // `trace::attach`: daprd sends its callback none).
        let mut job = job.clone();
        crate::trace::attach(&mut job.data);
        let req = request::post_json(&job_path(name)?, &job)?;
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
    /// `google.protobuf.Any`); `overwrite` is not reported and reads `false`;
    /// `failure_policy` is what Dapr reports (daprd versions that predate the
    /// field report none).
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
            failure_policy: raw.failure_policy,
        }))
    }

    /// Deletes job `name`; Dapr answers 204 even when it did not exist.
    pub async fn delete_job(&self, name: &str) -> Result<(), DaprError> {
        let req = request::empty(http::Method::DELETE, &job_path(name)?)?;
        let response = self.send(req).await?;
        request::expect_success(&response)
    }
}
