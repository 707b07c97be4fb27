//! The engine wired to the real Lanyard: state directory, keychain, file watcher, instance lock.
//! What `lanyard daemon` runs, and what the tray starts in-process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::instance::InstanceLock;
use super::live::{LiveBackend, RefreshRunner};
use super::scheduler::{self, EngineConfig, EngineHandle, SystemClock};
use super::state_watch;
use super::status::{Event, Status};
use crate::agent::AgentServer;
use crate::error::UserFacing;
use crate::paths::{Paths, PathsError};
use crate::servers::StateFile;
use crate::tokens::SecretStore;
use crate::tokens::store_choice::{self, StoreChoiceError};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(
        "Lanyard's background engine already runs for {dir} (the tray app or `lanyard daemon`)"
    )]
    AlreadyRunning { dir: PathBuf },
    #[error("Lanyard's background engine could not use {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Paths(#[from] PathsError),
    #[error(transparent)]
    Store(#[from] StoreChoiceError),
}

impl UserFacing for DaemonError {
    fn code(&self) -> &'static str {
        match self {
            DaemonError::AlreadyRunning { .. } => "daemon.already-running",
            DaemonError::Io { .. } => "daemon.io",
            DaemonError::Paths(e) => e.code(),
            DaemonError::Store(e) => e.code(),
        }
    }
    fn next_step(&self) -> String {
        match self {
            DaemonError::AlreadyRunning { .. } => "Nothing to do: the running engine keeps the tokens fresh. Stop it first if you want to run another one.".into(),
            DaemonError::Io { dir, .. } => format!(
                "Check that {} is writable by you, then start it again.",
                dir.display()
            ),
            DaemonError::Paths(e) => e.next_step(),
            DaemonError::Store(e) => e.next_step(),
        }
    }
}

/// The state directory and the secret store the user chose (the OS keychain unless they opted
/// in to the file store), from the environment.
pub fn from_env() -> Result<(Paths, Arc<dyn SecretStore>), DaemonError> {
    let paths = Paths::from_env()?;
    let secrets = store_choice::open(&paths)?;
    Ok((paths, secrets))
}

/// The statuses of the engine running for this user's state directory (the `lanyard daemon`
/// or the tray), for `lanyard list`; `None` when no engine runs.
pub fn live_statuses() -> Option<BTreeMap<String, Status>> {
    let paths = Paths::from_env().ok()?;
    super::status::StatusFile::read_live(paths.dir()).map(|f| f.servers)
}

/// One refresh of `server` in this process, as `lanyard daemon --refresh-one` runs it for the
/// engine and every command (see [`crate::tokens::detached`]). `want`: the token to replace.
pub async fn refresh_one(
    server: &str,
    want: Option<crate::tokens::fresh::Want>,
) -> Result<super::scheduler::RefreshOutcome, DaemonError> {
    let (paths, secrets) = from_env()?;
    crate::enterprise::install();
    let backend = LiveBackend::new(StateFile::new(paths), secrets, RefreshRunner::InProcess);
    Ok(backend.refresh_in_process(server, want).await)
}

/// The instance lock, waiting a moment for an engine that was just killed: until the refresh
/// helper it was spawning has exec'd, that child briefly shares the lock.
fn acquire_instance_lock(dir: &std::path::Path) -> Result<InstanceLock, DaemonError> {
    for attempt in 0..20 {
        match InstanceLock::try_acquire(dir) {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) if attempt < 19 => std::thread::sleep(std::time::Duration::from_millis(100)),
            Ok(None) => break,
            Err(source) => {
                return Err(DaemonError::Io {
                    dir: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
    Err(DaemonError::AlreadyRunning {
        dir: dir.to_path_buf(),
    })
}

/// Whatever the engine reports about a server (refreshed, signed out, removed…) makes the
/// agent drop the token it holds for it, so it never hands out one the engine replaced.
fn forget_on_events(
    agent: std::sync::Weak<AgentServer>,
    mut events: broadcast::Receiver<Event>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let event = events.recv().await;
            let Some(agent) = agent.upgrade() else { return };
            match event {
                // A token that is fresh, or in hand while a refresh runs, is the one held: its
                // replacement comes as `Refreshed` (and a sign-in or sign-out rewrites the state
                // file, which the agent checks). Forgetting here cost a keychain read per scan.
                Ok(Event::Status {
                    status: Status::Fresh { .. } | Status::NoExpiry | Status::Refreshing { .. },
                    ..
                }) => {}
                Ok(
                    Event::Status { server, .. }
                    | Event::Refreshed { server, .. }
                    | Event::Reregistered { server, .. }
                    | Event::Removed { server },
                ) => agent.forget(&server),
                // Missed events: forget everything rather than guess which.
                Err(broadcast::error::RecvError::Lagged(_)) => agent.forget_all(),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// A running engine with everything it needs. Dropping it stops nothing in flight cleanly:
/// call [`Daemon::shutdown`].
pub struct Daemon {
    // Before `handle`: the sockets close before the engine stops.
    _agent: Option<Arc<AgentServer>>,
    _forgetter: Option<tokio::task::JoinHandle<()>>,
    handle: EngineHandle,
    _watcher: Option<notify::RecommendedWatcher>,
    _lock: InstanceLock,
    dir: PathBuf,
}

impl Daemon {
    /// Start on the state directory from the environment, with the OS keychain. Must be called
    /// inside a multi-threaded tokio runtime. `runner`: [`RefreshRunner::Helper`] with the path
    /// of the `lanyard` binary (crash-safe rotation), or [`RefreshRunner::InProcess`].
    pub fn start(runner: RefreshRunner) -> Result<Daemon, DaemonError> {
        let (paths, secrets) = from_env()?;
        Daemon::start_with(paths, secrets, runner, EngineConfig::default())
    }

    /// Start with explicit paths, secret store and tunables (`config.state_dir` is set here).
    pub fn start_with(
        paths: Paths,
        secrets: Arc<dyn SecretStore>,
        runner: RefreshRunner,
        mut config: EngineConfig,
    ) -> Result<Daemon, DaemonError> {
        paths.ensure_dir()?;
        crate::enterprise::install();
        let dir = paths.dir().to_path_buf();
        let lock = acquire_instance_lock(&dir)?;
        config.state_dir = Some(dir.clone());
        let agent = match AgentServer::start(StateFile::new(paths.clone()), secrets.clone()) {
            Ok(a) => Some(Arc::new(a)),
            Err(e) => {
                tracing::warn!("{} {}", e.what(), e.next_step());
                None
            }
        };
        let backend = LiveBackend::new(StateFile::new(paths), secrets, runner);
        let watched = crate::daemon::scheduler::Backend::watch_paths(&backend);
        let handle = scheduler::start(backend, SystemClock, config);
        let watcher = match state_watch::watch_files(&watched, handle.rescan_trigger()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "cannot watch {} for changes ({e}); call rescan() after changes",
                    dir.display()
                );
                None
            }
        };
        let forgetter = agent
            .as_ref()
            .map(|a| forget_on_events(Arc::downgrade(a), handle.subscribe()));
        tracing::info!("refresh engine started on {}", dir.display());
        Ok(Daemon {
            _agent: agent,
            _forgetter: forgetter,
            handle,
            _watcher: watcher,
            _lock: lock,
            dir,
        })
    }

    /// Every status change and refresh from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.handle.subscribe()
    }

    /// The current status of every server.
    pub fn statuses(&self) -> BTreeMap<String, Status> {
        self.handle.statuses()
    }

    /// Look at the servers and tokens again now (the watcher does it for state-file changes).
    pub fn rescan(&self) {
        self.handle.rescan()
    }

    /// The state directory it runs on.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Stop cleanly: no new refreshes, those in flight finish (bounded), status file written.
    pub async fn shutdown(self) {
        if let Some(f) = &self._forgetter {
            f.abort();
        }
        drop(self._agent);
        self.handle.shutdown().await;
    }
}
