//! `GET /api/recurrence/preview`: dates, errors, authentication.

mod support;

use serde_json::json;
use support::*;

fn preview(h: &Harness, query: &str) -> (u16, serde_json::Value) {
    let request = http::Request::get(format!("/api/recurrence/preview?{query}"))
        .header("authorization", bearer("alice"))
        .body(Vec::new())
        .unwrap();
    send(h, request)
}

#[test]
fn previews_the_next_dates_in_the_timezone() {
    let h = harness();
    let (status, body) = preview(
        &h,
        "rrule=FREQ%3DMONTHLY%3BBYMONTHDAY%3D31&dtstart=2026-01-31T09:00:00Z&count=4",
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=31",
            "dtstart": "2026-01-31T09:00:00Z",
            "timezone": "UTC",
            "dates": [
                "2026-01-31T09:00:00Z",
                "2026-03-31T09:00:00Z",
                "2026-05-31T09:00:00Z",
                "2026-07-31T09:00:00Z"
            ]
        })
    );
    let (_, body) = preview(
        &h,
        "rrule=FREQ=DAILY;COUNT=3&dtstart=2026-10-24T09:00:00%2B02:00&timezone=Europe/Berlin&count=50",
    );
    assert_eq!(
        body["dates"],
        json!([
            "2026-10-24T07:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-26T08:00:00Z"
        ])
    );
}

#[test]
fn bad_rules_timezones_and_counts_are_400_problems() {
    let h = harness();
    for (query, field) in [
        (
            "rrule=FREQ%3DMINUTELY&dtstart=2026-01-01T00:00:00Z",
            "rrule",
        ),
        ("rrule=nonsense&dtstart=2026-01-01T00:00:00Z", "rrule"),
        (
            "rrule=FREQ%3DDAILY&dtstart=2026-01-01T00:00:00Z&timezone=Nowhere",
            "timezone",
        ),
        (
            "rrule=FREQ%3DDAILY&dtstart=2026-01-01T00:00:00Z&count=51",
            "count",
        ),
        ("rrule=FREQ%3DDAILY", "dtstart"),
    ] {
        let (status, body) = preview(&h, query);
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{query}");
        assert_eq!(body["status"], 400);
        assert!(body["type"].is_string() && body["detail"].is_string());
    }
}

#[test]
fn the_preview_needs_a_token_and_only_get() {
    let h = harness();
    let request = http::Request::get("/api/recurrence/preview?rrule=FREQ%3DDAILY")
        .body(Vec::new())
        .unwrap();
    assert_eq!(send(&h, request).0, 401);
    let request = http::Request::post("/api/recurrence/preview")
        .body(Vec::new())
        .unwrap();
    assert_eq!(send(&h, request).0, 405);
    let request = http::Request::get("/healthz/recurrence")
        .body(Vec::new())
        .unwrap();
    assert_eq!(send(&h, request).0, 200);
}
