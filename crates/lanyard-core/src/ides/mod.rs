//! Keeping the AI coding assistants connected: one adapter per assistant (Cursor, Claude Code,
//! Codex) over byte-preserving config editors.
//!
//! - [`jsonc`], [`toml_cfg`], [`text`]: edit one entry of a config text, every other byte kept.
//! - [`atomic`]: replace a config file atomically, redoing the edit when it moved underneath.
//! - [`adapter`]: what every assistant shares (environment, locations, entry parameters).
//! - [`assistants`]: one file per assistant: where it keeps its servers, our entry per mode, its judge.
//! - [`records`]: what Lanyard connected where (its own small file under the state dir).
//! - [`validate`]: the assistants' own CLIs as judges (`claude mcp get`, `codex mcp get --json`).
//! - [`manage`]: connect / disconnect / status / reconcile, used by the CLI and the watcher.
//! - [`actions`]: those operations for the current user, as both shells (CLI, tray) run them.
//!
//! Using it (what the CLI does; the tray can do the same):
//! ```ignore
//! let manager = Manager::new(IdeEnv::from_env()?, RecordsFile::new(Paths::from_env()?));
//! let source = source::LiveSource::open()?;                 // URL, binary path, static token
//! let params = source.params("gw", Ide::Claude.default_mode(), None, &Default::default()).await?;
//! manager.connect(&ConnectRequest { ide: Ide::Claude, scope: Scope::User, params })?;
//! manager.disconnect("gw", None)?;                          // every assistant, files restored
//! // In the daemon: keep entries right (repairs drift, records removals).
//! crate::ides::config_watch::run(manager, &source, Default::default(), |_| {}, shutdown).await?;
//! ```
//!
//! Facts checked against the real CLIs (Claude Code 2.1.197, Codex 0.171.0 from npm) are noted
//! in each assistant's file under [`assistants`].

pub mod actions;
pub mod adapter;
pub mod assistants;
pub mod atomic;
pub mod config_watch;
pub mod edited;
pub mod jsonc;
pub mod manage;
pub mod records;
pub mod source;
pub mod text;
pub mod toml_cfg;
pub mod validate;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::UserFacing;

pub use adapter::{EntryParams, IdeEnv, Location, ModeParams};
pub use manage::{ConnectRequest, EntryState, IdeStatus};

/// The one list of assistants: `Variant = "id", "Name" => file::Type`. Each line makes the
/// [`Ide`] variant (here) and, in [`assistants`], its dispatch to `assistants/file.rs`.
macro_rules! with_assistants {
    ($then:ident) => {
        $then! {
            Cursor = "cursor", "Cursor" => cursor::Cursor,
            Claude = "claude", "Claude Code" => claude::Claude,
            Codex = "codex", "Codex" => codex::Codex,
            VsCode = "vscode", "VS Code" => vscode::VsCode,
            Windsurf = "windsurf", "Windsurf" => windsurf::Windsurf,
            Zed = "zed", "Zed" => zed::Zed,
            ClaudeDesktop = "claude-desktop", "Claude Desktop" => claude_desktop::ClaudeDesktop,
            Gemini = "gemini", "Gemini CLI" => gemini::Gemini,
            Copilot = "copilot", "GitHub Copilot CLI" => copilot::Copilot,
            Opencode = "opencode", "opencode" => opencode::Opencode,
            Amp = "amp", "Amp" => amp::Amp,
        }
    };
}
pub(crate) use with_assistants;

macro_rules! ide_enum {
    ($($variant:ident = $id:literal, $label:literal => $module:ident :: $imp:ident,)*) => {
        /// The assistants Lanyard writes configs for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Ide {
            $(#[serde(rename = $id)] $variant,)*
        }

        impl Ide {
            pub const ALL: [Ide; [$($id),*].len()] = [$(Ide::$variant),*];

            /// The id used on the command line and in JSON.
            pub fn id(self) -> &'static str {
                match self {
                    $(Ide::$variant => $id,)*
                }
            }

            /// The product name shown to people.
            pub fn label(self) -> &'static str {
                match self {
                    $(Ide::$variant => $label,)*
                }
            }
        }
    };
}

with_assistants!(ide_enum);

impl Ide {
    /// Its id, or its name in lower case with `-` or `_` for spaces (`claude-code`).
    pub fn parse(s: &str) -> Result<Ide, IdeError> {
        let s = s.trim().to_ascii_lowercase();
        let named = |i: &Ide, sep: &str| i.label().to_ascii_lowercase().replace(' ', sep) == s;
        Ide::ALL
            .into_iter()
            .find(|i| i.id() == s || named(i, "-") || named(i, "_"))
            .ok_or(IdeError::UnknownIde(s))
    }
    /// Every id, `cursor, claude, …`.
    pub fn ids() -> String {
        Ide::ALL.map(Ide::id).join(", ")
    }
    /// Every product name, `Cursor, Claude Code, …`.
    pub fn labels() -> String {
        Ide::ALL.map(Ide::label).join(", ")
    }
    /// Parses a comma-separated list (`cursor,claude`); `all` means every assistant.
    pub fn parse_list(s: &str) -> Result<Vec<Ide>, IdeError> {
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            if part.trim().eq_ignore_ascii_case("all") {
                return Ok(Ide::ALL.to_vec());
            }
            let ide = Ide::parse(part)?;
            if !out.contains(&ide) {
                out.push(ide);
            }
        }
        Ok(out)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl std::fmt::Display for Ide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// How an assistant gets its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The assistant runs `lanyard token NAME --claude-headers` for headers at connect time.
    Helper,
    /// The assistant starts `lanyard bridge NAME` as a stdio MCP server.
    Bridge,
    /// The access token itself in a header of the entry, rewritten after every refresh.
    Static,
    /// The assistant runs OAuth itself with a client id Lanyard knows works.
    Native,
}

impl Mode {
    pub fn id(self) -> &'static str {
        match self {
            Mode::Helper => "helper",
            Mode::Bridge => "bridge",
            Mode::Static => "static",
            Mode::Native => "native",
        }
    }
    pub fn parse(s: &str) -> Result<Mode, IdeError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "helper" => Ok(Mode::Helper),
            "bridge" => Ok(Mode::Bridge),
            "static" => Ok(Mode::Static),
            "native" => Ok(Mode::Native),
            other => Err(IdeError::UnknownMode(other.to_owned())),
        }
    }
}

/// Which of an assistant's config files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "lowercase")]
pub enum Scope {
    /// The assistant's user-wide config.
    User,
    /// A project's shared file (`.cursor/mcp.json`, `.mcp.json`, `.codex/config.toml`).
    Project(PathBuf),
    /// Claude Code only: `~/.claude.json` → `projects[<git root>]`.
    Local(PathBuf),
}

impl Scope {
    /// `user`, `project` or `local`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project(_) => "project",
            Scope::Local(_) => "local",
        }
    }
}

/// Failures of the IDE integration.
#[derive(Debug, thiserror::Error)]
pub enum IdeError {
    #[error("Unknown assistant '{0}'")]
    UnknownIde(String),
    #[error("Unknown connection mode '{0}'")]
    UnknownMode(String),
    #[error("{file} is not valid {format} (line {line}, column {column}): {message}")]
    Malformed {
        file: PathBuf,
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {path} is not an object, so Lanyard cannot add its entry there")]
    Shape { file: PathBuf, path: String },
    #[error("{0} is not UTF-8 text")]
    NotUtf8(PathBuf),
    #[error("Could not read or write {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0} kept changing while Lanyard tried to update it")]
    Contended(PathBuf),
    #[error("{ide} cannot use the {mode} mode: {why}")]
    ModeUnsupported {
        ide: Ide,
        mode: Mode,
        why: &'static str,
    },
    /// A secret (a static token, a client secret) would go into a project file meant to be
    /// committed (`.mcp.json`, `.cursor/mcp.json`, `.codex/config.toml`): 0600 does not stop
    /// `git add`.
    #[error("{} is a project file meant to be committed: Lanyard will not write a {what} into it", file.display())]
    SharedFile { file: PathBuf, what: &'static str },
    #[error("{ide} has no {scope} scope")]
    ScopeUnsupported { ide: Ide, scope: &'static str },
    #[error("Could not find the home directory")]
    NoHome,
    #[error("{ide} rejected the entry Lanyard wrote for '{name}' ({judge}): {output}")]
    Rejected {
        ide: Ide,
        name: String,
        judge: String,
        output: String,
    },
    #[error("'{name}' is not connected to {ide}")]
    NotConnected { name: String, ide: Ide },
    #[error("Lanyard's connection records in {path} are unreadable: {message}")]
    Records { path: PathBuf, message: String },
    #[error("No AI coding assistant ({}) was found on this machine", Ide::labels())]
    NoneDetected,
    #[error("Native mode needs a client id that the assistant can use")]
    NativeNeedsClient,
    #[error("The file watcher failed: {0}")]
    Watch(String),
    #[error(
        "Lanyard's command-line tool is not installed beside this program (looked for {beside})"
    )]
    NoCli { beside: PathBuf },
}

impl IdeError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> IdeError {
        IdeError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    pub(crate) fn malformed(file: &Path, format: text::Format, e: jsonc::SyntaxError) -> IdeError {
        IdeError::Malformed {
            file: file.to_path_buf(),
            format: match format {
                text::Format::Json => "JSON",
                text::Format::Toml => "TOML",
            },
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }

    pub(crate) fn from_edit(file: &Path, format: text::Format, e: jsonc::EditError) -> IdeError {
        match e {
            jsonc::EditError::Syntax(s) => IdeError::malformed(file, format, s),
            jsonc::EditError::NotAnObject(path) => IdeError::Shape {
                file: file.to_path_buf(),
                path,
            },
        }
    }
}

impl UserFacing for IdeError {
    fn code(&self) -> &'static str {
        match self {
            IdeError::UnknownIde(..) => "ides.unknown-ide",
            IdeError::UnknownMode(..) => "ides.unknown-mode",
            IdeError::Malformed { .. } => "ides.malformed",
            IdeError::Shape { .. } => "ides.shape",
            IdeError::NotUtf8(..) => "ides.not-utf8",
            IdeError::Io { .. } => "ides.io",
            IdeError::Contended(..) => "ides.contended",
            IdeError::ModeUnsupported { .. } => "ides.mode-unsupported",
            IdeError::SharedFile { .. } => "ides.shared-file",
            IdeError::ScopeUnsupported { .. } => "ides.scope-unsupported",
            IdeError::NoHome => "ides.no-home",
            IdeError::Rejected { .. } => "ides.rejected",
            IdeError::NotConnected { .. } => "ides.not-connected",
            IdeError::Records { .. } => "ides.records",
            IdeError::NoneDetected => "ides.none-detected",
            IdeError::NativeNeedsClient => "ides.native-needs-client",
            IdeError::Watch(..) => "ides.watch",
            IdeError::NoCli { .. } => "ides.no-cli",
        }
    }
    fn next_step(&self) -> String {
        match self {
            IdeError::UnknownIde(_) => format!("Use one or more of: {} (comma-separated).", Ide::ids()),
            IdeError::UnknownMode(_) => "Use one of: helper, bridge, static, native.".into(),
            IdeError::Malformed { file, .. } => format!(
                "Fix the syntax error in {} (Lanyard left it untouched), then run the command again.",
                file.display()
            ),
            IdeError::Shape { file, .. } => format!(
                "Fix {} by hand (Lanyard left it untouched), then run the command again.",
                file.display()
            ),
            IdeError::NotUtf8(p) => format!("Save {} as UTF-8 and try again.", p.display()),
            IdeError::Io { path, .. } => format!(
                "Check that {} and its folder are writable by you, then try again.",
                path.display()
            ),
            IdeError::Contended(_) => {
                "Another program is rewriting that file continuously; close it (or wait) and try again.".into()
            }
            IdeError::ModeUnsupported { .. } => {
                "Pick another --mode (bridge works with every assistant).".into()
            }
            IdeError::SharedFile { .. } => "Use --mode helper or bridge for a project (they put no secret in the file), or connect user-wide or --local.".into(),
            IdeError::ScopeUnsupported { .. } => "Use --project PATH or the user-wide config.".into(),
            IdeError::NoHome => "Set HOME and try again.".into(),
            IdeError::Rejected { .. } => {
                "Lanyard rolled its change back. Try another --mode, or report this with the output above.".into()
            }
            IdeError::NotConnected { .. } => "See `lanyard ides` for what is connected where.".into(),
            IdeError::Records { path, .. } => format!(
                "Move {} aside (Lanyard will start a new one) and reconnect with `lanyard connect`.",
                path.display()
            ),
            IdeError::NoneDetected => format!("Name them with --ide {} (Lanyard creates their config files).", Ide::ALL.map(Ide::id).join(",")),
            IdeError::NativeNeedsClient => "Pass --client-id (and --callback-port) of a client your admin registered for the assistant's redirect URI, or use --mode helper or bridge.".into(),
            IdeError::NoCli { .. } => "Reinstall Lanyard (its packages carry the `lanyard` command), or set LANYARD_BIN to the `lanyard` binary the assistants should run.".into(),
            IdeError::Watch(_) => "Restart the Lanyard daemon; if it keeps failing, raise the inotify watch limit.".into(),
        }
    }
}
