//! Jobs API (`/v1.0-alpha1/jobs/{name}`): schedule, get, delete.

use serde::{Deserialize, Serialize};

use crate::{DaprClient, DaprError, Transport};

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

impl<T: Transport> DaprClient<T> {
    /// Schedules (or with `overwrite`, replaces) job `name`.
    /// 409 (exists, no overwrite) → [`DaprError::EtagMismatch`]-free `Rejected`.
    pub async fn schedule_job(&self, name: &str, job: &Job) -> Result<(), DaprError> {
        let _ = (name, job);
        todo!()
    }

    /// The job, or `None` when Dapr reports it missing (500 `DAPR_SCHEDULER_GET_JOB`
    /// with a not-found message).
    pub async fn get_job(&self, name: &str) -> Result<Option<Job>, DaprError> {
        let _ = name;
        todo!()
    }

    /// Deletes job `name`; Dapr answers 204 even when it did not exist.
    pub async fn delete_job(&self, name: &str) -> Result<(), DaprError> {
        let _ = name;
        todo!()
    }
}
