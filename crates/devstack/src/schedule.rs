//! When things fire, without any I/O: schedules, due times and the plan of a
//! Dapr job, all computed from a given "now" so they are tested natively.
//!
//! - schedules are dapr/kit cron (robfig/cron): six fields with seconds for
//!   jobs (five are rejected), seconds optional for cron bindings, an
//!   optional `TZ=`/`CRON_TZ=` prefix, `@every <Go duration>` and
//!   `@yearly|@annually|@monthly|@weekly|@daily|@midnight|@hourly`;
//! - `dueTime` and `ttl` are RFC 3339, a Go duration or an ISO 8601
//!   duration, relative to the (second-truncated) creation time
//!   (go-etcd-cron `parsePointInTime`);
//! - [`plan_job`] validates a job as go-etcd-cron's `Builder.Parse` does and
//!   computes its first trigger; [`after_trigger`] computes what follows a
//!   trigger (the next tick, a retry under the failure policy, or the end).
//!
//! [`crate::scheduler`] runs the triggers these plans describe.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Months, Timelike, Utc};
use serde_json::{json, Value};

use crate::durations::{parse_go_duration, parse_iso8601_duration, parse_proto_duration};
use crate::store::{JobRecord, JobUpdate};

/// A parsed cron schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron {
        cron: Box<croner::Cron>,
        zone: Zone,
    },
    /// `@every <duration>` (whole seconds, at least 1 s, as robfig/cron).
    Every(Duration),
}

/// The time zone a cron expression is evaluated in.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    Utc,
    Local,
    Named(chrono_tz::Tz),
}

/// A Jobs API schedule: six fields with seconds required (UTC unless `TZ=`).
pub fn parse_job_schedule(text: &str) -> Result<Schedule> {
    parse_schedule(text, true, Zone::Utc)
}

/// A cron binding schedule: seconds optional (local time unless `TZ=`).
pub fn parse_binding_schedule(text: &str) -> Result<Schedule> {
    parse_schedule(text, false, Zone::Local)
}

fn parse_schedule(text: &str, seconds_required: bool, default_zone: Zone) -> Result<Schedule> {
    let mut spec = text.trim();
    if spec.is_empty() {
        bail!("empty spec string");
    }
    let mut zone = default_zone;
    if let Some(rest) = spec
        .strip_prefix("TZ=")
        .or_else(|| spec.strip_prefix("CRON_TZ="))
    {
        let (name, after) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| anyhow!("provided bad location {rest}: missing schedule"))?;
        let tz: chrono_tz::Tz = name
            .parse()
            .map_err(|_| anyhow!("provided bad location {name}"))?;
        zone = Zone::Named(tz);
        spec = after.trim();
    }
    if let Some(rest) = spec.strip_prefix("@every ") {
        let d = parse_go_duration(rest.trim())?;
        // robfig/cron Every(): at least one second, truncated to seconds.
        let secs = d.as_secs().max(1);
        return Ok(Schedule::Every(Duration::from_secs(secs)));
    }
    let expanded = match spec {
        "@yearly" | "@annually" => "0 0 0 1 1 *",
        "@monthly" => "0 0 0 1 * *",
        "@weekly" => "0 0 0 * * 0",
        "@daily" | "@midnight" => "0 0 0 * * *",
        "@hourly" => "0 0 * * * *",
        other if other.starts_with('@') => bail!("unrecognized descriptor: {other}"),
        other => other,
    };
    let fields = expanded.split_whitespace().count();
    if seconds_required && fields != 6 {
        bail!("expected exactly 6 fields, found {fields}: {expanded}");
    }
    if !seconds_required && !(5..=6).contains(&fields) {
        bail!("expected 5 or 6 fields, found {fields}: {expanded}");
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Optional)
        .year(croner::parser::Year::Disallowed)
        .build();
    let cron = parser
        .parse(expanded)
        .map_err(|e| anyhow!("invalid cron expression {expanded:?}: {e}"))?;
    Ok(Schedule::Cron {
        cron: Box::new(cron),
        zone,
    })
}

impl Schedule {
    /// The first activation strictly after `t` (robfig/cron `Next`).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = t.with_nanosecond(0).unwrap_or(t);
        match self {
            Schedule::Every(d) => Some(t + chrono::Duration::from_std(*d).ok()?),
            Schedule::Cron { cron, zone } => match zone {
                Zone::Utc => cron.find_next_occurrence(&t, false).ok(),
                Zone::Local => cron
                    .find_next_occurrence(&t.with_timezone(&chrono::Local), false)
                    .ok()
                    .map(|d| d.with_timezone(&Utc)),
                Zone::Named(tz) => cron
                    .find_next_occurrence(&t.with_timezone(tz), false)
                    .ok()
                    .map(|d| d.with_timezone(&Utc)),
            },
        }
    }
}

/// A `dueTime`/`ttl`: RFC 3339, else a Go duration or an ISO 8601 duration
/// added to `now` (go-etcd-cron `parsePointInTime`).
pub fn parse_point_in_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = parse_go_duration(text) {
        return Ok(now + chrono::Duration::from_std(d)?);
    }
    let iso =
        parse_iso8601_duration(text).map_err(|_| anyhow!("due time format not recognized"))?;
    let months = iso.years * 12 + iso.months;
    let shifted = now
        .checked_add_months(Months::new(months))
        .ok_or_else(|| anyhow!("due time out of range"))?;
    Ok(shifted + chrono::Duration::days(iso.days) + chrono::Duration::from_std(iso.time)?)
}

/// A job as requested over HTTP (`JobHTTPRequest` minus name/overwrite).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobSpec {
    pub schedule: Option<String>,
    pub due_time: Option<String>,
    pub repeats: Option<u32>,
    pub ttl: Option<String>,
    pub data: Option<Value>,
    /// protojson `failurePolicy`; `None` = the default.
    pub failure_policy: Option<Value>,
}

/// The default failure policy the Scheduler fills in.
pub fn default_failure_policy() -> Value {
    json!({ "constant": { "interval": "1s", "maxRetries": 3 } })
}

/// A job's failure policy.
#[derive(Debug, Clone, PartialEq)]
pub enum FailurePolicy {
    Drop,
    Constant {
        interval: Duration,
        max_retries: Option<u32>,
    },
}

/// Parses a protojson `FailurePolicy`.
pub fn parse_failure_policy(value: &Value) -> Result<FailurePolicy> {
    if value.get("drop").is_some() {
        return Ok(FailurePolicy::Drop);
    }
    let Some(c) = value.get("constant") else {
        bail!("failurePolicy must be {{\"drop\":{{}}}} or {{\"constant\":{{…}}}}");
    };
    let interval = match c.get("interval") {
        None | Some(Value::Null) => Duration::ZERO,
        Some(Value::String(s)) => parse_proto_duration(s)?,
        Some(other) => bail!("invalid failurePolicy interval {other}"),
    };
    let max_retries = match c.get("maxRetries").or_else(|| c.get("max_retries")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| anyhow!("invalid failurePolicy maxRetries {v}"))? as u32,
        ),
    };
    Ok(FailurePolicy::Constant {
        interval,
        max_retries,
    })
}

/// Validates a job like go-etcd-cron's `Builder.Parse` and computes its
/// first trigger. Errors are the Scheduler's messages (daprd answers them
/// with 500 `DAPR_SCHEDULER_SCHEDULE_JOB`).
pub fn plan_job(app_id: &str, name: &str, spec: JobSpec, now: DateTime<Utc>) -> Result<JobRecord> {
    if spec.schedule.is_none() && spec.due_time.is_none() {
        bail!("job must have either a due time or a schedule");
    }
    if spec.schedule.is_none() && spec.repeats.unwrap_or(0) > 1 {
        bail!("job must have a schedule to repeat");
    }
    if spec.repeats == Some(0) {
        bail!("defined repeats must be greater than 0");
    }
    if spec.schedule.is_none() && spec.ttl.is_some() {
        bail!("job must have a schedule to have a ttl");
    }
    let schedule = match &spec.schedule {
        Some(s) => Some(parse_job_schedule(s)?),
        None => None,
    };
    let failure_policy = spec
        .failure_policy
        .clone()
        .unwrap_or_else(default_failure_policy);
    parse_failure_policy(&failure_policy)?;
    let now = now.with_nanosecond(0).unwrap_or(now);
    let (begin, begin_is_due) = match &spec.due_time {
        Some(d) => (parse_point_in_time(d, now)?, true),
        None => (now, false),
    };
    let expires_at = match &spec.ttl {
        Some(ttl) => {
            let start = if begin_is_due { begin } else { now };
            let exp = parse_point_in_time(ttl, start)
                .map_err(|_| anyhow!("ttl format not recognized"))?;
            if begin_is_due && begin > exp {
                bail!("ttl must be greater than due time");
            }
            Some(exp.timestamp_millis())
        }
        None => None,
    };
    let first = match (&schedule, begin_is_due) {
        (None, _) | (Some(_), true) => begin,
        (Some(s), false) => s
            .next_after(begin)
            .ok_or_else(|| anyhow!("schedule {:?} never fires", spec.schedule))?,
    };
    Ok(JobRecord {
        app_id: app_id.to_string(),
        name: name.to_string(),
        schedule: spec.schedule,
        due_time: spec.due_time,
        repeats: spec.repeats,
        ttl: spec.ttl,
        data: spec.data,
        failure_policy,
        begin_at: begin.timestamp_millis(),
        begin_is_due,
        expires_at,
        next_fire_at: first.timestamp_millis(),
        last_fire_at: None,
        count: 0,
        attempts: 0,
        revision: 0,
        created_at: now.timestamp_millis(),
    })
}

fn millis(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

/// The scheduled time of the job's current trigger (while it is retried,
/// `next_fire_at` holds the retry time instead).
fn scheduled_time(job: &JobRecord, schedule: Option<&Schedule>) -> i64 {
    if job.attempts == 0 {
        return job.next_fire_at;
    }
    match (schedule, job.last_fire_at) {
        (Some(s), Some(last)) => s
            .next_after(millis(last))
            .map(|t| t.timestamp_millis())
            .unwrap_or(job.next_fire_at),
        (Some(s), None) if !job.begin_is_due => s
            .next_after(millis(job.begin_at))
            .map(|t| t.timestamp_millis())
            .unwrap_or(job.next_fire_at),
        _ => job.begin_at,
    }
}

/// What to store after a trigger: `delivered` (or given up on) moves to the
/// next trigger; a failure with retries left reschedules the same trigger.
pub fn after_trigger(job: &JobRecord, delivered: bool, now: i64) -> JobUpdate {
    let schedule = job
        .schedule
        .as_deref()
        .and_then(|s| parse_job_schedule(s).ok());
    if !delivered {
        let policy = parse_failure_policy(&job.failure_policy).unwrap_or(FailurePolicy::Drop);
        if let FailurePolicy::Constant {
            interval,
            max_retries,
        } = policy
        {
            if max_retries.is_none_or(|max| job.attempts < max) {
                return JobUpdate::Reschedule {
                    next_fire_at: now + interval.as_millis() as i64,
                    count: job.count,
                    attempts: job.attempts + 1,
                    last_fire_at: job.last_fire_at,
                };
            }
        }
    }
    let fired = scheduled_time(job, schedule.as_ref());
    let count = job.count + 1;
    if job.repeats.is_some_and(|r| count >= r) {
        return JobUpdate::Delete;
    }
    let Some(schedule) = schedule else {
        return JobUpdate::Delete;
    };
    let Some(next) = schedule.next_after(millis(fired)) else {
        return JobUpdate::Delete;
    };
    let next = next.timestamp_millis();
    if job.expires_at.is_some_and(|exp| next > exp) {
        return JobUpdate::Delete;
    }
    JobUpdate::Reschedule {
        next_fire_at: next,
        count,
        attempts: 0,
        last_fire_at: Some(fired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn six_fields_required_for_jobs() {
        assert!(parse_job_schedule("*/5 * * * *").is_err());
        let s = parse_job_schedule("*/10 * * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-01-01T00:00:03.5Z")).unwrap(),
            at("2026-01-01T00:00:10Z")
        );
        let d = parse_job_schedule("@daily").unwrap();
        assert_eq!(
            d.next_after(at("2026-01-01T10:00:00Z")).unwrap(),
            at("2026-01-02T00:00:00Z")
        );
        let e = parse_job_schedule("@every 1m30s").unwrap();
        assert_eq!(
            e.next_after(at("2026-01-01T10:00:00.7Z")).unwrap(),
            at("2026-01-01T10:01:30Z")
        );
        let tz = parse_job_schedule("TZ=Europe/Berlin 0 0 9 * * *").unwrap();
        assert_eq!(
            tz.next_after(at("2026-01-01T00:00:00Z")).unwrap(),
            at("2026-01-01T08:00:00Z")
        );
        assert!(parse_binding_schedule("*/5 * * * *").is_ok());
    }

    #[test]
    fn points_in_time() {
        let now = at("2026-01-31T10:00:00Z");
        assert_eq!(
            parse_point_in_time("2026-02-01T00:00:00Z", now).unwrap(),
            at("2026-02-01T00:00:00Z")
        );
        assert_eq!(
            parse_point_in_time("90s", now).unwrap(),
            at("2026-01-31T10:01:30Z")
        );
        assert_eq!(
            parse_point_in_time("PT1H", now).unwrap(),
            at("2026-01-31T11:00:00Z")
        );
        assert_eq!(
            parse_point_in_time("P1DT1M", now).unwrap(),
            at("2026-02-01T10:01:00Z")
        );
        assert!(parse_point_in_time("tomorrow", now).is_err());
    }

    #[test]
    fn planning_and_triggers() {
        let now = at("2026-01-01T00:00:00.300Z");
        assert!(plan_job("a", "j", JobSpec::default(), now).is_err());
        let spec = JobSpec {
            schedule: Some("@every 10s".into()),
            due_time: Some("5s".into()),
            repeats: Some(2),
            data: Some(json!({"x": 1})),
            ..JobSpec::default()
        };
        let job = plan_job("a", "j", spec, now).unwrap();
        assert_eq!(
            job.next_fire_at,
            at("2026-01-01T00:00:05Z").timestamp_millis()
        );
        match after_trigger(&job, true, job.next_fire_at) {
            JobUpdate::Reschedule {
                next_fire_at,
                count,
                ..
            } => {
                assert_eq!(next_fire_at, at("2026-01-01T00:00:15Z").timestamp_millis());
                assert_eq!(count, 1);
            }
            other => panic!("{other:?}"),
        }
        let mut second = job.clone();
        second.count = 1;
        assert_eq!(after_trigger(&second, true, 0), JobUpdate::Delete);
        // A failure is retried after 1 s, 3 times, then the trigger is done.
        let oneshot = plan_job(
            "a",
            "o",
            JobSpec {
                due_time: Some("1s".into()),
                data: Some(json!(1)),
                ..JobSpec::default()
            },
            now,
        )
        .unwrap();
        let mut j = oneshot.clone();
        for attempt in 0..3 {
            match after_trigger(&j, false, 1_000) {
                JobUpdate::Reschedule {
                    next_fire_at,
                    attempts,
                    ..
                } => {
                    assert_eq!(next_fire_at, 2_000);
                    assert_eq!(attempts, attempt + 1);
                    j.attempts = attempts;
                    j.next_fire_at = next_fire_at;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(after_trigger(&j, false, 5_000), JobUpdate::Delete);
        assert!(plan_job(
            "a",
            "r",
            JobSpec {
                due_time: Some("1s".into()),
                repeats: Some(3),
                ..JobSpec::default()
            },
            now
        )
        .is_err());
    }
}
