//! What changed between two listings of one registry (`import --watch`, the tray): entries that
//! appeared (or moved to another URL) and entries that are gone. Offered to the user, never
//! added or removed by themselves.

use serde::Serialize;

use super::entry::Entry;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// New entries, and entries whose URL changed (a new URL is a new server to confirm).
    pub added: Vec<Entry>,
    /// Entries no longer listed (or listed at another URL).
    pub removed: Vec<Entry>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// Entries are the same when both the registry name and the URL are.
pub fn changes(before: &[Entry], after: &[Entry]) -> Changes {
    let same = |a: &Entry, b: &Entry| a.name == b.name && a.url == b.url;
    Changes {
        added: after
            .iter()
            .filter(|a| !before.iter().any(|b| same(a, b)))
            .cloned()
            .collect(),
        removed: before
            .iter()
            .filter(|b| !after.iter().any(|a| same(a, b)))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_entry as entry;

    #[test]
    fn new_gone_and_moved_entries_are_told_apart_from_unchanged_ones() {
        let a = entry("x/a", "https://a.example/mcp");
        let b = entry("x/b", "https://b.example/mcp");
        let b_moved = entry("x/b", "https://evil.example/mcp");
        let c = entry("x/c", "https://c.example/mcp");
        let d = changes(
            &[a.clone(), b.clone()],
            &[a.clone(), b_moved.clone(), c.clone()],
        );
        assert_eq!(d.added, vec![b_moved, c]);
        assert_eq!(d.removed, vec![b]);
        let same = [a];
        assert!(changes(&same, &same).is_empty());
    }
}
