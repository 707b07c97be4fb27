//! What is left to clean up, computed from the state, the keychain and the connection records.

use std::path::PathBuf;

use serde::Serialize;

use super::{Cleanup, CleanupError, Purpose};
use crate::ides::Ide;
use crate::ides::records::RecordsFile;
use crate::servers::{ClientSource, State};
use crate::tokens::{self as tok};

/// One thing to undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    /// Stop the running engine (`lanyard daemon` or the tray) first: it would refresh tokens and
    /// write its status file into the state directory while it is being removed.
    StopEngine { pid: Option<u32> },
    /// RFC 7009: revoke the server's refresh and access token, then delete them from the keychain.
    RevokeTokens {
        server: String,
        issuer: String,
        /// `None`: the AS has no revocation endpoint; the tokens are only deleted.
        revocation_endpoint: Option<String>,
    },
    /// RFC 7009: revoke the company IdP session's tokens (enterprise-managed authorization),
    /// then delete them from the keychain and forget the session.
    EndIdpSession {
        issuer: String,
        /// `None`: the IdP has no revocation endpoint; the tokens are only deleted.
        revocation_endpoint: Option<String>,
    },
    /// RFC 7592: DELETE the client Lanyard registered at this issuer.
    DeleteClient {
        issuer: String,
        client_id: String,
        registration_client_uri: String,
    },
    /// A registration the AS gave no way to delete (no RFC 7592 management): listed for the admin.
    ClientForAdmin {
        issuer: String,
        client_id: String,
        why: String,
    },
    /// Remove Lanyard's entry for `server` from one assistant's config file(s).
    RemoveIdeEntry {
        server: String,
        ide: Ide,
        files: Vec<PathBuf>,
    },
    /// Delete every Lanyard item of this install from the OS keychain.
    DeleteKeychainItems { service: String, keys: Vec<String> },
    /// Delete the tray's autostart entry.
    DeleteAutostart { paths: Vec<PathBuf> },
    /// Windows: delete the autostart value under `HKCU\...\CurrentVersion\Run`.
    DeleteAutostartValue { key: String, value: String },
    /// Linux (AppImage): remove the tray's `lanyard://` handler from `mimeapps.list` (only
    /// `lanyard-tray-handler.desktop` in the value of `x-scheme-handler/lanyard`).
    RemoveLinkAssociation { file: PathBuf },
    /// Linux (AppImage): delete the `lanyard://` handler entry the tray wrote.
    DeleteLinkHandler { path: PathBuf },
    /// Linux (AppImage): delete the `lanyard` command link into the tray's data (only while it
    /// points there).
    DeleteCommandLink { path: PathBuf, target: PathBuf },
    /// Delete the tray app's own data (web view storage, caches).
    DeleteAppData { paths: Vec<PathBuf> },
    /// Delete the state directory (servers, registrations, records, backups, locks): last.
    DeleteStateDir { path: PathBuf },
}

impl Item {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Item::StopEngine { pid: Some(pid) } => {
                format!("Stop the running Lanyard engine (process {pid})")
            }
            Item::StopEngine { pid: None } => "Stop the running Lanyard engine".into(),
            Item::RevokeTokens {
                server,
                revocation_endpoint: Some(ep),
                ..
            } => format!("Revoke the tokens of \"{server}\" at {ep} (RFC 7009)"),
            Item::RevokeTokens { server, issuer, .. } => {
                format!("Delete the tokens of \"{server}\" ({issuer} has no revocation endpoint)")
            }
            Item::EndIdpSession {
                issuer,
                revocation_endpoint: Some(ep),
            } => format!(
                "Sign out of the company IdP {issuer}: revoke its session at {ep} (RFC 7009)"
            ),
            Item::EndIdpSession { issuer, .. } => format!(
                "Sign out of the company IdP {issuer} (it has no revocation endpoint; the session is deleted here)"
            ),
            Item::DeleteClient {
                issuer, client_id, ..
            } => format!(
                "Delete the OAuth client {client_id} Lanyard registered at {issuer} (RFC 7592)"
            ),
            Item::ClientForAdmin {
                issuer, client_id, ..
            } => format!("OAuth client {client_id} at {issuer}: cannot be deleted by Lanyard"),
            Item::RemoveIdeEntry { server, ide, files } => format!(
                "Remove the \"{server}\" entry from {} ({})",
                ide.label(),
                join_paths(files)
            ),
            Item::DeleteKeychainItems { service, keys } => format!(
                "Delete Lanyard's keychain items (service \"{service}\"{})",
                if keys.is_empty() {
                    String::new()
                } else {
                    format!(", {} known", keys.len())
                }
            ),
            Item::DeleteAutostart { paths } => {
                format!("Delete the autostart entry ({})", join_paths(paths))
            }
            Item::DeleteAutostartValue { key, value } => {
                format!("Delete the autostart registry value {key}\\{value}")
            }
            Item::RemoveLinkAssociation { file } => format!(
                "Remove the tray as the handler of lanyard:// links ({}) from {}",
                super::desktop::HANDLER_DESKTOP,
                file.display()
            ),
            Item::DeleteLinkHandler { path } => {
                format!(
                    "Delete the lanyard:// link handler entry {}",
                    path.display()
                )
            }
            Item::DeleteCommandLink { path, target } => format!(
                "Delete the `lanyard` command link {} (to {})",
                path.display(),
                target.display()
            ),
            Item::DeleteAppData { paths } => {
                format!("Delete the tray app's data ({})", join_paths(paths))
            }
            Item::DeleteStateDir { path } => format!(
                "Delete Lanyard's state directory {} (servers, registrations, backups)",
                path.display()
            ),
        }
    }
}

fn join_paths(p: &[PathBuf]) -> String {
    p.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The items, in the order they run.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
    /// The tray or `lanyard daemon` runs for this state dir (it should be stopped first).
    pub engine_running: bool,
    #[serde(skip)]
    pub(crate) purpose: Purpose,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One registration as `lanyard clients` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    pub issuer: String,
    pub client_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds: the newest sign-in or refresh of a server using it (from the keychain).
    pub last_used_at: Option<i64>,
    pub servers: Vec<String>,
    /// The AS gave an RFC 7592 management URI (Lanyard can delete it).
    pub deletable: bool,
    /// The AS said it no longer knows this client.
    pub dead: bool,
}

/// Client ids Lanyard must never delete: pre-registered and CIMD ones of any server.
pub(crate) fn foreign_client_ids(st: &State) -> Vec<String> {
    st.servers
        .iter()
        .filter_map(|s| match &s.client {
            ClientSource::PreRegistered { client_id, .. } => Some(client_id.clone()),
            ClientSource::MetadataDocument { client_id } => Some(client_id.to_string()),
            ClientSource::Machine { client_id, .. } => client_id.clone(),
            ClientSource::Dynamic => None,
        })
        .collect()
}

/// Servers that use the registration at `issuer`.
pub(crate) fn users_of(st: &State, issuer: &url::Url) -> Vec<String> {
    st.servers
        .iter()
        .filter(|s| s.client == ClientSource::Dynamic && &s.auth_server.issuer == issuer)
        .map(|s| s.name.clone())
        .collect()
}

impl Cleanup {
    fn load_state(&self) -> Result<State, CleanupError> {
        self.state_file()
            .load()
            .map_err(|e| CleanupError::Unreadable(e.to_string()))
    }

    /// The registrations of this machine with their servers and last use.
    pub fn clients(&self) -> Result<Vec<ClientView>, crate::Error> {
        let st = self.load_state()?;
        let keychain = self.has_secrets();
        let mut out = Vec::new();
        for r in &st.registrations {
            let servers = users_of(&st, &r.issuer);
            let mut last = None;
            if keychain {
                for s in &servers {
                    if let Ok(Some(t)) = tok::stored_tokens(&*self.secrets, s) {
                        last = last.max(Some(t.obtained_at));
                    }
                }
            }
            out.push(ClientView {
                issuer: r.issuer.to_string(),
                client_id: r.client_id.clone(),
                created_at: r.registered_at,
                last_used_at: last,
                servers,
                deletable: r.registration_client_uri.is_some() && r.has_registration_access_token,
                dead: r.dead,
            });
        }
        Ok(out)
    }

    /// What is left to do, in order. Reads only; creates nothing.
    pub fn plan(&self, purpose: Purpose) -> Result<Plan, crate::Error> {
        let dir = self.paths.dir().to_path_buf();
        let st = self.load_state()?;
        let engine_running = dir.exists() && crate::daemon::instance::is_running(&dir);
        let keychain = self.has_secrets();
        let mut items = Vec::new();
        if engine_running && purpose == Purpose::Uninstall {
            items.push(Item::StopEngine {
                pid: crate::daemon::StatusFile::read(&dir).map(|s| s.pid),
            });
        }

        if purpose == Purpose::Uninstall && keychain {
            for s in &st.servers {
                // A locked or missing keychain is its own error (it says to unlock it).
                let has_tokens = tok::stored_tokens(&*self.secrets, &s.name)?.is_some();
                if has_tokens {
                    items.push(Item::RevokeTokens {
                        server: s.name.clone(),
                        issuer: s.auth_server.issuer.to_string(),
                        revocation_endpoint: s
                            .auth_server
                            .revocation_endpoint
                            .as_ref()
                            .map(|u| u.to_string()),
                    });
                }
            }
        }

        if purpose == Purpose::Uninstall && keychain {
            for (issuer, revocation_endpoint) in self.idp_sessions() {
                items.push(Item::EndIdpSession {
                    issuer,
                    revocation_endpoint,
                });
            }
        }

        let foreign = foreign_client_ids(&st);
        for r in &st.registrations {
            if purpose == Purpose::Prune && !users_of(&st, &r.issuer).is_empty() {
                continue;
            }
            if foreign.contains(&r.client_id) {
                continue; // never touch a client id an admin or a CIMD document gave
            }
            match (&r.registration_client_uri, r.has_registration_access_token) {
                (Some(uri), true) => items.push(Item::DeleteClient {
                    issuer: r.issuer.to_string(),
                    client_id: r.client_id.clone(),
                    registration_client_uri: uri.to_string(),
                }),
                (None, _) => items.push(Item::ClientForAdmin {
                    issuer: r.issuer.to_string(),
                    client_id: r.client_id.clone(),
                    why: "the identity provider does not support RFC 7592 client management (its registration answer had no registration_client_uri)".into(),
                }),
                (Some(_), false) => items.push(Item::ClientForAdmin {
                    issuer: r.issuer.to_string(),
                    client_id: r.client_id.clone(),
                    why: "the identity provider gave no registration_access_token (RFC 7592)"
                        .into(),
                }),
            }
        }

        if purpose == Purpose::Uninstall {
            let records = RecordsFile::new(self.paths.clone());
            if records.path().exists() {
                let recs = records
                    .load()
                    .map_err(|e| CleanupError::Unreadable(e.to_string()))?;
                let mut seen: Vec<(String, Ide)> = Vec::new();
                for c in &recs.connections {
                    let key = (c.server.clone(), c.ide);
                    if seen.contains(&key) {
                        continue;
                    }
                    let files = recs
                        .of_server(&c.server)
                        .filter(|o| o.ide == c.ide)
                        .map(|o| o.file.clone())
                        .collect();
                    seen.push(key);
                    items.push(Item::RemoveIdeEntry {
                        server: c.server.clone(),
                        ide: c.ide,
                        files,
                    });
                }
            }
            if keychain {
                let id = self
                    .paths
                    .install_id()
                    .map_err(|e| CleanupError::Unreadable(e.to_string()))?;
                items.push(Item::DeleteKeychainItems {
                    service: format!("lanyard/{id}"),
                    keys: self.known_keys(&st),
                });
            }
            let autostart = self.user_dirs.autostart_entries();
            if !autostart.is_empty() {
                items.push(Item::DeleteAutostart { paths: autostart });
            }
            if let Some((key, value)) = super::local::windows_autostart_value() {
                items.push(Item::DeleteAutostartValue { key, value });
            }
            let desktop = &self.user_dirs.desktop;
            if let Some(file) = desktop.association() {
                items.push(Item::RemoveLinkAssociation { file });
            }
            if let Some(path) = desktop.handler_entry() {
                items.push(Item::DeleteLinkHandler { path });
            }
            if let Some((path, target)) = desktop.command_link(&self.user_dirs.app_dirs) {
                items.push(Item::DeleteCommandLink { path, target });
            }
            let data = self.user_dirs.present_app_dirs();
            if !data.is_empty() {
                items.push(Item::DeleteAppData { paths: data });
            }
            if dir.exists() {
                items.push(Item::DeleteStateDir { path: dir });
            }
        }
        Ok(Plan {
            items,
            engine_running,
            purpose,
        })
    }

    /// Every keychain key the state names.
    pub(crate) fn known_keys(&self, st: &State) -> Vec<String> {
        use crate::tokens::store;
        let mut keys = Vec::new();
        for s in &st.servers {
            keys.push(store::tokens_key(&s.name));
            keys.push(store::dpop_key(&s.name));
            if let ClientSource::PreRegistered {
                has_secret: true, ..
            }
            | ClientSource::Machine {
                has_secret: true, ..
            } = s.client
            {
                keys.push(store::server_secret_key(&s.name));
            }
        }
        for r in &st.registrations {
            if r.has_registration_access_token {
                keys.push(store::registration_token_key(r.issuer.as_str()));
            }
            if r.has_secret {
                keys.push(store::registration_secret_key(r.issuer.as_str()));
            }
        }
        keys
    }
}
