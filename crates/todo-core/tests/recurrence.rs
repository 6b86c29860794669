//! Recurrence: rule validation, next occurrence (from due / from completion,
//! COUNT, UNTIL, month ends, leap days, DST) and preview.

use chrono::{DateTime, Utc};
use todo_core::recurrence::{next_due, next_task_input, preview, validate_rrule, PREVIEW_MAX};
use todo_core::{Channel, Priority, Recurrence, RecurrenceFrom, Reminder, Status, Task};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
        .with_timezone(&Utc)
}

fn series_id() -> Uuid {
    Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap()
}

fn task(rrule: &str, from: RecurrenceFrom, due: Option<&str>, tz: &str) -> Task {
    let created = at("2026-01-01T00:00:00Z");
    Task {
        id: series_id(),
        title: "Weekly report".into(),
        description: "send it".into(),
        status: Status::Completed,
        priority: Priority::High,
        tags: vec!["work".into(), "reports".into()],
        due_at: due.map(at),
        timezone: tz.into(),
        reminder: Some(Reminder {
            before: "PT15M".into(),
            channels: vec![Channel::Inbox, Channel::Email],
        }),
        recurrence: Some(Recurrence {
            rrule: rrule.into(),
            from,
            series_id: series_id(),
            occurrence: 1,
            dtstart: None,
        }),
        completed_at: None,
        created_at: created,
        updated_at: created,
        version: 2,
    }
}

fn due_task(rrule: &str, due: &str, tz: &str) -> Task {
    task(rrule, RecurrenceFrom::Due, Some(due), tz)
}

/// Follows a from-due series: each row is (rule, timezone, [due dates...]) and
/// every date must be the `next_due` of the one before it.
fn assert_chain(rrule: &str, tz: &str, chain: &[&str]) {
    for pair in chain.windows(2) {
        let t = due_task(rrule, pair[0], tz);
        assert_eq!(
            next_due(&t),
            Ok(Some(at(pair[1]))),
            "{rrule} in {tz}: after {}",
            pair[0]
        );
    }
}

#[test]
fn from_due_table() {
    let table: &[(&str, &str, &[&str])] = &[
        // weekly, same weekday and local time
        (
            "FREQ=WEEKLY",
            "Europe/Berlin",
            &[
                "2026-06-01T07:00:00Z",
                "2026-06-08T07:00:00Z",
                "2026-06-15T07:00:00Z",
            ],
        ),
        // RRULE: prefix and lower case are accepted
        (
            "RRULE:freq=weekly;interval=2",
            "UTC",
            &["2026-06-01T09:00:00Z", "2026-06-15T09:00:00Z"],
        ),
        // Mon, Wed, Fri
        (
            "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            "Europe/Berlin",
            &[
                "2026-06-01T07:00:00Z", // Mon 09:00 CEST
                "2026-06-03T07:00:00Z", // Wed
                "2026-06-05T07:00:00Z", // Fri
                "2026-06-08T07:00:00Z", // Mon
            ],
        ),
        // daily
        (
            "FREQ=DAILY",
            "UTC",
            &["2026-12-31T23:30:00Z", "2027-01-01T23:30:00Z"],
        ),
        // hourly every 6 hours
        (
            "FREQ=HOURLY;INTERVAL=6",
            "UTC",
            &["2026-05-01T10:15:00Z", "2026-05-01T16:15:00Z"],
        ),
        // monthly on the 31st: months without a 31st are skipped (RFC 5545)
        (
            "FREQ=MONTHLY",
            "UTC",
            &[
                "2026-01-31T09:00:00Z",
                "2026-03-31T09:00:00Z",
                "2026-05-31T09:00:00Z",
                "2026-07-31T09:00:00Z",
                "2026-08-31T09:00:00Z",
            ],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "UTC",
            &["2026-01-31T09:00:00Z", "2026-03-31T09:00:00Z"],
        ),
        // last day of every month
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "UTC",
            &[
                "2026-01-31T09:00:00Z",
                "2026-02-28T09:00:00Z",
                "2026-03-31T09:00:00Z",
                "2026-04-30T09:00:00Z",
            ],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "UTC",
            &["2028-01-31T09:00:00Z", "2028-02-29T09:00:00Z"],
        ),
        // Feb 29 yearly: the next Feb 29
        (
            "FREQ=YEARLY",
            "UTC",
            &[
                "2028-02-29T09:00:00Z",
                "2032-02-29T09:00:00Z",
                "2036-02-29T09:00:00Z",
            ],
        ),
        // last weekday of the month
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "UTC",
            &[
                "2026-01-30T09:00:00Z",
                "2026-02-27T09:00:00Z",
                "2026-03-31T09:00:00Z",
            ],
        ),
    ];
    for (rrule, tz, chain) in table {
        assert_chain(rrule, tz, chain);
    }
}

#[test]
fn dst_keeps_local_wall_time() {
    let table: &[(&str, &str, &[&str])] = &[
        // Europe/Berlin springs forward on 2026-03-29: 09:00 CET (08:00Z) →
        // 09:00 CEST (07:00Z)
        (
            "FREQ=WEEKLY;BYDAY=MO",
            "Europe/Berlin",
            &["2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"],
        ),
        (
            "FREQ=DAILY",
            "Europe/Berlin",
            &[
                "2026-03-28T08:00:00Z",
                "2026-03-29T07:00:00Z",
                "2026-03-30T07:00:00Z",
            ],
        ),
        // …and falls back on 2026-10-25: 09:00 CEST (07:00Z) → 09:00 CET (08:00Z)
        (
            "FREQ=WEEKLY;BYDAY=MO",
            "Europe/Berlin",
            &["2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"],
        ),
        (
            "FREQ=DAILY",
            "Europe/Berlin",
            &["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"],
        ),
        // America/New_York: spring forward 2026-03-08, fall back 2026-11-01
        (
            "FREQ=WEEKLY",
            "America/New_York",
            &["2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z"],
        ),
        (
            "FREQ=DAILY",
            "America/New_York",
            &["2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"],
        ),
        (
            "FREQ=WEEKLY",
            "America/New_York",
            &["2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"],
        ),
        (
            "FREQ=DAILY",
            "America/New_York",
            &["2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z"],
        ),
        // the same rule in UTC does not move
        (
            "FREQ=WEEKLY;BYDAY=MO",
            "UTC",
            &["2026-03-23T08:00:00Z", "2026-03-30T08:00:00Z"],
        ),
    ];
    for (rrule, tz, chain) in table {
        assert_chain(rrule, tz, chain);
    }
}

/// 02:30 does not exist in Europe/Berlin on 2026-03-29 (02:00 CET → 03:00 CEST).
/// RFC 5545 §3.3.5: read it with the offset before the gap, i.e. 02:30 CET =
/// 01:30Z = 03:30 CEST. A task stored without `recurrence.dtstart` (before it
/// existed) is its own anchor, so without BYHOUR such a series stays at 03:30;
/// BYHOUR/BYMINUTE pin 02:30. Series created now carry their anchor
/// (`series_returns_to_its_wall_time_after_a_gap`).
#[test]
fn dst_gap_instance_moves_to_after_the_gap() {
    assert_chain(
        "FREQ=DAILY",
        "Europe/Berlin",
        &[
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:30:00Z", // 02:30 does not exist → 03:30 CEST
            "2026-03-30T01:30:00Z", // 03:30 CEST: the wall time moved
        ],
    );
    assert_chain(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
        "Europe/Berlin",
        &[
            "2026-03-28T01:30:00Z", // 02:30 CET
            "2026-03-29T01:30:00Z", // 03:30 CEST
            "2026-03-30T00:30:00Z", // back to 02:30 CEST
        ],
    );
    // A preview evaluates one series from one start, so it keeps 02:30.
    assert_eq!(
        preview("FREQ=DAILY", at("2026-03-28T01:30:00Z"), "Europe/Berlin", 3),
        Ok(vec![
            at("2026-03-28T01:30:00Z"),
            at("2026-03-29T01:30:00Z"),
            at("2026-03-30T00:30:00Z"),
        ])
    );
}

/// 02:30 happens twice in Europe/Berlin on 2026-10-25: the first one (CEST) is used.
#[test]
fn dst_overlap_instance_is_the_first_one() {
    assert_chain(
        "FREQ=DAILY",
        "Europe/Berlin",
        &[
            "2026-10-24T00:30:00Z", // 02:30 CEST
            "2026-10-25T00:30:00Z", // 02:30 CEST, the first of the two
            "2026-10-26T01:30:00Z", // 02:30 CET
        ],
    );
}

#[test]
fn count_counts_the_whole_series() {
    let rrule = "FREQ=DAILY;COUNT=3";
    let mut t = due_task(rrule, "2026-06-01T09:00:00Z", "UTC");
    let mut dues = vec![t.due_at.unwrap()];
    while let Some(input) = next_task_input(&t).unwrap() {
        let rec = input.recurrence.as_ref().unwrap();
        assert_eq!(
            rec.occurrence,
            Some(t.recurrence.as_ref().unwrap().occurrence + 1)
        );
        assert_eq!(rec.series_id, Some(series_id()));
        t.due_at = Some(at(input.due_at.as_deref().unwrap()));
        t.recurrence.as_mut().unwrap().occurrence += 1;
        dues.push(t.due_at.unwrap());
        assert!(dues.len() <= 3, "COUNT=3 exceeded: {dues:?}");
    }
    assert_eq!(
        dues,
        vec![
            at("2026-06-01T09:00:00Z"),
            at("2026-06-02T09:00:00Z"),
            at("2026-06-03T09:00:00Z"),
        ]
    );
    assert_eq!(t.recurrence.as_ref().unwrap().occurrence, 3);
    assert_eq!(next_due(&t), Ok(None));

    // occurrence beyond COUNT (e.g. the rule was edited): ended, not an error
    let mut t = due_task("FREQ=DAILY;COUNT=2", "2026-06-01T09:00:00Z", "UTC");
    t.recurrence.as_mut().unwrap().occurrence = 7;
    assert_eq!(next_due(&t), Ok(None));
    // COUNT=1: the first task is the only one
    let t = due_task("FREQ=DAILY;COUNT=1", "2026-06-01T09:00:00Z", "UTC");
    assert_eq!(next_due(&t), Ok(None));
}

#[test]
fn until_is_inclusive() {
    // UTC date-time
    let rrule = "FREQ=DAILY;UNTIL=20260103T090000Z";
    assert_chain(
        rrule,
        "UTC",
        &[
            "2026-01-01T09:00:00Z",
            "2026-01-02T09:00:00Z",
            "2026-01-03T09:00:00Z",
        ],
    );
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-03T09:00:00Z", "UTC")),
        Ok(None)
    );
    // one second earlier excludes the 3rd
    let rrule = "FREQ=DAILY;UNTIL=20260103T085959Z";
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-02T09:00:00Z", "UTC")),
        Ok(None)
    );
    // a due date already past UNTIL: ended
    let rrule = "FREQ=DAILY;UNTIL=20251231T000000Z";
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-02T09:00:00Z", "UTC")),
        Ok(None)
    );

    // a date: through the end of that day in the task's timezone
    let rrule = "FREQ=DAILY;UNTIL=20260103";
    let tz = "Europe/Berlin";
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-02T22:30:00Z", tz)), // Jan 2 23:30 local
        Ok(Some(at("2026-01-03T22:30:00Z")))                    // Jan 3 23:30 local
    );
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-03T22:30:00Z", tz)),
        Ok(None)
    );

    // a floating date-time: that wall time in the task's timezone
    let rrule = "FREQ=DAILY;UNTIL=20260103T090000";
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-02T08:00:00Z", tz)),
        Ok(Some(at("2026-01-03T08:00:00Z")))
    );
    assert_eq!(
        next_due(&due_task(rrule, "2026-01-03T08:00:00Z", tz)),
        Ok(None)
    );
}

fn completed(rrule: &str, due: Option<&str>, done: &str, tz: &str) -> Task {
    let mut t = task(rrule, RecurrenceFrom::Completion, due, tz);
    t.completed_at = Some(at(done));
    t
}

#[test]
fn from_completion_table() {
    let berlin = "Europe/Berlin";
    // (rule, dueAt, completedAt, timezone, expected next)
    let table: &[(&str, Option<&str>, &str, &str, &str)] = &[
        // completed late in the afternoon: next day at the due's local time
        (
            "FREQ=DAILY",
            Some("2026-03-10T08:00:00Z"),
            "2026-03-12T14:00:00Z",
            berlin,
            "2026-03-13T08:00:00Z",
        ),
        // completed before the due time of day: the completion day itself is
        // the anchor and never the next occurrence
        (
            "FREQ=DAILY",
            Some("2026-03-10T08:00:00Z"),
            "2026-03-12T06:00:00Z",
            berlin,
            "2026-03-13T08:00:00Z",
        ),
        // every three days after completion
        (
            "FREQ=DAILY;INTERVAL=3",
            Some("2026-03-10T08:00:00Z"),
            "2026-03-12T06:00:00Z",
            berlin,
            "2026-03-15T08:00:00Z",
        ),
        // weekly on Monday, completed on a Wednesday → the next Monday
        (
            "FREQ=WEEKLY;BYDAY=MO",
            Some("2026-03-02T08:00:00Z"),
            "2026-03-11T10:00:00Z",
            berlin,
            "2026-03-16T08:00:00Z",
        ),
        // the completion's *local* date counts: 23:30Z on Mar 12 is Mar 13 in Berlin
        (
            "FREQ=DAILY",
            Some("2026-03-10T08:00:00Z"),
            "2026-03-12T23:30:00Z",
            berlin,
            "2026-03-14T08:00:00Z",
        ),
        // across DST the due's local time is kept (09:00 CET → 09:00 CEST)
        (
            "FREQ=DAILY",
            Some("2026-03-20T08:00:00Z"),
            "2026-03-28T12:00:00Z",
            berlin,
            "2026-03-29T07:00:00Z",
        ),
        // monthly from completion on the 15th
        (
            "FREQ=MONTHLY",
            Some("2026-01-01T09:00:00Z"),
            "2026-01-15T12:00:00Z",
            "UTC",
            "2026-02-15T09:00:00Z",
        ),
        // no dueAt: the completion's local time of day, to the minute
        (
            "FREQ=DAILY",
            None,
            "2026-03-12T14:17:45Z",
            "UTC",
            "2026-03-13T14:17:00Z",
        ),
    ];
    for (rrule, due, done, tz, expected) in table {
        let t = completed(rrule, *due, done, tz);
        assert_eq!(
            next_due(&t),
            Ok(Some(at(expected))),
            "{rrule} due {due:?} completed {done} in {tz}"
        );
    }

    // COUNT and UNTIL apply from completion too
    let mut t = completed(
        "FREQ=DAILY;COUNT=2",
        Some("2026-03-10T08:00:00Z"),
        "2026-03-12T14:00:00Z",
        berlin,
    );
    t.recurrence.as_mut().unwrap().occurrence = 2;
    assert_eq!(next_due(&t), Ok(None));
    let t = completed(
        "FREQ=DAILY;UNTIL=20260312T235959Z",
        Some("2026-03-10T08:00:00Z"),
        "2026-03-12T14:00:00Z",
        berlin,
    );
    assert_eq!(next_due(&t), Ok(None));
}

#[test]
fn missing_inputs_are_errors() {
    // from=due without dueAt
    let t = task("FREQ=DAILY", RecurrenceFrom::Due, None, "UTC");
    let err = next_due(&t).unwrap_err();
    assert!(err.contains("dueAt"), "{err}");
    assert!(next_task_input(&t).is_err());
    // from=completion but not completed
    let t = task(
        "FREQ=DAILY",
        RecurrenceFrom::Completion,
        Some("2026-03-10T08:00:00Z"),
        "UTC",
    );
    assert!(next_due(&t).unwrap_err().contains("completed"));
    // bad timezone, bad rule
    let t = due_task("FREQ=DAILY", "2026-03-10T08:00:00Z", "Mars/Olympus");
    assert!(next_due(&t).unwrap_err().contains("Mars/Olympus"));
    let t = due_task("FREQ=MINUTELY", "2026-03-10T08:00:00Z", "UTC");
    assert!(next_due(&t).is_err());
}

#[test]
fn no_recurrence_means_no_next() {
    let mut t = due_task("FREQ=DAILY", "2026-03-10T08:00:00Z", "UTC");
    t.recurrence = None;
    assert_eq!(next_due(&t), Ok(None));
    assert_eq!(next_task_input(&t), Ok(None));
}

#[test]
fn next_task_input_copies_the_task() {
    let t = due_task(
        "FREQ=WEEKLY;BYDAY=MO",
        "2026-06-01T07:00:00Z",
        "Europe/Berlin",
    );
    let input = next_task_input(&t).unwrap().expect("a next occurrence");
    assert_eq!(input.title.as_deref(), Some("Weekly report"));
    assert_eq!(input.description.as_deref(), Some("send it"));
    assert_eq!(input.priority, Some(Priority::High));
    assert_eq!(
        input.tags,
        Some(vec!["work".to_string(), "reports".to_string()])
    );
    assert_eq!(input.due_at.as_deref(), Some("2026-06-08T07:00:00Z"));
    assert_eq!(input.timezone.as_deref(), Some("Europe/Berlin"));
    let reminder = input.reminder.as_ref().unwrap();
    assert_eq!(reminder.before.as_deref(), Some("PT15M"));
    assert_eq!(
        reminder.channels,
        Some(vec![Channel::Inbox, Channel::Email])
    );
    let rec = input.recurrence.as_ref().unwrap();
    assert_eq!(rec.rrule.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO"));
    assert_eq!(rec.from, Some(RecurrenceFrom::Due));
    assert_eq!(rec.series_id, Some(series_id()));
    assert_eq!(rec.occurrence, Some(2));

    // it is a valid create body on the wire
    let json = serde_json::to_value(&input).unwrap();
    assert_eq!(json["dueAt"], "2026-06-08T07:00:00Z");
    assert_eq!(json["recurrence"]["seriesId"], series_id().to_string());
    assert_eq!(json["recurrence"]["occurrence"], 2);
    assert_eq!(
        json["reminder"]["channels"],
        serde_json::json!(["inbox", "email"])
    );

    // no reminder stays no reminder
    let mut t = t;
    t.reminder = None;
    assert_eq!(next_task_input(&t).unwrap().unwrap().reminder, None);
}

#[test]
fn valid_rules() {
    for rule in [
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "rrule:freq=weekly;byday=mo",
        "  FREQ=MONTHLY;BYMONTHDAY=-1  ",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=HOURLY;INTERVAL=6",
        "FREQ=DAILY;COUNT=10",
        "FREQ=DAILY;UNTIL=20261231T235959Z",
        "FREQ=DAILY;UNTIL=20261231",
        "FREQ=DAILY;UNTIL=20261231T090000",
        "FREQ=WEEKLY;WKST=SU;BYDAY=SU,SA;INTERVAL=2",
        "FREQ=DAILY;",
    ] {
        assert_eq!(validate_rrule(rule), Ok(()), "{rule}");
    }
}

#[test]
fn invalid_rules_say_why() {
    // (rule, a word the message must contain)
    let table = [
        ("", "empty"),
        ("   ", "empty"),
        ("BYDAY=MO", "FREQ is required"),
        ("INTERVAL=2;COUNT=3", "FREQ is required"),
        ("FREQ=MINUTELY", "MINUTELY is not supported"),
        ("FREQ=SECONDLY;INTERVAL=30", "SECONDLY is not supported"),
        ("freq=minutely", "MINUTELY is not supported"),
        ("FREQ=FORTNIGHTLY", "FREQ"),
        ("garbage", "NAME=VALUE"),
        ("every monday", "NAME=VALUE"),
        (
            "FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z",
            "COUNT and UNTIL",
        ),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=-1", "COUNT"),
        ("FREQ=DAILY;COUNT=many", "COUNT"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261332T000000Z", "UNTIL"),
        ("FREQ=DAILY;FREQ=WEEKLY", "more than once"),
        ("FREQ=DAILY;COUNT=", "no value"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid rule"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "invalid rule"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=DAILY;FOO=BAR", "invalid rule"),
        ("FREQ=DAILY;DTSTART=20260101T090000Z", "DTSTART"),
        ("DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY", "DTSTART"),
        (
            "FREQ=DAILY\nEXDATE:20260102T090000Z",
            "only the value of one RRULE",
        ),
        ("EXRULE:FREQ=DAILY", "only the value of one RRULE"),
        ("ééé=FREQ", "FREQ is required"),
        ("é", "NAME=VALUE"),
        ("FREQ=DAILY;BYDAY=MÖ", "invalid rule"),
    ];
    let long = format!("FREQ=DAILY;BYHOUR={}", vec!["1"; 600].join(","));
    let table: Vec<(&str, &str)> = table
        .into_iter()
        .chain([(long.as_str(), "longer than")])
        .collect();
    for (rule, needle) in table {
        match validate_rrule(rule) {
            Ok(()) => panic!("{rule:?} was accepted"),
            Err(msg) => assert!(msg.contains(needle), "{rule:?}: {msg:?} lacks {needle:?}"),
        }
    }
}

#[test]
fn preview_lists_occurrences() {
    // dtstart matches the rule: included
    assert_eq!(
        preview(
            "FREQ=WEEKLY;BYDAY=MO,WE",
            at("2026-06-01T07:00:00Z"),
            "Europe/Berlin",
            4
        ),
        Ok(vec![
            at("2026-06-01T07:00:00Z"),
            at("2026-06-03T07:00:00Z"),
            at("2026-06-08T07:00:00Z"),
            at("2026-06-10T07:00:00Z"),
        ])
    );
    // dtstart (a Tuesday) does not match BYDAY=MO: not included
    assert_eq!(
        preview(
            "FREQ=WEEKLY;BYDAY=MO",
            at("2026-06-02T07:00:00Z"),
            "Europe/Berlin",
            2
        ),
        Ok(vec![at("2026-06-08T07:00:00Z"), at("2026-06-15T07:00:00Z")])
    );
    // across spring-forward, local 09:00 kept
    assert_eq!(
        preview(
            "FREQ=WEEKLY",
            at("2026-03-23T08:00:00Z"),
            "Europe/Berlin",
            2
        ),
        Ok(vec![at("2026-03-23T08:00:00Z"), at("2026-03-30T07:00:00Z")])
    );
    // month ends
    assert_eq!(
        preview("FREQ=MONTHLY", at("2026-01-31T09:00:00Z"), "UTC", 3),
        Ok(vec![
            at("2026-01-31T09:00:00Z"),
            at("2026-03-31T09:00:00Z"),
            at("2026-05-31T09:00:00Z"),
        ])
    );
    // COUNT and UNTIL cut the list short
    assert_eq!(
        preview("FREQ=DAILY;COUNT=3", at("2026-01-01T09:00:00Z"), "UTC", 10).map(|v| v.len()),
        Ok(3)
    );
    assert_eq!(
        preview(
            "FREQ=DAILY;UNTIL=20260102T090000Z",
            at("2026-01-01T09:00:00Z"),
            "UTC",
            10
        ),
        Ok(vec![at("2026-01-01T09:00:00Z"), at("2026-01-02T09:00:00Z")])
    );
    // a rule that can never match returns nothing rather than spinning
    assert_eq!(
        preview(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            at("2026-01-01T09:00:00Z"),
            "UTC",
            5
        ),
        Ok(vec![])
    );
}

#[test]
fn preview_count_bounds() {
    let start = at("2026-01-01T09:00:00Z");
    assert!(preview("FREQ=DAILY", start, "UTC", 0)
        .unwrap_err()
        .contains("count"));
    assert!(preview("FREQ=DAILY", start, "UTC", PREVIEW_MAX + 1).is_err());
    assert_eq!(preview("FREQ=DAILY", start, "UTC", 1), Ok(vec![start]));
    let all = preview("FREQ=DAILY", start, "UTC", PREVIEW_MAX).unwrap();
    assert_eq!(all.len(), PREVIEW_MAX);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all[49], at("2026-02-19T09:00:00Z"));
    // bad inputs
    assert!(preview("FREQ=MINUTELY", start, "UTC", 3).is_err());
    assert!(preview("FREQ=DAILY", start, "Not/AZone", 3).is_err());
}

/// The series the user gets by completing each occurrence: every next task is
/// created from `next_task_input` exactly as task-api does (validated, then
/// `Task::create`), then completed at its due time. Returns the due dates,
/// the first one included.
fn completed_series(first: Task, n: usize) -> Vec<DateTime<Utc>> {
    let mut task = first;
    let mut dues = vec![task.due_at.expect("a due date")];
    for i in 1..n {
        let Some(input) = next_task_input(&task).expect("next occurrence") else {
            break;
        };
        let fields =
            todo_core::task::validate::validate(input).expect("task-api accepts the next task");
        let id = Uuid::from_u128(i as u128);
        let mut next = Task::create(id, fields, at("2026-01-01T00:00:00Z"));
        let due = next.due_at.expect("a due date");
        next.complete(due.max(next.updated_at));
        dues.push(due);
        task = next;
    }
    dues
}

fn first_task(rrule: &str, due: &str, tz: &str) -> Task {
    let mut t = due_task(rrule, due, tz);
    t.completed_at = t.due_at;
    t
}

/// Issue 14 item 1: the next occurrence comes from the series' anchor (its
/// first due date, as a local wall time) and not from the previous due date,
/// which a DST gap may have moved: RFC 5545 gives 02:30 CET, 03:30 CEST on the
/// gap day (§3.3.5), then 02:30 CEST again.
#[test]
fn series_returns_to_its_wall_time_after_a_gap() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "FREQ=DAILY",
            "Europe/Berlin",
            "2027-03-27T01:30:00Z",
            &[
                "2027-03-27T01:30:00Z",
                "2027-03-28T01:30:00Z",
                "2027-03-29T00:30:00Z",
                "2027-03-30T00:30:00Z",
            ],
        ),
        // New York springs forward on 2027-03-14 at 02:00 EST
        (
            "FREQ=DAILY",
            "America/New_York",
            "2027-03-13T07:30:00Z",
            &[
                "2027-03-13T07:30:00Z",
                "2027-03-14T07:30:00Z",
                "2027-03-15T06:30:00Z",
            ],
        ),
        (
            "FREQ=WEEKLY",
            "America/New_York",
            "2027-03-07T07:30:00Z",
            &[
                "2027-03-07T07:30:00Z",
                "2027-03-14T07:30:00Z",
                "2027-03-21T06:30:00Z",
            ],
        ),
        // Lord Howe moves 30 minutes, 02:00 → 02:30 (+10:30 → +11), on 2027-10-03
        (
            "FREQ=DAILY",
            "Australia/Lord_Howe",
            "2027-10-01T15:45:00Z",
            &[
                "2027-10-01T15:45:00Z",
                "2027-10-02T15:45:00Z",
                "2027-10-03T15:15:00Z",
            ],
        ),
    ];
    for (rrule, tz, first, expected) in cases {
        let dues = completed_series(first_task(rrule, first, tz), expected.len());
        let expected: Vec<_> = expected.iter().map(|s| at(s)).collect();
        assert_eq!(dues, expected, "{rrule} in {tz} from {first}");
        // …and it is what the preview promised.
        assert_eq!(
            preview(rrule, at(first), tz, expected.len()),
            Ok(expected.clone()),
            "{rrule} in {tz}: preview"
        );
    }
}

/// The anchor travels with the series: the second occurrence carries the
/// first one's due date as `recurrence.dtstart`.
#[test]
fn next_occurrence_carries_the_series_anchor() {
    let first = first_task("FREQ=DAILY", "2027-03-27T01:30:00Z", "Europe/Berlin");
    let input = next_task_input(&first).unwrap().unwrap();
    assert_eq!(
        input.recurrence.unwrap().dtstart.as_deref(),
        Some("2027-03-27T01:30:00Z")
    );
    // from completion anchors on each completion, so no dtstart
    let mut t = task(
        "FREQ=DAILY",
        RecurrenceFrom::Completion,
        Some("2027-03-27T01:30:00Z"),
        "UTC",
    );
    t.completed_at = Some(at("2027-03-27T02:00:00Z"));
    let input = next_task_input(&t).unwrap().unwrap();
    assert_eq!(input.recurrence.unwrap().dtstart, None);
}

/// Issue 14 item 2: chrono-tz's tables end in 2099 and then keep the last
/// offset; the zone's recurring rule continues (New York: EDT in July).
#[test]
fn dst_after_2099_follows_the_zone_rule() {
    assert_chain(
        "FREQ=YEARLY;BYMONTH=7",
        "America/New_York",
        &[
            "2098-07-01T13:00:00Z",
            "2099-07-01T13:00:00Z",
            "2100-07-01T13:00:00Z",
            "2101-07-01T13:00:00Z",
        ],
    );
    assert_chain(
        "FREQ=YEARLY;BYMONTH=1",
        "America/New_York",
        &[
            "2099-01-01T14:00:00Z",
            "2100-01-01T14:00:00Z",
            "2101-01-01T14:00:00Z",
        ],
    );
    // the gap on the second Sunday of March 2100 (March 14): 02:30 → 03:30 EDT
    assert_eq!(
        preview(
            "FREQ=DAILY",
            at("2100-03-13T07:30:00Z"),
            "America/New_York",
            3
        ),
        Ok(vec![
            at("2100-03-13T07:30:00Z"),
            at("2100-03-14T07:30:00Z"),
            at("2100-03-15T06:30:00Z"),
        ])
    );
    // southern hemisphere: Sydney is on AEDT (+11) in January 2101
    assert_chain(
        "FREQ=YEARLY",
        "Australia/Sydney",
        &[
            "2099-01-15T22:00:00Z",
            "2100-01-15T22:00:00Z",
            "2101-01-15T22:00:00Z",
        ],
    );
}

/// Issue 14 item 3: `-5MO` with MONTHLY is the fifth-last Monday, i.e. the
/// first Monday of a month that has five.
#[test]
fn monthly_fifth_last_weekday() {
    // Months of 2027 with five Mondays: March (1), May (3), August (2), November (1)
    assert_eq!(
        preview(
            "FREQ=MONTHLY;BYDAY=-5MO",
            at("2027-01-01T09:00:00Z"),
            "UTC",
            4
        ),
        Ok(vec![
            at("2027-03-01T09:00:00Z"),
            at("2027-05-03T09:00:00Z"),
            at("2027-08-02T09:00:00Z"),
            at("2027-11-01T09:00:00Z"),
        ])
    );
    // with BYSETPOS: the last of (the fifth-last Monday, the last Friday)
    assert_eq!(
        preview(
            "FREQ=MONTHLY;BYDAY=-5MO,-1FR;BYSETPOS=1",
            at("2027-02-01T09:00:00Z"),
            "UTC",
            3
        ),
        Ok(vec![
            at("2027-02-26T09:00:00Z"),
            at("2027-03-01T09:00:00Z"),
            at("2027-04-30T09:00:00Z"),
        ])
    );
    assert_chain(
        "FREQ=MONTHLY;BYDAY=-5MO;COUNT=3",
        "Europe/Berlin",
        &[
            "2027-03-01T08:00:00Z",
            "2027-05-03T07:00:00Z",
            "2027-08-02T07:00:00Z",
        ],
    );
}
