//! Codex, checked against its CLI (0.171.0, pinned in tests/ide-clis):
//! - `$CODEX_HOME/config.toml` (default `~/.codex`), `[mcp_servers.NAME]`; stdio entries
//!   `command` + `args`, remote `url` + `http_headers`; `[mcp_servers.NAME.oauth] client_id`.
//! - Codex runs `http_headers_helper` (a shell command string) for remote servers at connect
//!   time, like Claude's `headersHelper`: stdout `{"Authorization":"Bearer …"}` became the request's
//!   header (seen with `codex exec` against a loopback server). `codex mcp get --json` shows it as
//!   `"http_headers_helper": "<redacted>"`.
//! - Codex refuses to start when `CODEX_HOME` names a missing folder ("failed to resolve
//!   CODEX_HOME"); one bad `[mcp_servers.*]` entry stops every command ("failed to load bootstrap
//!   configuration … bearer_token is not supported for streamable_http"); a project's
//!   `.codex/config.toml` is read only when `[projects."<abs>"] trust_level = "trusted"`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::spec::{
    Assistant, Place, ScratchDirs, bridge_command, copy_if_present, lanyard, oauth_client,
    remote_with_bearer,
};
use crate::ides::adapter::{
    EntryParams, IdeEnv, Location, ModeParams, abs, git_root, helper_command,
};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

pub struct Codex;

impl Assistant for Codex {
    fn cli(&self) -> (&'static str, &'static str) {
        ("LANYARD_CODEX_BIN", "codex")
    }

    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place> {
        let file = match scope {
            Scope::User => env.codex_home().join("config.toml"),
            Scope::Project(p) => abs(p).join(".codex/config.toml"),
            Scope::Local(_) => return None,
        };
        Some(Place::new(file, &["mcp_servers"], Format::Toml))
    }

    fn managed_keys(&self) -> &'static [&'static str] {
        &[
            "url",
            "command",
            "args",
            "http_headers",
            "http_headers_helper",
            "bearer_token_env_var",
            "oauth",
        ]
    }

    /// Codex 0.171.0 was seen running `http_headers_helper` through a shell for a remote (`url`)
    /// server at connect time and sending the JSON object it printed as headers.
    fn default_mode(&self) -> Mode {
        Mode::Helper
    }

    fn config_present(&self, env: &IdeEnv) -> bool {
        env.codex_home().exists()
    }

    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str> {
        Ok(match &p.mode {
            ModeParams::Helper => json!({
                "url": p.url.as_str(),
                "http_headers_helper": helper_command(&lanyard(p), &p.name),
            }),
            ModeParams::Bridge => bridge_command(p),
            ModeParams::Static { header, token } => {
                remote_with_bearer(p, ["url", "http_headers"], header, token)
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

    fn judge_args(&self, name: &str) -> Option<Vec<String>> {
        Some(["mcp", "get", name, "--json"].map(String::from).into())
    }

    /// Codex refuses to start when CODEX_HOME does not exist, and reads a project's
    /// `.codex/config.toml` only once the project is trusted: nothing to ask otherwise.
    fn judge_reads(&self, env: &IdeEnv, loc: &Location) -> bool {
        if !env.codex_home().is_dir() {
            return false;
        }
        match &loc.scope {
            Scope::Project(p) => trusts(env, p),
            _ => true,
        }
    }

    fn prepare_scratch(
        &self,
        real: &IdeEnv,
        scratch: &ScratchDirs,
        loc: &Location,
    ) -> std::io::Result<PathBuf> {
        let codex = scratch.env.codex_home();
        Ok(match &loc.scope {
            Scope::User | Scope::Local(_) => {
                copy_if_present(
                    &real.codex_home().join("config.toml"),
                    &codex.join("config.toml"),
                )?;
                scratch.env.home.clone()
            }
            // `<project>/.codex/config.toml`, read only for a trusted project: a scratch project
            // with a copy of it, trusted in the scratch `config.toml`.
            Scope::Project(_) => {
                let project = scratch.project();
                std::fs::create_dir_all(project.join(".codex"))?;
                copy_if_present(&loc.file, &project.join(".codex").join("config.toml"))?;
                let text = std::fs::read_to_string(real.codex_home().join("config.toml"))
                    .unwrap_or_default();
                let mut doc = text.parse::<toml_edit::DocumentMut>().unwrap_or_default();
                let key = std::fs::canonicalize(&project)?
                    .to_string_lossy()
                    .into_owned();
                let projects = doc
                    .entry("projects")
                    .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
                if let Some(t) = projects.as_table_like_mut() {
                    let mut entry = toml_edit::Table::new();
                    entry["trust_level"] = toml_edit::value("trusted");
                    t.insert(&key, toml_edit::Item::Table(entry));
                }
                std::fs::write(codex.join("config.toml"), doc.to_string())?;
                project
            }
        })
    }
}

/// Whether `$CODEX_HOME/config.toml` marks the project (or its git root) trusted.
fn trusts(env: &IdeEnv, project: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(env.codex_home().join("config.toml")) else {
        return false;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    let abs = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let root = git_root(&abs);
    [abs, root].iter().any(|dir| {
        doc.get("projects")
            .and_then(|p| p.get(dir.to_string_lossy().as_ref()))
            .and_then(|e| e.get("trust_level"))
            .and_then(|t| t.as_str())
            == Some("trusted")
    })
}
