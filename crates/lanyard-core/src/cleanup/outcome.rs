//! How one cleanup item ended: the leaf every item kind reports with.

use serde::Serialize;

/// How one item ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Nothing to do: it had already been removed (by an admin, an earlier run...).
    AlreadyGone { detail: String },
    /// Could not be done now; running the command again retries it.
    Failed { why: String, next_step: String },
    /// Lanyard cannot do it; an identity provider admin must (reported with the client id).
    LeftForAdmin { why: String },
    /// Done on this machine, but something stays usable at the identity provider: a token it
    /// refused to revoke (or that could not be revoked with `--force`), with until when.
    LeftRemote { why: String },
    /// Not done on purpose: an earlier item failed and this one is still needed, or it is not
    /// Lanyard's to remove.
    Kept { why: String },
}

impl Outcome {
    pub(crate) fn failed(why: impl Into<String>, next_step: impl Into<String>) -> Outcome {
        Outcome::Failed {
            why: why.into(),
            next_step: next_step.into(),
        }
    }
    pub(crate) fn gone(detail: impl Into<String>) -> Outcome {
        Outcome::AlreadyGone {
            detail: detail.into(),
        }
    }
    /// Something is left after this item.
    pub fn is_left(&self) -> bool {
        matches!(
            self,
            Outcome::Failed { .. }
                | Outcome::LeftForAdmin { .. }
                | Outcome::LeftRemote { .. }
                | Outcome::Kept { .. }
        )
    }
    /// Done here, but something stays at an identity provider.
    pub fn is_remote_leftover(&self) -> bool {
        matches!(
            self,
            Outcome::LeftForAdmin { .. } | Outcome::LeftRemote { .. }
        )
    }
    /// A short label: "done", "already gone", "failed", "left for the admin", "kept".
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::AlreadyGone { .. } => "already gone",
            Outcome::Failed { .. } => "failed",
            Outcome::LeftForAdmin { .. } => "left for the admin",
            Outcome::LeftRemote { .. } => "left at the identity provider",
            Outcome::Kept { .. } => "kept",
        }
    }
    /// The explanation, when there is one.
    pub fn detail(&self) -> Option<String> {
        match self {
            Outcome::Done { detail } => detail.clone(),
            Outcome::AlreadyGone { detail } => Some(detail.clone()).filter(|d| !d.is_empty()),
            Outcome::Failed { why, next_step } => Some(format!("{why}. {next_step}")),
            Outcome::LeftForAdmin { why } | Outcome::LeftRemote { why } | Outcome::Kept { why } => {
                Some(why.clone())
            }
        }
    }
}
