//! The Jobs API, kept like the Scheduler keeps jobs: 409 on a second
//! schedule without `overwrite`, delete is 204 even when missing.

use serde_json::Value;

use crate::response::{empty, error, json_response};
use crate::{FakeDapr, Inner, Recorded};

impl FakeDapr {
    /// The job `name` as scheduled (its POST body), if it is scheduled.
    pub fn job(&self, name: &str) -> Option<Value> {
        self.lock().jobs.get(name).cloned()
    }

    /// Every Jobs API call (schedule, get, delete), in order.
    pub fn job_calls(&self) -> Vec<Recorded> {
        self.lock().job_calls.clone()
    }
}

impl Inner {
    /// The Jobs API as daprd answers it.
    pub(crate) fn job_call(
        &mut self,
        method: &str,
        name: &str,
        body: &[u8],
    ) -> http::Response<Vec<u8>> {
        let body = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        self.job_calls.push(Recorded {
            method: method.to_string(),
            name: name.to_string(),
            body: body.clone(),
        });
        match method {
            "POST" if self.jobs.contains_key(name) && body["overwrite"] != true => error(
                409,
                "DAPR_SCHEDULER_SCHEDULE_JOB",
                &format!("job already exists: {name}"),
            ),
            "POST" => {
                self.jobs.insert(name.to_string(), body);
                empty(204)
            }
            "GET" => match self.jobs.get(name) {
                Some(job) => json_response(200, job),
                None => error(
                    500,
                    "DAPR_SCHEDULER_GET_JOB",
                    &format!("failed to get job due to: rpc error: code = NotFound desc = job not found: {name}"),
                ),
            },
            "DELETE" => {
                self.jobs.remove(name);
                empty(204)
            }
            _ => error(405, "ERR_METHOD_NOT_ALLOWED", "method not allowed"),
        }
    }
}
