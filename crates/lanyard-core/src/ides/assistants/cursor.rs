//! Cursor: `~/.cursor/mcp.json`, `<project>/.cursor/mcp.json`, JSONC, `mcpServers`; remote `url` +
//! `headers`, static client `auth.CLIENT_ID`; stdio `command` + `args`.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::spec::{Assistant, Place, bridge_command, oauth_client, remote_with_bearer};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Cursor;

impl Assistant for Cursor {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_CURSOR_BIN", "cursor")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file: PathBuf = match scope {
            Scope::User => env.home.join(".cursor/mcp.json"),
            Scope::Project(p) => abs(p).join(".cursor/mcp.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["mcpServers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["type", "url", "command", "args", "headers", "auth"]
    }

    /// Cursor ignores configured headers when the server advertises OAuth and has no helper, so
    /// it gets the bridge.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        env.home.join(".cursor").exists()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Cursor has no headers helper"),
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["url", "headers"], header, token)
            }
            ModeParams::Native {
                client_id,
                client_secret,
                ..
            } => {
                let auth = oauth_client(["CLIENT_ID", "CLIENT_SECRET"], client_id, client_secret);
                json!({"url": p.url.as_str(), "auth": auth})
            }
        })
    }
}
