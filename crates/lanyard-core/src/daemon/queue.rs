//! The one timer's agenda: every server's next due instant, earliest first.
//!
//! A `BTreeSet` of `(due, name)` plus a map from name to its current entry, so that
//! rescheduling or dropping a server is `O(log n)` and the earliest entry is always the first.
//! The engine sleeps until [`DueQueue::next_due`] and nothing else: no polling.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct DueQueue {
    order: BTreeSet<(DateTime<Utc>, String)>,
    due: HashMap<String, DateTime<Utc>>,
}

impl DueQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedule `name` at `at`, replacing any earlier entry for it.
    pub fn schedule(&mut self, name: &str, at: DateTime<Utc>) {
        if let Some(old) = self.due.insert(name.to_owned(), at) {
            self.order.remove(&(old, name.to_owned()));
        }
        self.order.insert((at, name.to_owned()));
    }

    /// Forget `name` (removed, needs sign-in, or being refreshed right now).
    pub fn remove(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let old = self.due.remove(name)?;
        self.order.remove(&(old, name.to_owned()));
        Some(old)
    }

    pub fn due_of(&self, name: &str) -> Option<DateTime<Utc>> {
        self.due.get(name).copied()
    }

    /// The earliest due instant, if anything is scheduled.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Take every server due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.order.first() {
            if *at > now {
                break;
            }
            if let Some((_, name)) = self.order.pop_first() {
                self.due.remove(&name);
                out.push(name);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.due.len()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.due.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).expect("valid timestamp")
    }

    #[test]
    fn earliest_first_and_reschedule_replaces() {
        let mut q = DueQueue::new();
        q.schedule("b", t(20));
        q.schedule("a", t(10));
        q.schedule("c", t(30));
        assert_eq!(q.next_due(), Some(t(10)));
        q.schedule("a", t(40));
        assert_eq!(q.len(), 3);
        assert_eq!(q.next_due(), Some(t(20)));
        assert_eq!(q.pop_due(t(30)), vec!["b".to_owned(), "c".to_owned()]);
        assert_eq!(q.next_due(), Some(t(40)));
        assert_eq!(q.remove("a"), Some(t(40)));
        assert!(q.is_empty());
        assert_eq!(q.next_due(), None);
    }

    #[test]
    fn same_instant_for_many_servers() {
        let mut q = DueQueue::new();
        for i in 0..1000 {
            q.schedule(&format!("s{i:04}"), t(5));
        }
        assert_eq!(q.pop_due(t(4)).len(), 0);
        assert_eq!(q.pop_due(t(5)).len(), 1000);
        assert!(q.is_empty());
    }
}
