//! The preview query: defaults, bounds, and 400s that name the parameter.

use todo_core::recurrence::query::{PreviewQuery, DEFAULT_COUNT};

#[test]
fn a_full_query_previews_dates_in_the_timezone() {
    let query = PreviewQuery::parse(
        "rrule=FREQ%3DWEEKLY%3BBYDAY%3DMO&dtstart=2026-03-23T09:00:00%2B01:00&timezone=Europe/Berlin&count=3",
    )
    .unwrap();
    assert_eq!(query.count, 3);
    let dates: Vec<String> = query
        .dates()
        .unwrap()
        .iter()
        .map(|d| d.to_rfc3339())
        .collect();
    // 09:00 local on both sides of the 2026-03-29 DST change.
    assert_eq!(
        dates,
        [
            "2026-03-23T08:00:00+00:00",
            "2026-03-30T07:00:00+00:00",
            "2026-04-06T07:00:00+00:00"
        ]
    );
}

#[test]
fn defaults_and_series_bounds() {
    let query = PreviewQuery::parse("rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z").unwrap();
    assert_eq!(query.timezone, "UTC");
    assert_eq!(query.count, DEFAULT_COUNT);
    assert_eq!(query.dates().unwrap().len(), DEFAULT_COUNT);
    // An unencoded `+` arrives as a space and is put back.
    let query =
        PreviewQuery::parse("rrule=FREQ=DAILY;COUNT=3&dtstart=2026-01-01T09:00:00+01:00&count=50")
            .unwrap();
    assert_eq!(query.dates().unwrap().len(), 3, "COUNT ends the series");
}

#[test]
fn bad_queries_are_400_naming_the_parameter() {
    for (query, field) in [
        ("dtstart=2026-01-01T09:00:00Z", "rrule"),
        ("rrule=FREQ=DAILY", "dtstart"),
        ("rrule=FREQ=SECONDLY&dtstart=2026-01-01T09:00:00Z", "rrule"),
        ("rrule=BOGUS&dtstart=2026-01-01T09:00:00Z", "rrule"),
        ("rrule=FREQ=DAILY&dtstart=tomorrow", "dtstart"),
        (
            "rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z&timezone=Mars/Olympus",
            "timezone",
        ),
        (
            "rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z&count=0",
            "count",
        ),
        (
            "rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z&count=51",
            "count",
        ),
        (
            "rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z&limit=5",
            "limit",
        ),
        (
            "rrule=FREQ=DAILY&rrule=FREQ=DAILY&dtstart=2026-01-01T09:00:00Z",
            "rrule",
        ),
    ] {
        let problem = PreviewQuery::parse(query).unwrap_err();
        assert_eq!(problem.status, 400, "{query}");
        assert_eq!(problem.errors[0].field, field, "{query}: {problem:?}");
    }
    let all = PreviewQuery::parse("timezone=Nowhere&count=x").unwrap_err();
    let fields: Vec<&str> = all.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["timezone", "count", "rrule", "dtstart"]);
}
