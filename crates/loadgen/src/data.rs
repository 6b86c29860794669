//! Deterministic, varied task bodies (a small xorshift generator, so every
//! run seeds the same data).

use serde_json::{json, Value};

const VERBS: &[&str] = &[
    "Write", "Review", "Prepare", "Call", "Fix", "Plan", "Buy", "Read", "Update", "Send", "Book",
    "Clean",
];
const OBJECTS: &[&str] = &[
    "report",
    "budget",
    "slides",
    "dentist",
    "groceries",
    "invoice",
    "roadmap",
    "newsletter",
    "garden",
    "taxes",
    "backlog",
    "offsite",
    "contract",
    "flights",
];
const TAGS: &[&str] = &[
    "work",
    "home",
    "errands",
    "health",
    "finance",
    "reading",
    "urgent",
    "later",
    "family",
    "side-project",
];
const PRIORITIES: &[&str] = &["low", "medium", "high", "urgent"];
const FILLER: &[&str] = &[
    "check the numbers twice",
    "ask Sam for the latest draft",
    "before the quarterly review",
    "see the notes from last week",
    "keep it short",
    "needs the signed copy",
    "quarterly numbers are in the shared folder",
];

/// xorshift64*: tiny, deterministic, good enough to vary test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The JSON body of task number `n` (title, description, priority, 0–3
/// tags, a due date on most).
pub fn task_body(rng: &mut Rng, n: u64) -> Value {
    let title = format!("{} {} #{n}", rng.pick(VERBS), rng.pick(OBJECTS));
    let description = format!("{}; {}.", rng.pick(FILLER), rng.pick(FILLER));
    let mut tags: Vec<&str> = (0..rng.below(4)).map(|_| rng.pick(TAGS)).collect();
    tags.sort_unstable();
    tags.dedup();
    let mut body = json!({
        "title": title,
        "description": description,
        "priority": rng.pick(PRIORITIES),
        "tags": tags,
    });
    if rng.below(4) != 0 {
        let day = 1 + rng.below(28);
        let hour = 8 + rng.below(10);
        body["dueAt"] = format!("2031-{:02}-{day:02}T{hour:02}:00:00Z", 1 + rng.below(12)).into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_deterministic_and_varied() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let first: Vec<Value> = (0..50).map(|n| task_body(&mut a, n)).collect();
        let second: Vec<Value> = (0..50).map(|n| task_body(&mut b, n)).collect();
        assert_eq!(first, second);
        let priorities: std::collections::BTreeSet<&str> = first
            .iter()
            .map(|t| t["priority"].as_str().unwrap())
            .collect();
        assert!(priorities.len() > 1);
        assert!(first
            .iter()
            .all(|t| t["title"].as_str().unwrap().len() <= 200));
    }
}
