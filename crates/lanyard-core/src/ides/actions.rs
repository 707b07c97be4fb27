//! The assistant operations both shells run, for the current user: what is installed and
//! connected (`lanyard ides`, the tray's rows and checkboxes), connect and disconnect.

use std::path::PathBuf;

use serde::Serialize;

use super::manage::{ConnectReport, IdeStatus, Manager};
use super::records::RecordsFile;
use super::source::{LiveSource, NativeClient, unused_native_secrets};
use super::{ConnectRequest, Ide, IdeEnv, IdeError, Mode, Scope};
use crate::paths::Paths;

/// The current user's assistants and Lanyard's records of what it connected where.
pub fn manager() -> crate::Result<Manager> {
    Ok(Manager::new(
        IdeEnv::from_env()?,
        RecordsFile::new(Paths::from_env()?),
    ))
}

/// One assistant Lanyard can configure, as found on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct Assistant {
    pub ide: Ide,
    pub name: &'static str,
    pub installed: bool,
    /// Its CLI, when on PATH.
    pub cli: Option<String>,
    /// Its user-wide config file.
    pub user_config: String,
}

/// What `lanyard ides --json` prints: the assistants and every recorded connection's state.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub assistants: Vec<Assistant>,
    pub connections: Vec<IdeStatus>,
}

/// Every assistant, installed or not.
pub fn assistants(manager: &Manager) -> Vec<Assistant> {
    Ide::ALL
        .into_iter()
        .map(|ide| {
            let d = ide.detect(&manager.env);
            Assistant {
                ide,
                name: ide.label(),
                installed: d.installed,
                cli: d.cli.map(|p| p.display().to_string()),
                user_config: ide
                    .location(&manager.env, &Scope::User)
                    .map(|l| l.file.display().to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Every recorded connection with its state (drift is judged against what Lanyard would write
/// now; a connection whose server cannot give that is only checked for presence).
pub async fn connections(manager: &Manager, source: &LiveSource) -> crate::Result<Vec<IdeStatus>> {
    let records = manager.records.load()?;
    let mut out = Vec::new();
    for c in &records.connections {
        let params = source.for_connection(c).await.ok();
        out.push(IdeStatus {
            server: c.server.clone(),
            ide: c.ide,
            mode: c.mode,
            file: c.file.clone(),
            state: manager.inspect(c, params.as_ref()),
        });
    }
    Ok(out)
}

/// The assistants and the connections of the current user.
pub async fn overview() -> crate::Result<Overview> {
    let manager = manager()?;
    let source = LiveSource::open()?;
    Ok(Overview {
        assistants: assistants(&manager),
        connections: connections(&manager, &source).await?,
    })
}

/// Where and how to connect a server.
#[derive(Debug, Clone, Default)]
pub struct ConnectTarget {
    /// `None`: every installed assistant (an error when there is none).
    pub ides: Option<Vec<Ide>>,
    /// `None`: each assistant's default mode.
    pub mode: Option<Mode>,
    /// Write into this project's config instead of the user-wide one.
    pub project: Option<PathBuf>,
    /// Claude Code with a project: its private per-project entry (`local` scope).
    pub local: bool,
    /// Static mode: the header carrying the token.
    pub header: Option<String>,
    /// Native mode: the client the assistant uses.
    pub native: NativeClient,
    /// Ask the assistants' CLIs to validate the entry (rolled back when they object).
    pub validate: bool,
}

/// Connects `name` as `target` says; one report per assistant.
pub async fn connect(name: &str, target: &ConnectTarget) -> crate::Result<Vec<ConnectReport>> {
    let mut manager = manager()?;
    manager.judge = target.validate;
    let ides = match &target.ides {
        Some(list) => list.clone(),
        None => {
            let found: Vec<Ide> = Ide::ALL
                .into_iter()
                .filter(|i| i.detect(&manager.env).installed)
                .collect();
            if found.is_empty() {
                return Err(IdeError::NoneDetected.into());
            }
            found
        }
    };
    let source = LiveSource::open()?;
    let mut reports = Vec::new();
    for ide in ides {
        let scope = match &target.project {
            None => Scope::User,
            Some(p) if target.local && ide == Ide::Claude => Scope::Local(p.clone()),
            Some(p) => Scope::Project(p.clone()),
        };
        // A DPoP-bound server's token alone is refused (each request needs a proof signed
        // with this machine's key): only the bridge, which signs them, can carry it.
        let mode = match (target.mode, source.lanyard.dpop(name)?.is_some()) {
            (None, true) => Mode::Bridge,
            (Some(Mode::Helper | Mode::Static), true) => {
                return Err(crate::tokens::dpop::DpopError::BoundToKey {
                    server: name.to_owned(),
                }
                .into());
            }
            (m, _) => m.unwrap_or(ide.default_mode()),
        };
        let params = source
            .params(name, mode, target.header.as_deref(), &target.native)
            .await?;
        let req = ConnectRequest { ide, scope, params };
        // File work and the judge are blocking; keep them off the async runtime's thread.
        let m = manager.clone();
        let report = tokio::task::spawn_blocking(move || m.connect(&req))
            .await
            .map_err(|e| IdeError::Watch(e.to_string()))??;
        reports.push(report);
    }
    Ok(reports)
}

/// Removes `name`'s entries that Lanyard wrote (from `ides`, or every assistant), giving back
/// each file as it was; a native-mode client secret no entry uses any more leaves the keychain
/// too. Returns the files changed.
pub async fn disconnect(name: &str, ides: Option<Vec<Ide>>) -> crate::Result<Vec<PathBuf>> {
    let manager = manager()?;
    let before = manager.records.load()?.connections;
    let name = name.to_owned();
    let (changed, after) = tokio::task::spawn_blocking(move || {
        let changed = manager.disconnect(&name, ides.as_deref())?;
        Ok::<_, IdeError>((changed, manager.records.load()?.connections))
    })
    .await
    .map_err(|e| IdeError::Watch(e.to_string()))??;
    let unused = unused_native_secrets(&before, &after);
    if !unused.is_empty() {
        let lanyard = crate::api::Lanyard::open()?;
        for key in unused {
            lanyard.secrets().delete(&key)?;
        }
    }
    Ok(changed)
}
