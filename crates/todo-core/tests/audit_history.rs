//! A task's history in bounded pages: sealing, the old layout, and paging
//! by position (oldest first) across sealed pages and the tail.

use todo_core::audit::page::{HistoryPage, PageQuery, TaskHistory, HISTORY_PAGE_SEQS};
use todo_core::task::query::MAX_LIMIT;

const PAGE: u64 = HISTORY_PAGE_SEQS as u64;

/// A history built append by append; the sealed pages written on the way.
fn build(seqs: impl IntoIterator<Item = u64>) -> (TaskHistory, Vec<(u64, HistoryPage)>) {
    let mut history = TaskHistory {
        owner: "alice".into(),
        ..TaskHistory::default()
    };
    let mut sealed = Vec::new();
    for seq in seqs {
        sealed.extend(history.push(seq));
    }
    (history, sealed)
}

/// Every seq through the plans of `query`'s pages, following the cursor.
fn walk(history: &TaskHistory, stored: &[(u64, HistoryPage)], limit: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut query = PageQuery::parse_history(limit).unwrap();
    loop {
        let plan = history.plan(&query);
        assert!(plan.pages.len() <= 2, "{plan:?}");
        let found: Vec<Option<HistoryPage>> = plan
            .pages
            .iter()
            .map(|p| {
                stored
                    .iter()
                    .find(|(n, _)| n == p)
                    .map(|(_, page)| page.clone())
            })
            .collect();
        out.extend(plan.seqs(history, &found));
        match plan.next_cursor {
            Some(cursor) => {
                query = PageQuery::parse_history(&format!("{limit}&cursor={cursor}")).unwrap()
            }
            None => return out,
        }
    }
}

#[test]
fn the_tail_is_sealed_into_a_page_when_it_fills_up() {
    let (history, sealed) = build(1..PAGE);
    assert!(sealed.is_empty());
    assert_eq!(history.len(), PAGE - 1);

    let (history, sealed) = build(1..=PAGE);
    assert_eq!(history.pages, 1);
    assert!(history.seqs.is_empty());
    assert_eq!(sealed.len(), 1);
    assert_eq!(sealed[0].0, 0);
    assert_eq!(sealed[0].1.seqs, (1..=PAGE).collect::<Vec<_>>());

    let (history, sealed) = build((1..=3 * PAGE + 5).map(|n| n * 2));
    assert_eq!(history.pages, 3);
    assert_eq!(history.len(), 3 * PAGE + 5);
    assert_eq!(
        sealed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(sealed[2].1.seqs[0], (2 * PAGE + 1) * 2);
    assert_eq!(
        history.seqs,
        ((3 * PAGE + 1)..=(3 * PAGE + 5))
            .map(|n| n * 2)
            .collect::<Vec<_>>()
    );
}

#[test]
fn documents_stay_small_whatever_the_history() {
    let (history, sealed) = build((0..5 * PAGE + 7).map(|n| u64::MAX - 10 * PAGE + n));
    let head = serde_json::to_vec(&history).unwrap().len();
    assert!(head < 6 * 1024, "head {head} bytes");
    for (_, page) in &sealed {
        let bytes = serde_json::to_vec(page).unwrap().len();
        assert!(bytes < 6 * 1024, "page {bytes} bytes");
    }
    // A short history keeps the old shape exactly.
    let (short, _) = build([1, 2]);
    assert_eq!(
        serde_json::to_value(&short).unwrap(),
        serde_json::json!({ "owner": "alice", "seqs": [1, 2] })
    );
}

#[test]
fn an_old_layout_document_reads_and_is_split_by_its_next_append() {
    let all: Vec<u64> = (1..=600).collect();
    let old: TaskHistory =
        serde_json::from_value(serde_json::json!({ "owner": "alice", "seqs": all })).unwrap();
    assert_eq!(old.pages, 0);
    assert_eq!(old.len(), 600);
    for limit in ["", "limit=7", "limit=200"] {
        assert_eq!(walk(&old, &[], limit), all, "{limit:?}");
    }

    let mut migrated = old.clone();
    let sealed = migrated.push(601);
    assert_eq!(sealed.len(), 2);
    assert_eq!(migrated.pages, 2);
    assert_eq!(migrated.seqs, (513..=601).collect::<Vec<_>>());
    let all: Vec<u64> = (1..=601).collect();
    for limit in ["", "limit=1", "limit=13", "limit=200"] {
        assert_eq!(walk(&migrated, &sealed, limit), all, "{limit:?}");
    }
}

#[test]
fn pages_are_positions_oldest_first_and_cursors_survive_appends() {
    let (mut history, mut sealed) = build(1..=300);
    let query = PageQuery::parse_history("").unwrap();
    assert_eq!(query.limit, MAX_LIMIT, "without limit: the largest page");
    let first = history.plan(&query);
    assert_eq!((first.from, first.to), (0, 200));
    assert_eq!(first.pages, [0]);
    assert_eq!(first.next_cursor.as_deref(), Some("200"));

    // More entries arrive: the next page continues where the first ended.
    for seq in 301..=600 {
        sealed.extend(history.push(seq));
    }
    let next = history.plan(&PageQuery::parse_history("cursor=200").unwrap());
    assert_eq!((next.from, next.to), (200, 400));
    assert_eq!(next.pages, [0, 1]);
    let found: Vec<Option<HistoryPage>> = next
        .pages
        .iter()
        .map(|p| Some(sealed[*p as usize].1.clone()))
        .collect();
    assert_eq!(next.seqs(&history, &found), (201..=400).collect::<Vec<_>>());

    // A cursor at or past the end: nothing, and no further cursor.
    for cursor in [600, 10_000] {
        let past = history.plan(&PageQuery::parse_history(&format!("cursor={cursor}")).unwrap());
        assert!(past.pages.is_empty());
        assert_eq!(past.seqs(&history, &[]), Vec::<u64>::new());
        assert_eq!(past.next_cursor, None);
    }
    // A missing sealed page leaves its positions out instead of failing.
    let gap = history.plan(&PageQuery::parse_history("cursor=250&limit=10").unwrap());
    assert_eq!(gap.pages, [0, 1]);
    let partial = gap.seqs(&history, &[None, Some(sealed[1].1.clone())]);
    assert_eq!(partial, (257..=260).collect::<Vec<_>>());
}

#[test]
fn history_queries_take_the_log_parameters() {
    assert_eq!(PageQuery::parse_history("limit=5").unwrap().limit, 5);
    assert_eq!(
        PageQuery::parse("").unwrap().limit,
        50,
        "the log's default stays"
    );
    for bad in ["limit=0", "limit=201", "cursor=0", "cursor=x", "page=2"] {
        assert_eq!(
            PageQuery::parse_history(bad).unwrap_err().status,
            400,
            "{bad}"
        );
    }
}
