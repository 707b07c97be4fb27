//! The IDE config watcher: keeps Lanyard's entries right while the assistants (and people) edit
//! their files.
//!
//! Each recorded config file's folder is watched with `notify` (editors and the assistants replace
//! files by rename, so watching the file itself would lose track). On a change the file is re-read
//! and every connection in it reconciled ([`Manager::reconcile`]):
//! - our own stale content (a static token after a refresh, a moved `lanyard` binary, a changed
//!   port or URL) is rewritten at once;
//! - a removal of our entry is recorded as "disconnected in Cursor" and never undone;
//! - a file that is already right is never rewritten — which is also why our own writes, which
//!   come back here as events, never cause another write.
//!
//! A slow periodic pass (default 15 s) catches what no event announces: a static token refreshed
//! by another process, a watch that could not be set because the folder did not exist yet.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::ides::manage::{EntryState, Manager};
use crate::ides::records::Connection;
use crate::ides::{EntryParams, IdeError};

/// What we would write for a connection now (URL from the state, the current binary, the
/// current static token…). `None`: skip it this time (server gone, token unavailable).
pub trait ParamsSource {
    fn params<'a>(
        &'a self,
        c: &'a Connection,
    ) -> Pin<Box<dyn Future<Output = Option<EntryParams>> + 'a>>;
}

/// One reconcile outcome, for logs and the tray.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub server: String,
    pub ide: crate::ides::Ide,
    pub file: PathBuf,
    pub found: EntryState,
}

/// Settings of the watch loop.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long to gather events before reconciling (editors write in bursts).
    pub settle: Duration,
    /// The periodic safety pass.
    pub period: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            settle: Duration::from_millis(50),
            period: Duration::from_secs(15),
        }
    }
}

/// Reconciles every connection of `file` (all files when `None`). Returns what was found.
pub async fn reconcile(
    manager: &Manager,
    source: &dyn ParamsSource,
    file: Option<&Path>,
) -> Result<Vec<WatchEvent>, IdeError> {
    let records = manager.records.load()?;
    let mut out = Vec::new();
    for c in records
        .connections
        .iter()
        .filter(|c| file.is_none_or(|f| c.file == f))
    {
        if matches!(
            c.status,
            crate::ides::records::ConnectionStatus::RemovedByUser { .. }
        ) {
            continue;
        }
        let Some(params) = source.params(c).await else {
            continue;
        };
        match manager.reconcile(c, &params) {
            Ok(found) => {
                if found != EntryState::Ok {
                    tracing::info!(server = %c.server, ide = %c.ide, file = %c.file.display(), ?found, "reconciled");
                }
                out.push(WatchEvent {
                    server: c.server.clone(),
                    ide: c.ide,
                    file: c.file.clone(),
                    found,
                });
            }
            Err(e) => tracing::warn!(file = %c.file.display(), "could not reconcile: {e}"),
        }
    }
    Ok(out)
}

/// Watches and reconciles until `shutdown` resolves. `on_event` sees every non-trivial outcome;
/// each message on `pokes` runs a full pass at once (e.g. after a token refresh, so a static
/// token is rewritten right away).
pub async fn run(
    manager: Manager,
    source: &dyn ParamsSource,
    opts: WatchOptions,
    mut on_event: impl FnMut(&WatchEvent),
    mut pokes: mpsc::UnboundedReceiver<()>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), IdeError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for p in event.paths {
            let _ = tx.send(p);
        }
    })
    .map_err(|e| IdeError::Watch(e.to_string()))?;
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut files: Vec<PathBuf> = Vec::new();

    let refresh_watches = |watcher: &mut notify::RecommendedWatcher,
                           watched: &mut BTreeSet<PathBuf>,
                           files: &mut Vec<PathBuf>| {
        if let Ok(f) = manager.watched_files() {
            *files = f;
        }
        for dir in files.iter().filter_map(|f| f.parent()) {
            if !watched.contains(dir)
                && dir.is_dir()
                && watcher.watch(dir, RecursiveMode::NonRecursive).is_ok()
            {
                watched.insert(dir.to_path_buf());
            }
        }
    };
    refresh_watches(&mut watcher, &mut watched, &mut files);
    for e in reconcile(&manager, source, None).await? {
        if e.found != EntryState::Ok {
            on_event(&e);
        }
    }

    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(opts.period);
    tick.tick().await;
    loop {
        let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tick.tick() => {
                refresh_watches(&mut watcher, &mut watched, &mut files);
                changed.extend(files.iter().cloned());
            }
            Some(()) = pokes.recv() => {
                refresh_watches(&mut watcher, &mut watched, &mut files);
                changed.extend(files.iter().cloned());
            }
            Some(p) = rx.recv() => {
                changed.insert(p);
                // Gather the rest of the burst.
                let deadline = tokio::time::sleep(opts.settle);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        Some(p) = rx.recv() => { changed.insert(p); }
                    }
                }
            }
        }
        // Any event in a watched folder may be a rename onto one of our files.
        let targets: BTreeSet<PathBuf> = files
            .iter()
            .filter(|f| changed.iter().any(|c| c == *f || c.parent() == f.parent()))
            .cloned()
            .collect();
        for file in targets {
            for e in reconcile(&manager, source, Some(&file)).await? {
                if e.found != EntryState::Ok {
                    on_event(&e);
                }
            }
        }
        // Records may have gained a file in a new folder (a `lanyard connect` meanwhile).
        refresh_watches(&mut watcher, &mut watched, &mut files);
    }
}

/// The watcher on a thread of its own (its futures stay on one thread), for the daemon and the
/// tray: state, keychain and configs from the environment. Stops when the handle is dropped.
pub struct WatchHandle {
    pokes: mpsc::UnboundedSender<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WatchHandle {
    /// Reconcile every connection now (call it after a token refresh).
    pub fn poke(&self) {
        let _ = self.pokes.send(());
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Not joined: a reconcile waiting on the keychain must not hold up a daemon's exit.
        drop(self.thread.take());
    }
}

/// Starts the watcher for the user's Lanyard (see [`WatchHandle`]).
pub fn spawn_live(
    on_event: impl FnMut(&WatchEvent) + Send + 'static,
) -> Result<WatchHandle, crate::Error> {
    let manager = Manager::new(
        crate::ides::IdeEnv::from_env()?,
        crate::ides::records::RecordsFile::new(crate::paths::Paths::from_env()?),
    );
    let (poke_tx, poke_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("lanyard-ide-watch".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return tracing::warn!("IDE watcher: no runtime ({e})"),
            };
            rt.block_on(async move {
                let source = match crate::ides::source::LiveSource::open() {
                    Ok(s) => s,
                    Err(e) => return tracing::warn!("IDE watcher: {}", e.what()),
                };
                let shutdown = async move {
                    let _ = stop_rx.await;
                };
                if let Err(e) = run(
                    manager,
                    &source,
                    WatchOptions::default(),
                    on_event,
                    poke_rx,
                    shutdown,
                )
                .await
                {
                    tracing::warn!("IDE watcher stopped: {e}");
                }
            });
        })
        .map_err(|e| IdeError::Watch(e.to_string()))?;
    Ok(WatchHandle {
        pokes: poke_tx,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}
