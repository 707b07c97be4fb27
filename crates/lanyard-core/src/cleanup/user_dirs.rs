//! Where the autostart entry, the tray's data and the AppImage's desktop integration live
//! for this user (found once, when a cleanup is set up).

use std::path::PathBuf;

use super::desktop::DesktopDirs;

/// The tray app's identifier (`src-tauri/tauri.conf.json`): its data directories are named by it.
pub(crate) const TRAY_IDENTIFIER: &str = "dev.lanyard.tray";

/// Where the autostart entry and the tray's data live for this user.
#[derive(Debug, Clone, Default)]
pub(crate) struct UserDirs {
    /// Linux: `$XDG_CONFIG_HOME/autostart`; macOS: `~/Library/LaunchAgents`.
    pub autostart_dir: Option<PathBuf>,
    /// Candidate app data directories (removed when present).
    pub app_dirs: Vec<PathBuf>,
    /// The AppImage's desktop integration (Linux): command link, `lanyard://` handler.
    pub desktop: DesktopDirs,
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
            desktop: DesktopDirs::from_base(&base),
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
