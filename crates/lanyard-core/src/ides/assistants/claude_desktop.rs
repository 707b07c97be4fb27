//! Claude Desktop (the MCP user quickstart; VS Code's importer of the same file):
//! `claude_desktop_config.json` in `Claude` under `~/Library/Application Support` (macOS),
//! `%APPDATA%` (Windows) or `$XDG_CONFIG_HOME` / `~/.config` (Linux, unofficial builds); strict
//! JSON, `mcpServers`, stdio only (`command`, `args`, `env`): remote servers are added as
//! connectors in its settings and reached from Anthropic's cloud, so the bridge is the way in.

use std::path::PathBuf;

use serde_json::Value;

use super::spec::{Assistant, Place, app_data, bridge_command};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct ClaudeDesktop;

fn config_dir(env: &IdeEnv) -> PathBuf {
    app_data(env).join("Claude")
}

impl Assistant for ClaudeDesktop {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_CLAUDE_DESKTOP_BIN", "claude-desktop")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        match scope {
            Scope::User => Some(Place::new(
                config_dir(env).join("claude_desktop_config.json"),
                &["mcpServers"],
                Format::Json,
            )),
            Scope::Project(_) | Scope::Local(_) => None,
        }
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["command", "args"]
    }

    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        config_dir(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        match &p.mode {
            ModeParams::Bridge => Ok(bridge_command(p)),
            ModeParams::Helper | ModeParams::Static { .. } | ModeParams::Native { .. } => Err(
                "Claude Desktop's config starts local (stdio) servers only; remote ones are connectors reached from Anthropic's cloud",
            ),
        }
    }
}
