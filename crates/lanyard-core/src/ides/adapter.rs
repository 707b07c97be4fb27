//! What every assistant shares: the environment its config is found in, a config file's
//! [`Location`] and the entry parameters per mode. Each assistant's own file is under
//! [`super::assistants`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
    /// The other [`LOCATING_VARS`] that are set (not empty).
    pub vars: BTreeMap<String, PathBuf>,
}

/// Variables besides `HOME`, `CLAUDE_CONFIG_DIR` and `CODEX_HOME` that move an assistant's config.
/// A judge's scratch environment sets or removes every one of them, so a CLI never reads the
/// user's real files through one.
pub const LOCATING_VARS: &[&str] = &[
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "GEMINI_CLI_HOME",
    "COPILOT_HOME",
    "OPENCODE_CONFIG",
    "OPENCODE_CONFIG_DIR",
    "AMP_SETTINGS_FILE",
    "APPDATA",
    "VSCODE_APPDATA",
    "VSCODE_PORTABLE",
];

pub(crate) fn non_empty(var: &str) -> Option<PathBuf> {
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
            vars: LOCATING_VARS
                .iter()
                .filter_map(|v| Some(((*v).to_owned(), non_empty(v)?)))
                .collect(),
        })
    }

    /// An environment with only `HOME` (no `PATH`, no other variable): for tests and scratch
    /// copies.
    pub fn at_home(home: PathBuf) -> IdeEnv {
        IdeEnv {
            home,
            claude_config_dir: None,
            codex_home: None,
            path: None,
            vars: BTreeMap::new(),
        }
    }

    /// Sets one of the [`LOCATING_VARS`].
    pub fn set_var(&mut self, name: &str, value: impl Into<PathBuf>) {
        self.vars.insert(name.to_owned(), value.into());
    }

    /// One of the [`LOCATING_VARS`], when set.
    pub fn var(&self, name: &str) -> Option<&Path> {
        self.vars.get(name).map(PathBuf::as_path)
    }

    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub fn xdg_config_home(&self) -> PathBuf {
        self.var("XDG_CONFIG_HOME")
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.home.join(".config"))
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
        for v in LOCATING_VARS {
            match self.var(v) {
                Some(d) => cmd.env(v, d),
                None => cmd.env_remove(v),
            };
        }
        if let Some(p) = &self.path {
            cmd.env("PATH", p);
        }
    }
}

pub(crate) fn is_executable(p: &Path) -> bool {
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

pub(crate) fn abs(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
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
