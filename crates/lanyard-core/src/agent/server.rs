//! The agent's listener: the engine answers token requests from what it holds in memory, and
//! goes to the keychain only when it holds nothing valid — through [`crate::tokens::obtain`],
//! the one refresh path (the server's lock, a detached refresh child, one refresh per server
//! across processes). Per server, callers queue behind one slot, so a burst costs at most one
//! keychain read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::error::AgentError;
use super::protocol::{Granted, MAX_LINE, Request, Response};
use crate::servers::{StateError, StateFile};
use crate::tokens::fresh::Want;
use crate::tokens::set::now;
use crate::tokens::{SecretStore, TokenId, TokenSet};

/// How long a token held in memory is handed out without looking at the keychain again, on
/// top of the engine's events ([`AgentServer::forget`]): it bounds how long a change no event
/// announced (a sign-out by another process) can go unseen.
const RECHECK: Duration = Duration::from_secs(30);

/// A token that was due but could not be refreshed (the IdP unreachable, no refresh token) is
/// handed out as it is for this long before the refresh path is tried again: a burst during an
/// outage costs one attempt, not one per caller.
const RETRY_AFTER: Duration = Duration::from_secs(5);

struct Held {
    token: TokenSet,
    header_name: String,
    url: String,
    read_at: Instant,
    /// Set when the refresh path handed out a token that is still due (see [`RETRY_AFTER`]).
    retry_at: Option<Instant>,
    /// The state file as it was when the token was read: a sign-out, removal or sign-in
    /// rewrites it, and what is held is then read again before the engine's event arrives.
    state_stamp: Option<Stamp>,
}

/// Which version of a file: its inode (an atomic write renames a new one in) and mtime.
type Stamp = (u64, std::time::SystemTime);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.ino(), m.modified().ok()?))
}

impl Held {
    /// Whether this can be handed out for `want` without the refresh path.
    fn serves(&self, want: Want, state_file: &Path) -> bool {
        if self.read_at.elapsed() >= RECHECK || stamp(state_file) != self.state_stamp {
            return false;
        }
        let t_now = now();
        !want.wants_refresh(&self.token, t_now)
            || (want == Want::Usable
                && self.retry_at.is_some_and(|at| Instant::now() < at)
                && want.usable_as_is(&self.token, t_now))
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

struct Inner {
    state_file: StateFile,
    secrets: Arc<dyn SecretStore>,
    slots: Mutex<HashMap<String, Slot>>,
}

/// Both sockets, served until dropped (their files are removed then).
pub struct AgentServer {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
    sockets: Vec<PathBuf>,
}

impl AgentServer {
    /// Listen on `local.sock` and `forward.sock` in the state directory's `agent/` folder
    /// (0700; sockets 0600). Call inside a tokio runtime, with the engine's instance lock held:
    /// a socket file left by a dead engine is replaced.
    pub fn start(
        state_file: StateFile,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<AgentServer, AgentError> {
        let dir = state_file.paths().dir().to_path_buf();
        private_dir(&super::socket_dir(&dir))?;
        let inner = Arc::new(Inner {
            state_file,
            secrets,
            slots: Mutex::new(HashMap::new()),
        });
        let mut server = AgentServer {
            inner,
            tasks: Vec::new(),
            sockets: Vec::new(),
        };
        for (path, forwarded) in [
            (super::local_socket(&dir), false),
            (super::forward_socket(&dir), true),
        ] {
            let listener = listen(&path)?;
            server.sockets.push(path);
            let inner = server.inner.clone();
            server
                .tasks
                .push(tokio::spawn(accept(listener, inner, forwarded)));
        }
        tracing::info!(
            "agent listening on {} (forward {})",
            server.sockets[0].display(),
            server.sockets[1].display()
        );
        Ok(server)
    }

    /// Drop what is held for `server` (it was refreshed, signed out, removed): the next caller
    /// reads the keychain.
    pub fn forget(&self, server: &str) {
        if let Ok(mut slots) = self.inner.slots.lock() {
            slots.remove(server);
        }
    }

    /// Drop everything held.
    pub fn forget_all(&self) {
        if let Ok(mut slots) = self.inner.slots.lock() {
            slots.clear();
        }
    }

    /// The sockets served: local, forward.
    pub fn sockets(&self) -> &[PathBuf] {
        &self.sockets
    }
}

impl Drop for AgentServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for s in &self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

fn private_dir(dir: &Path) -> Result<(), AgentError> {
    let err = |source| AgentError::Listen {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

fn listen(path: &Path) -> Result<UnixListener, AgentError> {
    let err = |source| AgentError::Listen {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    Ok(listener)
}

async fn accept(listener: UnixListener, inner: Arc<Inner>, forwarded: bool) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(converse(stream, inner.clone(), forwarded));
            }
            Err(e) => {
                tracing::warn!("agent: accept failed ({e})");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Answer requests on one connection, one line each, until the caller hangs up.
async fn converse(stream: UnixStream, inner: Arc<Inner>, forwarded: bool) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        match (&mut reader)
            .take(MAX_LINE as u64)
            .read_line(&mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer = match serde_json::from_str::<Request>(line.trim()) {
            Ok(req) => inner.answer(req, forwarded).await,
            Err(e) => {
                tracing::debug!("agent: unreadable request ({e})");
                return;
            }
        };
        if write.write_all(answer.line().as_bytes()).await.is_err() {
            return;
        }
    }
}

impl Inner {
    fn slot(&self, server: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(server.to_owned()).or_default().clone()
    }

    async fn answer(&self, req: Request, forwarded: bool) -> Response {
        let Request::Token { server, refused } = req;
        if forwarded && !self.shared(&server) {
            return Response::failure(&AgentError::NotShared { server });
        }
        let want = match refused {
            Some(t) => Want::Refused(TokenId::of(t.strip_prefix("Bearer ").unwrap_or(&t))),
            None => Want::Usable,
        };
        let slot = self.slot(&server);
        let mut held = slot.lock().await;
        if let Some(h) = held.as_ref()
            && h.serves(want, &self.state_file.paths().state_file())
        {
            return granted(h);
        }
        match self.fetch(&server, want).await {
            Ok(h) => {
                let answer = granted(&h);
                *held = Some(h);
                answer
            }
            Err(e) => {
                *held = None;
                Response::failure(e.inner())
            }
        }
    }

    /// Whether the user shared `server` as it is saved now (one state file read, no keychain).
    fn shared(&self, server: &str) -> bool {
        let Ok(state) = self.state_file.load() else {
            return false;
        };
        state.server(server).is_some_and(|s| {
            super::share::load(self.state_file.paths().dir()).allows(server, s.added_at)
        })
    }

    /// The keychain path: what `lanyard token` does without an engine.
    async fn fetch(&self, server: &str, want: Want) -> Result<Held, crate::Error> {
        tracing::debug!("agent: {server} from the secret store");
        let state_stamp = stamp(&self.state_file.paths().state_file());
        let token = crate::tokens::obtain(
            &self.state_file,
            &*self.secrets,
            crate::http::oauth_client,
            server,
            want,
        )
        .await?;
        let state = self.state_file.load()?;
        let saved = state
            .server(server)
            .ok_or_else(|| StateError::UnknownServer(server.to_owned()))?;
        let retry_at = want
            .wants_refresh(&token, now())
            .then(|| Instant::now() + RETRY_AFTER);
        Ok(Held {
            header_name: saved.quirks.header_name().to_owned(),
            url: saved.url.to_string(),
            token,
            read_at: Instant::now(),
            retry_at,
            state_stamp,
        })
    }
}

fn granted(h: &Held) -> Response {
    Response::Granted(Granted {
        token: h.token.access_token.clone(),
        expires_at: h.token.expires_at,
        header_name: h.header_name.clone(),
        header_value: h.token.header_value(),
        url: h.url.clone(),
    })
}
