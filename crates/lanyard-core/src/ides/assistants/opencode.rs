//! opencode (`opencode-ai` 1.18.33, pinned in tests/ide-clis; `opencode debug config` prints the
//! merged config it validated):
//! - user scope `$XDG_CONFIG_HOME/opencode/opencode.json` (default `~/.config`), or
//!   `opencode.jsonc` beside it when that exists; project scope `<project>/opencode.json` (or
//!   `opencode.jsonc`). Servers under `mcp`.
//! - JSONC (comments, trailing commas). Remote `type: "remote"` + `url` + `headers` (+
//!   `oauth: {clientId, clientSecret}`); local `type: "local"` + `command` as one array.
//! - A schema error stops it (`Configuration is invalid … Missing key mcp.gw.url`, exit 1).
//! - At start it installs its plugin package into the config folder from the npm registry: its
//!   CLI is not run as a judge (it would reach the network), only in the tests, offline.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::spec::{Assistant, Place, lanyard, oauth_client, remote_with_bearer, typed};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Opencode;

/// `opencode.jsonc` in `dir` when it exists, else `opencode.json`.
fn config_in(dir: &Path) -> PathBuf {
    let jsonc = dir.join("opencode.jsonc");
    if jsonc.is_file() {
        jsonc
    } else {
        dir.join("opencode.json")
    }
}

impl Assistant for Opencode {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_OPENCODE_BIN", "opencode")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => config_in(&env.xdg_config_home().join("opencode")),
            Scope::Project(p) => config_in(&abs(p)),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["mcp"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["type", "url", "command", "headers", "oauth"]
    }

    /// No headers helper, and it reads `headers` once per session: the bridge refreshes.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        env.xdg_config_home().join("opencode").is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        let url = p.url.as_str();
        Ok(match &p.mode {
            ModeParams::Helper => return Err("opencode has no headers helper"),
            ModeParams::Bridge => json!({
                "type": "local",
                "command": [lanyard(p), "bridge", p.name],
            }),
            ModeParams::Static { header, token } => typed(
                "remote",
                remote_with_bearer(p, ["url", "headers"], header, token),
            ),
            ModeParams::Native {
                client_id,
                client_secret,
                ..
            } => {
                let oauth = oauth_client(["clientId", "clientSecret"], client_id, client_secret);
                json!({"type": "remote", "url": url, "oauth": oauth})
            }
        })
    }
}
