//! Zed (source `crates/settings_content/src/project.rs`, `crates/paths/src/paths.rs`): user
//! `settings.json` in Zed's config folder (`$XDG_CONFIG_HOME/zed` or `~/.config/zed` on Linux,
//! `~/.config/zed` on macOS, `%APPDATA%\Zed` on Windows) and a project's `.zed/settings.json`;
//! JSONC, servers under `context_servers`, each an untagged serde
//! enum: stdio (`command`, `args`, `env`), http (`url`, `headers`, `oauth.client_id`,
//! `oauth.client_secret`), extension (`settings`).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::spec::{
    Assistant, Place, app_data_on, bridge_command, oauth_client, remote_with_bearer,
};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Zed;

/// Zed's config folder, as `paths::config_dir` finds it.
fn config_dir(env: &IdeEnv) -> PathBuf {
    config_dir_on(std::env::consts::OS, env)
}

fn config_dir_on(os: &str, env: &IdeEnv) -> PathBuf {
    match os {
        "windows" => app_data_on(os, env).join("Zed"),
        // Not Application Support: Zed keeps its settings in `~/.config/zed` on macOS too.
        "macos" => env.home.join(".config").join("zed"),
        _ => env.xdg_config_home().join("zed"),
    }
}

impl Assistant for Zed {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_ZED_BIN", "zed")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => config_dir(env).join("settings.json"),
            Scope::Project(p) => abs(p).join(".zed/settings.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["context_servers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["command", "args", "url", "headers", "oauth"]
    }

    /// No headers helper, and a static token would sit in `settings.json`, which people keep in
    /// their dotfiles.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        config_dir(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Zed has no headers helper"),
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["url", "headers"], header, token)
            }
            ModeParams::Native {
                client_id,
                client_secret,
                ..
            } => {
                let oauth = oauth_client(["client_id", "client_secret"], client_id, client_secret);
                json!({"url": p.url.as_str(), "oauth": oauth})
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeds_settings_are_in_dot_config_on_macos_and_appdata_on_windows() {
        let mut env = IdeEnv::at_home(PathBuf::from("/home/u"));
        env.set_var("APPDATA", "/roaming");
        env.set_var("XDG_CONFIG_HOME", "/xdg");
        assert_eq!(
            config_dir_on("macos", &env),
            PathBuf::from("/home/u/.config/zed")
        );
        assert_eq!(
            config_dir_on("windows", &env),
            PathBuf::from("/roaming/Zed")
        );
        assert_eq!(config_dir_on("linux", &env), PathBuf::from("/xdg/zed"));
    }
}
