//! The tray's side of the windows process: the wizard, dashboard and sign-in windows run in a
//! child (this binary with [`WINDOWS_ROLE`]) started on demand, so the WebKit web context and
//! network process it needs go away with it. The tray keeps only its icon, menu, engine and
//! notifications. The child asks to exit when it has no window and no flow running; the tray
//! agrees unless it has sent an open request since (see [`ToTray::Idle`]).

use std::io::BufReader;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tauri::{AppHandle, Manager};

use crate::cleanup;
use crate::engine;
use crate::link::{self, Call, Open, ToTray, ToWindows, WINDOWS_ROLE};
use crate::model::UiError;
use crate::state::AppState;

/// The running windows process, if any.
#[derive(Default)]
pub struct WindowsProcess {
    inner: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    running: Option<Running>,
    generation: u64,
}

struct Running {
    generation: u64,
    stdin: ChildStdin,
    /// Open requests sent to this process.
    opens: u64,
}

impl WindowsProcess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens a window in the windows process, starting it when none runs.
pub fn open(app: &AppHandle, what: Open) -> Result<(), String> {
    let procs = app.state::<WindowsProcess>();
    let mut slot = procs.lock();
    if let Some(r) = slot.running.as_mut() {
        r.opens += 1;
        if link::send(&mut r.stdin, &ToWindows::Open(what.clone())).is_ok() {
            return Ok(());
        }
        // It died under us: start another.
        slot.running = None;
    }
    slot.generation += 1;
    let generation = slot.generation;
    tracing::debug!(?what, "starting the windows process");
    let mut child = spawn().map_err(|e| format!("could not start the windows process: {e}"))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("the windows process has no pipes".into());
    };
    link::send(&mut stdin, &ToWindows::Open(what))
        .map_err(|e| format!("the windows process did not take the request: {e}"))?;
    slot.running = Some(Running {
        generation,
        stdin,
        opens: 1,
    });
    drop(slot);
    let reader_app = app.clone();
    std::thread::Builder::new()
        .name("windows-link".into())
        .spawn(move || serve(reader_app, generation, child, stdout))
        .map_err(|e| format!("could not watch the windows process: {e}"))?;
    Ok(())
}

/// The tray menu opened (`menu_open.rs`): start the windows process with a hidden wizard,
/// unless it runs already. It drops the hidden wizard, and exits, when no click follows.
pub fn prewarm(app: &AppHandle) {
    if app.state::<WindowsProcess>().lock().running.is_some() {
        return;
    }
    if let Err(e) = open(app, Open::Prewarm) {
        tracing::debug!("no prewarm: {e}");
    }
}

/// This very binary: on Linux through /proc/self/exe, which still runs it after a package
/// upgrade replaced the file on disk (a newer windows process might not speak this link).
fn this_binary() -> std::io::Result<Command> {
    let exe = std::env::current_exe()?;
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt as _;
        let mut c = Command::new("/proc/self/exe");
        c.arg0(exe);
        Ok(c)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(Command::new(exe))
}

fn spawn() -> std::io::Result<Child> {
    let mut c = this_binary()?;
    c.arg(WINDOWS_ROLE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // The child decides about GDK_GL itself, as the tray did (see gl.rs).
    crate::gl::clean_child_env(&mut c);
    c.spawn()
}

/// Reads the child's messages until it ends, then reaps it.
fn serve(app: AppHandle, generation: u64, mut child: Child, stdout: std::process::ChildStdout) {
    link::receive(BufReader::new(stdout), |m: ToTray| match m {
        ToTray::Log { kind, message } => app.state::<AppState>().log(&kind, message),
        ToTray::Changed => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { engine::refresh_now(&app).await });
        }
        ToTray::Idle { opens } => {
            let procs = app.state::<WindowsProcess>();
            let mut slot = procs.lock();
            if let Some(r) = slot.running.as_mut()
                && r.generation == generation
                && r.opens == opens
            {
                let _ = link::send(&mut r.stdin, &ToWindows::Exit);
                slot.running = None;
            }
        }
        ToTray::Request { id, call } => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let quit_after =
                    matches!(call, Call::RemoveEverything | Call::FinishUninstall { .. });
                let result = answer(&app, call).await;
                let ok = result.is_ok();
                reply(&app, generation, id, result);
                if ok && quit_after {
                    quit_soon(&app);
                }
            });
        }
    });
    let procs = app.state::<WindowsProcess>();
    {
        let mut slot = procs.lock();
        if slot
            .running
            .as_ref()
            .is_some_and(|r| r.generation == generation)
        {
            slot.running = None;
        }
    }
    match child.wait() {
        Ok(s) if !s.success() => tracing::warn!("the windows process ended: {s}"),
        Ok(_) => tracing::debug!("the windows process ended"),
        Err(e) => tracing::warn!("the windows process could not be reaped: {e}"),
    }
}

fn reply(app: &AppHandle, generation: u64, id: u64, result: Result<serde_json::Value, UiError>) {
    let procs = app.state::<WindowsProcess>();
    let mut slot = procs.lock();
    if let Some(r) = slot.running.as_mut()
        && r.generation == generation
    {
        let _ = link::send(&mut r.stdin, &ToWindows::Reply { id, result });
    }
}

fn json<T: serde::Serialize>(v: Result<T, UiError>) -> Result<serde_json::Value, UiError> {
    v.and_then(|v| {
        serde_json::to_value(v)
            .map_err(|e| UiError::new("tray.link", format!("could not encode: {e}"), "Try again."))
    })
}

async fn answer(app: &AppHandle, call: Call) -> Result<serde_json::Value, UiError> {
    let state = app.state::<AppState>();
    match call {
        Call::Servers => {
            engine::refresh_now(app).await;
            json(Ok(state.servers()))
        }
        Call::Activity => json(Ok(state.activity())),
        Call::RemoveEverything => json(cleanup::remove_everything(app).await),
        Call::UninstallLanyard => json(cleanup::uninstall_lanyard(app).await),
        Call::FinishUninstall { remove_package } => {
            json(cleanup::finish_uninstall(app, remove_package).await)
        }
    }
}

/// Asks the windows process to exit and waits (up to `wait`) until it has.
pub async fn close(app: &AppHandle, wait: Duration) {
    {
        let procs = app.state::<WindowsProcess>();
        let mut slot = procs.lock();
        if let Some(r) = slot.running.as_mut() {
            let _ = link::send(&mut r.stdin, &ToWindows::Exit);
        }
    }
    let end = std::time::Instant::now() + wait;
    while std::time::Instant::now() < end && app.state::<WindowsProcess>().lock().running.is_some()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// After a removal: quit once the user has seen the result. The windows process ends first and
/// the tray's data folder is deleted again, because an open webview writes it anew after the
/// cleanup deleted it.
fn quit_soon(app: &AppHandle) {
    let quit = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        close(&quit, Duration::from_secs(5)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(cleanup) = lanyard_core::cleanup::Cleanup::for_user()
            && let outcome @ lanyard_core::cleanup::Outcome::Failed { .. } =
                cleanup.delete_tray_data_again()
        {
            tracing::warn!("the tray's data folder stays: {outcome:?}");
        }
        quit.exit(0);
    });
}
