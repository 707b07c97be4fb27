//! The state file's types and its atomic, locked replacement.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::machine::MachineGrant;
use crate::discovery::AuthServerMetadata;
use crate::error::UserFacing;
use crate::fsutil::{self, FsError};
use crate::paths::{Paths, PathsError};

/// Current version of the file format.
const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("Lanyard could not read its state file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Lanyard's state file {path} is not valid: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("Lanyard could not write its state file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no server named \"{0}\" is managed by Lanyard")]
    UnknownServer(String),
    #[error("a server named \"{0}\" already exists")]
    NameTaken(String),
    #[error(transparent)]
    Paths(#[from] PathsError),
}

impl UserFacing for StateError {
    fn code(&self) -> &'static str {
        match self {
            StateError::Read { .. } => "state.read",
            StateError::Corrupt { .. } => "state.corrupt",
            StateError::Write { .. } => "state.write",
            StateError::UnknownServer(..) => "state.unknown-server",
            StateError::NameTaken(..) => "state.name-taken",
            StateError::Paths(e) => e.code(),
        }
    }
    fn next_step(&self) -> String {
        match self {
            StateError::Read { path, .. } | StateError::Write { path, .. } => format!(
                "Check the permissions of {} and the free disk space, then try again.",
                path.display()
            ),
            StateError::Corrupt { path, .. } => format!(
                "Move {} aside (it holds no secrets) and add your servers again with `lanyard add URL`.",
                path.display()
            ),
            StateError::UnknownServer(_) => {
                "Run `lanyard list` to see the managed servers, or add it with `lanyard add URL`."
                    .into()
            }
            StateError::NameTaken(_) => {
                "Pick another name with `--name NAME`, or `lanyard remove` the existing one first."
                    .into()
            }
            StateError::Paths(e) => e.next_step(),
        }
    }
}

/// The whole non-secret state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    /// The machine's stable loopback callback port (RFC 8252), remembered once chosen.
    #[serde(default)]
    pub callback_port: Option<u16>,
    #[serde(default)]
    pub servers: Vec<Server>,
    /// One per authorization server issuer (no client sprawl).
    #[serde(default)]
    pub registrations: Vec<Registration>,
}

impl Default for State {
    fn default() -> Self {
        State {
            format: FORMAT,
            callback_port: None,
            servers: Vec::new(),
            registrations: Vec::new(),
        }
    }
}

impl State {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }
    pub fn server_mut(&mut self, name: &str) -> Option<&mut Server> {
        self.servers.iter_mut().find(|s| s.name == name)
    }
    pub fn registration(&self, issuer: &Url) -> Option<&Registration> {
        self.registrations.iter().find(|r| &r.issuer == issuer)
    }
    pub fn registration_mut(&mut self, issuer: &Url) -> Option<&mut Registration> {
        self.registrations.iter_mut().find(|r| &r.issuer == issuer)
    }
    /// Insert or replace the registration of its issuer.
    pub fn put_registration(&mut self, reg: Registration) {
        match self.registration_mut(&reg.issuer) {
            Some(r) => *r = reg,
            None => self.registrations.push(reg),
        }
    }
    /// Insert or replace a server by name.
    pub fn put_server(&mut self, server: Server) {
        match self.server_mut(&server.name) {
            Some(s) => *s = server,
            None => self.servers.push(server),
        }
    }
}

/// One managed MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub name: String,
    /// The URL the user gave (normalised), where MCP requests go.
    pub url: Url,
    /// The RFC 8707 resource (the PRM `resource`).
    pub resource: Url,
    /// The authorization server's validated metadata (issuer, endpoints), so refresh, revoke
    /// and `token` need no discovery round trip.
    pub auth_server: AuthServerMetadata,
    /// Where the client id came from.
    pub client: ClientSource,
    /// Scopes requested at the last sign-in (empty = the parameter was omitted).
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub quirks: Quirks,
    #[serde(default)]
    pub status: ServerStatus,
    /// Unix seconds.
    pub added_at: i64,
}

/// Where a server's client id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientSource {
    /// Given by an admin (`--client-id`); a secret, when any, is in the keychain.
    PreRegistered { client_id: String, has_secret: bool },
    /// Client ID Metadata Document: the client id is the document's URL.
    MetadataDocument { client_id: Url },
    /// RFC 7591 registration kept in [`State::registrations`] under the server's issuer.
    Dynamic,
    /// A headless agent's own client: no browser, no refresh token ([`MachineGrant`]).
    /// `client_id` is absent for workload identity without one; `has_secret`: a client secret
    /// is in the keychain.
    Machine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(default)]
        has_secret: bool,
        #[serde(flatten)]
        grant: MachineGrant,
    },
}

impl ClientSource {
    /// Short label for `list`.
    pub fn label(&self) -> &'static str {
        match self {
            ClientSource::PreRegistered { .. } => "pre-registered",
            ClientSource::MetadataDocument { .. } => "client-id-metadata-document",
            ClientSource::Dynamic => "dynamic-registration",
            ClientSource::Machine { grant, .. } => grant.label(),
        }
    }
}

/// Per-server IdP quirks, settings rather than vendor code paths.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quirks {
    /// Do not send RFC 8707 `resource` (IdPs that reject it, e.g. Entra).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_resource: bool,
    /// `audience` authorize/token parameter (Auth0/Cognito style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Extra authorize request parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_authorize_params: Vec<(String, String)>,
    /// Send `scope` again on refresh (Entra).
    #[serde(default, skip_serializing_if = "is_false")]
    pub scopes_on_refresh: bool,
    /// Header the gateway reads the token from (default `Authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// A fixed loopback callback port (IdPs that match redirect URIs exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_port: Option<u16>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Quirks {
    /// The header name carrying the token.
    pub fn header_name(&self) -> &str {
        self.token_header.as_deref().unwrap_or("Authorization")
    }
}

/// A server's sign-in status (token expiry itself lives with the tokens in the keychain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServerStatus {
    #[default]
    Ok,
    /// The grant is gone (invalid_grant, logout, revoked): `lanyard login NAME`.
    NeedsSignIn { reason: String },
}

/// An RFC 7591 registration at one authorization server issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub issuer: Url,
    pub client_id: String,
    /// The metadata the AS answered with (RFC 7592 PUT needs it whole).
    pub metadata: serde_json::Value,
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
    /// A client secret is stored in the keychain.
    #[serde(default)]
    pub has_secret: bool,
    /// RFC 7592 management endpoint; its `registration_access_token` is in the keychain.
    #[serde(default)]
    pub registration_client_uri: Option<Url>,
    #[serde(default)]
    pub has_registration_access_token: bool,
    /// The AS answered `invalid_client`: an admin deleted this client (issue 4 re-registers).
    #[serde(default)]
    pub dead: bool,
    /// Unix seconds.
    pub registered_at: i64,
}

/// The state file on disk.
#[derive(Debug, Clone)]
pub struct StateFile {
    paths: Paths,
}

impl StateFile {
    pub fn new(paths: Paths) -> StateFile {
        StateFile { paths }
    }
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Read the state (an absent file is the empty state). No lock needed: writers rename.
    pub fn load(&self) -> Result<State, StateError> {
        let path = self.paths.state_file();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path, source })
    }

    /// Read-modify-write under the state lock; the closure's error aborts without writing
    /// ([`fsutil::update_json`]: written atomically, and only when something changed).
    pub fn update<T, E>(&self, f: impl FnOnce(&mut State) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StateError>,
    {
        self.paths.ensure_dir().map_err(StateError::from)?;
        fsutil::update_json(
            &self.paths.state_file(),
            &self.paths.state_lock(),
            || self.load().map_err(E::from),
            f,
            |e| E::from(StateError::from(e)),
        )
    }
}

impl From<FsError> for StateError {
    fn from(e: FsError) -> StateError {
        StateError::Write {
            path: e.path,
            source: e.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> AuthServerMetadata {
        crate::discovery::auth_server::test_metadata("http://127.0.0.1:1")
    }

    fn server(name: &str) -> Server {
        Server {
            name: name.into(),
            url: Url::parse("http://127.0.0.1:2/mcp").unwrap(),
            resource: Url::parse("http://127.0.0.1:2/mcp").unwrap(),
            auth_server: meta(),
            client: ClientSource::Dynamic,
            scopes: vec![],
            quirks: Quirks::default(),
            status: ServerStatus::Ok,
            added_at: 0,
        }
    }

    #[test]
    fn missing_file_is_empty_state_and_update_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(Paths::at(dir.path().join("c")));
        assert_eq!(file.load().unwrap(), State::default());
        file.update(|s| {
            s.put_server(server("a"));
            Ok::<_, StateError>(())
        })
        .unwrap();
        let st = file.load().unwrap();
        assert_eq!(st.servers.len(), 1);
        assert_eq!(st.server("a").unwrap().client, ClientSource::Dynamic);
    }

    #[test]
    fn failed_update_writes_nothing_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let file = StateFile::new(paths.clone());
        file.update(|s| {
            s.put_server(server("a"));
            Ok::<_, StateError>(())
        })
        .unwrap();
        let before = std::fs::read(paths.state_file()).unwrap();
        let r: Result<(), StateError> = file.update(|s| {
            s.put_server(server("b"));
            Err(StateError::UnknownServer("x".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(paths.state_file()).unwrap(), before);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let file = StateFile::new(paths.clone());
                std::thread::spawn(move || {
                    file.update(|s| {
                        s.put_server(server(&format!("s{i}")));
                        Ok::<_, StateError>(())
                    })
                    .unwrap()
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(StateFile::new(paths).load().unwrap().servers.len(), 8);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        std::fs::write(paths.state_file(), b"{not json").unwrap();
        let e = StateFile::new(paths).load().unwrap_err();
        assert!(matches!(e, StateError::Corrupt { .. }));
        assert!(e.next_step().contains("add your servers again"));
    }
}
