//! Asking an agent socket for a token: the one named by `LANYARD_AGENT_SOCK` (forwarded from
//! the laptop; nothing else is tried), else the local engine's when one runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::error::AgentError;
use super::protocol::{Granted, MAX_LINE, Request, Response};

/// Longer than any refresh the engine may have to run first (its lock wait is bounded).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// An agent socket to ask.
#[derive(Debug, Clone)]
pub struct Agent {
    path: PathBuf,
    forwarded: bool,
}

/// Which agent a command uses.
pub enum Found {
    /// `LANYARD_AGENT_SOCK` is set: this agent and nothing else (no state, no keychain here).
    Forwarded(Agent),
    /// The engine running for this state directory: asked first, the keychain path after.
    Local(Agent),
    /// No agent: the keychain path.
    None,
}

impl Agent {
    pub fn at(path: impl Into<PathBuf>, forwarded: bool) -> Agent {
        Agent {
            path: path.into(),
            forwarded,
        }
    }

    /// The agent for this process: `LANYARD_AGENT_SOCK`, else the local engine's socket when
    /// its file exists (the state directory from `state_dir`, only looked up then).
    pub fn find(state_dir: impl FnOnce() -> Option<PathBuf>) -> Found {
        if let Some(p) = std::env::var_os(super::SOCK_ENV).filter(|p| !p.is_empty()) {
            return Found::Forwarded(Agent::at(p, true));
        }
        match state_dir().map(|d| super::local_socket(&d)) {
            Some(p) if p.exists() => Found::Local(Agent::at(p, false)),
            _ => Found::None,
        }
    }

    /// [`Agent::find`] for this user's state directory (from the environment).
    pub fn find_for_user() -> Found {
        Agent::find(|| {
            crate::paths::Paths::from_env()
                .ok()
                .map(|p| p.dir().to_path_buf())
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a forwarded socket (`LANYARD_AGENT_SOCK`).
    pub fn forwarded(&self) -> bool {
        self.forwarded
    }

    /// A valid token for `server`; `refused`: the token the MCP server just refused.
    pub async fn token(&self, server: &str, refused: Option<&str>) -> Result<Granted, AgentError> {
        let line = self.request_line(server, refused)?;
        let answer = self.ask(&line).await?;
        self.granted(&answer)
    }

    /// [`Agent::token`] without an async runtime, for `lanyard token`'s fast path: a headers
    /// helper started on every assistant connection pays for nothing it does not use.
    #[cfg(unix)]
    pub fn token_blocking(&self, server: &str) -> Result<Granted, AgentError> {
        use std::io::{BufRead, Read, Write};
        let line = self.request_line(server, None)?;
        let mut stream = std::os::unix::net::UnixStream::connect(&self.path).map_err(|source| {
            AgentError::Unreachable {
                path: self.path.clone(),
                source,
            }
        })?;
        let mut exchange = || {
            stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
            stream.set_write_timeout(Some(ANSWER_TIMEOUT))?;
            stream.write_all(line.as_bytes())?;
            let mut answer = String::new();
            std::io::BufReader::new(&stream)
                .take(MAX_LINE as u64)
                .read_line(&mut answer)?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = exchange().map_err(|e| self.broken(e.to_string()))?;
        self.granted(&answer)
    }

    /// No Unix sockets here: no agent to ask.
    #[cfg(not(unix))]
    pub fn token_blocking(&self, _server: &str) -> Result<Granted, AgentError> {
        Err(AgentError::Unsupported)
    }

    /// The question, one line, newline included.
    fn request_line(&self, server: &str, refused: Option<&str>) -> Result<String, AgentError> {
        let req = Request::Token {
            server: server.to_owned(),
            refused: refused.map(str::to_owned),
        };
        let mut line = serde_json::to_string(&req).map_err(|e| self.broken(e.to_string()))?;
        line.push('\n');
        Ok(line)
    }

    /// The answer line read as a token or the agent's error.
    fn granted(&self, answer: &str) -> Result<Granted, AgentError> {
        let response: Response = serde_json::from_str(answer.trim())
            .map_err(|e| self.broken(format!("unreadable answer ({e})")))?;
        match response {
            Response::Granted(g) => Ok(g),
            Response::Error { error } => Err(AgentError::Answered {
                path: self.path.clone(),
                code: error.code,
                message: error.message,
                next_step: error.next_step,
            }),
        }
    }

    fn broken(&self, detail: String) -> AgentError {
        AgentError::Broken {
            path: self.path.clone(),
            detail,
        }
    }

    #[cfg(unix)]
    async fn ask(&self, line: &str) -> Result<String, AgentError> {
        let stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .map_err(|source| AgentError::Unreachable {
                path: self.path.clone(),
                source,
            })?;
        self.exchange(stream, line).await
    }

    /// No Unix sockets here: no agent to ask (callers without `LANYARD_AGENT_SOCK` never get
    /// this far, [`Agent::find`] finds no local socket file).
    #[cfg(not(unix))]
    async fn ask(&self, _line: &str) -> Result<String, AgentError> {
        Err(AgentError::Unsupported)
    }

    #[cfg_attr(not(unix), allow(dead_code))]
    async fn exchange(
        &self,
        mut stream: impl AsyncRead + AsyncWrite + Unpin,
        line: &str,
    ) -> Result<String, AgentError> {
        let exchange = async {
            stream.write_all(line.as_bytes()).await?;
            let mut answer = String::new();
            BufReader::new(&mut stream)
                .take(MAX_LINE as u64)
                .read_line(&mut answer)
                .await?;
            Ok::<_, std::io::Error>(answer)
        };
        tokio::time::timeout(ANSWER_TIMEOUT, exchange)
            .await
            .map_err(|_| self.broken(format!("no answer in {} s", ANSWER_TIMEOUT.as_secs())))?
            .map_err(|e| self.broken(e.to_string()))
    }
}
