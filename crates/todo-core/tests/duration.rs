//! `reminder.before` durations: exact ISO 8601 units only.

use chrono::Duration;
use todo_core::task::duration::parse_duration;

#[test]
fn valid_durations() {
    let cases: &[(&str, Duration)] = &[
        ("PT15M", Duration::minutes(15)),
        ("PT1H", Duration::hours(1)),
        ("PT1H30M", Duration::minutes(90)),
        ("PT90M", Duration::minutes(90)),
        ("PT45S", Duration::seconds(45)),
        ("PT0.5S", Duration::milliseconds(500)),
        ("PT1,25S", Duration::milliseconds(1250)),
        ("PT0.000000001S", Duration::nanoseconds(1)),
        ("P1D", Duration::days(1)),
        ("P1W", Duration::weeks(1)),
        ("P2W", Duration::days(14)),
        ("P1DT2H", Duration::hours(26)),
        ("P1W1D", Duration::days(8)),
        ("P0DT1M", Duration::minutes(1)),
        ("PT0H5M", Duration::minutes(5)),
        ("P366D", Duration::days(366)),
        ("PT8784H", Duration::days(366)),
        ("P1DT1H1M1S", Duration::seconds(86_400 + 3_600 + 61)),
        ("P007D", Duration::days(7)),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_duration(input), Ok(*expected), "{input} should parse");
    }
}

#[test]
fn invalid_durations_are_refused_with_a_reason() {
    // (input, a word the message must contain)
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("P", "no units"),
        ("PT", "after `T`"),
        ("P1DT", "after `T`"),
        ("15M", "does not start with `P`"),
        ("pt15m", "does not start with `P`"),
        ("PT15m", "unknown unit"),
        ("P1Y", "years or months"),
        ("P2M", "years or months"),
        ("P1YT1H", "years or months"),
        ("-PT15M", "negative"),
        ("PT-15M", "where a number was expected"),
        ("PT0S", "zero"),
        ("P0D", "zero"),
        ("P0W", "zero"),
        ("PT0.0S", "zero"),
        ("P367D", "366 days"),
        ("P53W", "366 days"),
        ("PT8784H1S", "366 days"),
        ("P366DT0.1S", "366 days"),
        ("P99999999999999999999D", "366 days"),
        ("PT15", "without a unit"),
        ("P1H", "before `T`"),
        ("PT1D", "after `T`"),
        ("PT1M1H", "out of order"),
        ("P1D1W", "out of order"),
        ("PT1H1H", "out of order"),
        ("P1DT1HT1M", "more than one `T`"),
        ("PT1.5M", "fraction"),
        ("P1.5D", "fraction"),
        ("PT1.S", "decimal sign without digits"),
        ("PT0.0000000001S", "9 fractional digits"),
        ("PT15M ", "where a number was expected"),
        (" PT15M", "does not start with `P`"),
        ("PTxM", "where a number was expected"),
        ("PT1Ö", "unknown unit"),
        ("P+1D", "where a number was expected"),
    ];
    for (input, needle) in cases {
        match parse_duration(input) {
            Ok(d) => panic!("{input:?} should be refused, got {d:?}"),
            Err(msg) => assert!(
                msg.contains(needle),
                "{input:?}: message {msg:?} should mention {needle:?}"
            ),
        }
    }
}

#[test]
fn messages_show_the_expected_format() {
    let msg = parse_duration("soon").unwrap_err();
    assert!(msg.contains("PT15M"), "{msg}");
}
