//! The items on this machine: assistant config entries, the autostart entry, the tray's data,
//! the state directory. (The AppImage's desktop integration: [`super::desktop`].)

use std::path::{Path, PathBuf};

use super::Cleanup;
use super::outcome::Outcome;
use crate::error::UserFacing;
use crate::ides::Ide;
use crate::ides::manage::Manager;
use crate::ides::records::RecordsFile;

/// The tray's autostart plugin writes, on Windows, a value named after the product under the
/// user's `Run` key.
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
const RUN_VALUE: &str = "Lanyard";

/// Windows only: the autostart registry value, when present (asked with `reg.exe`).
pub(crate) fn windows_autostart_value() -> Option<(String, String)> {
    if !cfg!(windows) {
        return None;
    }
    let out = std::process::Command::new("reg")
        .args(["query", RUN_KEY, "/v", RUN_VALUE])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| (RUN_KEY.to_owned(), RUN_VALUE.to_owned()))
}

/// Delete a registry value with `reg.exe delete KEY /v VALUE /f`.
pub(crate) fn delete_registry_value(key: &str, value: &str) -> Outcome {
    match std::process::Command::new("reg")
        .args(["delete", key, "/v", value, "/f"])
        .output()
    {
        Ok(o) if o.status.success() => Outcome::Done { detail: None },
        Ok(o) => Outcome::failed(
            format!(
                "reg delete {key} /v {value} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            "Remove the value by hand with regedit (or turn off \"Start at login\" in the tray).",
        ),
        Err(e) => Outcome::failed(
            format!("could not run reg.exe: {e}"),
            "Remove the value by hand with regedit.",
        ),
    }
}

/// Ask the engine holding the state dir's instance lock to stop (SIGTERM: it finishes the
/// refreshes in flight and writes its status file), and wait until the lock is free.
pub(crate) async fn stop_engine(dir: &Path, pid: Option<u32>) -> Outcome {
    use crate::daemon::instance::is_running;
    if !is_running(dir) {
        return Outcome::gone("no engine runs any more");
    }
    let quit = "Quit the Lanyard tray (or stop `lanyard daemon`), then run the command again.";
    let Some(pid) = pid.filter(|p| *p != 0) else {
        return Outcome::failed("an engine runs but its process id is unknown", quit);
    };
    if pid == std::process::id() {
        return Outcome::failed(
            "this process runs the engine itself",
            "Stop the engine (Daemon::shutdown) before cleaning up.",
        );
    }
    let sent = if cfg!(windows) {
        std::process::Command::new("taskkill")
            .args(["/PID", &pid.to_string()])
            .output()
    } else {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .output()
    };
    if let Err(e) = sent {
        return Outcome::failed(format!("could not signal process {pid}: {e}"), quit);
    }
    for _ in 0..300 {
        if !is_running(dir) {
            return Outcome::Done {
                detail: Some(format!("process {pid} stopped")),
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Outcome::failed(
        format!("the engine (process {pid}) is still running 15 s after being asked to stop"),
        quit,
    )
}

/// Delete files or directories; absent ones count as already gone.
pub(crate) fn delete_paths(paths: &[PathBuf]) -> Outcome {
    let mut removed = 0;
    for p in paths {
        let r = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        match r {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Outcome::failed(
                    format!("could not delete {}: {e}", p.display()),
                    format!(
                        "Delete {} by hand, or fix its permissions and run the command again.",
                        p.display()
                    ),
                );
            }
        }
    }
    if removed == 0 {
        Outcome::gone("nothing was there")
    } else {
        Outcome::Done { detail: None }
    }
}

/// Delete the state directory with everything in it.
pub(crate) fn delete_dir(path: &Path) -> Outcome {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Outcome::Done { detail: None },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::gone("it was already gone"),
        Err(e) => Outcome::failed(
            format!("could not delete {}: {e}", path.display()),
            format!("Delete {} by hand (it holds no secrets).", path.display()),
        ),
    }
}

impl Cleanup {
    /// Remove our entry of `server` from every config file of `ide` (every other byte kept).
    pub(crate) fn remove_ide_entry(&self, server: &str, ide: Ide) -> Outcome {
        let Some(env) = self.ide_env.clone() else {
            return Outcome::failed(
                "the home directory is unknown, so the assistants' configs cannot be found",
                "Set HOME and run the command again.",
            );
        };
        let mut manager = Manager::new(env, RecordsFile::new(self.paths.clone()));
        manager.judge = false;
        match manager.disconnect(server, Some(&[ide])) {
            Ok(files) if files.is_empty() => Outcome::gone("the entry was not there any more"),
            Ok(files) => Outcome::Done {
                detail: Some(
                    files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            },
            Err(crate::ides::IdeError::NotConnected { .. }) => {
                Outcome::gone("it is no longer recorded as connected")
            }
            Err(e) => Outcome::failed(e.to_string(), e.next_step()),
        }
    }
}

impl Cleanup {
    /// The tray's own data directories once more, for the tray to call after its windows are
    /// gone: a webview still open during the cleanup may have written them anew. Only the
    /// directories named after the tray's identifier; nothing else is touched.
    pub fn delete_tray_data_again(&self) -> Outcome {
        let dirs: Vec<PathBuf> = self
            .user_dirs
            .present_app_dirs()
            .into_iter()
            .filter(|d| {
                d.file_name()
                    .is_some_and(|n| n == super::user_dirs::TRAY_IDENTIFIER)
            })
            .collect();
        delete_paths(&dirs)
    }
}
