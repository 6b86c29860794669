//! Wall times placed in a zone as an ascending series of instants. Placing
//! is not monotonic: a wall time in a DST gap moves forward by the gap (RFC
//! 5545 §3.3.5), past later wall times, and two wall times may land on one
//! instant, which is one instance of the recurrence *set* (§3.3.10). So
//! instants are held back until no later wall time can land before them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::zone::Zone;

/// More than the spread of UTC offsets (−12:00…+14:00): a wall time `w`
/// lands within this of `w` read as UTC.
const PLACEMENT_SLACK_HOURS: i64 = 30;

/// Ascending wall times → ascending instants without repeats.
pub(super) struct Placed<I: Iterator<Item = NaiveDateTime>> {
    walls: I,
    zone: Zone,
    pending: BTreeSet<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    done: bool,
}

impl<I: Iterator<Item = NaiveDateTime>> Placed<I> {
    pub(super) fn new(walls: I, zone: Zone) -> Self {
        Placed {
            walls,
            zone,
            pending: BTreeSet::new(),
            last: None,
            done: false,
        }
    }
}

impl<I: Iterator<Item = NaiveDateTime>> Iterator for Placed<I> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            if let Some(&first) = self.pending.first() {
                let settled = self.done
                    || self.pending.last().is_some_and(|&last| {
                        last - first > Duration::hours(2 * PLACEMENT_SLACK_HOURS)
                    });
                if settled {
                    self.pending.pop_first();
                    if self.last.is_some_and(|last| last >= first) {
                        continue;
                    }
                    self.last = Some(first);
                    return Some(first);
                }
            } else if self.done {
                return None;
            }
            match self.walls.next() {
                Some(wall) => {
                    self.pending.insert(self.zone.instant(wall, false));
                }
                None => self.done = true,
            }
        }
    }
}
