//! [`tag_counts`], behind `GET /api/tags`: the user's tags with how many
//! tasks carry each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sort::cmp_text;
use super::summary::TaskSummary;

/// A tag with the number of the user's tasks carrying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub count: usize,
}

/// The user's tags with counts, most used first, then alphabetically
/// (case-insensitive, then exact). A tag counts once per task.
pub fn tag_counts(tasks: &[TaskSummary]) -> Vec<TagCount> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for task in tasks {
        for (i, tag) in task.tags.iter().enumerate() {
            if !task.tags[..i].contains(tag) {
                *counts.entry(tag.as_str()).or_default() += 1;
            }
        }
    }
    let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| cmp_text(a.0, b.0)));
    sorted
        .into_iter()
        .map(|(tag, count)| TagCount {
            tag: tag.to_string(),
            count,
        })
        .collect()
}
