//! The interop matrix (issue 11): the whole life of a server — probe, add, tools, call, token,
//! expiry then refresh, logout with revocation checked at the server, login, a sign-in by
//! paste-back and one by the device grant where the server offers it (issue 15), uninstall with
//! the server's own state checked, and the URL forms users paste — against every independent
//! implementation in the test world. Each test writes its row to `target/interop/<row>.json`;
//! `scripts/interop-table` prints the README's table from them.

use std::time::{Duration, Instant};

use lanyard_e2e::{Run, Sandbox, Stack, StackKind, Value, World, json};

use crate::cleanup_common::{secret, service};
use crate::signin_device::sign_in_by_device;
use crate::signin_paste_back::{Signin, address_without_callback};

/// Access tokens this short expire within the test (every stack sets the lifetime it reports).
const TTL_SECS: u64 = 6;

/// The implementation a row runs against.
enum Backend {
    /// The Node world: oidc-provider + the TypeScript SDK (v1 or v2) behind MCP server `server`.
    World {
        world: World,
        server: &'static str,
    },
    Stack(Stack),
}

impl Backend {
    fn url(&self) -> String {
        match self {
            Backend::World { world, server } => world.mcp_url(server),
            Backend::Stack(s) => s.url().to_string(),
        }
    }

    fn implementation(&self) -> String {
        match self {
            Backend::World { world, server } => {
                let sdk = world.info["mcpServers"][server]["sdk"]
                    .as_str()
                    .unwrap_or("v1");
                format!(
                    "oidc-provider 9 + TypeScript MCP SDK {}",
                    if sdk == "v2" {
                        "v2 (2026-07-28 only)"
                    } else {
                        "v1"
                    }
                )
            }
            Backend::Stack(s) => s.implementation().to_string(),
        }
    }

    fn issues_refresh_tokens(&self) -> bool {
        match self {
            Backend::World { .. } => true,
            Backend::Stack(s) => s.can("refresh_tokens"),
        }
    }

    fn revokes(&self) -> bool {
        match self {
            Backend::World { .. } => true,
            Backend::Stack(s) => s.can("revocation"),
        }
    }

    /// Successful refresh-token grants the server has answered so far.
    fn refreshes(&self) -> u64 {
        match self {
            Backend::World { world, .. } => world
                .counts()
                .map(|c| c.token_requests("idp", "refresh_token"))
                .unwrap_or(0),
            Backend::Stack(s) => s
                .token_requests()
                .unwrap_or_default()
                .iter()
                .filter(|r| r["grant_type"] == "refresh_token" && r["status"] == 200)
                .count() as u64,
        }
    }

    /// Whether the server still honours `refresh_token` (read from its own store; for
    /// oidc-provider, by asking its token endpoint, which a revoked grant fails).
    fn refresh_token_alive(&self, client_id: &str, refresh_token: &str) -> bool {
        match self {
            Backend::World { world, .. } => world
                .refresh("idp", client_id, refresh_token, None)
                .map(|v| v.get("access_token").is_some())
                .unwrap_or(false),
            Backend::Stack(s) => s.holds("refresh_tokens", refresh_token).unwrap_or(true),
        }
    }

    /// Whether the server still honours `access_token` (`None`: it cannot tell — a JWT).
    fn access_token_alive(&self, access_token: &str) -> Option<bool> {
        match self {
            Backend::World { .. } => None,
            Backend::Stack(s) => s.holds("access_tokens", access_token).ok(),
        }
    }

    /// The client ids the server knows.
    fn client_ids(&self) -> Vec<String> {
        match self {
            Backend::World { world, .. } => world
                .clients("idp")
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c["client_id"].as_str().map(str::to_string))
                .collect(),
            Backend::Stack(s) => s.client_ids().unwrap_or_default(),
        }
    }

    /// Whether the server lets a client delete itself (RFC 7592).
    fn deletes_clients(&self) -> bool {
        match self {
            Backend::World { .. } => true,
            Backend::Stack(s) => s.can("registration_management"),
        }
    }
}

/// One row of the matrix: each step's verdict, in order.
struct Row {
    name: &'static str,
    implementation: String,
    steps: Vec<(&'static str, Result<String, String>)>,
    skipped: Vec<&'static str>,
}

impl Row {
    fn new(name: &'static str, backend: &Backend) -> Row {
        Row {
            name,
            implementation: backend.implementation(),
            steps: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Records a step; `Ok(note)` passed, `Err(why)` failed.
    fn step(&mut self, step: &'static str, verdict: Result<String, String>) -> bool {
        let ok = verdict.is_ok();
        self.steps.push((step, verdict));
        ok
    }

    /// Records a step the implementation has nothing for (the table says n/a, with `why`).
    fn not_applicable(&mut self, step: &'static str, why: &str) {
        self.skipped.push(step);
        self.steps.push((step, Ok(why.to_owned())));
    }

    /// Writes the row for `scripts/interop-table`, then fails the test on any failed step.
    fn finish(self) {
        let dir = lanyard_e2e::tests_dir()
            .parent()
            .map(|p| p.join("target").join("interop"))
            .expect("repo root");
        let _ = std::fs::create_dir_all(&dir);
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|(s, v)| match v {
                Ok(note) if self.skipped.contains(s) => {
                    json!({"step": s, "ok": true, "skipped": true, "note": note})
                }
                Ok(note) => json!({"step": s, "ok": true, "note": note}),
                Err(why) => json!({"step": s, "ok": false, "note": why}),
            })
            .collect();
        let row = json!({"row": self.name, "implementation": self.implementation, "steps": steps});
        let file: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let _ = std::fs::write(dir.join(format!("{file}.json")), row.to_string());
        let failed: Vec<String> = self
            .steps
            .iter()
            .filter_map(|(s, v)| v.as_ref().err().map(|why| format!("{s}: {why}")))
            .collect();
        assert!(
            failed.is_empty(),
            "{} ({}) failed {} step(s):\n{}",
            self.name,
            self.implementation,
            failed.len(),
            failed.join("\n\n")
        );
    }
}

fn ran(run: &Run) -> Result<(), String> {
    if run.ok() {
        Ok(())
    } else {
        Err(run.describe())
    }
}

/// The token set `lanyard` keeps for `server`, from the sandbox's keychain.
fn stored(sb: &Sandbox, server: &str) -> Option<Value> {
    secret(sb, &service(sb), &format!("tokens:{server}"))
        .and_then(|s| serde_json::from_str(&s).ok())
}

fn client_id_of(sb: &Sandbox, server: &str) -> Option<String> {
    let run = sb.lanyard(&["list", "--json"]);
    let v = run.json().ok()?;
    v["servers"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == server)?["client_id"]
        .as_str()
        .map(str::to_string)
}

/// Waits until the access token stored for `server` has expired.
fn wait_for_expiry(sb: &Sandbox, server: &str) {
    let expires_at = stored(sb, server)
        .and_then(|t| t["expires_at"].as_i64())
        .unwrap_or(0);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(TTL_SECS + 30);
    while now() <= expires_at && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The whole life of one server against `backend`.
fn whole_life(name: &'static str, backend: Backend) {
    let mut row = Row::new(name, &backend);
    let url = backend.url();
    let sb = Sandbox::new().expect("sandbox");
    let s = "srv";

    let probe = sb.lanyard(&["probe", &url]);
    row.step(
        "probe",
        ran(&probe).and_then(|()| {
            if probe.stdout.contains("Result: ready to sign in") {
                Ok(String::new())
            } else {
                Err(format!(
                    "probe does not say it is ready:\n{}",
                    probe.describe()
                ))
            }
        }),
    );

    let add = sb.lanyard(&["add", &url, "--name", s]);
    if !row.step("add", ran(&add).map(|()| String::new())) {
        return row.finish();
    }
    let first = stored(&sb, s).unwrap_or(Value::Null);
    let client_id = client_id_of(&sb, s).unwrap_or_default();

    let tools = sb.lanyard(&["tools", s, "--json"]);
    row.step(
        "tools",
        ran(&tools).and_then(|()| {
            if tools.stdout.contains("echo") {
                Ok(String::new())
            } else {
                Err(format!("no echo tool listed:\n{}", tools.describe()))
            }
        }),
    );

    let call = sb.lanyard(&["call", s, "echo", "--args", r#"{"text":"matrix-hello"}"#]);
    row.step(
        "call",
        ran(&call).and_then(|()| {
            if call.stdout.contains("matrix-hello") {
                Ok(String::new())
            } else {
                Err(format!("the echo did not come back:\n{}", call.describe()))
            }
        }),
    );

    // A stack that offers DPoP (better-auth's oauth-provider lists proof algorithms in its
    // resource metadata by default) gets key-bound tokens: the headers helper must then refuse to
    // hand out a bare token and point to the bridge, which signs each request.
    let dpop_bound = first["token_type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
    let token = sb.lanyard(&["token", s]);
    row.step(
        "token",
        if dpop_bound {
            if !token.ok() && token.stderr.contains("bound to a key") {
                Ok("DPoP-bound: no bare token; assistants use the bridge".into())
            } else {
                Err(format!(
                    "a DPoP-bound token must not be printed:\n{}",
                    token.describe()
                ))
            }
        } else {
            ran(&token).and_then(|()| {
                if token.stdout.trim().is_empty() {
                    Err("no token printed".into())
                } else {
                    Ok(String::new())
                }
            })
        },
    );

    // Expiry: with a refresh token the next command refreshes; without one, the server needs a
    // new sign-in and Lanyard says why.
    let before = backend.refreshes();
    wait_for_expiry(&sb, s);
    let after_expiry = sb.lanyard(&["tools", s]);
    if backend.issues_refresh_tokens() {
        let refreshed = backend.refreshes() > before;
        row.step(
            "refresh",
            ran(&after_expiry).and_then(|()| {
                if refreshed {
                    Ok(String::new())
                } else {
                    Err("the server saw no refresh-token grant".into())
                }
            }),
        );
    } else {
        let text = after_expiry.output().to_lowercase();
        row.step(
            "refresh",
            if !after_expiry.ok() && text.contains("no refresh token") {
                Ok("no refresh token issued: sign-in asked for at expiry".into())
            } else {
                Err(format!(
                    "without a refresh token, an expired sign-in should say so:\n{}",
                    after_expiry.describe()
                ))
            },
        );
        // Sign in again so the rest of the life has tokens.
        sb.lanyard(&["login", s]);
    }

    let current = stored(&sb, s).unwrap_or(first);
    let rt = current["refresh_token"].as_str().map(str::to_string);
    let at = current["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let logout = sb.lanyard(&["logout", s]);
    row.step(
        "logout",
        ran(&logout).and_then(|()| {
            if !backend.revokes() {
                return Ok("no revocation endpoint: tokens expire on their own".into());
            }
            if let Some(rt) = &rt
                && backend.refresh_token_alive(&client_id, rt)
            {
                return Err(format!(
                    "the server still honours the refresh token after logout:\n{}",
                    logout.describe()
                ));
            }
            match (rt.is_none(), backend.access_token_alive(&at)) {
                (true, Some(true)) => Err(format!(
                    "the server still holds the access token after logout:\n{}",
                    logout.describe()
                )),
                _ => Ok("revoked at the server".into()),
            }
        }),
    );

    let login = sb.lanyard(&["login", s]);
    let tools_again = sb.lanyard(&["tools", s]);
    row.step(
        "login",
        ran(&login)
            .and_then(|()| ran(&tools_again))
            .map(|()| String::new()),
    );

    row.step("paste-back", paste_back(&sb, s));
    let offered = sb.lanyard(&["probe", &url, "--json"]).json().ok();
    if offered.is_some_and(|p| p["device_grant"] == true) {
        row.step("device grant", device_grant(&sb, s));
    } else {
        row.not_applicable(
            "device grant",
            "not offered (no device_authorization_endpoint in its metadata)",
        );
    }

    let last = stored(&sb, s).unwrap_or(Value::Null);
    let uninstall = sb.lanyard(&["uninstall", "--yes"]);
    let code = uninstall.code;
    row.step("uninstall", {
        let mut problems = Vec::new();
        // 0: all done; 3: done here, with what stays at the server listed.
        if !matches!(code, Some(0) | Some(3)) {
            problems.push(format!("exit code {code:?}"));
        }
        let clients = backend.client_ids();
        if backend.deletes_clients() && clients.contains(&client_id) {
            problems.push(format!("client {client_id} still registered at the server"));
        }
        if !backend.deletes_clients() && !uninstall.output().contains(&client_id) {
            problems.push(format!(
                "client {client_id} stays at the server but the uninstall does not name it"
            ));
        }
        if backend.revokes()
            && let Some(rt) = last["refresh_token"].as_str()
            && backend.refresh_token_alive(&client_id, rt)
        {
            problems.push("the last refresh token still works".into());
        }
        if problems.is_empty() {
            Ok(if backend.deletes_clients() {
                "client deleted at the server".into()
            } else {
                "client listed as left for the admin".into()
            })
        } else {
            Err(format!("{}\n{}", problems.join("; "), uninstall.describe()))
        }
    });

    // What people paste: a trailing slash, and `localhost` for `127.0.0.1`.
    let sb2 = Sandbox::new().expect("sandbox");
    let slash = format!("{}/", url.trim_end_matches('/'));
    let add_slash = sb2.lanyard(&["add", &slash, "--name", "slash"]);
    let tools_slash = sb2.lanyard(&["tools", "slash"]);
    row.step(
        "trailing slash",
        ran(&add_slash)
            .and_then(|()| ran(&tools_slash))
            .map(|()| String::new()),
    );
    let local = url.replacen("127.0.0.1", "localhost", 1);
    let add_local = sb2.lanyard(&["add", &local, "--name", "local"]);
    row.step(
        "localhost",
        if add_local.ok() {
            ran(&sb2.lanyard(&["tools", "local"])).map(|()| String::new())
        } else if add_local.stderr.contains("127.0.0.1") && !add_local.stderr.contains("panicked") {
            // The server names itself by its address; RFC 9728 §3.3 forbids using its metadata
            // for another one, so the user is told which URL to add.
            Ok("refused with the URL the server names itself by".into())
        } else {
            Err(add_local.describe())
        },
    );
    row.finish();
}

/// `login --no-browser`: the browser signs in but cannot reach the callback; the address it
/// stopped at is pasted back (its `state`, and `iss` when the server sends one, checked as the
/// listener checks them); then a tool call with the new tokens.
fn paste_back(sb: &Sandbox, server: &str) -> Result<String, String> {
    let mut signin = Signin::start(sb, &["login", server, "--no-browser"], false);
    let auth_url = signin.authorization_url();
    let address = match address_without_callback(sb, &auth_url) {
        Ok(a) => a,
        Err(e) => return Err(format!("{e}\n{}", signin.abandon())),
    };
    signin.paste(&address);
    let (code, stderr) = signin.finish();
    if code != Some(0) {
        return Err(format!("exit {code:?}:\n{stderr}"));
    }
    ran(&sb.lanyard(&["tools", server]))?;
    let iss = url::Url::parse(&address)
        .map(|u| u.query_pairs().any(|(k, _)| k == "iss"))
        .unwrap_or(false);
    Ok(if iss {
        "pasted address carried `state` and `iss` (RFC 9207), both checked".into()
    } else {
        "pasted address carried `state` (checked), no `iss`: the server does not send it".into()
    })
}

/// `login --device`, approved on the server's verification page; then a tool call.
fn device_grant(sb: &Sandbox, server: &str) -> Result<String, String> {
    let out = sign_in_by_device(sb, &["login", server, "--device"], "approve");
    if !out.ok {
        return Err(out.stderr);
    }
    if !out.browser_ran {
        return Err(format!("no verification URL shown:\n{}", out.stderr));
    }
    ran(&sb.lanyard(&["tools", server])).map(|()| String::new())
}

fn world(server: Value) -> Backend {
    let name = if server["sdk"] == "v2" {
        "modern"
    } else {
        "demo"
    };
    let mut server = server;
    server["name"] = json!(name);
    let world = World::start(json!({
        "issuers": [{ "name": "idp", "accessTokenTtl": TTL_SECS, "deviceFlow": { "interval": 1 } }],
        "mcpServers": [server]
    }))
    .expect("world");
    Backend::World {
        world,
        server: name,
    }
}

fn stack(kind: StackKind, config: Value) -> Backend {
    Backend::Stack(Stack::start(kind, config).expect("stack"))
}

#[test]
fn oidc_provider_with_typescript_sdk_v1() {
    whole_life("oidc-provider + TS SDK v1", world(json!({})));
}

#[test]
fn oidc_provider_with_typescript_sdk_v2() {
    whole_life("oidc-provider + TS SDK v2", world(json!({ "sdk": "v2" })));
}

#[test]
fn fastmcp_builtin_oauth() {
    whole_life(
        "FastMCP",
        stack(StackKind::FastMcp, json!({ "accessTokenTtl": TTL_SECS })),
    );
}

#[test]
fn python_sdk_separate_as_and_rs_with_refresh_tokens() {
    whole_life(
        "Python SDK mcp.server.auth",
        stack(
            StackKind::McpSdk,
            json!({ "accessTokenTtl": TTL_SECS, "refreshTokens": true }),
        ),
    );
}

#[test]
fn python_sdk_separate_as_and_rs_without_refresh_tokens() {
    whole_life(
        "Python SDK mcp.server.auth, no refresh tokens",
        stack(
            StackKind::McpSdk,
            json!({ "accessTokenTtl": TTL_SECS, "refreshTokens": false }),
        ),
    );
}

#[test]
fn better_auth_mcp_plugin() {
    whole_life(
        "better-auth",
        stack(
            StackKind::BetterAuth,
            json!({ "accessTokenTtl": TTL_SECS, "deviceFlow": true }),
        ),
    );
}
