//! The background refresh engine (`lanyard daemon`, and the tray in-process).
//!
//! - [`scheduler`]: one timer for every server ([`queue::DueQueue`]), refresh ahead of expiry
//!   ([`policy::refresh_due`]), jittered backoff while the IdP is unreachable
//!   ([`policy::Backoff`]), `invalid_grant` → needs sign-in, `invalid_client` → one
//!   re-registration then needs sign-in. Generic over [`scheduler::Backend`] and [`scheduler::Clock`].
//! - [`status`]: per-server [`status::Status`], the [`status::Event`] stream and the status file
//!   `lanyard list` reads.
//! - [`instance`]: one engine per state directory.
//! - [`live`]: the production [`scheduler::Backend`] over the keychain tokens and the state file.
//! - [`state_watch`]: a rescan when another process rewrites the state file.
//! - [`run`]: [`Daemon`], the engine wired to all of that plus that watcher.
//!
//! Starting it (what the tray does):
//! ```ignore
//! use lanyard_core::daemon::{Daemon, RefreshRunner};
//! // inside a multi-threaded tokio runtime; the helper is the bundled `lanyard` binary
//! let engine = Daemon::start(RefreshRunner::Helper { exe: lanyard_path })?;
//! let mut events = engine.subscribe();                   // Event::Status / Refreshed / …
//! let now = engine.statuses();                           // BTreeMap<server, Status>
//! engine.rescan();                                       // after add / login / remove
//! engine.shutdown().await;
//! ```

pub mod instance;
pub mod live;
pub mod policy;
pub mod queue;
pub mod run;
pub mod scheduler;
pub mod state_watch;
pub mod status;

pub use live::RefreshRunner;
pub use run::{Daemon, DaemonError, live_statuses, refresh_one};
pub use scheduler::{
    Backend, Clock, EngineConfig, EngineHandle, RefreshOutcome, ServerEntry, ServerState,
    SystemClock, TokenTimes,
};
pub use status::{Event, Status, StatusFile};

#[cfg(test)]
mod tests;
