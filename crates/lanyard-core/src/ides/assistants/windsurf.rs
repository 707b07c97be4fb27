//! Windsurf (Cascade's MCP documentation; VS Code's importer of the same file): user scope only,
//! `~/.codeium/windsurf/mcp_config.json`, JSON in Claude Desktop's shape under `mcpServers`;
//! stdio `command` + `args`, remote `serverUrl` (or `url`) + `headers`. Windsurf runs OAuth
//! itself but reads no client id from the file.

use serde_json::Value;

use super::spec::{Assistant, Place, bridge_command, remote_with_bearer};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Windsurf;

impl Assistant for Windsurf {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_WINDSURF_BIN", "windsurf")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        match scope {
            Scope::User => Some(Place::new(
                env.home.join(".codeium/windsurf/mcp_config.json"),
                &["mcpServers"],
                Format::Json,
            )),
            Scope::Project(_) | Scope::Local(_) => None,
        }
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["command", "args", "serverUrl", "url", "headers"]
    }

    /// No headers helper, and a static token would sit in a plain file.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        env.home.join(".codeium/windsurf").is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Windsurf has no headers helper"),
            ModeParams::Native { .. } => {
                return Err("Windsurf reads no OAuth client id from mcp_config.json");
            }
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["serverUrl", "headers"], header, token)
            }
        })
    }
}
