//! The items on this machine: assistant config entries, the autostart entry, the tray's data,
//! the state directory. (The AppImage's desktop integration: [`super::desktop`].)

use std::path::{Path, PathBuf};

use super::Cleanup;
use super::exec::Outcome;
use crate::error::UserFacing;
use crate::ides::Ide;
use crate::ides::manage::Manager;
use crate::ides::records::RecordsFile;

/// The tray app's identifier (`src-tauri/tauri.conf.json`): its data directories are named by it.
const TRAY_IDENTIFIER: &str = "dev.lanyard.tray";

/// Where the autostart entry and the tray's data live for this user.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserDirs {
    /// Linux: `$XDG_CONFIG_HOME/autostart`; macOS: `~/Library/LaunchAgents`.
    pub autostart_dir: Option<PathBuf>,
    /// Candidate app data directories (removed when present).
    pub app_dirs: Vec<PathBuf>,
    /// The AppImage's desktop integration (Linux): command link, `lanyard://` handler.
    pub desktop: super::desktop::DesktopDirs,
}

impl UserDirs {
    pub fn from_env() -> UserDirs {
        let Some(base) = directories::BaseDirs::new() else {
            return UserDirs::default();
        };
        let autostart_dir = if cfg!(target_os = "macos") {
            Some(base.home_dir().join("Library").join("LaunchAgents"))
        } else if cfg!(windows) {
            None // a registry value; see `delete_windows_autostart`
        } else {
            Some(base.config_dir().join("autostart"))
        };
        let mut app_dirs = vec![
            base.data_dir().join(TRAY_IDENTIFIER),
            base.data_local_dir().join(TRAY_IDENTIFIER),
            base.cache_dir().join(TRAY_IDENTIFIER),
            base.config_dir().join(TRAY_IDENTIFIER),
        ];
        if let Some(state) = base.state_dir() {
            app_dirs.push(state.join("lanyard"));
            app_dirs.push(state.join(TRAY_IDENTIFIER));
        }
        app_dirs.sort();
        app_dirs.dedup();
        UserDirs {
            autostart_dir,
            app_dirs,
            desktop: super::desktop::DesktopDirs::from_base(&base),
        }
    }

    /// Autostart entries of Lanyard that exist: `lanyard*.desktop` (any case) on Linux,
    /// `*lanyard*.plist` on macOS.
    pub fn autostart_entries(&self) -> Vec<PathBuf> {
        let Some(dir) = &self.autostart_dir else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_lowercase();
                (n.starts_with("lanyard") && n.ends_with(".desktop"))
                    || (n.contains("lanyard") && n.ends_with(".plist"))
            })
            .map(|e| e.path())
            .collect();
        out.sort();
        out
    }

    pub fn present_app_dirs(&self) -> Vec<PathBuf> {
        self.app_dirs
            .iter()
            .filter(|d| d.exists())
            .cloned()
            .collect()
    }
}

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
