//! The independent MCP auth stacks of the interop matrix (issue 11), each a real library that
//! nobody on this team wrote, started on loopback by its launcher in the test world:
//!
//! - [`StackKind::FastMcp`]: FastMCP's built-in OAuth provider (`tests/world/python`);
//! - [`StackKind::McpSdk`]: the official Python SDK's `mcp.server.auth`, a separate
//!   authorization server and resource server with token introspection (`tests/world/python`);
//! - [`StackKind::BetterAuth`]: the better-auth framework's MCP support
//!   (`tests/world/betterauth`).
//!
//! Every launcher prints one JSON line (`url`, `issuer`, `admin`, `capabilities`, …), serves
//! until its stdin closes, and answers an admin API whose `GET /state` reads the server's own
//! stores (clients, access and refresh tokens by SHA-256, token and revocation requests).

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command};

use anyhow::{Result, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::http;
use crate::world::{spawn_described, tests_dir};

/// Which stack to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    FastMcp,
    McpSdk,
    BetterAuth,
}

impl StackKind {
    fn command(self) -> Result<Command> {
        let world = tests_dir().join("world");
        match self {
            StackKind::FastMcp | StackKind::McpSdk => {
                let python = world
                    .join("python")
                    .join(".venv")
                    .join("bin")
                    .join("python");
                if !python.exists() {
                    bail!(
                        "the Python test world is not installed ({}): run scripts/setup.d/24-python-world.sh (scripts/test does it)",
                        python.display()
                    );
                }
                let mut cmd = Command::new(python);
                cmd.arg(world.join("python").join("stack.py"));
                cmd.arg(if self == StackKind::FastMcp {
                    "fastmcp"
                } else {
                    "mcp-sdk"
                });
                Ok(cmd)
            }
            StackKind::BetterAuth => {
                let dir = world.join("betterauth");
                if !dir.join("node_modules").exists() {
                    bail!(
                        "the better-auth test world is not installed ({}): run scripts/setup.d/23-node-betterauth.sh (scripts/test does it)",
                        dir.display()
                    );
                }
                let mut cmd = Command::new(node_for(&dir));
                cmd.arg(dir.join("stack.mjs"));
                Ok(cmd)
            }
        }
    }
}

/// The Node that runs a launcher: `NODE` in its folder's `.node` file when present (a launcher
/// that needs a newer Node than the machine's), else `node` on PATH.
fn node_for(dir: &std::path::Path) -> PathBuf {
    std::fs::read_to_string(dir.join(".node"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let p = PathBuf::from(&s);
            if p.is_absolute() { p } else { dir.join(p) }
        })
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// A running stack. Dropped → its stdin closes and it exits.
pub struct Stack {
    child: Child,
    _stdin: Option<ChildStdin>,
    pub kind: StackKind,
    /// The JSON line it printed.
    pub info: Value,
}

impl Stack {
    /// Starts `kind` with `config` (`accessTokenTtl`, `refreshTokens`, …).
    pub fn start(kind: StackKind, config: Value) -> Result<Self> {
        let mut cmd = kind.command()?;
        cmd.arg("--config")
            .arg(config.to_string())
            .env("NODE_NO_WARNINGS", "1")
            .env("PYTHONUNBUFFERED", "1");
        let (child, stdin, info) = spawn_described(cmd, &format!("the {kind:?} stack"))?;
        Ok(Self {
            child,
            _stdin: stdin,
            kind,
            info,
        })
    }

    fn field(&self, k: &str) -> &str {
        self.info[k].as_str().unwrap_or_default()
    }
    /// The MCP endpoint.
    pub fn url(&self) -> &str {
        self.field("url")
    }
    pub fn issuer(&self) -> &str {
        self.field("issuer")
    }
    /// e.g. "fastmcp 4.2.3 (in-memory OAuth provider)".
    pub fn implementation(&self) -> &str {
        self.field("implementation")
    }
    pub fn admin(&self) -> &str {
        self.field("admin")
    }
    /// A capability the stack reports (`refresh_tokens`, `revocation`, `registration_management`…).
    pub fn can(&self, capability: &str) -> bool {
        self.info["capabilities"][capability].as_bool() == Some(true)
    }

    /// The server's own stores, as `GET /state` reads them.
    pub fn state(&self) -> Result<Value> {
        http::get_json(&format!("{}/state", self.admin()))
    }
    /// Client ids the server knows.
    pub fn client_ids(&self) -> Result<Vec<String>> {
        Ok(self.state()?["clients"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["client_id"].as_str().map(str::to_string))
            .collect())
    }
    /// Whether the server's store still holds `token` as an access (`kind` = "access_tokens")
    /// or refresh token ("refresh_tokens").
    pub fn holds(&self, kind: &str, token: &str) -> Result<bool> {
        let digest = sha256_hex(token);
        Ok(self.state()?[kind]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["sha256"].as_str() == Some(digest.as_str())))
    }
    /// The token requests the server logged (grant type, client authentication, status).
    pub fn token_requests(&self) -> Result<Vec<Value>> {
        Ok(self.state()?["token_requests"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
    /// Every access token of the server's store expires now.
    pub fn expire_access_tokens(&self) -> Result<()> {
        http::post_json(&format!("{}/expire-access-tokens", self.admin())).map(|_| ())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lower-case hex SHA-256 of a token, as the stacks' `/state` names tokens.
pub fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
