//! Amp (`@sourcegraph/amp` 0.0.1790142911-g7618fb, pinned in tests/ide-clis; read from
//! `amp mcp add --help` and `amp mcp list`):
//! - user scope `$XDG_CONFIG_HOME/amp/settings.json` (default `~/.config`), workspace scope
//!   `<project>/.amp/settings.json`; servers under the top-level key `amp.mcpServers` (one key with
//!   a dot in it). A workspace server runs only after `amp mcp approve`.
//! - JSONC (comments, trailing commas). Remote `url` + `headers`; stdio `command` + `args`.
//!   OAuth client credentials go to its own secret store (`amp mcp oauth login`), not the file,
//!   and there is no headers helper.
//! - `amp mcp list` lists the file's servers offline (it also asks ampcode.com for the account's
//!   servers): it is used in the tests, not as a judge (it would reach the network).

use std::path::PathBuf;

use serde_json::Value;

use super::spec::{Assistant, Place, bridge_command, remote_with_bearer};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Amp;

fn amp_dir(env: &IdeEnv) -> PathBuf {
    env.xdg_config_home().join("amp")
}

impl Assistant for Amp {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_AMP_BIN", "amp")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => amp_dir(env).join("settings.json"),
            Scope::Project(p) => abs(p).join(".amp/settings.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["amp.mcpServers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["url", "command", "args", "headers"]
    }

    /// No headers helper, and it reads `headers` once per session: the bridge refreshes.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        amp_dir(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Amp has no headers helper"),
            ModeParams::Native { .. } => {
                return Err("Amp keeps OAuth clients in its own store, not in settings.json");
            }
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["url", "headers"], header, token)
            }
        })
    }
}
