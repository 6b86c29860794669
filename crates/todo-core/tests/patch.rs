//! JSON Merge Patch (RFC 7396) on tasks: Appendix A semantics, re-validation,
//! refused members.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use todo_core::task::patch::apply_merge_patch;
use todo_core::task::validate::{parse_task_input, validate, TaskFields};
use todo_core::task::{Channel, Priority, RecurrenceFrom, Task};
use todo_core::Problem;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn task_from(body: Value) -> Task {
    let input = parse_task_input(body.to_string().as_bytes()).unwrap();
    let fields = validate(input).unwrap();
    Task::create(
        Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001),
        fields,
        now(),
    )
}

fn full_task() -> Task {
    task_from(json!({
        "title": "Weekly report",
        "description": "numbers",
        "priority": "high",
        "tags": ["work", "q4"],
        "dueAt": "2026-12-07T09:00:00Z",
        "timezone": "Europe/Berlin",
        "reminder": {"before": "PT15M", "channels": ["email", "inbox"]},
        "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO"}
    }))
}

fn patch(task: &Task, patch: Value) -> Result<TaskFields, Problem> {
    apply_merge_patch(task, patch.to_string().as_bytes())
}

fn patched(task: &Task, p: Value) -> TaskFields {
    patch(task, p.clone()).unwrap_or_else(|e| panic!("{p}: {e} {:?}", e.errors))
}

fn refused(task: &Task, body: &str) -> Problem {
    match apply_merge_patch(task, body.as_bytes()) {
        Ok(f) => panic!("{body} should be refused, got {f:?}"),
        Err(p) => p,
    }
}

// ---------- RFC 7396 Appendix A, applied to tasks ----------

#[test]
fn replaces_a_member() {
    // {"a":"b"} + {"a":"c"} = {"a":"c"}
    let t = full_task();
    let f = patched(&t, json!({"title": "Monthly report"}));
    assert_eq!(f.title, "Monthly report");
    let expected = TaskFields {
        title: "Monthly report".into(),
        ..t.fields()
    };
    assert_eq!(f, expected, "nothing else changes");
}

#[test]
fn adds_a_member() {
    // {"a":"b"} + {"b":"c"} = {"a":"b","b":"c"}
    let t = task_from(json!({"title": "plain"}));
    let f = patched(&t, json!({"dueAt": "2026-03-01T08:00:00+01:00"}));
    assert_eq!(
        f.due_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 1, 7, 0, 0).unwrap())
    );
    assert_eq!(f.title, "plain");
}

#[test]
fn null_removes_a_member() {
    // {"a":"b"} + {"a":null} = {}
    let t = full_task();
    let f = patched(
        &t,
        json!({"description": null, "tags": null, "priority": null,
        "timezone": null, "reminder": null, "recurrence": null, "dueAt": null}),
    );
    assert_eq!(f.description, "");
    assert!(f.tags.is_empty());
    assert_eq!(
        f.priority,
        Priority::Medium,
        "removed priority falls back to the default"
    );
    assert_eq!(f.timezone, "UTC");
    assert_eq!(f.reminder, None);
    assert_eq!(f.recurrence, None);
    assert_eq!(f.due_at, None);
    assert_eq!(f.title, "Weekly report");
}

#[test]
fn null_for_an_absent_member_changes_nothing() {
    // {"a":"b"} + {"c":null} = {"a":"b"}  (with a known member)
    let t = task_from(json!({"title": "plain"}));
    assert_eq!(
        patched(&t, json!({"reminder": null, "dueAt": null})),
        t.fields()
    );
}

#[test]
fn nested_objects_merge_member_by_member() {
    // {"a":{"b":"c"}} + {"a":{"b":"d","c":null}} = {"a":{"b":"d"}}
    let t = full_task();
    let f = patched(&t, json!({"reminder": {"before": "PT1H"}}));
    let r = f.reminder.unwrap();
    assert_eq!(r.before, "PT1H");
    assert_eq!(
        r.channels,
        vec![Channel::Email, Channel::Inbox],
        "channels kept"
    );

    // Removing a nested member: channels fall back to the default.
    let f = patched(&t, json!({"reminder": {"channels": null}}));
    let r = f.reminder.unwrap();
    assert_eq!(r.before, "PT15M");
    assert_eq!(r.channels, vec![Channel::Inbox]);

    // Removing the required nested member is a validation error.
    let p = patch(&t, json!({"reminder": {"before": null}})).unwrap_err();
    assert_eq!(p.status, 422);
    assert_eq!(p.errors[0].field, "reminder.before");
}

#[test]
fn arrays_are_replaced_whole() {
    // {"a":["b"]} + {"a":"c"} / {"a":[1]} = replaced, never merged element-wise
    let t = full_task();
    let f = patched(&t, json!({"tags": ["home"]}));
    assert_eq!(f.tags, vec!["home"]);
    let f = patched(&t, json!({"tags": []}));
    assert!(f.tags.is_empty());
    let f = patched(&t, json!({"reminder": {"channels": ["webhook"]}}));
    assert_eq!(f.reminder.unwrap().channels, vec![Channel::Webhook]);
}

#[test]
fn a_new_nested_object_is_created_from_the_patch() {
    // {} + {"a":{"bb":{"ccc":null}}} = {"a":{"bb":{}}}
    let t = task_from(json!({"title": "x", "dueAt": "2026-05-01T10:00:00Z"}));
    let f = patched(&t, json!({"reminder": {"before": "P1D", "channels": null}}));
    let r = f.reminder.unwrap();
    assert_eq!(r.before, "P1D");
    assert_eq!(r.channels, vec![Channel::Inbox]);
}

#[test]
fn empty_patch_is_the_identity() {
    for t in [full_task(), task_from(json!({"title": "plain"}))] {
        assert_eq!(patched(&t, json!({})), t.fields());
    }
    // Sub-second due dates survive the round trip through the editable view.
    let t = task_from(json!({"title": "x", "dueAt": "2026-05-01T10:00:00.123456789+02:00"}));
    assert_eq!(patched(&t, json!({})).due_at, t.due_at);
}

// ---------- recurrence series ----------

#[test]
fn patching_recurrence_keeps_the_series() {
    let mut t = full_task();
    let series = Uuid::from_u128(42);
    if let Some(r) = t.recurrence.as_mut() {
        r.series_id = series;
        r.occurrence = 3;
    }
    let f = patched(&t, json!({"recurrence": {"rrule": "FREQ=DAILY"}}));
    let r = f.recurrence.unwrap();
    assert_eq!(r.rrule, "FREQ=DAILY");
    assert_eq!(r.series_id, Some(series));
    assert_eq!(r.occurrence, Some(3));
    assert_eq!(r.from, RecurrenceFrom::Due);

    let f = patched(
        &t,
        json!({"recurrence": {"occurrence": 7, "from": "completion"}}),
    );
    let r = f.recurrence.unwrap();
    assert_eq!(
        (r.occurrence, r.from, r.series_id),
        (Some(7), RecurrenceFrom::Completion, Some(series))
    );
}

#[test]
fn adding_recurrence_starts_a_new_series() {
    let t = task_from(json!({"title": "x", "dueAt": "2026-05-01T10:00:00Z"}));
    let f = patched(&t, json!({"recurrence": {"rrule": "FREQ=MONTHLY"}}));
    let mut after = t.clone();
    after.apply(f, now());
    let r = after.recurrence.unwrap();
    assert_eq!(r.series_id, t.id);
    assert_eq!(r.occurrence, 1);
}

// ---------- re-validation (422) ----------

#[test]
fn the_merged_result_is_revalidated() {
    let t = full_task();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"title": ""}), vec!["title"]),
        (json!({"title": "   "}), vec!["title"]),
        (json!({"title": null}), vec!["title"]),
        (json!({"title": "x".repeat(201)}), vec!["title"]),
        (
            json!({"description": "d".repeat(5001)}),
            vec!["description"],
        ),
        (json!({"tags": ["x".repeat(41)]}), vec!["tags[0]"]),
        (json!({"dueAt": "tomorrow"}), vec!["dueAt"]),
        (json!({"timezone": "Moon/Base"}), vec!["timezone"]),
        (
            json!({"reminder": {"before": "P1M"}}),
            vec!["reminder.before"],
        ),
        (
            json!({"reminder": {"channels": []}}),
            vec!["reminder.channels"],
        ),
        // removing dueAt leaves the reminder and the recurrence without one
        (json!({"dueAt": null}), vec!["reminder", "recurrence"]),
        (
            json!({"recurrence": {"rrule": "FREQ=SECONDLY"}}),
            vec!["recurrence.rrule"],
        ),
        (json!({"title": "", "tags": [""]}), vec!["title", "tags[0]"]),
    ];
    for (p, fields) in cases {
        let problem = patch(&t, p.clone()).unwrap_err();
        assert_eq!(problem.status, 422, "{p}");
        assert_eq!(problem.kind, "/problems/validation-error");
        let got: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(got, fields, "{p}");
    }
}

// ---------- refused patches (400) ----------

#[test]
fn read_only_members_are_refused() {
    let t = full_task();
    for field in [
        "id",
        "status",
        "version",
        "createdAt",
        "updatedAt",
        "completedAt",
    ] {
        for value in [json!(null), json!("completed"), json!(9)] {
            let p = refused(&t, &json!({ field: value }).to_string());
            assert_eq!(p.status, 400);
            assert!(
                p.detail.contains("read-only") && p.detail.contains(field),
                "{}",
                p.detail
            );
            assert!(
                p.detail.contains("/complete") && p.detail.contains("/reopen"),
                "{}",
                p.detail
            );
        }
    }
    // Even next to valid members.
    let p = refused(&t, r#"{"title":"ok","status":"completed"}"#);
    assert_eq!(p.status, 400);
}

#[test]
fn unknown_members_are_refused_even_when_null() {
    let t = full_task();
    for (body, needle) in [
        (r#"{"titel":"x"}"#, "`titel`"),
        (r#"{"titel":null}"#, "`titel`"),
        (r#"{"reminder":{"befor":"PT1H"}}"#, "`reminder.befor`"),
        (r#"{"reminder":{"befor":null}}"#, "`reminder.befor`"),
        (r#"{"recurrence":{"count":3}}"#, "`recurrence.count`"),
    ] {
        let p = refused(&t, body);
        assert_eq!(p.status, 400, "{body}");
        assert!(
            p.detail.contains("unknown field") && p.detail.contains(needle),
            "{}",
            p.detail
        );
    }
}

#[test]
fn non_object_and_malformed_patches_are_refused() {
    let t = full_task();
    for body in ["[]", "[{\"op\":\"replace\"}]", "\"x\"", "null", "1", "true"] {
        let p = refused(&t, body);
        assert_eq!(p.status, 400, "{body}");
        assert!(p.detail.contains("JSON object"), "{}", p.detail);
    }
    for body in ["", "{", "{\"title\": }", "{'title': 'x'}"] {
        let p = refused(&t, body);
        assert_eq!(p.status, 400, "{body}");
        assert!(p.detail.contains("not valid JSON"), "{}", p.detail);
    }
}

#[test]
fn wrong_types_are_refused() {
    let t = full_task();
    for (body, needle) in [
        (r#"{"title": 1}"#, "`title`"),
        (r#"{"tags": "a"}"#, "`tags`"),
        (r#"{"tags": ["a", null]}"#, "`tags[1]`"),
        (r#"{"priority": "asap"}"#, "`priority`"),
        (r#"{"reminder": "PT5M"}"#, "`reminder`"),
        (
            r#"{"reminder": {"channels": ["pager"]}}"#,
            "`reminder.channels[0]`",
        ),
        (
            r#"{"recurrence": {"occurrence": "2"}}"#,
            "`recurrence.occurrence`",
        ),
    ] {
        let p = refused(&t, body);
        assert_eq!(p.status, 400, "{body}");
        assert!(p.detail.contains(needle), "{body}: {}", p.detail);
    }
}

// ---------- properties ----------

/// Reads one patched value back.
type Check<'a> = Box<dyn Fn(&TaskFields) -> bool + 'a>;

fn arb_title() -> impl Strategy<Value = String> {
    "[A-Za-z0-9äß任][A-Za-z0-9 äß任.,!-]{0,60}[A-Za-z0-9]".prop_map(|s| s)
}

fn arb_tags() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[a-z][a-z0-9-]{0,15}", 0..=20).prop_map(|tags| {
        let mut out: Vec<String> = Vec::new();
        for t in tags {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    })
}

fn arb_due() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap())
}

fn arb_priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

fn arb_timezone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Tokyo",
        "Australia/Adelaide",
    ])
}

fn arb_before() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "PT1M", "PT15M", "PT1H30M", "P1D", "P1W", "P2DT3H", "PT0.5S",
    ])
    .prop_map(String::from)
}

fn arb_channels() -> impl Strategy<Value = Vec<Channel>> {
    prop::sample::subsequence(
        vec![Channel::Inbox, Channel::Email, Channel::Webhook],
        1..=3,
    )
}

prop_compose! {
    fn arb_task()(
        title in arb_title(),
        description in "[a-z \n]{0,80}",
        priority in arb_priority(),
        tags in arb_tags(),
        due in proptest::option::of(arb_due()),
        tz in arb_timezone(),
        before in proptest::option::of(arb_before()),
        channels in arb_channels(),
        rrule in proptest::option::of(prop::sample::select(vec!["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,FR", "FREQ=MONTHLY;COUNT=3"])),
    ) -> Task {
        let mut body = json!({
            "title": title, "description": description, "priority": priority,
            "tags": tags, "timezone": tz,
        });
        if let Some(due) = due {
            body["dueAt"] = json!(due.to_rfc3339());
            if let Some(before) = before {
                body["reminder"] = json!({"before": before, "channels": channels});
            }
            if let Some(rrule) = rrule {
                body["recurrence"] = json!({"rrule": rrule});
            }
        }
        task_from(body)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn empty_patch_is_identity(task in arb_task()) {
        prop_assert_eq!(patch(&task, json!({})).unwrap(), task.fields());
    }

    #[test]
    fn patching_a_field_reads_back_the_value(
        task in arb_task(),
        title in arb_title(),
        description in "[a-zA-Z0-9 \n\t]{0,200}",
        priority in arb_priority(),
        tags in arb_tags(),
        due in arb_due(),
        tz in arb_timezone(),
        which in 0usize..6,
    ) {
        let (p, check): (Value, Check) = match which {
            0 => (json!({"title": title.clone()}), Box::new(|f: &TaskFields| f.title == title)),
            1 => (json!({"description": description.clone()}), Box::new(|f: &TaskFields| f.description == description)),
            2 => (json!({"priority": priority}), Box::new(move |f: &TaskFields| f.priority == priority)),
            3 => (json!({"tags": tags.clone()}), Box::new(|f: &TaskFields| f.tags == tags)),
            4 => (json!({"dueAt": due.to_rfc3339()}), Box::new(move |f: &TaskFields| f.due_at == Some(due))),
            _ => (json!({"timezone": tz}), Box::new(move |f: &TaskFields| f.timezone == tz)),
        };
        let f = patch(&task, p.clone()).unwrap();
        prop_assert!(check(&f), "{} not read back: {:?}", p, f);
        // Every other member is untouched: patching back the old value restores the task.
        let mut after = task.clone();
        after.apply(f, now());
        let restore = match which {
            0 => json!({"title": task.title}),
            1 => json!({"description": task.description}),
            2 => json!({"priority": task.priority}),
            3 => json!({"tags": task.tags}),
            4 => json!({"dueAt": task.due_at.map(|d| d.to_rfc3339())}),
            _ => json!({"timezone": task.timezone}),
        };
        prop_assert_eq!(patch(&after, restore).unwrap(), task.fields());
    }

    #[test]
    fn patching_the_reminder_reads_back(task in arb_task(), before in arb_before(), channels in arb_channels()) {
        prop_assume!(task.due_at.is_some());
        let f = patch(&task, json!({"reminder": {"before": before, "channels": channels}})).unwrap();
        let r = f.reminder.unwrap();
        prop_assert_eq!(r.before, before);
        prop_assert_eq!(r.channels, channels);
    }
}
