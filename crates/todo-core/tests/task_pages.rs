//! The paged task index: pages stay within the size bound and every task
//! appears exactly once, in the page its id leads to, after any sequence of
//! creates, patches, completions and deletes.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use todo_core::task::pages::{encoded_len, PageId, PageSet, PAGE_LIMIT_BYTES, ROOT_PAGES};
use todo_core::task::query::TaskSummary;
use todo_core::{Priority, Status};
use uuid::Uuid;

fn summary(id: Uuid, description_len: usize, version: u64, status: Status) -> TaskSummary {
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    TaskSummary {
        id,
        title: format!("task {id}"),
        // Multi-byte and escaped characters: the bound is on stored bytes.
        description: "é\"x".repeat(description_len / 3),
        status,
        priority: Priority::High,
        tags: vec!["work".into(), "home".into()],
        due_at: Some(at),
        created_at: at,
        updated_at: at,
        version,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create { description_len: usize },
    Patch { pick: usize, description_len: usize },
    Complete { pick: usize },
    Delete { pick: usize },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..5000usize).prop_map(|description_len| Op::Create { description_len }),
        2 => (any::<usize>(), 0..5000usize)
            .prop_map(|(pick, description_len)| Op::Patch { pick, description_len }),
        1 => any::<usize>().prop_map(|pick| Op::Complete { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Delete { pick }),
    ]
}

/// Checks the invariants of `set` against the model (id → summary).
fn check(set: &PageSet, model: &BTreeMap<Uuid, TaskSummary>) -> Result<(), TestCaseError> {
    let mut seen = BTreeMap::new();
    for (id, page) in &set.pages {
        prop_assert!(
            encoded_len(page) <= PAGE_LIMIT_BYTES,
            "page {} is {} bytes",
            id.name(),
            encoded_len(page)
        );
        if page.split {
            prop_assert!(page.tasks.is_empty(), "a split marker holds no tasks");
            for child in id.children() {
                prop_assert!(set.pages.contains_key(&child), "split without child");
            }
        }
        for s in &page.tasks {
            prop_assert!(id.covers(s.id), "task in a page its id does not lead to");
            prop_assert!(seen.insert(s.id, s.clone()).is_none(), "task twice");
        }
    }
    prop_assert_eq!(&seen, model);
    for id in model.keys() {
        let leaf = set.leaf_of(*id);
        prop_assert!(set.pages[&leaf].tasks.iter().any(|s| s.id == *id));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn pages_stay_bounded_and_hold_every_task_once(ops in prop::collection::vec(arb_op(), 1..400)) {
        let mut set = PageSet::default();
        let mut model: BTreeMap<Uuid, TaskSummary> = BTreeMap::new();
        let mut next = 1u128;
        for op in ops {
            let ids: Vec<Uuid> = model.keys().copied().collect();
            let picked = |pick: usize| (!ids.is_empty()).then(|| ids[pick % ids.len()]);
            match op {
                Op::Create { description_len } => {
                    let id = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | next);
                    next += 1;
                    let s = summary(id, description_len, 1, Status::Open);
                    set.upsert(s.clone());
                    model.insert(id, s);
                }
                Op::Patch { pick, description_len } => {
                    if let Some(id) = picked(pick) {
                        let s = summary(id, description_len, model[&id].version + 1, model[&id].status);
                        set.upsert(s.clone());
                        model.insert(id, s);
                    }
                }
                Op::Complete { pick } => {
                    if let Some(id) = picked(pick) {
                        let mut s = model[&id].clone();
                        s.status = Status::Completed;
                        s.version += 1;
                        set.upsert(s.clone());
                        model.insert(id, s);
                    }
                }
                Op::Delete { pick } => {
                    if let Some(id) = picked(pick) {
                        set.remove(id);
                        model.remove(&id);
                    }
                }
            }
        }
        check(&set, &model)?;
        // A migration of the same summaries builds pages under the same rules.
        let built = PageSet::build(model.values().cloned().collect());
        check(&built, &model)?;
    }
}

#[test]
fn ten_thousand_tasks_fit_in_bounded_pages_two_levels_deep() {
    let summaries: Vec<TaskSummary> = (0..10_000u128)
        .map(|n| {
            summary(
                Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000 | n),
                150,
                1,
                Status::Open,
            )
        })
        .collect();
    let set = PageSet::build(summaries.clone());
    let model = summaries.into_iter().map(|s| (s.id, s)).collect();
    check(&set, &model).unwrap();
    let deepest = set.pages.keys().map(PageId::depth).max().unwrap();
    assert!(
        deepest <= 2,
        "10,000 small summaries split at most twice, got {deepest}"
    );
    assert!(set.pages.len() >= ROOT_PAGES as usize);
}

#[test]
fn one_huge_summary_per_page_still_fits() {
    // The largest summary a task can have stays far below the page limit.
    let big = summary(Uuid::now_v7(), 5000, 1, Status::Open);
    let mut set = PageSet::default();
    set.upsert(big.clone());
    let page = &set.pages[&set.leaf_of(big.id)];
    assert!(encoded_len(page) < PAGE_LIMIT_BYTES / 2);
}
