//! Connect, disconnect, inspect and reconcile: the operations the CLI, the tray and the watcher
//! share. Every write goes through [`atomic::edit_file`] (nothing half-written, concurrent changes
//! kept) and touches only the managed keys of our entry.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::adapter::{EntryParams, IdeEnv, Location, ModeParams};
use super::atomic::{self, NewContent, Outcome, WriteOptions};
use super::records::{Connection, ConnectionStatus, RecordsFile};
use super::text::{self, Created, Format};
use super::validate::{self, Verdict};
use super::{Ide, IdeError, Mode, Scope};

/// A request to connect one server to one assistant.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub ide: Ide,
    pub scope: Scope,
    pub params: EntryParams,
}

/// What connect did.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    pub ide: Ide,
    pub mode: Mode,
    pub file: PathBuf,
    /// The file changed (false: our entry was already exactly right).
    pub written: bool,
    /// The assistant's CLI's verdict, when it is installed.
    pub judge: Option<String>,
    pub judge_output: Option<String>,
}

/// How our entry looks compared with what we would write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryState {
    /// Present and as we would write it.
    Ok,
    /// Present but different in the listed keys.
    Drifted { keys: Vec<String> },
    /// Gone, and already recorded as removed by the user.
    RemovedByUser,
    /// Gone since the last look (the caller records it).
    Missing,
    /// The whole file is absent (maybe mid-replace by an editor): nothing is concluded.
    FileMissing,
    /// The file cannot be read as its format.
    Unreadable { error: String },
}

/// One row of `lanyard ides`.
#[derive(Debug, Clone, Serialize)]
pub struct IdeStatus {
    pub server: String,
    pub ide: Ide,
    pub mode: Mode,
    pub file: PathBuf,
    pub state: EntryState,
}

/// The operations, bound to an environment and the records file.
#[derive(Debug, Clone)]
pub struct Manager {
    pub env: IdeEnv,
    pub records: RecordsFile,
    /// Ask the assistant's CLI to validate after a connect (roll back on rejection).
    pub judge: bool,
}

fn location_of(c: &Connection, container: Vec<String>, format: Format) -> Location {
    Location {
        ide: c.ide,
        scope: c.scope.clone(),
        file: c.file.clone(),
        container,
        format,
    }
}

/// The managed keys of an entry as they are now.
fn managed_part(ide: Ide, entry: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(m) = entry {
        for k in ide.managed_keys() {
            if let Some(v) = m.get(*k) {
                out.insert((*k).to_owned(), v.clone());
            }
        }
    }
    out
}

/// Keys whose values differ between the entry and what we would write.
pub fn drift(ide: Ide, entry: &Value, desired: &Map<String, Value>) -> Vec<String> {
    let have = managed_part(ide, entry);
    let mut keys: Vec<String> = ide
        .managed_keys()
        .iter()
        .filter(|k| have.get(**k) != desired.get(**k))
        .map(|k| (*k).to_owned())
        .collect();
    keys.sort();
    keys
}

fn is_empty_document(format: Format, text: &str) -> bool {
    match format {
        Format::Json => {
            let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            t == "{}"
        }
        Format::Toml => text.trim().is_empty(),
    }
}

impl Manager {
    pub fn new(env: IdeEnv, records: RecordsFile) -> Manager {
        Manager {
            env,
            records,
            judge: true,
        }
    }

    /// `private`: the entry carries a secret (static token, native client secret): 0600.
    fn write_options(&self, loc: &Location, private: bool) -> WriteOptions {
        WriteOptions {
            new_mode: loc.new_file_mode(),
            private,
            backup_dir: Some(self.records.backup_dir()),
        }
    }

    /// Writes our entry (only its managed keys), validates it with the assistant's CLI when
    /// installed (rolling back on rejection) and records the connection.
    pub fn connect(&self, req: &ConnectRequest) -> Result<ConnectReport, IdeError> {
        let loc = req.ide.location(&self.env, &req.scope)?;
        if matches!(req.scope, Scope::Project(_)) && req.params.mode.carries_secret() {
            return Err(IdeError::SharedFile {
                file: loc.file.clone(),
                what: match req.params.mode {
                    ModeParams::Static { .. } => "live token",
                    _ => "client secret",
                },
            });
        }
        let desired = req.ide.entry(&req.params)?;
        let name = &req.params.name;
        let mode = req.params.mode.mode();
        let mut prior: Option<Value> = None;
        let mut created = Created::Nothing;
        let mut file_existed = true;
        let private = req.params.mode.carries_secret();
        let outcome =
            atomic::edit_file(&loc.file, &self.write_options(&loc, private), &mut |cur| {
                file_existed = cur.is_some();
                let src = cur.unwrap_or(text::empty_document(loc.format));
                prior = text::get(loc.format, src, &loc.container, name)
                    .map_err(|e| IdeError::malformed(&loc.file, loc.format, e))?;
                let edited = text::upsert(
                    loc.format,
                    src,
                    &loc.container,
                    name,
                    &desired,
                    req.ide.managed_keys(),
                )
                .map_err(|e| IdeError::from_edit(&loc.file, loc.format, e))?;
                created = edited.created;
                Ok(NewContent::Write(edited.text))
            })?;
        let written = matches!(outcome, Outcome::Written { .. });

        let verdict = if self.judge {
            validate::judge(&self.env, &loc, name)
        } else {
            None
        };
        if let Some(v) = verdict.as_ref().filter(|v| !v.accepted) {
            if written {
                self.roll_back(&loc, name, prior.as_ref(), created, !file_existed, private)?;
            }
            return Err(IdeError::Rejected {
                ide: req.ide,
                name: name.clone(),
                judge: v.judge.clone(),
                output: v.output.clone(),
            });
        }

        self.records.update(|r| {
            let old = r.find(name, req.ide, &loc.file).cloned();
            let (created, created_file) = match &old {
                Some(o) => (o.created.merge(created), o.created_file || !file_existed),
                None => (created, !file_existed),
            };
            let (client_id, callback_port, native_secret) = match &req.params.mode {
                ModeParams::Native {
                    client_id,
                    callback_port,
                    client_secret,
                } => (
                    Some(client_id.clone()),
                    *callback_port,
                    client_secret.is_some(),
                ),
                _ => (None, None, false),
            };
            r.put(Connection {
                server: name.clone(),
                ide: req.ide,
                scope: req.scope.clone(),
                file: loc.file.clone(),
                container: loc.container.clone(),
                format: loc.format,
                mode,
                header: match &req.params.mode {
                    ModeParams::Static { header, .. } => Some(header.clone()),
                    _ => None,
                },
                client_id,
                callback_port,
                native_secret,
                created,
                created_file,
                status: ConnectionStatus::Connected,
                connected_at: now(),
            });
            Ok(())
        })?;
        Ok(ConnectReport {
            ide: req.ide,
            mode,
            file: loc.file,
            written,
            judge: verdict.as_ref().map(|v| v.judge.clone()),
            judge_output: verdict.map(|v| v.output),
        })
    }

    fn roll_back(
        &self,
        loc: &Location,
        name: &str,
        prior: Option<&Value>,
        created: Created,
        created_file: bool,
        private: bool,
    ) -> Result<(), IdeError> {
        atomic::edit_file(&loc.file, &self.write_options(loc, private), &mut |cur| {
            let Some(src) = cur else {
                return Ok(NewContent::Keep);
            };
            let out = match prior {
                Some(p) => {
                    let managed = managed_part(loc.ide, p);
                    text::upsert(
                        loc.format,
                        src,
                        &loc.container,
                        name,
                        &managed,
                        loc.ide.managed_keys(),
                    )
                    .map_err(|e| IdeError::from_edit(&loc.file, loc.format, e))?
                    .text
                }
                None => match text::remove(loc.format, src, &loc.container, name, created)
                    .map_err(|e| IdeError::malformed(&loc.file, loc.format, e))?
                {
                    Some(t) => t,
                    None => return Ok(NewContent::Keep),
                },
            };
            if created_file && is_empty_document(loc.format, &out) {
                return Ok(NewContent::Delete);
            }
            Ok(NewContent::Write(out))
        })?;
        Ok(())
    }

    /// Removes our entries of `server` (from the given assistants, or all) and their records.
    /// Returns the files changed.
    pub fn disconnect(&self, server: &str, ides: Option<&[Ide]>) -> Result<Vec<PathBuf>, IdeError> {
        let records = self.records.load()?;
        let targets: Vec<Connection> = records
            .of_server(server)
            .filter(|c| ides.is_none_or(|l| l.contains(&c.ide)))
            .cloned()
            .collect();
        let mut changed = Vec::new();
        for c in &targets {
            let loc = location_of(c, c.container.clone(), c.format);
            let outcome =
                atomic::edit_file(&loc.file, &self.write_options(&loc, false), &mut |cur| {
                    let Some(src) = cur else {
                        return Ok(NewContent::Keep);
                    };
                    match text::remove(loc.format, src, &loc.container, server, c.created)
                        .map_err(|e| IdeError::malformed(&loc.file, loc.format, e))?
                    {
                        None => Ok(NewContent::Keep),
                        Some(t) if c.created_file && is_empty_document(loc.format, &t) => {
                            Ok(NewContent::Delete)
                        }
                        Some(t) => Ok(NewContent::Write(t)),
                    }
                })?;
            if outcome != Outcome::Unchanged {
                changed.push(c.file.clone());
            }
            self.records.update(|r| {
                r.remove(server, c.ide, &c.file);
                Ok(())
            })?;
        }
        if targets.is_empty()
            && let Some(ide) = ides.and_then(|l| l.first())
        {
            return Err(IdeError::NotConnected {
                name: server.to_owned(),
                ide: *ide,
            });
        }
        Ok(changed)
    }

    /// How a recorded entry looks now, against what `params` would write.
    pub fn inspect(&self, c: &Connection, params: Option<&EntryParams>) -> EntryState {
        if let ConnectionStatus::RemovedByUser { .. } = c.status {
            return EntryState::RemovedByUser;
        }
        let src = match atomic::read_text(&c.file) {
            Ok(Some(s)) => s,
            Ok(None) => return EntryState::FileMissing,
            Err(e) => {
                return EntryState::Unreadable {
                    error: e.to_string(),
                };
            }
        };
        let entry = match text::get(c.format, &src, &c.container, &c.server) {
            Ok(Some(e)) => e,
            Ok(None) => return EntryState::Missing,
            Err(e) => {
                return EntryState::Unreadable {
                    error: IdeError::malformed(&c.file, c.format, e).to_string(),
                };
            }
        };
        let Some(params) = params else {
            return EntryState::Ok;
        };
        match c.ide.entry(params) {
            Ok(desired) => {
                let keys = drift(c.ide, &entry, &desired);
                if keys.is_empty() {
                    EntryState::Ok
                } else {
                    EntryState::Drifted { keys }
                }
            }
            Err(e) => EntryState::Unreadable {
                error: e.to_string(),
            },
        }
    }

    /// Brings one recorded entry back in line: a removed entry is recorded as removed by the
    /// user (never re-added), a drifted one is rewritten, a correct or unreadable file is left
    /// alone. Returns the state found before any repair.
    pub fn reconcile(&self, c: &Connection, params: &EntryParams) -> Result<EntryState, IdeError> {
        let state = self.inspect(c, Some(params));
        match &state {
            EntryState::Missing => {
                self.records.update(|r| {
                    if let Some(rec) = r.find_mut(&c.server, c.ide, &c.file) {
                        rec.status = ConnectionStatus::RemovedByUser { at: now() };
                    }
                    Ok(())
                })?;
            }
            EntryState::Drifted { .. } => {
                let loc = location_of(c, c.container.clone(), c.format);
                let desired = c.ide.entry(params)?;
                let private = params.mode.carries_secret();
                atomic::edit_file(&loc.file, &self.write_options(&loc, private), &mut |cur| {
                    let Some(src) = cur else {
                        return Ok(NewContent::Keep);
                    };
                    // Only repair an entry that is still there (a removal wins).
                    let present = text::get(loc.format, src, &loc.container, &c.server)
                        .map_err(|e| IdeError::malformed(&loc.file, loc.format, e))?;
                    if present.is_none() {
                        return Ok(NewContent::Keep);
                    }
                    let edited = text::upsert(
                        loc.format,
                        src,
                        &loc.container,
                        &c.server,
                        &desired,
                        c.ide.managed_keys(),
                    )
                    .map_err(|e| IdeError::from_edit(&loc.file, loc.format, e))?;
                    Ok(NewContent::Write(edited.text))
                })?;
            }
            _ => {}
        }
        Ok(state)
    }

    /// Every recorded connection with its state (`params_for` gives what we would write; `None`
    /// skips the drift check for that one).
    pub fn status(
        &self,
        params_for: &dyn Fn(&Connection) -> Option<EntryParams>,
    ) -> Result<Vec<IdeStatus>, IdeError> {
        let records = self.records.load()?;
        Ok(records
            .connections
            .iter()
            .map(|c| IdeStatus {
                server: c.server.clone(),
                ide: c.ide,
                mode: c.mode,
                file: c.file.clone(),
                state: self.inspect(c, params_for(c).as_ref()),
            })
            .collect())
    }

    /// The config files to watch (those of recorded connections).
    pub fn watched_files(&self) -> Result<Vec<PathBuf>, IdeError> {
        let mut files: Vec<PathBuf> = self
            .records
            .load()?
            .connections
            .into_iter()
            .map(|c| c.file)
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// The connections whose entries live in `file`.
    pub fn connections_in(&self, file: &Path) -> Result<Vec<Connection>, IdeError> {
        Ok(self
            .records
            .load()?
            .connections
            .into_iter()
            .filter(|c| c.file == file)
            .collect())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Judges output for reports.
pub fn verdict_line(v: &Verdict) -> String {
    format!(
        "{} → {}",
        v.judge,
        if v.accepted { "ok" } else { "rejected" }
    )
}
