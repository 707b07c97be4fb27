//! The windows process's side of the link to the tray (`link.rs`): requests to the tray and
//! their answers, activity lines and "changed" notes sent up, the tray's open requests read
//! from stdin, and the exit rule: no window open and no flow running → ask the tray, which
//! says exit unless it sent an open request meanwhile. The tray ending (stdin closed) ends it too.

use std::collections::HashMap;
use std::io::{BufReader, Stdout};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tauri::{AppHandle, Manager};
use tokio::sync::oneshot;

use crate::link::{self, Call, Open, ToTray, ToWindows};
use crate::model::UiError;

type Pending = oneshot::Sender<Result<serde_json::Value, UiError>>;

pub struct Peer {
    out: Mutex<Stdout>,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    /// Open requests received so far (echoed in `Idle`).
    opens: AtomicU64,
    /// Flows running (add, sign in again): the process stays while one runs without a window.
    busy: AtomicUsize,
}

impl Peer {
    pub fn new() -> Peer {
        Peer {
            out: Mutex::new(std::io::stdout()),
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            opens: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    pub fn send(&self, msg: &ToTray) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = link::send(&mut *out, msg) {
            tracing::debug!("the tray did not take a message: {e}");
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn gone() -> UiError {
    UiError::new(
        "tray.link",
        "Lanyard's tray is not answering.",
        "Quit Lanyard and start it again.",
    )
}

/// Asks the tray; the answer as JSON.
pub async fn request(app: &AppHandle, call: Call) -> Result<serde_json::Value, UiError> {
    let peer = app.state::<Peer>();
    let id = peer.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    peer.pending().insert(id, tx);
    peer.send(&ToTray::Request { id, call });
    rx.await.unwrap_or_else(|_| Err(gone()))
}

/// Asks the tray and decodes its answer.
pub async fn ask<T: for<'de> serde::Deserialize<'de>>(
    app: &AppHandle,
    call: Call,
) -> Result<T, UiError> {
    let v = request(app, call).await?;
    serde_json::from_value(v).map_err(|e| {
        UiError::new(
            "tray.link",
            format!("the tray's answer was not understood: {e}"),
            "Quit Lanyard and start it again.",
        )
    })
}

/// Servers or connections changed: the tray rescans and updates its menu.
pub fn changed(app: &AppHandle) {
    app.state::<Peer>().send(&ToTray::Changed);
}

/// Marks a flow as running until the guard drops.
pub struct Busy(AppHandle);

pub fn busy(app: &AppHandle) -> Busy {
    app.state::<Peer>().busy.fetch_add(1, Ordering::SeqCst);
    Busy(app.clone())
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.state::<Peer>().busy.fetch_sub(1, Ordering::SeqCst);
        check_idle(&self.0, None);
    }
}

/// Asks the tray to end this process when no window (other than `closing`) is open and no
/// flow runs.
pub fn check_idle(app: &AppHandle, closing: Option<&str>) {
    let peer = app.state::<Peer>();
    if peer.busy.load(Ordering::SeqCst) > 0 {
        return;
    }
    let open = app
        .webview_windows()
        .keys()
        .any(|l| Some(l.as_str()) != closing);
    if !open {
        peer.send(&ToTray::Idle {
            opens: peer.opens.load(Ordering::SeqCst),
        });
    }
}

/// Reads the tray's messages on a thread of its own; `on_open` runs on the main thread.
pub fn listen(app: AppHandle, on_open: fn(&AppHandle, Open)) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("tray-link".into())
        .spawn(move || {
            link::receive(BufReader::new(std::io::stdin()), |m: ToWindows| match m {
                ToWindows::Open(what) => {
                    app.state::<Peer>().opens.fetch_add(1, Ordering::SeqCst);
                    let h = app.clone();
                    let _ = app.run_on_main_thread(move || {
                        on_open(&h, what);
                        check_idle(&h, None);
                    });
                }
                ToWindows::Reply { id, result } => {
                    if let Some(tx) = app.state::<Peer>().pending().remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                ToWindows::Exit => app.exit(0),
            });
            // The tray is gone (quit, crashed): nothing is left to serve.
            app.exit(0);
        })?;
    Ok(())
}
