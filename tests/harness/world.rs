//! The test world process (`tests/world/world.mjs`): started per test on free loopback ports,
//! described by the JSON line it prints, driven through its admin API, killed on drop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::http;

/// Starts a test-world process that describes itself in one JSON line on stdout, then serves
/// until its stdin closes (kept open in the returned handle); its stderr goes to the test's.
pub(crate) fn spawn_described(
    mut cmd: Command,
    what: &str,
) -> Result<(Child, Option<ChildStdin>, Value)> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("start {what}"))?;
    let stdout = child.stdout.take().context("stdout of the test world")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    match serde_json::from_str(line.trim()) {
        Ok(info) => {
            let stdin = child.stdin.take();
            Ok((child, stdin, info))
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not start (its stderr is above); it printed {line:?}");
        }
    }
}

/// A running test world.
pub struct World {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// Everything `world.mjs` printed about itself (issuers, MCP servers, admin URL...).
    pub info: Value,
    /// The config it was started with (to restart it on the same ports and state).
    pub config: Value,
    _state: Option<tempfile::TempDir>,
}

/// Where `tests/` is.
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The scripted browser, for `$BROWSER`.
pub fn browser_path() -> PathBuf {
    tests_dir().join("world").join("browser.mjs")
}

impl World {
    /// Starts a world with `config` (see tests/world/README.md); `json!({})` gives one issuer
    /// `idp` with DCR on and one MCP server `demo`. A `stateDir` is added when the config has
    /// none, so issuers can be restarted, and the whole world too ([`World::restart`]).
    pub fn start(config: Value) -> Result<Self> {
        let mut config = config;
        let mut state = None;
        if config.get("stateDir").is_none() {
            let dir = tempfile::Builder::new()
                .prefix("lanyard-world-")
                .tempdir()?;
            config["stateDir"] = json!(dir.path());
            state = Some(dir);
        }
        let (child, stdin, info) = Self::spawn(&config)?;
        Ok(Self {
            child,
            _stdin: stdin,
            info,
            config,
            _state: state,
        })
    }

    fn spawn(config: &Value) -> Result<(Child, Option<ChildStdin>, Value)> {
        let dir = tests_dir().join("world");
        if !dir.join("node_modules").join("oidc-provider").exists() {
            bail!(
                "the test world's npm packages are missing: run `npm ci` in {} (scripts/test does it)",
                dir.display()
            );
        }
        let mut cmd = Command::new("node");
        cmd.arg(dir.join("world.mjs"))
            .arg("--config")
            .arg(config.to_string())
            .env("WORLD_EXIT_ON_STDIN_EOF", "1")
            .env("NODE_NO_WARNINGS", "1");
        // In HTTPS mode the world calls itself (JWKS, introspection) and must trust its own CA.
        if let Some(ca) = config["tls"]["ca"].as_str() {
            cmd.env("NODE_EXTRA_CA_CERTS", ca);
        }
        spawn_described(
            cmd,
            "the test world (`node tests/world/world.mjs`; is Node 20+ on PATH?)",
        )
    }

    /// Kills the world process and starts a new one on the same ports with the same state dir
    /// (clients, grants and keys survive).
    pub fn restart(&mut self) -> Result<()> {
        let mut config = self.config.clone();
        config["adminPort"] = json!(self.port_of(self.admin())?);
        config["gatewayPort"] = json!(self.port_of(self.gateway())?);
        let issuers = config
            .get("issuers")
            .cloned()
            .unwrap_or_else(|| json!([{ "name": "idp" }]));
        let mut pinned = Vec::new();
        for mut i in issuers.as_array().cloned().unwrap_or_default() {
            let name = i["name"].as_str().unwrap_or("idp").to_string();
            i["port"] = self.info["issuers"][&name]["port"].clone();
            pinned.push(i);
        }
        config["issuers"] = Value::Array(pinned);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, stdin, info) = Self::spawn(&config)?;
        self.child = child;
        self._stdin = stdin;
        self.info = info;
        self.config = config;
        Ok(())
    }

    fn port_of(&self, url: &str) -> Result<u16> {
        url::Url::parse(url)?
            .port()
            .with_context(|| format!("no port in {url}"))
    }

    /// The admin API's base URL.
    pub fn admin(&self) -> &str {
        self.info["admin"].as_str().unwrap_or_default()
    }

    /// The gateway (MCP servers' origin).
    pub fn gateway(&self) -> &str {
        self.info["gateway"].as_str().unwrap_or_default()
    }

    /// The URL of MCP server `name`.
    pub fn mcp_url(&self, name: &str) -> String {
        self.info["mcpServers"][name]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("no MCP server {name} in the world"))
            .to_string()
    }

    /// The issuer identifier of issuer `name`.
    pub fn issuer_url(&self, name: &str) -> String {
        self.info["issuers"][name]["issuer"]
            .as_str()
            .unwrap_or_else(|| panic!("no issuer {name} in the world"))
            .to_string()
    }

    /// The world's description of issuer `name` (endpoints, port, dcr mode...).
    pub fn issuer(&self, name: &str) -> &Value {
        &self.info["issuers"][name]
    }

    /// All request counters (see [`Counts`]).
    pub fn counts(&self) -> Result<Counts> {
        Ok(Counts(http::get_json(&format!("{}/counts", self.admin()))?))
    }

    /// The raw request log of every issuer and MCP server.
    pub fn log(&self) -> Result<Value> {
        http::get_json(&format!("{}/log", self.admin()))
    }

    /// Zeroes every counter.
    pub fn reset_counts(&self) -> Result<()> {
        http::post_json(&format!("{}/reset", self.admin())).map(|_| ())
    }

    /// Stops issuer `name` (connections refused) keeping its state.
    pub fn stop_issuer(&self, name: &str) -> Result<()> {
        http::post_json(&format!("{}/issuers/{name}/stop", self.admin())).map(|_| ())
    }

    /// Starts issuer `name` again on the same port.
    pub fn start_issuer(&self, name: &str) -> Result<()> {
        http::post_json(&format!("{}/issuers/{name}/start", self.admin())).map(|_| ())
    }

    /// Stop + start.
    pub fn restart_issuer(&self, name: &str) -> Result<()> {
        http::post_json(&format!("{}/issuers/{name}/restart", self.admin())).map(|_| ())
    }

    /// Every client the issuer knows (registered and static), as stored.
    pub fn clients(&self, issuer: &str) -> Result<Vec<Value>> {
        let v = http::get_json(&format!("{}/issuers/{issuer}/clients", self.admin()))?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// Deletes a client at the IdP behind the client's back (an admin's pruning script).
    pub fn delete_client(&self, issuer: &str, client_id: &str) -> Result<bool> {
        let v = http::post_json(&format!(
            "{}/issuers/{issuer}/clients/{client_id}/delete",
            self.admin()
        ))?;
        Ok(v["deleted"].as_bool().unwrap_or(false))
    }

    /// Revokes every grant, refresh token and opaque access token of issuer `name`.
    /// (JWT access tokens stay valid until they expire, as at a real IdP.)
    pub fn revoke_all(&self, issuer: &str) -> Result<()> {
        http::post_json(&format!("{}/issuers/{issuer}/revoke-all", self.admin())).map(|_| ())
    }

    /// RFC 7592 read: the status code of `GET registration_client_uri` (200 alive, 401 gone).
    pub fn registration_status(&self, uri: &str, token: &str) -> Result<u16> {
        let auth = format!("Bearer {token}");
        Ok(http::request("GET", uri, &[("Authorization", &auth)], None)?.status)
    }

    /// RFC 7592 delete: returns the status code (204 deleted).
    pub fn delete_registration(&self, uri: &str, token: &str) -> Result<u16> {
        let auth = format!("Bearer {token}");
        Ok(http::request("DELETE", uri, &[("Authorization", &auth)], None)?.status)
    }

    /// RFC 7009 revocation of `token` by public client `client_id` at issuer `name`.
    pub fn revoke_token(&self, issuer: &str, client_id: &str, token: &str) -> Result<u16> {
        let endpoint = self.issuer(issuer)["revocation_endpoint"]
            .as_str()
            .context("this issuer has no revocation endpoint")?
            .to_string();
        Ok(http::post_form(&endpoint, &[("token", token), ("client_id", client_id)])?.status)
    }

    /// A refresh-token grant, as a client would send it; returns the token endpoint's JSON
    /// (`error` = "invalid_grant" for a dead refresh token).
    pub fn refresh(
        &self,
        issuer: &str,
        client_id: &str,
        refresh_token: &str,
        resource: Option<&str>,
    ) -> Result<Value> {
        let endpoint = self.issuer(issuer)["token_endpoint"]
            .as_str()
            .context("issuer without token endpoint")?
            .to_string();
        let mut fields = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        if let Some(r) = resource {
            fields.push(("resource", r));
        }
        Ok(http::post_form(&endpoint, &fields)?.json())
    }

    /// Calls MCP server `name` with a bearer token: POST of one JSON-RPC message.
    pub fn mcp_post(&self, name: &str, token: &str, message: &Value) -> Result<http::Response> {
        let auth = format!("Bearer {token}");
        http::request(
            "POST",
            &self.mcp_url(name),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            Some(&message.to_string()),
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The world's request counters (`GET /counts`), with helpers for the common questions.
#[derive(Debug, Clone)]
pub struct Counts(pub Value);

impl Counts {
    fn n(v: &Value) -> u64 {
        v.as_u64().unwrap_or(0)
    }

    /// Dynamic client registrations (POSTs to the registration endpoint, refused ones included).
    pub fn registrations(&self, issuer: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["registration"])
    }

    /// Token requests of one grant type ("authorization_code", "refresh_token").
    pub fn token_requests(&self, issuer: &str, grant_type: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["token"][grant_type])
    }

    /// Token requests answered with this OAuth error ("invalid_grant"...).
    pub fn token_errors(&self, issuer: &str, error: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["token_errors"][error])
    }

    /// Authorization requests (browser visits to the authorization endpoint).
    pub fn authorizations(&self, issuer: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["authorization"])
    }

    /// RFC 7009 revocation requests.
    pub fn revocations(&self, issuer: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["revocation"])
    }

    /// RFC 7592 DELETEs.
    pub fn registration_deletes(&self, issuer: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["registration_delete"])
    }

    /// Every request the issuer answered.
    pub fn issuer_total(&self, issuer: &str) -> u64 {
        Self::n(&self.0["issuers"][issuer]["total"])
    }

    /// MCP requests to server `name` (PRM fetches not included).
    pub fn mcp_requests(&self, name: &str) -> u64 {
        Self::n(&self.0["mcpServers"][name]["requests"])
    }

    /// MCP requests to server `name` that carried a valid token.
    pub fn mcp_authorized(&self, name: &str) -> u64 {
        Self::n(&self.0["mcpServers"][name]["authorized"])
    }

    /// JSON-RPC calls of one method ("tools/call") at server `name`.
    pub fn mcp_rpc(&self, name: &str, method: &str) -> u64 {
        Self::n(&self.0["mcpServers"][name]["rpc"][method])
    }
}
