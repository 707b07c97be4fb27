//! GitHub Copilot CLI (`@github/copilot` 1.0.102, pinned in tests/ide-clis; closed source, so
//! read from `copilot mcp --help` and its behaviour):
//! - user scope `~/.copilot/mcp-config.json` (`$COPILOT_HOME/mcp-config.json` when set); project
//!   scope `<project>/.github/mcp.json` (it also reads `.mcp.json`, which is Claude Code's: Lanyard
//!   leaves that one to Claude). A project's file is read only when the folder is listed in
//!   `trusted_folders` of `~/.copilot/config.json`.
//! - JSONC (comments, trailing commas), servers under `mcpServers`; remote `type: "http"` + `url`
//!   and `headers`; stdio `type: "stdio"` (or `local`) + `command` + `args`; `tools` defaults to
//!   `["*"]`. An entry it cannot use (an http one without `url`) is dropped silently.
//! - `copilot mcp get NAME --json` exits 0 with the entry as it reads it, 1 with `Server "NAME"
//!   not found` otherwise; it needs no sign-in and no network. No headers helper, and no OAuth
//!   client id in the file.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::spec::{
    Assistant, Place, ScratchDirs, bridge_command, copy_if_present, remote_with_bearer, typed,
};
use crate::ides::adapter::{EntryParams, IdeEnv, Location, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Copilot;

fn copilot_home(env: &IdeEnv) -> PathBuf {
    env.var("COPILOT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.home.join(".copilot"))
}

impl Assistant for Copilot {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_COPILOT_BIN", "copilot")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => copilot_home(env).join("mcp-config.json"),
            Scope::Project(p) => abs(p).join(".github/mcp.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["mcpServers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["type", "url", "command", "args", "headers"]
    }

    /// No headers helper, and it reads `headers` once per session: the bridge refreshes.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        copilot_home(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Copilot CLI has no headers helper"),
            ModeParams::Native { .. } => {
                return Err("Copilot CLI reads no OAuth client id from mcp-config.json");
            }
            ModeParams::Bridge => typed("stdio", bridge_command(p)),
            ModeParams::Static { header, token } => typed(
                "http",
                remote_with_bearer(p, ["url", "headers"], header, token),
            ),
        })
    }

    fn judge_args(&self, name: &str) -> Option<Vec<String>> {
        Some(["mcp", "get", name, "--json"].map(String::from).into())
    }

    fn prepare_scratch(
        &self,
        _real: &IdeEnv,
        scratch: &ScratchDirs,
        loc: &Location,
    ) -> std::io::Result<PathBuf> {
        let home = copilot_home(scratch.env);
        std::fs::create_dir_all(&home)?;
        Ok(match &loc.scope {
            Scope::User | Scope::Local(_) => {
                copy_if_present(&loc.file, &home.join("mcp-config.json"))?;
                scratch.env.home.clone()
            }
            // A scratch project with a copy of `.github/mcp.json`, trusted in the scratch
            // `config.json` (an untrusted project's file is not read).
            Scope::Project(_) => {
                let project = scratch.project();
                std::fs::create_dir_all(project.join(".github"))?;
                copy_if_present(&loc.file, &project.join(".github/mcp.json"))?;
                let trusted = json!({"trusted_folders": [std::fs::canonicalize(&project)?]});
                std::fs::write(home.join("config.json"), trusted.to_string())?;
                project
            }
        })
    }
}
