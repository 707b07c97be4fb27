//! Gemini CLI (`@google/gemini-cli` 0.61.0, pinned in tests/ide-clis; source read at
//! google-gemini/gemini-cli 5411f113, `MCPServerConfig` in packages/core/src/config/config.ts):
//! - user scope `~/.gemini/settings.json` (the home is `$GEMINI_CLI_HOME` when set), project scope
//!   `<project>/.gemini/settings.json`; servers under `mcpServers`.
//! - JSON with comments but no trailing comma (one is a fatal "Expected double-quoted property
//!   name", exit 52).
//! - remote entries `httpUrl` (Streamable HTTP; `url` alone means SSE) + `headers`; stdio `command`
//!   and `args`; OAuth `oauth: {enabled, clientId, clientSecret, redirectUri}`. No headers helper:
//!   values are only `$VAR`-expanded, never run.
//! - a folder that is not trusted (`~/.gemini/trustedFolders.json`) disables every server, user
//!   ones included; `gemini mcp list` then shows them as Disabled.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::spec::{Assistant, Place, bridge_command, remote_with_bearer};
use crate::ides::adapter::{EntryParams, IdeEnv, ModeParams, abs};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Gemini;

fn gemini_dir(env: &IdeEnv) -> PathBuf {
    env.var("GEMINI_CLI_HOME")
        .unwrap_or(&env.home)
        .join(".gemini")
}

impl Assistant for Gemini {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_GEMINI_BIN", "gemini")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => gemini_dir(env).join("settings.json"),
            Scope::Project(p) => abs(p).join(".gemini/settings.json"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["mcpServers"], Format::Json))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &[
            "httpUrl", "url", "type", "command", "args", "headers", "oauth",
        ]
    }

    /// No headers helper, and it reads `headers` once per session: a static token would go
    /// stale within the hour; the bridge refreshes.
    fn default_mode(&self) -> Mode {
        Mode::Bridge
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        gemini_dir(env).is_dir()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        let url = p.url.as_str();
        Ok(match &p.mode {
            ModeParams::Helper => return Err("Gemini CLI has no headers helper"),
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["httpUrl", "headers"], header, token)
            }
            ModeParams::Native {
                client_id,
                client_secret,
                callback_port,
            } => {
                let mut oauth = json!({"enabled": true, "clientId": client_id});
                if let Some(s) = client_secret {
                    oauth["clientSecret"] = json!(s);
                }
                if let Some(port) = callback_port {
                    oauth["redirectUri"] = json!(format!("http://localhost:{port}/oauth/callback"));
                }
                json!({"httpUrl": url, "oauth": oauth})
            }
        })
    }
}
