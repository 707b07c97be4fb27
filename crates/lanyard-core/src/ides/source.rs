//! What Lanyard would write for a connection right now, from the live state: the server's URL and
//! token header from `state.json`, the current `lanyard` binary, a valid token (static mode).
//! Shared by `lanyard connect`, `lanyard ides`, the watcher and the tray.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use super::records::Connection;
use super::{EntryParams, IdeError, Mode, ModeParams};
use crate::flow::Lanyard;

/// The `lanyard` binary assistants should run: `LANYARD_BIN` when set, else this executable.
pub fn lanyard_exe() -> Result<PathBuf, IdeError> {
    if let Some(p) = std::env::var_os("LANYARD_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| IdeError::Io {
        path: PathBuf::from("lanyard"),
        message: e.to_string(),
    })?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// Native-mode inputs given on the command line.
#[derive(Debug, Clone, Default)]
pub struct NativeClient {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub callback_port: Option<u16>,
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
                ModeParams::Native {
                    client_id,
                    client_secret: native.client_secret.clone(),
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
        };
        self.params(&c.server, c.mode, c.header.as_deref(), &native)
            .await
    }
}

impl crate::watch::ParamsSource for LiveSource {
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
