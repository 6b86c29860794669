//! The `jobs` table: Dapr Jobs with their next fire time, trigger count and
//! retry attempt, so schedules survive restarts.

use anyhow::Result;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::Store;

impl Store {
    /// Stores a job. With `overwrite` it replaces an existing one (new
    /// revision, counters reset); without, an existing job makes this return
    /// `Ok(false)` and changes nothing.
    pub async fn job_put(&self, job: JobRecord, overwrite: bool) -> Result<bool> {
        let stored = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT revision FROM jobs WHERE app_id = ?1 AND name = ?2",
                        params![job.app_id, job.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                if existing.is_some() && !overwrite {
                    return Ok(false);
                }
                let revision = existing.map(|r| r + 1).unwrap_or(1);
                tx.execute(
                    "INSERT OR REPLACE INTO jobs (app_id, name, schedule, due_time, repeats, ttl, data,
                        failure_policy, begin_at, begin_is_due, expires_at, next_fire_at, last_fire_at,
                        count, attempts, revision, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, 0, 0, ?13, ?14)",
                    params![
                        job.app_id,
                        job.name,
                        job.schedule,
                        job.due_time,
                        job.repeats.map(|r| r as i64),
                        job.ttl,
                        job.data.as_ref().map(|d| d.to_string()),
                        job.failure_policy.to_string(),
                        job.begin_at,
                        job.begin_is_due,
                        job.expires_at,
                        job.next_fire_at,
                        revision,
                        job.created_at,
                    ],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if stored {
            self.notify();
        }
        Ok(stored)
    }

    pub async fn job_get(&self, app_id: &str, name: &str) -> Result<Option<JobRecord>> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("{JOB_SELECT} WHERE app_id = ?1 AND name = ?2"),
                    params![app_id, name],
                    job_from_row,
                )
                .optional()?)
        })
        .await
    }

    /// Deletes job `name` (no error when missing).
    pub async fn job_delete(&self, app_id: &str, name: &str) -> Result<()> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM jobs WHERE app_id = ?1 AND name = ?2",
                params![app_id, name],
            )?;
            Ok(())
        })
        .await?;
        self.notify();
        Ok(())
    }

    /// Jobs of `app_id` due at `now` (not in `exclude`), earliest first.
    pub async fn jobs_due(
        &self,
        app_id: &str,
        now: i64,
        exclude: Vec<String>,
    ) -> Result<Vec<JobRecord>> {
        let app_id = app_id.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{JOB_SELECT} WHERE app_id = ?1 AND next_fire_at <= ?2 ORDER BY next_fire_at"
            ))?;
            let rows = stmt.query_map(params![app_id, now], job_from_row)?;
            let mut out = Vec::new();
            for job in rows {
                let job = job?;
                if !exclude.contains(&job.name) {
                    out.push(job);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The earliest `next_fire_at` of `app_id`'s jobs.
    pub async fn job_next_due(&self, app_id: &str) -> Result<Option<i64>> {
        let app_id = app_id.to_string();
        self.run(move |conn| {
            Ok(conn.query_row(
                "SELECT MIN(next_fire_at) FROM jobs WHERE app_id = ?1",
                params![app_id],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Records the outcome of a trigger, unless the job was replaced or
    /// deleted meanwhile (`revision` no longer matches).
    pub async fn job_update(
        &self,
        app_id: &str,
        name: &str,
        revision: i64,
        update: JobUpdate,
    ) -> Result<()> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            match update {
                JobUpdate::Delete => conn.execute(
                    "DELETE FROM jobs WHERE app_id = ?1 AND name = ?2 AND revision = ?3",
                    params![app_id, name, revision],
                )?,
                JobUpdate::Reschedule {
                    next_fire_at,
                    count,
                    attempts,
                    last_fire_at,
                } => conn.execute(
                    "UPDATE jobs SET next_fire_at = ?4, count = ?5, attempts = ?6, last_fire_at = ?7
                     WHERE app_id = ?1 AND name = ?2 AND revision = ?3",
                    params![
                        app_id,
                        name,
                        revision,
                        next_fire_at,
                        count as i64,
                        attempts as i64,
                        last_fire_at
                    ],
                )?,
            };
            Ok(())
        })
        .await
    }
}

/// A stored job. Times are ms since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub app_id: String,
    pub name: String,
    pub schedule: Option<String>,
    pub due_time: Option<String>,
    pub repeats: Option<u32>,
    pub ttl: Option<String>,
    /// The job's `data` JSON (`None` when the request had none).
    pub data: Option<serde_json::Value>,
    /// protojson `failurePolicy` (`{"constant":{"interval":"1s","maxRetries":3}}`).
    pub failure_policy: serde_json::Value,
    /// Start of the schedule: the due time (fires then) or creation (does not).
    pub begin_at: i64,
    pub begin_is_due: bool,
    pub expires_at: Option<i64>,
    pub next_fire_at: i64,
    /// Scheduled time of the last completed trigger.
    pub last_fire_at: Option<i64>,
    /// Triggers completed (delivered or given up on).
    pub count: u32,
    /// Failed attempts of the current trigger.
    pub attempts: u32,
    pub revision: i64,
    pub created_at: i64,
}

/// What happened after a trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// No more triggers.
    Delete,
    Reschedule {
        next_fire_at: i64,
        count: u32,
        attempts: u32,
        last_fire_at: Option<i64>,
    },
}

const JOB_SELECT: &str = "SELECT app_id, name, schedule, due_time, repeats, ttl, data, failure_policy,
    begin_at, begin_is_due, expires_at, next_fire_at, last_fire_at, count, attempts, revision, created_at
    FROM jobs";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let data: Option<String> = r.get(6)?;
    let policy: String = r.get(7)?;
    Ok(JobRecord {
        app_id: r.get(0)?,
        name: r.get(1)?,
        schedule: r.get(2)?,
        due_time: r.get(3)?,
        repeats: r.get::<_, Option<i64>>(4)?.map(|v| v as u32),
        ttl: r.get(5)?,
        data: data.and_then(|d| serde_json::from_str(&d).ok()),
        failure_policy: serde_json::from_str(&policy).unwrap_or(serde_json::Value::Null),
        begin_at: r.get(8)?,
        begin_is_due: r.get(9)?,
        expires_at: r.get(10)?,
        next_fire_at: r.get(11)?,
        last_fire_at: r.get(12)?,
        count: r.get::<_, i64>(13)? as u32,
        attempts: r.get::<_, i64>(14)? as u32,
        revision: r.get(15)?,
        created_at: r.get(16)?,
    })
}
