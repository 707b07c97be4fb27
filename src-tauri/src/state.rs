//! The tray process's in-memory state and the one small preference file it owns.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use lanyard_core::daemon::Status as EngineStatus;

use crate::link::Open;
use crate::model::{Activity, ServerRow};

const ACTIVITY_CAP: usize = 200;

#[derive(Default)]
pub struct AppState {
    inner: Mutex<Inner>,
    /// Set to `true` to cancel a running add/sign-in (the wizard closed).
    cancel: Mutex<Option<watch::Sender<bool>>>,
    /// Wakes the engine loop: rescan now (after add, sign-in, connect, remove).
    pub kick: tokio::sync::Notify,
    /// The refresh engine's last statuses.
    statuses: Mutex<BTreeMap<String, EngineStatus>>,
    /// Servers whose refresh-failing notification was shown (once per outage).
    alerted: Mutex<BTreeSet<String>>,
    /// In the windows process: where activity lines go (the tray's log).
    sink: OnceLock<Sink>,
    /// In the tray: how a window is opened (in the windows process; see `winproc.rs`).
    opener: OnceLock<Opener>,
}

type Sink = Box<dyn Fn(&str, &str) + Send + Sync>;
pub type Opener = fn(&tauri::AppHandle, Open);

#[derive(Default)]
struct Inner {
    servers: Vec<ServerRow>,
    activity: VecDeque<Activity>,
    /// The sign-in in progress: server name and authorization URL.
    signin: Option<(String, url::Url)>,
}

impl AppState {
    pub fn servers(&self) -> Vec<ServerRow> {
        self.lock().servers.clone()
    }

    /// Replaces the server list; returns true when anything the tray shows changed.
    pub fn set_servers(&self, rows: Vec<ServerRow>) -> bool {
        let mut g = self.lock();
        let changed = g.servers != rows;
        g.servers = rows;
        changed
    }

    pub fn log(&self, kind: &str, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(kind, %message, "activity");
        if let Some(sink) = self.sink.get() {
            sink(kind, &message);
            return;
        }
        let mut g = self.lock();
        if g.activity.len() == ACTIVITY_CAP {
            g.activity.pop_front();
        }
        g.activity.push_back(Activity {
            at: Utc::now(),
            kind: kind.to_owned(),
            message,
        });
    }

    /// Sends every later activity line to `sink` instead of keeping it here.
    pub fn forward_log(&self, sink: impl Fn(&str, &str) + Send + Sync + 'static) {
        let _ = self.sink.set(Box::new(sink));
    }

    /// True the first time since [`AppState::clear_alert`] for `server`.
    pub fn first_alert(&self, server: &str) -> bool {
        self.alerted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(server.to_owned())
    }

    pub fn clear_alert(&self, server: &str) {
        self.alerted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(server);
    }

    pub fn set_opener(&self, opener: Opener) {
        let _ = self.opener.set(opener);
    }

    /// Opens a window (in the tray: through the windows process).
    pub fn open_window(&self, app: &tauri::AppHandle, what: Open) {
        match self.opener.get() {
            Some(open) => open(app, what),
            None => tracing::warn!("no window opener set; {what:?} not opened"),
        }
    }

    pub fn activity(&self) -> Vec<Activity> {
        self.lock().activity.iter().rev().cloned().collect()
    }

    pub fn set_statuses(&self, s: BTreeMap<String, EngineStatus>) {
        *self.statuses.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    pub fn statuses(&self) -> BTreeMap<String, EngineStatus> {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_signin(&self, s: Option<(String, url::Url)>) {
        self.lock().signin = s;
    }

    pub fn signin(&self) -> Option<(String, url::Url)> {
        self.lock().signin.clone()
    }

    /// Installs a fresh cancel switch for a sign-in flow and returns its receiver. A flow
    /// already running is cancelled: one sign-in at a time.
    pub fn cancel_switch(&self) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let mut slot = self.cancel.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.replace(tx) {
            let _ = old.send(true);
        }
        rx
    }

    /// Cancels the running sign-in flow, if any (its loopback listener stops).
    pub fn cancel_flow(&self) {
        let slot = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = slot {
            let _ = tx.send(true);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that
        // matters (each method does one assignment), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Per-server choices the tray remembers: which servers sign in through the system browser.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Prefs {
    #[serde(default)]
    pub system_browser: BTreeSet<String>,
}

impl Prefs {
    fn path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("lanyard").join("tray.json"))
    }

    pub fn load() -> Prefs {
        Self::path()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Written atomically (`lanyard_core::fsutil`) so a crash never leaves half a file.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = Self::path() else {
            return Ok(());
        };
        lanyard_core::fsutil::write_json(&path, self).map_err(|e| e.source)
    }

    pub fn prefers_system_browser(server: &str) -> bool {
        Prefs::load().system_browser.contains(server)
    }

    pub fn remember_system_browser(server: &str) {
        let mut p = Prefs::load();
        if p.system_browser.insert(server.to_owned())
            && let Err(e) = p.save()
        {
            tracing::warn!("could not save tray preferences: {e}");
        }
    }
}
