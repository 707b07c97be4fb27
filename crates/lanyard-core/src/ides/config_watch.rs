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
//! Purely event-driven, so an idle daemon never wakes up for it (issue 4: idle CPU is zero
//! between refreshes). What a periodic pass would otherwise have to catch:
//! - a folder that does not exist yet (`~/.cursor` before Cursor is installed, or deleted and
//!   created again): its nearest existing ancestor is watched instead, and when the folder
//!   appears the watch moves down to it and its files are reconciled at once;
//! - a file replaced by a rename: the folder is watched, not the file;
//! - a `lanyard connect` in another process (new file, new folder): the records file
//!   (`ide-connections.json`) is watched and the watches re-armed when it changes;
//! - a server's URL or header changed in `state.json`: a change of its content runs a full pass;
//! - a refreshed token (static mode): whoever refreshes pokes the watcher ([`WatchHandle::poke`];
//!   the daemon does after each refresh, including one another process made before it).

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::ides::IdeError;
use crate::ides::manage::{EntryState, Manager};
pub use crate::ides::source::ParamsSource;

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
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            settle: Duration::from_millis(50),
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

/// The nearest folder of `dir` (itself or an ancestor) that exists: what can be watched now.
fn nearest_existing(dir: &Path) -> Option<&Path> {
    dir.ancestors().find(|a| a.is_dir())
}

/// The kernel watches: the state dir (records and `state.json`) and, for each config file, its
/// folder — or, while that folder does not exist, the nearest existing ancestor.
struct Watches {
    watcher: notify::RecommendedWatcher,
    state_dir: PathBuf,
    /// The config files of the recorded connections.
    files: Vec<PathBuf>,
    /// Folders with a watch set.
    armed: BTreeSet<PathBuf>,
}

impl Watches {
    /// Where the watches belong: each folder, or its nearest existing ancestor.
    fn wanted(&self) -> BTreeSet<PathBuf> {
        std::iter::once(self.state_dir.as_path())
            .chain(self.files.iter().filter_map(|f| f.parent()))
            .filter_map(nearest_existing)
            .map(Path::to_path_buf)
            .collect()
    }

    /// Re-reads the records and moves the watches to where they belong now. Returns the config
    /// folders that just got their own watch: their files may have changed unseen.
    fn refresh(&mut self, manager: &Manager) -> BTreeSet<PathBuf> {
        if let Ok(f) = manager.watched_files() {
            self.files = f;
        }
        let mut fresh = BTreeSet::new();
        let mut wanted = self.wanted();
        // A folder created between looking and arming would go unseen: look again until stable.
        for _ in 0..8 {
            let stale: Vec<PathBuf> = self.armed.difference(&wanted).cloned().collect();
            for dir in stale {
                let _ = self.watcher.unwatch(&dir);
                self.armed.remove(&dir);
            }
            let new: Vec<PathBuf> = wanted.difference(&self.armed).cloned().collect();
            for dir in new {
                match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        if self.files.iter().any(|f| f.parent() == Some(dir.as_path())) {
                            fresh.insert(dir.clone());
                        }
                        self.armed.insert(dir);
                    }
                    Err(e) => tracing::debug!(dir = %dir.display(), "cannot watch: {e}"),
                }
            }
            let again = self.wanted();
            if again == wanted {
                break;
            }
            wanted = again;
        }
        fresh
    }
}

/// A fingerprint of `state.json`'s content: only a real change (not a rewrite of the same
/// bytes) runs a full pass.
fn fingerprint(file: &Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(file).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

/// Watches and reconciles until `shutdown` resolves. `on_event` sees every non-trivial outcome;
/// each message on `pokes` runs a full pass at once (e.g. after a token refresh, so a static
/// token is rewritten right away). Between events nothing runs: there is no timer.
pub async fn run(
    manager: Manager,
    source: &dyn ParamsSource,
    opts: WatchOptions,
    mut on_event: impl FnMut(&WatchEvent),
    mut pokes: mpsc::UnboundedReceiver<()>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), IdeError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for p in event.paths {
            let _ = tx.send(p);
        }
    })
    .map_err(|e| IdeError::Watch(e.to_string()))?;
    let state_file = manager.records.paths().state_file();
    let mut watches = Watches {
        watcher,
        state_dir: manager.records.paths().dir().to_path_buf(),
        files: Vec::new(),
        armed: BTreeSet::new(),
    };
    watches.refresh(&manager);
    let mut state_seen = fingerprint(&state_file);
    for e in reconcile(&manager, source, None).await? {
        if e.found != EntryState::Ok {
            on_event(&e);
        }
    }

    tokio::pin!(shutdown);
    let mut pokes_open = true;
    loop {
        let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
        let mut full = false;
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            poke = pokes.recv(), if pokes_open => match poke {
                Some(()) => full = true,
                None => pokes_open = false,
            },
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
        if changed.contains(&state_file) {
            let now = fingerprint(&state_file);
            if now != state_seen {
                state_seen = now;
                full = true;
            }
        }
        // Records changed (a `lanyard connect` meanwhile), a folder appeared or went away: the
        // watches follow. A config folder watched only now may hold changes no event told of.
        let fresh = if changed.is_empty() && !full {
            BTreeSet::new()
        } else {
            watches.refresh(&manager)
        };
        if full {
            for e in reconcile(&manager, source, None).await? {
                if e.found != EntryState::Ok {
                    on_event(&e);
                }
            }
            continue;
        }
        // Any event in a config folder may be a rename onto one of our files.
        let targets: BTreeSet<PathBuf> = watches
            .files
            .iter()
            .filter(|f| {
                f.parent().is_some_and(|dir| fresh.contains(dir))
                    || changed.iter().any(|c| c == *f || c.parent() == f.parent())
            })
            .cloned()
            .collect();
        for file in targets {
            for e in reconcile(&manager, source, Some(&file)).await? {
                if e.found != EntryState::Ok {
                    on_event(&e);
                }
            }
        }
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
                let source = match super::source::LiveSource::open() {
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

#[cfg(test)]
mod tests {
    use super::nearest_existing;

    #[test]
    fn a_missing_folder_is_watched_through_its_nearest_existing_ancestor() {
        let home = tempfile::tempdir().unwrap();
        let cursor = home.path().join(".cursor");
        assert_eq!(nearest_existing(&cursor), Some(home.path()));
        assert_eq!(
            nearest_existing(&cursor.join("deeper/still")),
            Some(home.path())
        );
        std::fs::create_dir(&cursor).unwrap();
        assert_eq!(nearest_existing(&cursor), Some(cursor.as_path()));
        // A file where a folder is expected is not a folder to watch.
        let file = home.path().join("plain");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(nearest_existing(&file.join("sub")), Some(home.path()));
    }
}
