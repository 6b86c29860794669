//! The per-user task index as bounded pages (architecture §5, cost rules).
//!
//! A user's [`TaskSummary`]s are spread over pages by a hash of the task id:
//! [`ROOT_PAGES`] root pages, each of which splits in two (by the next bit of
//! the hash) when its JSON would exceed [`PAGE_LIMIT_BYTES`]. So:
//! - a page never exceeds the limit, however many tasks the user has
//!   (a summary is at most ~22 KiB: 200-char title, 5,000-char description,
//!   20 tags, so a split always makes progress);
//! - changes to different tasks of one user touch different pages, unless
//!   their ids hash to the same leaf (1 in [`ROOT_PAGES`] for a small user);
//! - which page holds a task follows from its id alone: start at
//!   [`PageId::root_of`], go to [`PageId::child_toward`] while the page read
//!   is a split marker. No directory document, no per-user head.
//!
//! Each status has its own tree of pages ([`status_name`] in the key), so a
//! list of open tasks never reads the summaries of completed ones, which
//! pile up with a user's history; completing or reopening a task moves its
//! summary from one tree to the other in the same transaction.
//!
//! A list reads every root page of the statuses it needs in one bulk read,
//! then the children of the split ones (one more round per level). Pages
//! never merge: a page emptied by deletes stays as a small document.
//!
//! Pure: the component reads and writes the pages; [`PageSet`] is the same
//! rules over an in-memory map (migration and tests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::task::query::TaskSummary;
use crate::task::Status;

/// The statuses, each with a tree of pages.
pub const STATUSES: [Status; 2] = [Status::Open, Status::Completed];

/// A status's name in page keys.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Open => "open",
        Status::Completed => "completed",
    }
}

/// Root pages per user.
pub const ROOT_PAGES: u8 = 64;
/// Hash bits used to pick the root page.
const ROOT_BITS: u32 = 6;
/// A page whose JSON would be larger than this is split (architecture §5: every
/// document ≤ 64 KiB whatever the user's task count).
pub const PAGE_LIMIT_BYTES: usize = 64 * 1024;
/// How deep a page may split below its root (bits of the hash left after the
/// root bits); reaching it needs ~2^58 colliding ids, so in practice never.
pub const MAX_SPLIT_DEPTH: usize = 64 - ROOT_BITS as usize;

/// Where a page sits: its root and the path of hash bits below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageId {
    root: u8,
    /// `'0'`/`'1'` per level below the root.
    path: String,
}

impl PageId {
    /// The root page that `task` starts from.
    pub fn root_of(task: Uuid) -> PageId {
        PageId {
            root: (spread(task) >> (64 - ROOT_BITS)) as u8,
            path: String::new(),
        }
    }

    /// Every root page, in order.
    pub fn roots() -> impl Iterator<Item = PageId> {
        (0..ROOT_PAGES).map(|root| PageId {
            root,
            path: String::new(),
        })
    }

    /// The child of this (split) page that holds `task`.
    pub fn child_toward(&self, task: Uuid) -> PageId {
        let bit = (spread(task) >> (63 - ROOT_BITS as usize - self.path.len())) & 1;
        self.child(bit == 1)
    }

    /// Both children of this page.
    pub fn children(&self) -> [PageId; 2] {
        [self.child(false), self.child(true)]
    }

    fn child(&self, one: bool) -> PageId {
        let mut path = self.path.clone();
        path.push(if one { '1' } else { '0' });
        PageId {
            root: self.root,
            path,
        }
    }

    /// Whether `task` belongs in this page or below it.
    pub fn covers(&self, task: Uuid) -> bool {
        let mut at = PageId::root_of(task);
        if at.root != self.root {
            return false;
        }
        while at.path.len() < self.path.len() {
            at = at.child_toward(task);
        }
        at == *self
    }

    /// Levels below the root.
    pub fn depth(&self) -> usize {
        self.path.len()
    }

    /// The page's name inside a state key: `"7"` for a root, `"7-01"` below it.
    pub fn name(&self) -> String {
        if self.path.is_empty() {
            self.root.to_string()
        } else {
            format!("{}-{}", self.root, self.path)
        }
    }
}

/// FNV-1a (64-bit) of the id's bytes, finished with MurmurHash3's `fmix64`
/// so every output bit depends on every input bit: stable across builds and
/// platforms (stored pages depend on it: never change it), and it spreads
/// UUIDv7 ids, whose leading bits are a timestamp, evenly.
fn spread(task: Uuid) -> u64 {
    let mut h = task
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// One stored page: either a leaf holding summaries, or a split marker whose
/// summaries live in its two children.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split: bool,
    #[serde(default)]
    pub tasks: Vec<TaskSummary>,
}

/// A page to write (already within the limit, or a split marker).
#[derive(Debug, Clone, PartialEq)]
pub struct PageWrite {
    pub id: PageId,
    pub page: Page,
}

/// The writes that put `summary` into leaf `id` (replacing the task's old
/// summary), or remove task `task` from it when `summary` is `None`. The first
/// write is always `id` itself (a leaf, or a split marker when the leaf
/// overflowed); the rest are new pages below it.
pub fn place(
    id: &PageId,
    mut page: Page,
    task: Uuid,
    summary: Option<TaskSummary>,
) -> Vec<PageWrite> {
    debug_assert!(!page.split, "changes go to leaves");
    page.tasks.retain(|s| s.id != task);
    page.tasks.extend(summary);
    let mut writes = Vec::new();
    settle(id.clone(), page.tasks, &mut writes);
    writes
}

/// Writes `tasks` as page `id`, splitting it (recursively) while it is over
/// the limit.
fn settle(id: PageId, mut tasks: Vec<TaskSummary>, writes: &mut Vec<PageWrite>) {
    // Summaries in creation order keep a page's JSON stable across rewrites.
    tasks.sort_by_key(|s| s.id);
    let leaf = Page {
        split: false,
        tasks,
    };
    if id.depth() >= MAX_SPLIT_DEPTH || encoded_len(&leaf) <= PAGE_LIMIT_BYTES {
        writes.push(PageWrite { id, page: leaf });
        return;
    }
    let [zero, one] = id.children();
    let (ones, zeros): (Vec<TaskSummary>, Vec<TaskSummary>) =
        leaf.tasks.into_iter().partition(|s| one.covers(s.id));
    writes.push(PageWrite {
        id,
        page: Page {
            split: true,
            tasks: Vec::new(),
        },
    });
    settle(zero, zeros, writes);
    settle(one, ones, writes);
}

/// The size of a page as stored (compact JSON).
pub fn encoded_len(page: &Page) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, page).expect("a page serializes");
    counter.0
}

/// A user's pages in memory, under the same rules as the stored ones: what a
/// migration writes, and the model the property tests check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageSet {
    pub pages: BTreeMap<PageId, Page>,
}

impl PageSet {
    /// The pages that hold `summaries` (all of one status).
    pub fn build(summaries: Vec<TaskSummary>) -> PageSet {
        let mut by_root: BTreeMap<PageId, Vec<TaskSummary>> = BTreeMap::new();
        for s in summaries {
            by_root.entry(PageId::root_of(s.id)).or_default().push(s);
        }
        let mut writes = Vec::new();
        for (root, tasks) in by_root {
            settle(root, tasks, &mut writes);
        }
        let mut set = PageSet::default();
        set.apply(writes);
        set
    }

    /// The leaf that holds (or would hold) `task`.
    pub fn leaf_of(&self, task: Uuid) -> PageId {
        let mut id = PageId::root_of(task);
        while self.pages.get(&id).is_some_and(|p| p.split) {
            id = id.child_toward(task);
        }
        id
    }

    /// Puts (or replaces) a task's summary.
    pub fn upsert(&mut self, summary: TaskSummary) {
        let id = self.leaf_of(summary.id);
        let page = self.pages.get(&id).cloned().unwrap_or_default();
        let task = summary.id;
        self.apply(place(&id, page, task, Some(summary)));
    }

    /// Removes a task's summary.
    pub fn remove(&mut self, task: Uuid) {
        let id = self.leaf_of(task);
        let page = self.pages.get(&id).cloned().unwrap_or_default();
        self.apply(place(&id, page, task, None));
    }

    pub fn apply(&mut self, writes: Vec<PageWrite>) {
        for w in writes {
            self.pages.insert(w.id, w.page);
        }
    }

    /// Every summary of every leaf.
    pub fn summaries(&self) -> impl Iterator<Item = &TaskSummary> {
        self.pages.values().flat_map(|p| p.tasks.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_task_descends_into_the_child_that_covers_it() {
        for n in 0..500u128 {
            let task = id(n * 7919);
            let mut at = PageId::root_of(task);
            assert!(at.covers(task));
            for _ in 0..10 {
                let [zero, one] = at.children();
                let next = at.child_toward(task);
                assert!(next == zero || next == one);
                assert!(next.covers(task));
                let other = if next == zero { one } else { zero };
                assert!(!other.covers(task));
                at = next;
            }
        }
    }

    #[test]
    fn ids_spread_over_every_root() {
        let roots: std::collections::BTreeSet<PageId> =
            (0..5000).map(|_| PageId::root_of(Uuid::now_v7())).collect();
        assert_eq!(roots.len(), ROOT_PAGES as usize);
    }

    #[test]
    fn names_are_short_and_distinct() {
        let root = PageId::root_of(id(1));
        let [a, b] = root.children();
        assert_eq!(root.name(), root.root.to_string());
        assert_eq!(a.name(), format!("{}-0", root.root));
        assert_eq!(b.name(), format!("{}-1", root.root));
    }
}
