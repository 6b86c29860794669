//! JSON Merge Patch (RFC 7396) on a task's editable fields.
//!
//! The patch is merged into the task's editable view ([`TaskInput`]), and the
//! result is re-validated in full, so a patch can never produce a task that a
//! create would have refused.
//!
//! Semantics, as RFC 7396 defines them: a member set to `null` is removed
//! (`description` becomes `""`, `tags` `[]`, `dueAt`/`reminder`/`recurrence`
//! none; removing `title` is a 422 because a task needs one), objects
//! (`reminder`, `recurrence`) merge member by member, arrays (`tags`,
//! `reminder.channels`) are replaced whole. A patched `recurrence` keeps its
//! `seriesId` and `occurrence` unless the patch sets them. Unknown members and
//! the server-maintained ones (`id`, `status`, `version`, `createdAt`,
//! `updatedAt`, `completedAt`) are refused with 400 even when set to `null`.

use chrono::SecondsFormat;
use serde_json::Value;

use crate::problem::Problem;
use crate::task::validate::{
    check_members, task_input_from_value, validate, RecurrenceInput, ReminderInput, TaskFields,
    TaskInput,
};
use crate::task::Task;

/// Applies `patch` (the raw request body) to `task`. Errors: malformed JSON, a
/// non-object patch, unknown or read-only fields (`id`, `status`, `version`…)
/// → 400; rule violations of the merged result → 422.
pub fn apply_merge_patch(task: &Task, patch: &[u8]) -> Result<TaskFields, Problem> {
    let patch: Value = serde_json::from_slice(patch)
        .map_err(|e| Problem::bad_request(format!("the merge patch is not valid JSON: {e}")))?;
    let Value::Object(members) = &patch else {
        return Err(Problem::bad_request(
            "a JSON Merge Patch of a task must be a JSON object (RFC 7396)",
        ));
    };
    // Checked on the patch itself, not only on the merged result, so that
    // `{"status": null}` or a misspelt `{"titel": null}` is refused rather
    // than silently doing nothing.
    check_members(members)?;

    let mut doc = editable_view(task);
    json_patch::merge(&mut doc, &patch);
    let input = task_input_from_value(&doc)?;
    validate(input).map_err(Problem::validation)
}

/// The task's editable members as a JSON object, the document a merge patch
/// applies to. Dates are RFC 3339 in UTC; absent values are left out.
pub fn editable_view(task: &Task) -> Value {
    let input = TaskInput {
        title: Some(task.title.clone()),
        description: Some(task.description.clone()),
        priority: Some(task.priority),
        tags: Some(task.tags.clone()),
        due_at: task
            .due_at
            .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        timezone: Some(task.timezone.clone()),
        reminder: task.reminder.as_ref().map(|r| ReminderInput {
            before: Some(r.before.clone()),
            channels: Some(r.channels.clone()),
        }),
        recurrence: task.recurrence.as_ref().map(|r| RecurrenceInput {
            rrule: Some(r.rrule.clone()),
            from: Some(r.from),
            series_id: Some(r.series_id),
            occurrence: Some(r.occurrence),
            dtstart: r
                .dtstart
                .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }),
    };
    serde_json::to_value(input).expect("a task input always serializes")
}
