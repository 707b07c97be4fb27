//! Claude Code, checked against its CLI (2.1.197, pinned in tests/ide-clis):
//! - user scope = `.claude.json` top-level `mcpServers` (in `$CLAUDE_CONFIG_DIR` when set, else
//!   `$HOME`); local = `projects[<abs git root>].mcpServers`; project = `<dir>/.mcp.json`.
//!   Remote entries need `"type": "http"`; `headersHelper` is a shell command string.
//! - `claude mcp get NAME` exits 0 for any present entry (also `✘ Failed to connect` or, for
//!   `.mcp.json`, `⏸ Pending approval`), 1 with `No MCP server named "NAME"` otherwise.
//! - Any write by Claude Code 2.1.197 (even `claude mcp add-json`) migrates the file: every
//!   project's `history` is dropped (22 MB → 1.6 MB in bench/ides) and keys such as `userID`,
//!   `machineID`, `migrationVersion` are added; other unknown keys survive; an existing file keeps
//!   its mode. Its judge therefore only ever sees a scratch copy.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::spec::{
    Assistant, Place, ScratchDirs, bridge_command, copy_if_present, lanyard, remote_with_bearer,
    typed,
};
use crate::ides::adapter::{
    EntryParams, IdeEnv, Location, ModeParams, abs, git_root, helper_command,
};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Claude;

impl Assistant for Claude {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_CLAUDE_BIN", "claude")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        Some(match scope {
            Scope::User => Place::new(env.claude_json(), &["mcpServers"], Format::Json),
            Scope::Project(p) => {
                Place::new(abs(p).join(".mcp.json"), &["mcpServers"], Format::Json)
            }
            Scope::Local(p) => Place {
                file: env.claude_json(),
                container: vec![
                    "projects".to_owned(),
                    git_root(p).to_string_lossy().into_owned(),
                    "mcpServers".to_owned(),
                ],
                format: Format::Json,
            },
        })
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &[
            "type",
            "url",
            "command",
            "args",
            "headers",
            "headersHelper",
            "oauth",
        ]
    }

    fn default_mode(&self) -> Mode {
        Mode::Helper
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        env.claude_json().exists() || env.home.join(".claude").is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        let url = p.url.as_str();
        Ok(match &p.mode {
            ModeParams::Helper => json!({
                "type": "http",
                "url": url,
                "headersHelper": helper_command(&lanyard(p), &p.name),
            }),
            ModeParams::Bridge => typed("stdio", bridge_command(p)),
            ModeParams::Static { header, token } => typed(
                "http",
                remote_with_bearer(p, ["url", "headers"], header, token),
            ),
            ModeParams::Native {
                client_id,
                callback_port,
                ..
            } => {
                let mut oauth = json!({"clientId": client_id});
                if let Some(port) = callback_port {
                    oauth["callbackPort"] = json!(port);
                }
                json!({"type": "http", "url": url, "oauth": oauth})
            }
        })
    }

    fn judge_args(&self, name: &str) -> Option<Vec<String>> {
        Some(vec!["mcp".into(), "get".into(), name.into()])
    }

    fn prepare_scratch(
        &self,
        real: &IdeEnv,
        scratch: &ScratchDirs,
        loc: &Location,
    ) -> std::io::Result<PathBuf> {
        Ok(match &loc.scope {
            // `~/.claude.json` (user scope; local scope under `projects[<abs root>]`, so the
            // real project stays the working directory: it is only read).
            Scope::User => {
                copy_if_present(&real.claude_json(), &scratch.env.claude_json())?;
                scratch.env.home.clone()
            }
            Scope::Local(p) => {
                copy_if_present(&real.claude_json(), &scratch.env.claude_json())?;
                p.clone()
            }
            // `<project>/.mcp.json`: a scratch project with a copy of it.
            Scope::Project(_) => {
                let project = scratch.project();
                std::fs::create_dir(&project)?;
                copy_if_present(&loc.file, &project.join(".mcp.json"))?;
                project
            }
        })
    }
}
