//! Small values tests make and read: unique user ids (so tests sharing a
//! process never see each other's data), task ids, RFC 3339 times.

use serde_json::Value;

/// A unique user id.
pub fn unique_user(name: &str) -> String {
    format!(
        "{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// `id` of a task JSON.
pub fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task id").to_string()
}

/// RFC 3339 (seconds, `Z`) of now + `secs`.
pub fn in_secs(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse_time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("{value}")))
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .with_timezone(&chrono::Utc)
}
