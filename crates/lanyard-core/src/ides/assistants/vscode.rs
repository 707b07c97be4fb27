//! VS Code (1.128.1; source `src/vs/workbench/contrib/mcp/common/mcpConfiguration.ts` and the
//! same code in `@codingame/monaco-vscode-api` 36.2.7, see docs/assistants.md):
//! - user scope = the default profile's `mcp.json` in the user-data folder (`Code/User` under
//!   `$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application Support` on macOS,
//!   `%APPDATA%` on Windows; `$VSCODE_APPDATA` replaces that folder, `$VSCODE_PORTABLE` moves it
//!   to `<portable>/user-data`); workspace scope = `<folder>/.vscode/mcp.json`.
//! - JSONC, servers under `servers`; both entry shapes have `additionalProperties: false`: stdio
//!   `type: "stdio"`, `command`, `args`; remote `type: "http"`, `url`, `headers`,
//!   `oauth.clientId` (VS Code keeps a client secret in its own secret store).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::spec::{Assistant, Place, app_data, bridge_command, remote_with_bearer, typed};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct VsCode;

/// VS Code's user folder (`…/Code/User`), as `userDataPath.ts` finds it.
fn user_dir(env: &IdeEnv) -> PathBuf {
    if let Some(portable) = env.var("VSCODE_PORTABLE") {
        return portable.join("user-data").join("User");
    }
    env.var("VSCODE_APPDATA")
        .map(Path::to_path_buf)
        .unwrap_or_else(|| app_data(env))
        .join("Code")
        .join("User")
}

impl Assistant for VsCode {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_VSCODE_BIN", "code")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => user_dir(env).join("mcp.json"),
            Scope::Project(p) => abs(p).join(".vscode/mcp.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["servers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &["type", "url", "command", "args", "headers", "oauth"]
    }

    /// VS Code has no headers helper; a static token would sit in a file that, for a workspace,
    /// is meant to be committed; native makes VS Code sign in by itself beside Lanyard.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        user_dir(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => return Err("VS Code has no headers helper"),
            ModeParams::Bridge => typed("stdio", bridge_command(p)),
            ModeParams::Static { header, token } => typed(
                "http",
                remote_with_bearer(p, ["url", "headers"], header, token),
            ),
            ModeParams::Native {
                client_secret: Some(_),
                ..
            } => {
                return Err(
                    "VS Code reads no client secret from mcp.json (it keeps one in its own secret store)",
                );
            }
            ModeParams::Native { client_id, .. } => {
                json!({"type": "http", "url": p.url.as_str(), "oauth": {"clientId": client_id}})
            }
        })
    }
}
