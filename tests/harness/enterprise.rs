//! The enterprise test world (`tests/world/enterprise/world.mjs`): a company IdP that issues
//! ID-JAGs by token exchange, MCP servers each behind its own authorization server that takes
//! them, and one ("plain") behind the IdP itself. Started per test on free loopback ports,
//! killed on drop.

use std::process::{Child, ChildStdin, Command};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::http;
use crate::world::{spawn_described, tests_dir};

/// A running enterprise world.
pub struct EnterpriseWorld {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// What it printed about itself (IdP, authorization servers, MCP servers, admin URL).
    pub info: Value,
}

impl EnterpriseWorld {
    /// Starts one with `config` (`idTokenTtl`, `accessTokenTtl`, `servers`; see world.mjs).
    pub fn start(config: Value) -> Result<Self> {
        let dir = tests_dir().join("world");
        if !dir.join("node_modules").join("oidc-provider").exists() {
            bail!(
                "the test world's npm packages are missing: run `npm ci` in {}",
                dir.display()
            );
        }
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("enterprise").join("world.mjs"))
            .arg("--config")
            .arg(config.to_string())
            .env("WORLD_EXIT_ON_STDIN_EOF", "1")
            .env("NODE_NO_WARNINGS", "1");
        let (child, stdin, info) = spawn_described(
            cmd,
            "the enterprise test world (`node tests/world/enterprise/world.mjs`)",
        )?;
        Ok(Self {
            child,
            _stdin: stdin,
            info,
        })
    }

    /// The company IdP's issuer.
    pub fn idp(&self) -> String {
        self.info["idp"]["issuer"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// MCP server `name`'s URL (`alpha`, `beta`, `plain`).
    pub fn mcp_url(&self, name: &str) -> String {
        self.info["mcpServers"][name]["url"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The issuer of MCP server `name`'s authorization server.
    pub fn issuer_of(&self, name: &str) -> String {
        self.info["mcpServers"][name]["issuer"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn admin(&self) -> &str {
        self.info["admin"].as_str().unwrap_or_default()
    }

    /// The token requests every issuer saw (`tokens`: issuer, route, grant_type, status,
    /// error…) and each MCP server's requests (`mcp.NAME`: status, sub, client_id).
    pub fn log(&self) -> Result<Value> {
        http::get_json(&format!("{}/log", self.admin()))
    }

    /// Token-endpoint requests of `issuer` (`idp`, `as-alpha`…) with `grant_type`, as
    /// `(status, error)`.
    pub fn token_requests(&self, issuer: &str, grant_type: &str) -> Result<Vec<(u64, String)>> {
        let log = self.log()?;
        Ok(log["tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| {
                e["issuer"] == issuer && e["route"] == "token" && e["grant_type"] == grant_type
            })
            .map(|e| {
                (
                    e["status"].as_u64().unwrap_or(0),
                    e["error"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// Revocation requests (RFC 7009) the IdP answered, by token type hint.
    pub fn idp_revocations(&self) -> Result<Vec<String>> {
        let log = self.log()?;
        Ok(log["tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["issuer"] == "idp" && e["route"] == "revocation" && e["status"] == 200)
            .map(|e| {
                e["token_type_hint"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect())
    }

    /// Ends every session at the IdP: grants and refresh tokens destroyed, ID tokens issued so
    /// far refused by the token exchange.
    pub fn revoke_idp_sessions(&self) -> Result<()> {
        http::post_json(&format!("{}/issuers/idp/revoke-all", self.admin()))?;
        Ok(())
    }
}

impl Drop for EnterpriseWorld {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
