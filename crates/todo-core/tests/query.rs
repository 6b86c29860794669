//! The list engine: query parsing, filters, sorts, keyset pagination, tag counts.

use std::cmp::Ordering;
use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use todo_core::task::query::{
    list, tag_counts, ListQuery, Page, Sort, SortKey, TagCount, TaskSummary, DEFAULT_LIMIT,
    MAX_LIMIT,
};
use todo_core::{Priority, Problem, Status};
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Helpers

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn at(hours: i64) -> DateTime<Utc> {
    base() + Duration::hours(hours)
}

/// uuid-v7-looking ids whose order is `n`.
fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn task(n: u128, title: &str) -> TaskSummary {
    TaskSummary {
        id: id(n),
        title: title.to_string(),
        description: String::new(),
        status: Status::Open,
        priority: Priority::Medium,
        tags: Vec::new(),
        due_at: None,
        created_at: at(0),
        updated_at: at(0),
        version: 1,
    }
}

fn parse(q: &str) -> ListQuery {
    ListQuery::parse(q).unwrap_or_else(|p| panic!("{q:?} should parse: {p}"))
}

fn parse_err(q: &str) -> Problem {
    match ListQuery::parse(q) {
        Ok(parsed) => panic!("{q:?} should be rejected, got {parsed:?}"),
        Err(p) => p,
    }
}

/// A 400 that names `param` in its detail and in `errors`.
fn assert_names(p: &Problem, param: &str) {
    assert_eq!(p.status, 400, "{p}");
    assert_eq!(p.kind, "/problems/bad-request");
    assert!(
        p.errors.iter().any(|e| e.field == param),
        "errors should name {param}: {:?}",
        p.errors
    );
    assert!(
        p.detail.contains(param),
        "detail should name {param}: {}",
        p.detail
    );
}

fn ids(page: &Page) -> Vec<Uuid> {
    page.ids.clone()
}

fn run(tasks: &[TaskSummary], q: &str, now: DateTime<Utc>) -> Page {
    list(tasks, &parse(q), now).unwrap_or_else(|p| panic!("{q:?}: {p}"))
}

/// Every page of `q`, concatenated.
fn all_pages(tasks: &[TaskSummary], q: &str, now: DateTime<Utc>) -> Vec<Uuid> {
    let mut query = parse(q);
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = list(tasks, &query, now).unwrap();
        out.extend(page.ids);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
    panic!("paging does not end");
}

fn ids_of(ns: &[u128]) -> Vec<Uuid> {
    ns.iter().map(|&n| id(n)).collect()
}

// ---------------------------------------------------------------------------
// Parsing

#[test]
fn empty_query_gives_defaults() {
    let q = parse("");
    assert_eq!(q, ListQuery::default());
    assert_eq!(q.limit, DEFAULT_LIMIT);
    assert_eq!(
        q.sort,
        Sort {
            key: SortKey::CreatedAt,
            descending: true
        }
    );
    assert!(q.status.is_none() && q.priorities.is_empty() && q.tags.is_empty());
    assert!(q.words.is_empty() && q.due_before.is_none() && q.due_after.is_none());
    assert!(!q.overdue && q.cursor.is_none());
    assert_eq!(parse("?"), ListQuery::default());
    assert_eq!(parse("?status=open").status, Some(Status::Open));
    assert_eq!(parse("&&status=open&").status, Some(Status::Open));
}

#[test]
fn parses_status() {
    assert_eq!(parse("status=open").status, Some(Status::Open));
    assert_eq!(parse("status=completed").status, Some(Status::Completed));
    for bad in ["status=done", "status=", "status=OPEN", "status"] {
        let p = parse_err(bad);
        assert_names(&p, "status");
        assert!(p.detail.contains("open, completed"), "{}", p.detail);
    }
}

#[test]
fn parses_priorities_as_comma_list_and_repeated() {
    assert_eq!(parse("priority=high").priorities, vec![Priority::High]);
    assert_eq!(
        parse("priority=urgent,low&priority=high&priority=low").priorities,
        vec![Priority::Low, Priority::High, Priority::Urgent]
    );
    assert_eq!(
        parse("priority=low%2C%20medium").priorities,
        vec![Priority::Low, Priority::Medium]
    );
    for bad in [
        "priority=",
        "priority=low,,high",
        "priority=critical",
        "priority=High",
    ] {
        let p = parse_err(bad);
        assert_names(&p, "priority");
        assert!(
            p.detail.contains("low, medium, high, urgent"),
            "{}",
            p.detail
        );
    }
}

#[test]
fn parses_repeated_tags() {
    assert_eq!(parse("tag=work").tags, vec!["work"]);
    assert_eq!(
        parse("tag=work&tag=home&tag=work").tags,
        vec!["home", "work"]
    );
    assert_eq!(parse("tag=a%20b&tag=c%2Cd").tags, vec!["a b", "c,d"]);
    assert_names(&parse_err("tag="), "tag");
    assert_names(&parse_err("tag=work&tag=%20"), "tag");
}

#[test]
fn parses_q_into_lowercase_words() {
    assert_eq!(parse("q=Weekly+REPORT").words, vec!["report", "weekly"]);
    assert_eq!(
        parse("q=%20%20%C3%84pfel%09x%20x").words,
        vec!["x", "äpfel"]
    );
    assert!(parse("q=").words.is_empty());
    assert!(parse("q=+++").words.is_empty());
    assert_names(&parse_err("q=a&q=b"), "q");
}

#[test]
fn parses_due_bounds_as_rfc3339() {
    let q = parse("dueBefore=2026-12-01T09:00:00Z&dueAfter=2026-11-01T00:00:00.5Z");
    assert_eq!(
        q.due_before,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap())
    );
    assert_eq!(
        q.due_after,
        Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::milliseconds(500))
    );
    // Offsets are converted to UTC, encoded or not (a raw `+` decodes to a space).
    let nine_utc = Some(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    assert_eq!(
        parse("dueBefore=2026-12-01T11:00:00%2B02:00").due_before,
        nine_utc
    );
    assert_eq!(
        parse("dueBefore=2026-12-01T11:00:00+02:00").due_before,
        nine_utc
    );
    assert_eq!(
        parse("dueAfter=2026-12-01T07:00:00-02:00").due_after,
        nine_utc
    );
    for param in ["dueBefore", "dueAfter"] {
        for bad in [
            "",
            "2026-12-01",
            "tomorrow",
            "2026-13-01T00:00:00Z",
            "2026-12-01T09:00:00",
        ] {
            let p = parse_err(&format!("{param}={bad}"));
            assert_names(&p, param);
            assert!(p.detail.contains("RFC 3339"), "{}", p.detail);
        }
        assert_names(
            &parse_err(&format!(
                "{param}=2026-12-01T09:00:00Z&{param}=2026-12-02T09:00:00Z"
            )),
            param,
        );
    }
}

#[test]
fn parses_overdue() {
    assert!(parse("overdue=true").overdue);
    assert!(!parse("overdue=false").overdue);
    for bad in ["overdue=", "overdue=yes", "overdue=1", "overdue=TRUE"] {
        let p = parse_err(bad);
        assert_names(&p, "overdue");
        assert!(p.detail.contains("true, false"), "{}", p.detail);
    }
}

#[test]
fn parses_every_sort() {
    let keys = [
        ("dueAt", SortKey::DueAt),
        ("priority", SortKey::Priority),
        ("title", SortKey::Title),
        ("createdAt", SortKey::CreatedAt),
        ("updatedAt", SortKey::UpdatedAt),
    ];
    for (name, key) in keys {
        assert_eq!(
            parse(&format!("sort={name}")).sort,
            Sort {
                key,
                descending: false
            }
        );
        assert_eq!(
            parse(&format!("sort=-{name}")).sort,
            Sort {
                key,
                descending: true
            }
        );
        assert_eq!(
            Sort::parse(&format!("-{name}")).unwrap().to_string(),
            format!("-{name}")
        );
    }
    for bad in [
        "sort=",
        "sort=due",
        "sort=--dueAt",
        "sort=%2BdueAt",
        "sort=DueAt",
        "sort=id",
    ] {
        let p = parse_err(bad);
        assert_names(&p, "sort");
        assert!(p.detail.contains("-updatedAt"), "{}", p.detail);
    }
}

#[test]
fn parses_limit_within_bounds() {
    assert_eq!(parse("limit=1").limit, 1);
    assert_eq!(parse("limit=200").limit, MAX_LIMIT);
    assert_eq!(parse("limit=007").limit, 7);
    for bad in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=%2B5",
        "limit=99999999999999999999999",
    ] {
        let p = parse_err(bad);
        assert_names(&p, "limit");
        assert!(p.detail.contains("1 to 200"), "{}", p.detail);
    }
}

#[test]
fn parses_cursor() {
    assert_eq!(parse("cursor=abc_-").cursor.as_deref(), Some("abc_-"));
    assert_eq!(parse("cursor=").cursor, None);
    assert_names(&parse_err("cursor=a&cursor=a"), "cursor");
}

#[test]
fn rejects_unknown_parameters() {
    for (q, name) in [
        ("foo=1", "foo"),
        ("Status=open", "Status"),
        ("due_before=2026-01-01T00:00:00Z", "due_before"),
        ("page=2", "page"),
    ] {
        let p = parse_err(q);
        assert_names(&p, name);
        assert!(
            p.detail.contains(
                "status, priority, tag, q, dueBefore, dueAfter, overdue, sort, limit, cursor"
            ),
            "{}",
            p.detail
        );
    }
}

#[test]
fn rejects_repeated_single_valued_parameters() {
    for param in ["status=open", "overdue=true", "sort=title", "limit=5"] {
        let name = param.split('=').next().unwrap();
        let p = parse_err(&format!("{param}&{param}&{param}"));
        assert_names(&p, name);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.detail.contains("repeated"), "{}", p.detail);
    }
}

#[test]
fn reports_every_bad_parameter_at_once() {
    let p = parse_err("status=x&limit=0&sort=y&bogus=1&priority=low");
    for name in ["status", "limit", "sort", "bogus"] {
        assert_names(&p, name);
    }
    assert_eq!(p.errors.len(), 4);
    let body: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
    assert_eq!(body["status"], 400);
    assert_eq!(body["errors"][0]["field"], "status");
}

// ---------------------------------------------------------------------------
// Filters

fn sample() -> Vec<TaskSummary> {
    vec![
        TaskSummary {
            description: "Numbers for the Board".into(),
            priority: Priority::High,
            tags: vec!["work".into(), "q4".into()],
            due_at: Some(at(10)),
            ..task(1, "Weekly report")
        },
        TaskSummary {
            status: Status::Completed,
            priority: Priority::Low,
            tags: vec!["home".into()],
            due_at: Some(at(2)),
            ..task(2, "Buy milk")
        },
        TaskSummary {
            priority: Priority::Urgent,
            tags: vec!["work".into()],
            due_at: Some(at(5)),
            ..task(3, "Fix the REPORTING bug")
        },
        TaskSummary {
            description: "Äpfel und Birnen".into(),
            tags: vec!["home".into(), "work".into()],
            ..task(4, "Einkaufen")
        },
        TaskSummary {
            status: Status::Completed,
            priority: Priority::Urgent,
            due_at: Some(at(20)),
            ..task(5, "Ship release")
        },
    ]
}

fn matching(tasks: &[TaskSummary], q: &str, now: DateTime<Utc>) -> Vec<u128> {
    let mut got: Vec<u128> = all_pages(tasks, q, now)
        .into_iter()
        .map(|u| u.as_u128() & 0xffff)
        .collect();
    got.sort_unstable();
    got
}

#[test]
fn filters_by_status() {
    let tasks = sample();
    assert_eq!(matching(&tasks, "status=open", at(0)), [1, 3, 4]);
    assert_eq!(matching(&tasks, "status=completed", at(0)), [2, 5]);
    assert_eq!(matching(&tasks, "", at(0)), [1, 2, 3, 4, 5]);
}

#[test]
fn filters_by_any_of_the_priorities() {
    let tasks = sample();
    assert_eq!(matching(&tasks, "priority=urgent", at(0)), [3, 5]);
    assert_eq!(matching(&tasks, "priority=low,high", at(0)), [1, 2]);
    assert_eq!(
        matching(&tasks, "priority=low&priority=medium", at(0)),
        [2, 4]
    );
}

#[test]
fn filters_by_all_tags() {
    let tasks = sample();
    assert_eq!(matching(&tasks, "tag=work", at(0)), [1, 3, 4]);
    assert_eq!(matching(&tasks, "tag=work&tag=home", at(0)), [4]);
    assert_eq!(matching(&tasks, "tag=work&tag=q4", at(0)), [1]);
    assert!(matching(&tasks, "tag=Work", at(0)).is_empty());
    assert!(matching(&tasks, "tag=nope", at(0)).is_empty());
}

#[test]
fn filters_by_words_in_title_or_description() {
    let tasks = sample();
    assert_eq!(matching(&tasks, "q=report", at(0)), [1, 3]);
    assert_eq!(matching(&tasks, "q=REPORT+board", at(0)), [1]);
    assert_eq!(matching(&tasks, "q=board+weekly", at(0)), [1]);
    assert_eq!(matching(&tasks, "q=bug+report", at(0)), [3]);
    assert_eq!(matching(&tasks, "q=%C3%A4pfel", at(0)), [4]);
    assert_eq!(matching(&tasks, "q=%C3%84PFEL+einkauf", at(0)), [4]);
    assert!(matching(&tasks, "q=report+milk", at(0)).is_empty());
    assert!(matching(&tasks, "q=apfel", at(0)).is_empty());
}

#[test]
fn filters_by_due_window() {
    let tasks = sample();
    let b = |h: i64| at(h).to_rfc3339().replace('+', "%2B");
    // dueBefore is exclusive, dueAfter inclusive, no dueAt never matches.
    assert_eq!(
        matching(&tasks, &format!("dueBefore={}", b(10)), at(0)),
        [2, 3]
    );
    assert_eq!(
        matching(&tasks, &format!("dueBefore={}", b(11)), at(0)),
        [1, 2, 3]
    );
    assert_eq!(
        matching(&tasks, &format!("dueAfter={}", b(10)), at(0)),
        [1, 5]
    );
    assert_eq!(
        matching(
            &tasks,
            &format!("dueAfter={}&dueBefore={}", b(5), b(20)),
            at(0)
        ),
        [1, 3]
    );
    assert!(matching(
        &tasks,
        &format!("dueAfter={}&dueBefore={}", b(20), b(5)),
        at(0)
    )
    .is_empty());
}

#[test]
fn overdue_is_open_and_due_before_now() {
    let tasks = sample();
    assert!(matching(&tasks, "overdue=true", at(0)).is_empty());
    // Task 2 (due 2h) is completed: never overdue. Due exactly now is not overdue yet.
    assert!(matching(&tasks, "overdue=true", at(5)).is_empty());
    assert_eq!(matching(&tasks, "overdue=true", at(6)), [3]);
    assert_eq!(matching(&tasks, "overdue=true", at(100)), [1, 3]);
    // overdue=false is no filter.
    assert_eq!(matching(&tasks, "overdue=false", at(100)), [1, 2, 3, 4, 5]);
}

#[test]
fn combines_filters_with_and() {
    let tasks = sample();
    assert_eq!(matching(&tasks, "status=open&tag=work", at(0)), [1, 3, 4]);
    assert_eq!(
        matching(&tasks, "status=open&tag=work&priority=urgent,high", at(0)),
        [1, 3]
    );
    assert_eq!(
        matching(
            &tasks,
            "status=open&tag=work&priority=urgent,high&q=weekly",
            at(0)
        ),
        [1]
    );
    assert_eq!(
        matching(&tasks, "overdue=true&priority=urgent", at(100)),
        [3]
    );
    assert!(matching(&tasks, "overdue=true&status=completed", at(100)).is_empty());
}

// ---------------------------------------------------------------------------
// Sorting

fn sort_tasks() -> Vec<TaskSummary> {
    vec![
        TaskSummary {
            priority: Priority::Low,
            due_at: Some(at(3)),
            created_at: at(2),
            updated_at: at(9),
            ..task(1, "banana")
        },
        TaskSummary {
            priority: Priority::Urgent,
            due_at: None,
            created_at: at(1),
            updated_at: at(7),
            ..task(2, "Apple")
        },
        TaskSummary {
            priority: Priority::High,
            due_at: Some(at(1)),
            created_at: at(3),
            updated_at: at(8),
            ..task(3, "cherry")
        },
        TaskSummary {
            priority: Priority::Medium,
            due_at: Some(at(2)),
            created_at: at(0),
            updated_at: at(6),
            ..task(4, "apple")
        },
    ]
}

fn order(tasks: &[TaskSummary], sort: &str) -> Vec<Uuid> {
    ids(&run(tasks, &format!("sort={sort}"), at(0)))
}

#[test]
fn sorts_by_every_key_in_both_directions() {
    let tasks = sort_tasks();
    assert_eq!(order(&tasks, "priority"), ids_of(&[1, 4, 3, 2]));
    assert_eq!(order(&tasks, "-priority"), ids_of(&[2, 3, 4, 1]));
    assert_eq!(order(&tasks, "createdAt"), ids_of(&[4, 2, 1, 3]));
    assert_eq!(order(&tasks, "-createdAt"), ids_of(&[3, 1, 2, 4]));
    assert_eq!(order(&tasks, "updatedAt"), ids_of(&[4, 2, 3, 1]));
    assert_eq!(order(&tasks, "-updatedAt"), ids_of(&[1, 3, 2, 4]));
    // Case-insensitive first, then exact ("Apple" < "apple" in byte order).
    assert_eq!(order(&tasks, "title"), ids_of(&[2, 4, 1, 3]));
    assert_eq!(order(&tasks, "-title"), ids_of(&[3, 1, 4, 2]));
    // Default: newest first.
    assert_eq!(ids(&run(&tasks, "", at(0))), ids_of(&[3, 1, 2, 4]));
}

#[test]
fn tasks_without_due_date_sort_last_both_ways() {
    let mut tasks = sort_tasks();
    tasks.push(TaskSummary {
        due_at: None,
        ..task(0, "no due either")
    });
    assert_eq!(order(&tasks, "dueAt"), ids_of(&[3, 4, 1, 0, 2]));
    assert_eq!(order(&tasks, "-dueAt"), ids_of(&[1, 4, 3, 0, 2]));
}

#[test]
fn title_sort_folds_non_ascii_case() {
    let tasks = vec![
        task(1, "Zebra"),
        task(2, "äpfel"),
        task(3, "Äpfel"),
        task(4, "apfel"),
    ];
    // Lowercase code point order: "apfel" < "zebra" < "äpfel"; "Äpfel" < "äpfel" exactly.
    assert_eq!(order(&tasks, "title"), ids_of(&[4, 1, 3, 2]));
    assert_eq!(order(&tasks, "-title"), ids_of(&[2, 3, 1, 4]));
}

#[test]
fn ties_break_by_id_ascending_in_both_directions() {
    let tasks: Vec<TaskSummary> = [5u128, 2, 9, 1]
        .iter()
        .map(|&n| TaskSummary {
            due_at: Some(at(1)),
            ..task(n, "Same")
        })
        .collect();
    for sort in [
        "dueAt",
        "-dueAt",
        "title",
        "-title",
        "priority",
        "-priority",
        "createdAt",
        "-updatedAt",
    ] {
        assert_eq!(order(&tasks, sort), ids_of(&[1, 2, 5, 9]), "{sort}");
    }
    // Titles equal ignoring case tie-break exactly before falling back to id.
    let tasks = vec![task(1, "same"), task(2, "Same"), task(3, "SAME")];
    assert_eq!(order(&tasks, "title"), ids_of(&[3, 2, 1]));
    assert_eq!(order(&tasks, "-title"), ids_of(&[1, 2, 3]));
}

// ---------------------------------------------------------------------------
// Paging

fn many(n: u128) -> Vec<TaskSummary> {
    (0..n)
        .map(|i| TaskSummary {
            created_at: at((i % 7) as i64),
            due_at: (i % 3 != 0).then(|| at((i % 5) as i64)),
            priority: Priority::ALL[(i % 4) as usize],
            tags: if i % 2 == 0 { vec!["x".into()] } else { vec![] },
            ..task(i, &format!("Task {}", i % 6))
        })
        .collect()
}

#[test]
fn pages_with_cursor_and_total() {
    let tasks = many(23);
    let first = run(&tasks, "limit=10&sort=dueAt", at(0));
    assert_eq!(first.ids.len(), 10);
    assert_eq!(first.total, 23);
    let c1 = first.next_cursor.clone().expect("more pages");
    assert!(c1
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let second = run(&tasks, &format!("limit=10&sort=dueAt&cursor={c1}"), at(0));
    assert_eq!(second.ids.len(), 10);
    assert_eq!(second.total, 23);
    let c2 = second.next_cursor.clone().expect("more pages");
    let third = run(&tasks, &format!("limit=10&sort=dueAt&cursor={c2}"), at(0));
    assert_eq!(third.ids.len(), 3);
    assert_eq!(third.total, 23);
    assert_eq!(third.next_cursor, None);

    let mut all = [first.ids, second.ids, third.ids].concat();
    assert_eq!(all, ids(&run(&tasks, "limit=200&sort=dueAt", at(0))));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 23);
}

#[test]
fn exact_fit_has_no_next_cursor() {
    let tasks = many(10);
    let page = run(&tasks, "limit=10", at(0));
    assert_eq!(page.ids.len(), 10);
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        run(&[], "", at(0)),
        Page {
            ids: vec![],
            next_cursor: None,
            total: 0
        }
    );
}

#[test]
fn limit_may_change_between_pages() {
    let tasks = many(30);
    let first = run(&tasks, "limit=4&sort=title", at(0));
    let cursor = first.next_cursor.unwrap();
    let rest = all_pages(
        &tasks,
        &format!("limit=7&sort=title&cursor={cursor}"),
        at(0),
    );
    assert_eq!(
        [first.ids, rest].concat(),
        all_pages(&tasks, "sort=title&limit=200", at(0))
    );
}

#[test]
fn cursor_of_other_filters_or_sort_is_rejected() {
    let tasks = many(30);
    let cursor = run(&tasks, "limit=5&status=open&sort=dueAt&tag=x", at(0))
        .next_cursor
        .unwrap();
    // Same query, order of parameters and limit aside: fine.
    run(
        &tasks,
        &format!("tag=x&limit=9&sort=dueAt&cursor={cursor}&status=open"),
        at(0),
    );
    for other in [
        "limit=5&sort=dueAt&tag=x",
        "limit=5&status=completed&sort=dueAt&tag=x",
        "limit=5&status=open&sort=-dueAt&tag=x",
        "limit=5&status=open&sort=title&tag=x",
        "limit=5&status=open&sort=dueAt",
        "limit=5&status=open&sort=dueAt&tag=x&tag=y",
        "limit=5&status=open&sort=dueAt&tag=x&q=task",
        "limit=5&status=open&sort=dueAt&tag=x&priority=low",
        "limit=5&status=open&sort=dueAt&tag=x&overdue=true",
        "limit=5&status=open&sort=dueAt&tag=x&dueBefore=2026-01-01T00:00:00Z",
        "limit=5&status=open&sort=dueAt&tag=x&dueAfter=2026-01-01T00:00:00Z",
    ] {
        let err = list(&tasks, &parse(&format!("{other}&cursor={cursor}")), at(0)).unwrap_err();
        assert_names(&err, "cursor");
        assert!(
            err.detail.contains("other filters or sort"),
            "{}",
            err.detail
        );
    }
}

#[test]
fn garbled_cursor_is_rejected() {
    let tasks = many(30);
    let good = run(&tasks, "limit=5&sort=title", at(0))
        .next_cursor
        .unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&good).unwrap();
    let mut wrong_version = raw.clone();
    wrong_version[0] ^= 0xff;
    let mut bad_utf8 = raw.clone();
    bad_utf8.push(0xff);
    let by_created = run(&tasks, "limit=5&sort=createdAt", at(0))
        .next_cursor
        .unwrap();
    let mut truncated_time = URL_SAFE_NO_PAD.decode(&by_created).unwrap();
    truncated_time.pop();
    for (garbled, sort) in [
        ("!!!!".to_string(), "title"),
        ("a".to_string(), "title"),
        (URL_SAFE_NO_PAD.encode(b"hello world"), "title"),
        (URL_SAFE_NO_PAD.encode(&raw[..20]), "title"),
        (URL_SAFE_NO_PAD.encode(&wrong_version), "title"),
        (URL_SAFE_NO_PAD.encode(&bad_utf8), "title"),
        (URL_SAFE_NO_PAD.encode(&truncated_time), "createdAt"),
        (format!("{good}%00"), "title"),
    ] {
        let err = list(
            &tasks,
            &parse(&format!("limit=5&sort={sort}&cursor={garbled}")),
            at(0),
        )
        .unwrap_err();
        assert_names(&err, "cursor");
    }
}

#[test]
fn cursor_survives_deleting_its_own_item() {
    let mut tasks = many(20);
    let first = run(&tasks, "limit=6&sort=-dueAt", at(0));
    let last = *first.ids.last().unwrap();
    tasks.retain(|t| t.id != last);
    let rest = all_pages(
        &tasks,
        &format!("limit=6&sort=-dueAt&cursor={}", first.next_cursor.unwrap()),
        at(0),
    );
    let expected: Vec<Uuid> = all_pages(&tasks, "limit=200&sort=-dueAt", at(0))
        .into_iter()
        .filter(|i| !first.ids.contains(i))
        .collect();
    assert_eq!(rest, expected);
}

// ---------------------------------------------------------------------------
// Tags

#[test]
fn counts_tags_most_used_first_then_alphabetically() {
    let t = |n, tags: &[&str]| TaskSummary {
        tags: tags.iter().map(|s| s.to_string()).collect(),
        ..task(n, "t")
    };
    let tasks = vec![
        t(1, &["work", "b", "home"]),
        t(2, &["home", "a", "work"]),
        t(3, &["work", "B", "work"]),
        t(4, &[]),
    ];
    let counts = tag_counts(&tasks);
    let expect = |tag: &str, count| TagCount {
        tag: tag.to_string(),
        count,
    };
    assert_eq!(
        counts,
        vec![
            expect("work", 3),
            expect("home", 2),
            expect("a", 1),
            expect("B", 1),
            expect("b", 1),
        ]
    );
    assert!(tag_counts(&[]).is_empty());
}

// ---------------------------------------------------------------------------
// Properties against a naive reference

const TITLES: [&str; 12] = [
    "Alpha",
    "alpha",
    "ALPHA beta",
    "Beta",
    "beta",
    "gamma ray",
    "Äpfel",
    "äpfel",
    "zebra",
    "Zebra crossing",
    "",
    "report",
];
const DESCRIPTIONS: [&str; 5] = ["", "weekly report", "Buy APPLES", "über Alles", "alpha"];
const TAGS: [&str; 4] = ["work", "home", "urgent", "x"];
const WORDS: [&str; 9] = ["al", "ALPHA", "a", "äP", "report", "et", "zz", "ALLES", "b"];
const SORTS: [&str; 10] = [
    "dueAt",
    "-dueAt",
    "priority",
    "-priority",
    "title",
    "-title",
    "createdAt",
    "-createdAt",
    "updatedAt",
    "-updatedAt",
];

fn arb_task() -> impl Strategy<Value = (u64, TaskSummary)> {
    (
        any::<u64>(),
        0..TITLES.len(),
        0..DESCRIPTIONS.len(),
        any::<bool>(),
        0..4usize,
        proptest::sample::subsequence(TAGS.to_vec(), 0..=3),
        proptest::option::of(0..6i64),
        0..6i64,
        0..6i64,
    )
        .prop_map(
            |(r, title, desc, done, prio, tags, due, created, updated)| {
                (
                    r,
                    TaskSummary {
                        id: Uuid::nil(),
                        title: TITLES[title].to_string(),
                        description: DESCRIPTIONS[desc].to_string(),
                        status: if done {
                            Status::Completed
                        } else {
                            Status::Open
                        },
                        priority: Priority::ALL[prio],
                        tags: tags.into_iter().map(str::to_string).collect(),
                        due_at: due.map(at),
                        created_at: at(created),
                        updated_at: at(updated),
                        version: 1,
                    },
                )
            },
        )
}

/// Tasks with unique ids whose order is unrelated to their position.
fn arb_tasks(max: usize) -> impl Strategy<Value = Vec<TaskSummary>> {
    proptest::collection::vec(arb_task(), 0..max).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (r, t))| TaskSummary {
                id: Uuid::from_u128((u128::from(r) << 32) | i as u128),
                ..t
            })
            .collect()
    })
}

#[derive(Debug, Clone, Default)]
struct Spec {
    status: Option<Status>,
    priorities: Vec<Priority>,
    tags: Vec<&'static str>,
    words: Vec<&'static str>,
    due_before: Option<i64>,
    due_after: Option<i64>,
    overdue: bool,
    sort: &'static str,
    limit: usize,
}

impl Spec {
    fn query(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(st) = self.status {
            s.append_pair("status", st.as_str());
        }
        if !self.priorities.is_empty() {
            let list: Vec<&str> = self.priorities.iter().map(|p| p.as_str()).collect();
            s.append_pair("priority", &list.join(","));
        }
        for t in &self.tags {
            s.append_pair("tag", t);
        }
        if !self.words.is_empty() {
            s.append_pair("q", &self.words.join(" "));
        }
        if let Some(h) = self.due_before {
            s.append_pair("dueBefore", &at(h).to_rfc3339());
        }
        if let Some(h) = self.due_after {
            s.append_pair("dueAfter", &at(h).to_rfc3339());
        }
        if self.overdue {
            s.append_pair("overdue", "true");
        }
        s.append_pair("sort", self.sort);
        s.append_pair("limit", &self.limit.to_string());
        s.finish()
    }

    /// Each filter on its own, with the same sort and limit.
    fn singles(&self) -> Vec<Spec> {
        let bare = Spec {
            sort: self.sort,
            limit: self.limit,
            ..Spec::default()
        };
        let mut out = vec![bare.clone()];
        if self.status.is_some() {
            out.push(Spec {
                status: self.status,
                ..bare.clone()
            });
        }
        if !self.priorities.is_empty() {
            out.push(Spec {
                priorities: self.priorities.clone(),
                ..bare.clone()
            });
        }
        for &t in &self.tags {
            out.push(Spec {
                tags: vec![t],
                ..bare.clone()
            });
        }
        for &w in &self.words {
            out.push(Spec {
                words: vec![w],
                ..bare.clone()
            });
        }
        if self.due_before.is_some() {
            out.push(Spec {
                due_before: self.due_before,
                ..bare.clone()
            });
        }
        if self.due_after.is_some() {
            out.push(Spec {
                due_after: self.due_after,
                ..bare.clone()
            });
        }
        if self.overdue {
            out.push(Spec {
                overdue: true,
                ..bare.clone()
            });
        }
        out
    }

    /// The naive reference filter.
    fn matches(&self, t: &TaskSummary, now: DateTime<Utc>) -> bool {
        let status = self.status.is_none_or(|s| t.status == s);
        let priority = self.priorities.is_empty() || self.priorities.contains(&t.priority);
        let tags = self.tags.iter().all(|tag| t.tags.iter().any(|x| x == tag));
        let words = self.words.iter().all(|w| {
            let w = w.to_lowercase();
            t.title.to_lowercase().contains(&w) || t.description.to_lowercase().contains(&w)
        });
        let before = self
            .due_before
            .is_none_or(|h| t.due_at.is_some_and(|d| d < at(h)));
        let after = self
            .due_after
            .is_none_or(|h| t.due_at.is_some_and(|d| d >= at(h)));
        let overdue =
            !self.overdue || (t.status == Status::Open && t.due_at.is_some_and(|d| d < now));
        status && priority && tags && words && before && after && overdue
    }

    /// The naive reference order.
    fn cmp(&self, a: &TaskSummary, b: &TaskSummary) -> Ordering {
        let descending = self.sort.starts_with('-');
        let dir = |o: Ordering| if descending { o.reverse() } else { o };
        let primary = match self.sort.trim_start_matches('-') {
            "dueAt" => match (a.due_at, b.due_at) {
                (Some(x), Some(y)) => dir(x.cmp(&y)),
                (x, y) => x.is_none().cmp(&y.is_none()),
            },
            "priority" => dir(a.priority.cmp(&b.priority)),
            "title" => dir(a
                .title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then_with(|| a.title.cmp(&b.title))),
            "createdAt" => dir(a.created_at.cmp(&b.created_at)),
            "updatedAt" => dir(a.updated_at.cmp(&b.updated_at)),
            other => panic!("{other}"),
        };
        primary.then_with(|| a.id.cmp(&b.id))
    }

    fn expected(&self, tasks: &[TaskSummary], now: DateTime<Utc>) -> Vec<Uuid> {
        let mut m: Vec<&TaskSummary> = tasks.iter().filter(|t| self.matches(t, now)).collect();
        m.sort_by(|a, b| self.cmp(a, b));
        m.into_iter().map(|t| t.id).collect()
    }
}

fn arb_spec() -> impl Strategy<Value = Spec> {
    // Each filter is present in only some cases, so that results are often
    // non-empty and span several pages, while combinations still occur.
    (
        proptest::option::weighted(0.3, any::<bool>()),
        proptest::option::weighted(
            0.3,
            proptest::sample::subsequence(Priority::ALL.to_vec(), 1..=3),
        ),
        proptest::option::weighted(0.3, proptest::sample::subsequence(TAGS.to_vec(), 1..=2)),
        proptest::option::weighted(0.3, proptest::sample::subsequence(WORDS.to_vec(), 1..=2)),
        proptest::option::weighted(0.25, 0..7i64),
        proptest::option::weighted(0.25, 0..7i64),
        proptest::bool::weighted(0.15),
        proptest::sample::select(SORTS.to_vec()),
        1..8usize,
    )
        .prop_map(
            |(status, priorities, tags, words, before, after, overdue, sort, limit)| Spec {
                status: status.map(|done| {
                    if done {
                        Status::Completed
                    } else {
                        Status::Open
                    }
                }),
                priorities: priorities.unwrap_or_default(),
                tags: tags.unwrap_or_default(),
                words: words.unwrap_or_default(),
                due_before: before,
                due_after: after,
                overdue,
                sort,
                limit,
            },
        )
}

/// Pages through `spec`, checking each page's shape; returns the concatenation.
fn page_through(tasks: &[TaskSummary], spec: &Spec, now: DateTime<Utc>) -> Vec<Uuid> {
    let expected_total = tasks.iter().filter(|t| spec.matches(t, now)).count();
    let mut query = parse(&spec.query());
    let mut out = Vec::new();
    loop {
        let page = list(tasks, &query, now).unwrap();
        assert_eq!(page.total, expected_total);
        assert!(page.ids.len() <= spec.limit);
        out.extend(&page.ids);
        match page.next_cursor {
            Some(c) => {
                assert_eq!(page.ids.len(), spec.limit, "a non-final page is full");
                query.cursor = Some(c);
            }
            None => return out,
        }
        assert!(out.len() <= tasks.len(), "paging repeats items");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// (1) Every matching item exactly once, for any limit, and (2) in sort order.
    #[test]
    fn paging_yields_every_match_once_in_order(
        tasks in arb_tasks(40),
        spec in arb_spec(),
        now in 0..8i64,
    ) {
        let now = at(now);
        let got = page_through(&tasks, &spec, now);
        let expected = spec.expected(&tasks, now);
        let unique: HashSet<Uuid> = got.iter().copied().collect();
        prop_assert_eq!(unique.len(), got.len(), "an item repeats");
        let expected_set: HashSet<Uuid> = expected.iter().copied().collect();
        prop_assert_eq!(&unique, &expected_set);
        let by_id = |i: &Uuid| tasks.iter().find(|t| t.id == *i).unwrap();
        for pair in got.windows(2) {
            prop_assert_eq!(spec.cmp(by_id(&pair[0]), by_id(&pair[1])), Ordering::Less);
        }
        prop_assert_eq!(got, expected);
    }

    /// (3) The combined result is the intersection of each filter on its own,
    /// and equals the naive reference filter.
    #[test]
    fn filters_are_a_conjunction(
        tasks in arb_tasks(40),
        spec in arb_spec(),
        now in 0..8i64,
    ) {
        let now = at(now);
        let combined: HashSet<Uuid> = page_through(&tasks, &spec, now).into_iter().collect();
        let mut intersection: HashSet<Uuid> = tasks.iter().map(|t| t.id).collect();
        for single in spec.singles() {
            let one: HashSet<Uuid> = page_through(&tasks, &single, now).into_iter().collect();
            let reference: HashSet<Uuid> = single.expected(&tasks, now).into_iter().collect();
            prop_assert_eq!(&one, &reference, "filter {:?}", single.query());
            intersection.retain(|i| one.contains(i));
        }
        prop_assert_eq!(&combined, &intersection);
        let reference: HashSet<Uuid> = spec.expected(&tasks, now).into_iter().collect();
        prop_assert_eq!(combined, reference);
    }

    /// (4) Deleting already returned items (the cursor's own item included) and
    /// inserting new ones between pages neither skips nor repeats other items.
    #[test]
    fn changes_between_pages_do_not_skip_or_repeat(
        tasks in arb_tasks(40),
        spec in arb_spec(),
        now in 0..8i64,
        actions in proptest::collection::vec((0..4u8, any::<prop::sample::Index>()), 50),
        inserts in arb_tasks(20),
    ) {
        let now = at(now);
        let original = spec.expected(&tasks, now);
        let mut tasks = tasks;
        let mut inserts = inserts.into_iter().map(|t| TaskSummary {
            id: Uuid::from_u128(t.id.as_u128() | (1 << 127)),
            ..t
        });
        let mut snapshot: Vec<TaskSummary> = Vec::new();
        let mut got = Vec::new();
        let mut deleted = HashSet::new();
        let mut query = parse(&spec.query());
        let mut actions = actions.into_iter();
        loop {
            let page = list(&tasks, &query, now).unwrap();
            for i in &page.ids {
                snapshot.push(tasks.iter().find(|t| t.id == *i).unwrap().clone());
            }
            got.extend(page.ids.iter().copied());
            let Some(cursor) = page.next_cursor else { break };
            query.cursor = Some(cursor);
            match actions.next() {
                Some((0, _)) | None => {}
                Some((1, _)) => {
                    let last = *page.ids.last().unwrap();
                    tasks.retain(|t| t.id != last);
                    deleted.insert(last);
                }
                Some((2, which)) => {
                    let victim = got[which.index(got.len())];
                    tasks.retain(|t| t.id != victim);
                    deleted.insert(victim);
                }
                Some(_) => tasks.extend(inserts.next()),
            }
            prop_assert!(got.len() <= 100, "paging does not end");
        }
        // Nothing repeats; every original match appears, in the reference order.
        let unique: HashSet<Uuid> = got.iter().copied().collect();
        prop_assert_eq!(unique.len(), got.len(), "an item repeats");
        let originals: Vec<Uuid> = got.iter().copied().filter(|i| original.contains(i)).collect();
        prop_assert_eq!(originals, original);
        for pair in snapshot.windows(2) {
            prop_assert_eq!(spec.cmp(&pair[0], &pair[1]), Ordering::Less);
        }
        prop_assert!(deleted.iter().all(|d| got.contains(d)));
    }
}

/// README "What paging guarantees": under the (immutable) creation-order
/// sorts, editing tasks between pages neither repeats nor skips any; under a
/// mutable sort, a task whose key moves behind the cursor is not shown again
/// and `total` still counts it — exactly as documented.
#[test]
fn edits_between_pages_keep_createdat_paging_exact_and_move_tasks_under_mutable_sorts() {
    let tasks: Vec<TaskSummary> = (0..10u128)
        .map(|n| {
            let mut t = task(n, &format!("t{n}"));
            t.created_at = at(n as i64);
            t.updated_at = at(n as i64);
            t
        })
        .collect();
    // Oldest first, 4 per page; between the pages every unseen task is
    // edited (its updatedAt jumps to the latest).
    let mut current = tasks.clone();
    let mut query = parse("sort=createdAt&limit=4");
    let mut seen = Vec::new();
    loop {
        let page = list(&current, &query, at(100)).unwrap();
        seen.extend(page.ids.iter().copied());
        for t in current.iter_mut().filter(|t| !seen.contains(&t.id)) {
            t.updated_at = at(50);
            t.version += 1;
        }
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, tasks.iter().map(|t| t.id).collect::<Vec<_>>());

    // Newest change first: editing a task not yet seen moves it before the
    // cursor, so the remaining pages do not show it, though `total` counts it.
    let mut current = tasks.clone();
    let first = list(&current, &parse("sort=-updatedAt&limit=4"), at(100)).unwrap();
    assert_eq!(first.ids, [id(9), id(8), id(7), id(6)]);
    current[2].updated_at = at(60); // task 2, not seen yet
    let mut query = parse("sort=-updatedAt&limit=4");
    query.cursor = first.next_cursor;
    let rest = list(&current, &query, at(100)).unwrap();
    assert_eq!(rest.total, 10);
    assert_eq!(rest.ids, [id(5), id(4), id(3), id(1)]);
    assert!(!rest.ids.contains(&id(2)), "moved before the cursor");
}
