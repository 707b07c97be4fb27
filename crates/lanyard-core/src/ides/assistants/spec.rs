//! What each assistant's file provides ([`Assistant`]) and the pieces their entries share.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::ides::adapter::{EntryParams, IdeEnv, Location};
use crate::ides::text::Format;
use crate::ides::{Mode, Scope};

/// Where an assistant keeps a scope's servers: the file, the path of the object holding them
/// (`["mcpServers"]`, `["projects", root, "mcpServers"]`) and the file's format.
pub struct Place {
    pub file: PathBuf,
    pub container: Vec<String>,
    pub format: Format,
}

impl Place {
    pub fn new(file: PathBuf, container: &[&str], format: Format) -> Place {
        Place {
            file,
            container: container.iter().map(|s| (*s).to_owned()).collect(),
            format,
        }
    }
}

/// The folders of a judge's private scratch directory; `env` points the CLI at them.
pub struct ScratchDirs<'a> {
    pub root: &'a Path,
    pub env: &'a IdeEnv,
}

impl ScratchDirs<'_> {
    /// A scratch project folder (not created).
    pub fn project(&self) -> PathBuf {
        self.root.join("project")
    }
}

/// What each assistant file provides.
pub trait Assistant: Sync {
    /// The variable that names its CLI (e.g. `LANYARD_CLAUDE_BIN`) and the CLI's name on `PATH`.
    fn cli(&self) -> (&'static str, &'static str);
    /// The file for a scope; `None` when the assistant has no such scope.
    fn place(&self, env: &IdeEnv, scope: &Scope) -> Option<Place>;
    /// The keys of an entry that Lanyard owns; any other key a user adds to our entry is kept.
    fn managed_keys(&self) -> &'static [&'static str];
    /// The mode used when none is asked for.
    fn default_mode(&self) -> Mode;
    /// Whether its config (folder or file) exists.
    fn config_present(&self, env: &IdeEnv) -> bool;
    /// Our entry for a server in a mode (only the managed keys); `Err(why)` when the assistant
    /// cannot use the mode.
    fn entry(&self, p: &EntryParams) -> Result<Value, &'static str>;
    /// The arguments of its CLI's judge for entry `name`; `None` when the CLI has none.
    fn judge_args(&self, _name: &str) -> Option<Vec<String>> {
        None
    }
    /// Whether its CLI reads `loc` at all as `env` stands (nothing to judge otherwise).
    fn judge_reads(&self, _env: &IdeEnv, _loc: &Location) -> bool {
        true
    }
    /// Copies into `scratch` what the judge reads (from `real` and `loc.file`) and returns the
    /// folder the judge runs in.
    fn prepare_scratch(
        &self,
        _real: &IdeEnv,
        scratch: &ScratchDirs,
        _loc: &Location,
    ) -> std::io::Result<PathBuf> {
        Ok(scratch.env.home.clone())
    }
}

/// Copies `from` to `to`; a missing `from` is nothing to copy.
pub(crate) fn copy_if_present(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::copy(from, to) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The `lanyard` binary as the assistant runs it.
pub(crate) fn lanyard(p: &EntryParams) -> String {
    p.lanyard.to_string_lossy().into_owned()
}

/// `{"command": LANYARD, "args": ["bridge", NAME]}`: `lanyard bridge NAME` as a local (stdio)
/// server, in the shape most assistants read.
pub(crate) fn bridge_command(p: &EntryParams) -> Value {
    json!({"command": lanyard(p), "args": ["bridge", p.name]})
}

/// `{URL_KEY: URL, HEADERS_KEY: {HEADER: "Bearer TOKEN"}}`: the remote server with a static token.
pub(crate) fn remote_with_bearer(
    p: &EntryParams,
    [url_key, headers_key]: [&str; 2],
    header: &str,
    token: &str,
) -> Value {
    json!({url_key: p.url.as_str(), headers_key: {header: format!("Bearer {token}")}})
}

/// `{"type": KIND, ...entry}`: `entry` led by the `type` key its assistant requires.
pub(crate) fn typed(kind: &str, entry: Value) -> Value {
    let mut typed = Map::from_iter([("type".to_owned(), json!(kind))]);
    if let Value::Object(keys) = entry {
        typed.extend(keys);
    }
    Value::Object(typed)
}

/// `{ID_KEY: CLIENT_ID, SECRET_KEY: CLIENT_SECRET}` (the secret only when there is one): a
/// pre-registered OAuth client under the key names its assistant reads.
pub(crate) fn oauth_client(
    [id_key, secret_key]: [&str; 2],
    client_id: &str,
    client_secret: &Option<String>,
) -> Value {
    let mut client = json!({id_key: client_id});
    if let Some(s) = client_secret {
        client[secret_key] = json!(s);
    }
    client
}

/// The per-OS folder desktop apps keep their settings in (`dirs::config_dir`): `%APPDATA%` on
/// Windows, `~/Library/Application Support` on macOS, `$XDG_CONFIG_HOME` or `~/.config` elsewhere.
pub(crate) fn app_data(env: &IdeEnv) -> PathBuf {
    app_data_on(std::env::consts::OS, env)
}

/// [`app_data`] on the OS named as `std::env::consts::OS` names it (each OS's rule is testable
/// everywhere).
pub(crate) fn app_data_on(os: &str, env: &IdeEnv) -> PathBuf {
    match os {
        "windows" => env
            .var("APPDATA")
            .map(Path::to_path_buf)
            .unwrap_or_else(|| env.home.join("AppData").join("Roaming")),
        "macos" => env.home.join("Library").join("Application Support"),
        _ => env.xdg_config_home(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_data_is_appdata_on_windows_application_support_on_macos_and_xdg_elsewhere() {
        let mut env = IdeEnv::at_home(PathBuf::from("/home/u"));
        assert_eq!(
            app_data_on("windows", &env),
            PathBuf::from("/home/u/AppData/Roaming")
        );
        assert_eq!(
            app_data_on("macos", &env),
            PathBuf::from("/home/u/Library/Application Support")
        );
        assert_eq!(app_data_on("linux", &env), PathBuf::from("/home/u/.config"));
        env.set_var("APPDATA", "/roaming");
        env.set_var("XDG_CONFIG_HOME", "/xdg");
        assert_eq!(app_data_on("windows", &env), PathBuf::from("/roaming"));
        assert_eq!(app_data_on("freebsd", &env), PathBuf::from("/xdg"));
        assert_eq!(
            app_data_on("macos", &env),
            PathBuf::from("/home/u/Library/Application Support")
        );
    }
}
