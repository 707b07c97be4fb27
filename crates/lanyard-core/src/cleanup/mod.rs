//! Cleanup: undo everything Lanyard did for this machine and user (`lanyard uninstall`, the
//! tray's "Remove everything and quit…", `lanyard clients prune`).
//!
//! A [`Plan`] is computed from the state file, the keychain and the assistants' connection
//! records; [`Cleanup::execute`] runs it item by item, in this order:
//!
//! 1. revoke each server's refresh and access token at its AS (RFC 7009) when it has a
//!    revocation endpoint, then delete the tokens from the keychain;
//! 2. delete each client Lanyard registered (RFC 7592 `DELETE registration_client_uri` with the
//!    newest `registration_access_token`), never a pre-registered or CIMD client id; an AS
//!    without RFC 7592 is reported with the client id for the admin;
//! 3. remove Lanyard's entries from every assistant config (through [`crate::ides`], every other
//!    byte kept);
//! 4. delete the remaining keychain items, the autostart entry, the AppImage's desktop
//!    integration (the `lanyard` command link into the tray's data, the `lanyard://` handler
//!    entry and its association in `mimeapps.list`) and the tray's data;
//! 5. delete the state directory — last, and only when nothing else is left.
//!
//! Every item reports [`Outcome`]: done, already gone, failed (why, what next), left for the
//! admin, or kept (because an earlier item failed and it is still needed). Progress is recorded
//! as it happens by removing what is done from the state and the keychain (a revoked server's
//! tokens, a deleted registration and its token), so a later run computes a plan of exactly
//! what is left and continues where the last one stopped.

mod desktop;
mod exec;
mod idp;
mod keychain;
mod local;
mod outcome;
mod plan;
mod remote;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_revoke;
mod user_dirs;

pub use exec::{Report, Step, StepPhase, remove_everything};
pub use outcome::Outcome;
pub use plan::{ClientView, Item, Plan};

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::UserFacing;
use crate::ides::IdeEnv;
use crate::paths::Paths;
use crate::servers::StateFile;
use crate::tokens::SecretStore;

/// Why a cleanup command stopped or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("`lanyard uninstall` needs confirmation, and there is no terminal to ask on")]
    NotConfirmed,
    #[error("nothing was removed: you did not confirm")]
    Declined,
    #[error("{failed} of {total} cleanup steps are not finished; failed: {summary}")]
    Incomplete {
        failed: usize,
        total: usize,
        summary: String,
    },
    /// Everything on this machine is done; these things stay at identity providers (tokens
    /// that could not be revoked, clients only an admin can delete). Not a failure: the CLI
    /// prints them as notes and exits with [`EXIT_REMOTE_LEFTOVERS`].
    #[error(
        "Lanyard removed everything on this machine; {} thing(s) stay at the identity provider: {}",
        .items.len(),
        .items.join("; ")
    )]
    RemoteLeftovers { items: Vec<String> },
    #[error("Lanyard could not read what it has to clean up: {0}")]
    Unreadable(String),
}

impl UserFacing for CleanupError {
    fn code(&self) -> &'static str {
        match self {
            CleanupError::NotConfirmed => "cleanup.not-confirmed",
            CleanupError::Declined => "cleanup.declined",
            CleanupError::Incomplete { .. } => "cleanup.incomplete",
            CleanupError::RemoteLeftovers { .. } => "cleanup.remote-leftovers",
            CleanupError::Unreadable(..) => "cleanup.unreadable",
        }
    }
    fn next_step(&self) -> String {
        match self {
            CleanupError::NotConfirmed => {
                "Pass --yes to remove everything without a question (or --dry-run to only see the plan).".into()
            }
            CleanupError::Declined => {
                "Run `lanyard uninstall --dry-run` to see what would be removed.".into()
            }
            CleanupError::Incomplete { .. } => "Fix what the failed steps above say (usually: the identity provider must be reachable), then run the same command again: it continues where it stopped.".into(),
            CleanupError::RemoteLeftovers { .. } => "Send the client ids above to your identity provider's admin, who can delete them; tokens that could not be revoked stay usable until they expire. Lanyard has forgotten all of it on this machine, so running it again finds nothing left.".into(),
            CleanupError::Unreadable(_) => "Check the permissions of Lanyard's state directory, or move it aside and remove the leftovers by hand (see docs/uninstall.md).".into(),
        }
    }
}

/// Exit code of `lanyard uninstall` / `lanyard clients prune`: everything is done on this
/// machine, and what stays at identity providers is listed (tokens not revoked, clients not
/// deleted). 0 = everything done; 1 = something on this machine is left (run again).
pub const EXIT_REMOTE_LEFTOVERS: u8 = 3;

/// Whether a run is an uninstall (forget everything) or a prune (delete unused registrations,
/// keep the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Uninstall,
    Prune,
}

/// What the cleanup works on: the state directory, the keychain, the assistants' configs and
/// the user's home (autostart entry, the tray's data).
pub struct Cleanup {
    pub(crate) paths: Paths,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) ide_env: Option<IdeEnv>,
    /// Search the OS keychain for items of this install that the state does not name.
    pub(crate) sweep_os_keychain: bool,
    /// Autostart entries, app data and the AppImage's desktop integration to remove (found at
    /// plan time).
    pub(crate) user_dirs: user_dirs::UserDirs,
    /// `--force`: give up on remote items that failed (IdP unreachable, 5xx) — forget their
    /// tokens and registrations here and list them as left at the identity provider, so the
    /// local cleanup can finish.
    pub(crate) force: bool,
    http: std::sync::OnceLock<reqwest::Client>,
}

impl Cleanup {
    /// The current user's Lanyard: state dir from the environment, the secret store the user
    /// chose (the OS keychain unless they opted in to the file store), the assistants' configs
    /// under `$HOME`. The OS keychain is searched for leftovers of this install either way.
    pub fn for_user() -> Result<Cleanup, crate::Error> {
        let paths = Paths::from_env()?;
        let secrets = crate::tokens::store_choice::open(&paths)?;
        let mut c = Cleanup::new(paths, secrets, IdeEnv::from_env().ok());
        c.sweep_os_keychain = true;
        c.user_dirs = user_dirs::UserDirs::from_env();
        Ok(c)
    }

    /// Explicit parts (tests, the tray). No OS keychain search, no autostart / app data.
    pub fn new(paths: Paths, secrets: Arc<dyn SecretStore>, ide_env: Option<IdeEnv>) -> Cleanup {
        Cleanup {
            paths,
            secrets,
            ide_env,
            sweep_os_keychain: false,
            user_dirs: user_dirs::UserDirs::default(),
            force: false,
            http: std::sync::OnceLock::new(),
        }
    }

    /// Also remove these autostart entries / app data directories when present.
    pub fn with_user_dirs(
        mut self,
        autostart_dir: Option<PathBuf>,
        app_dirs: Vec<PathBuf>,
    ) -> Self {
        self.user_dirs.autostart_dir = autostart_dir;
        self.user_dirs.app_dirs = app_dirs;
        self
    }

    /// `--force`: finish the local cleanup even when an identity provider cannot be reached;
    /// what could not be done there is reported as left at the identity provider.
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub(crate) fn state_file(&self) -> StateFile {
        StateFile::new(self.paths.clone())
    }

    pub(crate) fn http(&self) -> Result<&reqwest::Client, crate::http::HttpError> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let c = crate::http::oauth_client()?;
        Ok(self.http.get_or_init(|| c))
    }

    /// True when secrets may exist: the state directory holds an install id (keychain items are
    /// named by it; asking the keychain without one would create a new id — and the directory),
    /// or the opt-in file store's file.
    pub(crate) fn has_secrets(&self) -> bool {
        self.paths.install_id_file().exists()
            || crate::tokens::file_store::FileStore::path(&self.paths).exists()
    }
}
