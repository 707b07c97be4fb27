//! What the engine knows about each server, as the tray (events) and `lanyard list` (a small
//! status file beside the state file) show it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};

/// Per-server status. Each variant carries exactly what its sentence needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// The access token is valid; the engine will refresh it ahead of `until` (at
    /// `next_refresh`). A token that cannot be refreshed (the IdP issued no refresh token) has
    /// `next_refresh` at `until`: then the engine looks again, and the server needs sign-in.
    Fresh {
        until: DateTime<Utc>,
        next_refresh: DateTime<Utc>,
    },
    /// Signed in with a token the IdP gave no lifetime: nothing to refresh.
    NoExpiry,
    /// A refresh is in flight.
    Refreshing {
        /// Expiry of the token in hand (still usable until then), when known.
        until: Option<DateTime<Utc>>,
    },
    /// The IdP could not be reached (or answered 5xx) since `since`; the old token stays in use
    /// until `until`, and the next attempt is at `retry_at`.
    Unreachable {
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        retry_at: DateTime<Utc>,
        reason: String,
    },
    /// The grant is gone (revoked, expired refresh token, or the OAuth client was deleted):
    /// only a new sign-in helps. The engine no longer touches this server until it changes.
    NeedsSignIn { reason: String },
    /// The engine could not read this server's token (e.g. keychain locked); it retries later.
    Error {
        reason: String,
        retry_at: DateTime<Utc>,
    },
}

impl Status {
    /// Short label for a column: "fresh until 14:05", "refreshing", "needs sign-in",
    /// "IdP unreachable since 13:02".
    pub fn label(&self) -> String {
        match self {
            Status::Fresh { until, .. } => format!("fresh until {}", hhmm(*until)),
            Status::NoExpiry => "signed in (no expiry)".to_owned(),
            Status::Refreshing { .. } => "refreshing".to_owned(),
            Status::Unreachable { since, .. } => format!("IdP unreachable since {}", hhmm(*since)),
            Status::NeedsSignIn { .. } => "needs sign-in".to_owned(),
            Status::Error { reason, .. } => format!("error: {reason}"),
        }
    }

    /// [`Self::label`] with the reason, when there is one (for `lanyard list`).
    pub fn detail(&self) -> String {
        match self {
            Status::NeedsSignIn { reason } => format!("needs sign-in ({reason})"),
            Status::Unreachable {
                reason,
                retry_at,
                until,
                ..
            } => {
                let token = match until {
                    Some(u) if *u > Utc::now() => {
                        format!("the current token stays in use until {}", hhmm_ss(*u))
                    }
                    _ => "the access token has expired, the sign-in is kept".to_owned(),
                };
                format!(
                    "{} ({reason}; next try at {}; {token})",
                    self.label(),
                    hhmm_ss(*retry_at)
                )
            }
            other => other.label(),
        }
    }

    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Status::NeedsSignIn { .. })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

fn hhmm_ss(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// What happened, for subscribers (the tray). Sent on every status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `server`'s status changed to `status`.
    Status { server: String, status: Status },
    /// A refresh succeeded (a new token is in the keychain). `at_idp` is false when another
    /// process had refreshed already and the engine only picked up its token.
    Refreshed {
        server: String,
        until: DateTime<Utc>,
        at_idp: bool,
    },
    /// The OAuth client was deleted at the IdP and a new one was registered for `issuer`;
    /// the user has to sign in again once.
    Reregistered { server: String, issuer: String },
    /// The server is no longer managed.
    Removed { server: String },
}

/// The status file: written by the engine, read by `lanyard list` and the tray.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusFile {
    /// Process id of the engine that wrote it.
    pub pid: u32,
    pub written_at: Option<DateTime<Utc>>,
    pub servers: BTreeMap<String, Status>,
}

/// File name of the status file inside the state directory.
pub const STATUS_FILE: &str = "daemon-status.json";

pub fn status_path(state_dir: &Path) -> PathBuf {
    state_dir.join(STATUS_FILE)
}

impl StatusFile {
    /// Read the status file; `None` when there is none or it cannot be parsed (a status is a
    /// hint for display, never a reason to fail a command).
    pub fn read(state_dir: &Path) -> Option<StatusFile> {
        let bytes = std::fs::read(status_path(state_dir)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The statuses of the engine running now, `None` when no engine runs (then the file, if
    /// any, is stale and `lanyard list` should judge from the tokens alone).
    pub fn read_live(state_dir: &Path) -> Option<StatusFile> {
        if !super::instance::is_running(state_dir) {
            return None;
        }
        StatusFile::read(state_dir)
    }

    /// Replace the status file atomically ([`crate::fsutil::write_json`]).
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        crate::fsutil::write_json(&status_path(state_dir), self).map_err(|e| e.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_the_issue_says() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        assert!(
            Status::Fresh {
                until: t,
                next_refresh: t
            }
            .label()
            .starts_with("fresh until ")
        );
        assert_eq!(Status::Refreshing { until: None }.label(), "refreshing");
        assert_eq!(
            Status::NeedsSignIn { reason: "x".into() }.label(),
            "needs sign-in"
        );
        let u = Status::Unreachable {
            since: t,
            until: None,
            retry_at: t,
            reason: "connection refused".into(),
        };
        assert!(u.label().starts_with("IdP unreachable since "));
    }

    #[test]
    fn status_file_round_trips_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(StatusFile::read(dir.path()), None);
        let mut f = StatusFile {
            pid: 7,
            ..Default::default()
        };
        f.servers.insert(
            "a".into(),
            Status::NeedsSignIn {
                reason: "revoked".into(),
            },
        );
        f.write(dir.path()).expect("write");
        assert_eq!(StatusFile::read(dir.path()), Some(f));
    }
}
