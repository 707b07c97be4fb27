//! What an edit of a config text returns: the new text, and which containers it created (so
//! that removing the entry again can take them away too). Shared by both formats.

use serde::{Deserialize, Serialize};

/// Which containers of an entry's path an edit created (so removal can take them away again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Created {
    /// Every container existed.
    #[default]
    Nothing,
    /// The containers from this depth of the path on were created (0 = the outermost).
    From(usize),
}

impl Created {
    pub fn from_existed(existed: usize, len: usize) -> Created {
        if existed < len {
            Created::From(existed)
        } else {
            Created::Nothing
        }
    }
    /// Keeps the earliest creation of two edits.
    pub fn merge(self, other: Created) -> Created {
        match (self, other) {
            (Created::From(a), Created::From(b)) => Created::From(a.min(b)),
            (Created::From(a), Created::Nothing) | (Created::Nothing, Created::From(a)) => {
                Created::From(a)
            }
            (Created::Nothing, Created::Nothing) => Created::Nothing,
        }
    }
}

/// The text after an edit.
#[derive(Debug, Clone)]
pub struct Edited {
    pub text: String,
    pub created: Created,
}
