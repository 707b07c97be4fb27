//! What Lanyard would write for a connection right now, from the live state: the server's URL and
//! token header from `state.json`, the current `lanyard` binary, a valid token (static mode).
//! Shared by `lanyard connect`, `lanyard ides`, the watcher and the tray.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use super::records::Connection;
use super::{EntryParams, IdeError, Mode, ModeParams};
use crate::api::Lanyard;

/// What we would write for a connection now (URL from the state, the current binary, the
/// current static token…). `None`: skip it this time (server gone, token unavailable).
pub trait ParamsSource {
    fn params<'a>(
        &'a self,
        c: &'a Connection,
    ) -> Pin<Box<dyn Future<Output = Option<EntryParams>> + 'a>>;
}

/// The `lanyard` binary assistants should run: `LANYARD_BIN` when set, else (run from an
/// AppImage) the CLI copied out of the image, else this executable when it is the CLI, else the
/// CLI installed beside it. The tray app runs this code in its own process
/// (its config watcher): there, "this executable" is `lanyard-tray`, which must never end up in an
/// assistant's config as the token helper.
pub fn lanyard_exe() -> Result<PathBuf, IdeError> {
    let env = std::env::var_os("LANYARD_BIN").filter(|v| !v.is_empty());
    // Run from an AppImage: this executable vanishes with the mount, the copy outside stays.
    if env.is_none()
        && let Some(image) = crate::appimage::running_image()
    {
        return crate::appimage::install_cli(&image).map_err(|e| IdeError::Io {
            path: crate::appimage::cli_copy_path().unwrap_or_else(|| PathBuf::from("lanyard")),
            message: format!("could not copy the lanyard command out of the AppImage: {e}"),
        });
    }
    let current = std::env::current_exe().map_err(|e| IdeError::Io {
        path: PathBuf::from("lanyard"),
        message: e.to_string(),
    })?;
    let current = std::fs::canonicalize(&current).unwrap_or(current);
    resolve_lanyard_exe(env.map(PathBuf::from), &current, |p| p.is_file())
}

const CLI_NAME: &str = if cfg!(windows) {
    "lanyard.exe"
} else {
    "lanyard"
};

fn resolve_lanyard_exe(
    env: Option<PathBuf>,
    current: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Result<PathBuf, IdeError> {
    if let Some(p) = env {
        return Ok(p);
    }
    if current.file_name().is_some_and(|n| n == CLI_NAME) {
        return Ok(current.to_path_buf());
    }
    let beside = current.with_file_name(CLI_NAME);
    if exists(&beside) {
        return Ok(beside);
    }
    Err(IdeError::NoCli { beside })
}

/// Native-mode inputs given on the command line.
#[derive(Debug, Clone, Default)]
pub struct NativeClient {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub callback_port: Option<u16>,
    /// A recorded connection whose entry carries a secret: read it from the keychain.
    pub secret_in_keychain: bool,
}

/// The keychain key of a client secret handed to an assistant in native mode.
pub fn native_secret_key(server: &str, client_id: &str) -> String {
    format!("ide-native-secret:{server}:{client_id}")
}

/// The native client secrets (server, client id) that `before` had in the keychain and no
/// connection of `after` still uses: what a disconnect should delete from the keychain.
pub fn unused_native_secrets(before: &[Connection], after: &[Connection]) -> Vec<String> {
    let key = |c: &Connection| {
        c.native_secret
            .then(|| {
                c.client_id
                    .as_deref()
                    .map(|id| native_secret_key(&c.server, id))
            })
            .flatten()
    };
    let still: Vec<String> = after.iter().filter_map(key).collect();
    let mut gone: Vec<String> = before
        .iter()
        .filter_map(key)
        .filter(|k| !still.contains(k))
        .collect();
    gone.sort();
    gone.dedup();
    gone
}

/// Builds [`EntryParams`] from the live state.
pub struct LiveSource {
    pub lanyard: Lanyard,
    pub exe: PathBuf,
}

impl LiveSource {
    pub fn open() -> Result<LiveSource, crate::Error> {
        Ok(LiveSource {
            lanyard: Lanyard::open()?,
            exe: lanyard_exe()?,
        })
    }

    /// Parameters for `server` in `mode`. Static mode fetches a valid token (refreshing it when
    /// due); native mode needs a client id the user vouches for.
    pub async fn params(
        &self,
        server: &str,
        mode: Mode,
        header: Option<&str>,
        native: &NativeClient,
    ) -> Result<EntryParams, crate::Error> {
        let state = self.lanyard.state_file()?.load()?;
        let s = state
            .server(server)
            .ok_or_else(|| crate::servers::StateError::UnknownServer(server.to_owned()))?;
        let mode = match mode {
            Mode::Helper => ModeParams::Helper,
            Mode::Bridge => ModeParams::Bridge,
            Mode::Static => {
                let token = self.lanyard.token(server).await?;
                ModeParams::Static {
                    header: header.unwrap_or(s.quirks.header_name()).to_owned(),
                    token: token.access_token,
                }
            }
            Mode::Native => {
                let client_id = native
                    .client_id
                    .clone()
                    .ok_or(IdeError::NativeNeedsClient)?;
                // The secret lives in the keychain as well as in the (private) entry, so the
                // watcher's expected entry keeps it instead of "repairing" it away.
                let key = native_secret_key(server, &client_id);
                let client_secret = match &native.client_secret {
                    Some(secret) => {
                        self.lanyard.secrets().set(&key, secret)?;
                        Some(secret.clone())
                    }
                    None if native.secret_in_keychain => self.lanyard.secrets().get(&key)?,
                    None => None,
                };
                ModeParams::Native {
                    client_id,
                    client_secret,
                    callback_port: native.callback_port,
                }
            }
        };
        Ok(EntryParams {
            name: server.to_owned(),
            url: s.url.clone(),
            lanyard: self.exe.clone(),
            mode,
        })
    }

    /// Parameters for a recorded connection.
    pub async fn for_connection(&self, c: &Connection) -> Result<EntryParams, crate::Error> {
        let native = NativeClient {
            client_id: c.client_id.clone(),
            client_secret: None,
            callback_port: c.callback_port,
            secret_in_keychain: c.native_secret,
        };
        self.params(&c.server, c.mode, c.header.as_deref(), &native)
            .await
    }
}

impl ParamsSource for LiveSource {
    fn params<'a>(
        &'a self,
        c: &'a Connection,
    ) -> Pin<Box<dyn Future<Output = Option<EntryParams>> + 'a>> {
        Box::pin(async move {
            match self.for_connection(c).await {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!(server = %c.server, "cannot compute the entry: {}", e.what());
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod exe_tests {
    use super::*;

    #[test]
    fn the_cli_names_itself() {
        let got = resolve_lanyard_exe(None, Path::new("/opt/x/lanyard"), |_| false).unwrap();
        assert_eq!(got, Path::new("/opt/x/lanyard"));
    }

    #[test]
    fn the_tray_names_the_cli_beside_it_never_itself() {
        let got = resolve_lanyard_exe(None, Path::new("/usr/bin/lanyard-tray"), |p| {
            p == Path::new("/usr/bin/lanyard")
        })
        .unwrap();
        assert_eq!(got, Path::new("/usr/bin/lanyard"));
        let err = resolve_lanyard_exe(None, Path::new("/usr/bin/lanyard-tray"), |_| false);
        assert!(matches!(err, Err(IdeError::NoCli { .. })), "{err:?}");
    }

    #[test]
    fn lanyard_bin_wins() {
        let got = resolve_lanyard_exe(
            Some("/home/u/.local/bin/lanyard".into()),
            Path::new("/tmp/.mount_x/usr/bin/lanyard-tray"),
            |_| true,
        )
        .unwrap();
        assert_eq!(got, Path::new("/home/u/.local/bin/lanyard"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ides::records::ConnectionStatus;
    use crate::ides::text::{Created, Format};
    use crate::ides::{Ide, Scope};

    fn native(server: &str, ide: Ide, secret: bool) -> Connection {
        Connection {
            server: server.into(),
            ide,
            scope: Scope::User,
            file: PathBuf::from(format!("/h/{ide:?}")),
            container: vec!["mcpServers".into()],
            format: Format::Json,
            mode: Mode::Native,
            header: None,
            client_id: Some("cid".into()),
            callback_port: None,
            native_secret: secret,
            created: Created::Nothing,
            created_file: false,
            status: ConnectionStatus::Connected,
            connected_at: 0,
        }
    }

    #[test]
    fn a_native_secret_leaves_the_keychain_with_its_last_entry() {
        let cursor = native("gw", Ide::Cursor, true);
        let codex = native("gw", Ide::Codex, true);
        let key = native_secret_key("gw", "cid");
        // Cursor disconnected, Codex still uses the secret: kept.
        assert!(
            unused_native_secrets(
                &[cursor.clone(), codex.clone()],
                std::slice::from_ref(&codex)
            )
            .is_empty()
        );
        // The last one gone: deleted, once.
        assert_eq!(
            unused_native_secrets(&[cursor.clone(), codex], &[]),
            vec![key]
        );
        // No secret recorded: nothing to delete.
        assert!(unused_native_secrets(&[native("gw", Ide::Cursor, false)], &[]).is_empty());
    }
}
