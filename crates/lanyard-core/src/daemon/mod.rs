//! The background refresh engine (`lanyard daemon`, and the tray in-process).
//!
//! - [`engine`]: one timer for every server ([`queue::DueQueue`]), refresh ahead of expiry
//!   ([`policy::refresh_due`]), jittered backoff while the IdP is unreachable
//!   ([`policy::Backoff`]), `invalid_grant` → needs sign-in, `invalid_client` → one
//!   re-registration then needs sign-in. Generic over [`engine::Backend`] and [`engine::Clock`].
//! - [`status`]: per-server [`status::Status`], the [`status::Event`] stream and the status file
//!   `lanyard list` reads.
//! - [`instance`]: one engine per state directory.
//! - [`live`]: the production [`engine::Backend`] over the keychain tokens and the state file.
//!
//! Starting it (what the tray does):
//! ```ignore
//! let engine = lanyard_core::daemon::Daemon::start()?;   // inside a tokio runtime
//! let mut events = engine.subscribe();                   // Event::Status / Refreshed / …
//! let now = engine.statuses();                           // BTreeMap<server, Status>
//! engine.rescan();                                       // after add / login / remove
//! engine.shutdown().await;
//! ```

pub mod engine;
pub mod instance;
pub mod policy;
pub mod queue;
pub mod status;

pub use engine::{
    Backend, Clock, EngineConfig, EngineHandle, RefreshOutcome, ServerEntry, ServerState,
    SystemClock, TokenTimes,
};
pub use status::{Event, Status, StatusFile};

#[cfg(test)]
mod tests;
