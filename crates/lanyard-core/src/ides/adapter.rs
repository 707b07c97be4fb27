//! Where each assistant keeps its MCP servers, and what Lanyard's entry looks like in each mode.
//!
//! Checked against the real CLIs (Claude Code 2.1.197, Codex 0.171.0, pinned in tests/ide-clis):
//! - Claude Code: user scope = `.claude.json` top-level `mcpServers` (in `$CLAUDE_CONFIG_DIR` when
//!   set, else `$HOME`); local = `projects[<abs git root>].mcpServers`; project = `<dir>/.mcp.json`.
//!   Remote entries need `"type": "http"`; `headersHelper` is a shell command string.
//! - Codex: `$CODEX_HOME/config.toml` (default `~/.codex`), `[mcp_servers.NAME]`; stdio entries
//!   `command` + `args`, remote `url` + `http_headers`; `[mcp_servers.NAME.oauth] client_id`.
//! - Codex runs `http_headers_helper` (a shell command string) for remote servers at connect
//!   time, like Claude's `headersHelper`: stdout `{"Authorization":"Bearer …"}` became the request's
//!   header (seen with `codex exec` against a loopback server). `codex mcp get --json` shows it as
//!   `"http_headers_helper": "<redacted>"`.
//! - `claude mcp get NAME` exits 0 for any present entry (also `✘ Failed to connect` or, for
//!   `.mcp.json`, `⏸ Pending approval`), 1 with `No MCP server named "NAME"` otherwise.
//! - Any write by Claude Code 2.1.197 (even `claude mcp add-json`) migrates the file: every
//!   project's `history` is dropped (22 MB → 1.6 MB in bench/ides) and keys such as `userID`,
//!   `machineID`, `migrationVersion` are added; other unknown keys survive; an existing file keeps
//!   its mode.
//! - Codex refuses to start when `CODEX_HOME` names a missing folder ("failed to resolve
//!   CODEX_HOME"); one bad `[mcp_servers.*]` entry stops every command ("failed to load bootstrap
//!   configuration … bearer_token is not supported for streamable_http"); a project's
//!   `.codex/config.toml` is read only when `[projects."<abs>"] trust_level = "trusted"`.
//! - Cursor: `~/.cursor/mcp.json`, `<project>/.cursor/mcp.json`, JSONC, `mcpServers`; remote `url` +
//!   `headers`, static client `auth.CLIENT_ID`; stdio `command` + `args`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use url::Url;

use super::text::Format;
use super::{Ide, IdeError, Mode, Scope};

/// The environment the assistants read their configs from (and their CLIs run in).
#[derive(Debug, Clone)]
pub struct IdeEnv {
    pub home: PathBuf,
    pub claude_config_dir: Option<PathBuf>,
    pub codex_home: Option<PathBuf>,
    /// `PATH`, to find the assistants' CLIs.
    pub path: Option<OsString>,
}

fn non_empty(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl IdeEnv {
    pub fn from_env() -> Result<IdeEnv, IdeError> {
        let home = non_empty("HOME")
            .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()))
            .ok_or(IdeError::NoHome)?;
        Ok(IdeEnv {
            home,
            claude_config_dir: non_empty("CLAUDE_CONFIG_DIR"),
            codex_home: non_empty("CODEX_HOME"),
            path: std::env::var_os("PATH"),
        })
    }

    /// Claude Code's main file (user and local scopes).
    pub fn claude_json(&self) -> PathBuf {
        self.claude_config_dir
            .as_deref()
            .unwrap_or(&self.home)
            .join(".claude.json")
    }

    pub fn codex_home(&self) -> PathBuf {
        self.codex_home
            .clone()
            .unwrap_or_else(|| self.home.join(".codex"))
    }

    /// An executable named `bin` on `PATH`.
    pub fn which(&self, bin: &str) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|d| d.join(bin))
            .find(|p| is_executable(p))
    }

    /// The assistant's CLI, if installed (`LANYARD_CLAUDE_BIN` and the like override the `PATH` search).
    pub fn cli(&self, ide: Ide) -> Option<PathBuf> {
        let (var, bin) = match ide {
            Ide::Claude => ("LANYARD_CLAUDE_BIN", "claude"),
            Ide::Codex => ("LANYARD_CODEX_BIN", "codex"),
            Ide::Cursor => ("LANYARD_CURSOR_BIN", "cursor"),
        };
        non_empty(var)
            .filter(|p| is_executable(p))
            .or_else(|| self.which(bin))
    }

    /// Sets the variables that locate configs on a command (for the judges).
    pub fn apply(&self, cmd: &mut std::process::Command) {
        cmd.env("HOME", &self.home);
        match &self.claude_config_dir {
            Some(d) => cmd.env("CLAUDE_CONFIG_DIR", d),
            None => cmd.env_remove("CLAUDE_CONFIG_DIR"),
        };
        match &self.codex_home {
            Some(d) => cmd.env("CODEX_HOME", d),
            None => cmd.env_remove("CODEX_HOME"),
        };
        if let Some(p) = &self.path {
            cmd.env("PATH", p);
        }
    }
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// One config file and where the servers sit in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub ide: Ide,
    pub scope: Scope,
    pub file: PathBuf,
    /// Path of the object holding the servers (`["mcpServers"]`, `["projects", root, "mcpServers"]`).
    pub container: Vec<String>,
    pub format: Format,
}

impl Location {
    /// Mode of a file Lanyard creates: `.claude.json` is private, the others are ordinary.
    pub fn new_file_mode(&self) -> u32 {
        if self.file.file_name().is_some_and(|n| n == ".claude.json") {
            0o600
        } else {
            0o644
        }
    }
}

/// The nearest folder at or above `dir` holding `.git` (Claude keys local scope by git root).
pub fn git_root(dir: &Path) -> PathBuf {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut cur = dir.as_path();
    loop {
        if cur.join(".git").exists() {
            return cur.to_path_buf();
        }
        match cur.parent() {
            Some(p) => cur = p,
            None => return dir,
        }
    }
}

fn abs(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

impl Ide {
    /// The file (and container in it) for a scope.
    pub fn location(self, env: &IdeEnv, scope: &Scope) -> Result<Location, IdeError> {
        let mcp_servers = vec!["mcpServers".to_owned()];
        let (file, container, format) = match (self, scope) {
            (Ide::Cursor, Scope::User) => {
                (env.home.join(".cursor/mcp.json"), mcp_servers, Format::Json)
            }
            (Ide::Cursor, Scope::Project(p)) => {
                (abs(p).join(".cursor/mcp.json"), mcp_servers, Format::Json)
            }
            (Ide::Claude, Scope::User) => (env.claude_json(), mcp_servers, Format::Json),
            (Ide::Claude, Scope::Project(p)) => {
                (abs(p).join(".mcp.json"), mcp_servers, Format::Json)
            }
            (Ide::Claude, Scope::Local(p)) => (
                env.claude_json(),
                vec![
                    "projects".to_owned(),
                    git_root(p).to_string_lossy().into_owned(),
                    "mcpServers".to_owned(),
                ],
                Format::Json,
            ),
            (Ide::Codex, Scope::User) => (
                env.codex_home().join("config.toml"),
                vec!["mcp_servers".to_owned()],
                Format::Toml,
            ),
            (Ide::Codex, Scope::Project(p)) => (
                abs(p).join(".codex/config.toml"),
                vec!["mcp_servers".to_owned()],
                Format::Toml,
            ),
            (ide, Scope::Local(_)) => {
                return Err(IdeError::ScopeUnsupported {
                    ide,
                    scope: "local",
                });
            }
        };
        Ok(Location {
            ide: self,
            scope: scope.clone(),
            file,
            container,
            format,
        })
    }

    /// The keys of an entry that Lanyard owns; any other key a user adds to our entry is kept.
    pub fn managed_keys(self) -> &'static [&'static str] {
        match self {
            Ide::Claude => &[
                "type",
                "url",
                "command",
                "args",
                "headers",
                "headersHelper",
                "oauth",
            ],
            Ide::Cursor => &["type", "url", "command", "args", "headers", "auth"],
            Ide::Codex => &[
                "url",
                "command",
                "args",
                "http_headers",
                "http_headers_helper",
                "bearer_token_env_var",
                "oauth",
            ],
        }
    }

    /// The mode used when none is asked for. Cursor ignores configured headers when the server
    /// advertises OAuth and has no helper, so it gets the bridge. Claude Code and Codex get the
    /// headers helper: Codex 0.171.0 was seen running `http_headers_helper` through a shell for a
    /// remote (`url`) server at connect time and sending the JSON object it printed as headers.
    pub fn default_mode(self) -> Mode {
        match self {
            Ide::Claude | Ide::Codex => Mode::Helper,
            Ide::Cursor => Mode::Bridge,
        }
    }

    /// Whether the assistant is installed: its CLI on PATH or its config folder present.
    pub fn detect(self, env: &IdeEnv) -> Detection {
        let cli = env.cli(self);
        let config = match self {
            Ide::Cursor => env.home.join(".cursor"),
            Ide::Claude => env.claude_json(),
            Ide::Codex => env.codex_home(),
        };
        let config_present =
            config.exists() || (self == Ide::Claude && env.home.join(".claude").is_dir());
        Detection {
            ide: self,
            installed: cli.is_some() || config_present,
            cli,
            config_present,
        }
    }

    /// Our entry for a server in a mode (only the managed keys).
    pub fn entry(self, p: &EntryParams) -> Result<Map<String, Value>, IdeError> {
        let url = p.url.as_str();
        let lanyard = p.lanyard.to_string_lossy().into_owned();
        let bridge_args = json!(["bridge", p.name]);
        let bearer = |header: &str, token: &str| {
            let mut h = Map::new();
            h.insert(header.to_owned(), Value::String(format!("Bearer {token}")));
            Value::Object(h)
        };
        let v = match (self, &p.mode) {
            (Ide::Claude, ModeParams::Helper) => json!({
                "type": "http",
                "url": url,
                "headersHelper": helper_command(&lanyard, &p.name),
            }),
            (Ide::Claude, ModeParams::Bridge) => json!({
                "type": "stdio", "command": lanyard, "args": bridge_args,
            }),
            (Ide::Claude, ModeParams::Static { header, token }) => json!({
                "type": "http", "url": url, "headers": bearer(header, token),
            }),
            (
                Ide::Claude,
                ModeParams::Native {
                    client_id,
                    callback_port,
                    ..
                },
            ) => {
                let mut oauth = json!({"clientId": client_id});
                if let Some(port) = callback_port {
                    oauth["callbackPort"] = json!(port);
                }
                json!({"type": "http", "url": url, "oauth": oauth})
            }
            (Ide::Cursor, ModeParams::Helper) => {
                return Err(IdeError::ModeUnsupported {
                    ide: self,
                    mode: Mode::Helper,
                    why: "Cursor has no headers helper",
                });
            }
            (Ide::Cursor, ModeParams::Bridge) | (Ide::Codex, ModeParams::Bridge) => json!({
                "command": lanyard, "args": bridge_args,
            }),
            (Ide::Cursor, ModeParams::Static { header, token }) => json!({
                "url": url, "headers": bearer(header, token),
            }),
            (
                Ide::Cursor,
                ModeParams::Native {
                    client_id,
                    client_secret,
                    ..
                },
            ) => {
                let mut auth = json!({"CLIENT_ID": client_id});
                if let Some(s) = client_secret {
                    auth["CLIENT_SECRET"] = json!(s);
                }
                json!({"url": url, "auth": auth})
            }
            (Ide::Codex, ModeParams::Helper) => json!({
                "url": url,
                "http_headers_helper": helper_command(&lanyard, &p.name),
            }),
            (Ide::Codex, ModeParams::Static { header, token }) => json!({
                "url": url, "http_headers": bearer(header, token),
            }),
            (
                Ide::Codex,
                ModeParams::Native {
                    client_id,
                    client_secret,
                    ..
                },
            ) => {
                let mut oauth = json!({"client_id": client_id});
                if let Some(s) = client_secret {
                    oauth["client_secret"] = json!(s);
                }
                json!({"url": url, "oauth": oauth})
            }
        };
        Ok(v.as_object().cloned().unwrap_or_default())
    }
}

/// What `detect` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub ide: Ide,
    pub installed: bool,
    pub cli: Option<PathBuf>,
    pub config_present: bool,
}

/// Everything an entry is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryParams {
    pub name: String,
    pub url: Url,
    /// Absolute path of the `lanyard` binary the assistant runs.
    pub lanyard: PathBuf,
    pub mode: ModeParams,
}

/// The per-mode inputs (a static token only exists in static mode, and so on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeParams {
    Helper,
    Bridge,
    Static {
        header: String,
        token: String,
    },
    Native {
        client_id: String,
        client_secret: Option<String>,
        callback_port: Option<u16>,
    },
}

impl ModeParams {
    /// The entry carries a secret (a token, a client secret): its file must be private.
    pub fn carries_secret(&self) -> bool {
        match self {
            ModeParams::Static { .. } => true,
            ModeParams::Native { client_secret, .. } => client_secret.is_some(),
            ModeParams::Helper | ModeParams::Bridge => false,
        }
    }

    pub fn mode(&self) -> Mode {
        match self {
            ModeParams::Helper => Mode::Helper,
            ModeParams::Bridge => Mode::Bridge,
            ModeParams::Static { .. } => Mode::Static,
            ModeParams::Native { .. } => Mode::Native,
        }
    }
}

/// The headers helper command line: both Claude Code and Codex run it through a shell and read
/// a JSON object of header strings from its stdout.
pub fn helper_command(lanyard: &str, name: &str) -> String {
    format!(
        "{} token {} --claude-headers",
        shell_quote(lanyard),
        shell_quote(name)
    )
}

/// POSIX shell quoting, only when needed.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_command_is_quoted() {
        let p = EntryParams {
            name: "gw".into(),
            url: Url::parse("https://gw.example/mcp").unwrap(),
            lanyard: PathBuf::from("/Applications/Lanyard App/lanyard"),
            mode: ModeParams::Helper,
        };
        let e = Ide::Claude.entry(&p).unwrap();
        assert_eq!(
            e["headersHelper"],
            json!("'/Applications/Lanyard App/lanyard' token gw --claude-headers")
        );
        assert!(Ide::Cursor.entry(&p).is_err());
    }
}
