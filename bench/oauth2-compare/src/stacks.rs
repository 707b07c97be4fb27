//! The IdP + MCP server stacks of the test world, started as the e2e harness starts them
//! (tests/harness/{world,stack}.rs): one JSON line on stdout, served until stdin closes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Access tokens this short let Lanyard's refresh rule (never before half a token's life) run
/// within seconds.
pub const TTL_SECS: u64 = 6;

pub const ALL: [&str; 4] = ["oidc-provider", "fastmcp", "mcp-sdk", "better-auth"];

pub struct Stack {
    child: Child,
    _stdin: Option<ChildStdin>,
    _stdout: BufReader<ChildStdout>,
    pub implementation: String,
    pub mcp_url: String,
    _state: Option<PathBuf>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self._state {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn node_for(dir: &Path) -> PathBuf {
    std::fs::read_to_string(dir.join(".node"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let p = PathBuf::from(&s);
            if p.is_absolute() { p } else { dir.join(p) }
        })
        .unwrap_or_else(|| PathBuf::from("node"))
}

pub fn start(kind: &str, repo: &Path, log: &Path) -> Result<Stack, String> {
    let world = repo.join("tests").join("world");
    let ttl = TTL_SECS;
    let mut state = None;
    let mut cmd = match kind {
        "oidc-provider" => {
            let dir =
                std::env::temp_dir().join(format!("oauth2-compare-world-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let mut c = Command::new("node");
            c.arg(world.join("world.mjs")).arg("--config").arg(
                serde_json::json!({
                    "stateDir": dir,
                    "issuers": [{"name": "idp", "accessTokenTtl": ttl}],
                    "mcpServers": [{"name": "demo"}]
                })
                .to_string(),
            );
            c.env("WORLD_EXIT_ON_STDIN_EOF", "1");
            state = Some(dir);
            c
        }
        "fastmcp" | "mcp-sdk" => {
            let py = world
                .join("python")
                .join(".venv")
                .join("bin")
                .join("python");
            if !py.exists() {
                return Err(format!(
                    "{} is missing: run scripts/setup.d/24-python-world.sh",
                    py.display()
                ));
            }
            let mut c = Command::new(py);
            c.arg(world.join("python").join("stack.py"))
                .arg(kind)
                .arg("--config")
                .arg(serde_json::json!({"accessTokenTtl": ttl, "refreshTokens": true}).to_string());
            c
        }
        "better-auth" => {
            let dir = world.join("betterauth");
            let mut c = Command::new(node_for(&dir));
            c.arg(dir.join("stack.mjs"))
                .arg("--config")
                .arg(serde_json::json!({"accessTokenTtl": ttl}).to_string());
            c
        }
        other => return Err(format!("unknown stack {other}")),
    };
    let log = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut child = cmd
        .env("NODE_NO_WARNINGS", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {kind}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let info: serde_json::Value = match serde_json::from_str(line.trim()) {
        Ok(v) => v,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{kind} did not start; it printed {line:?}"));
        }
    };
    let mcp_url = if kind == "oidc-provider" {
        info["mcpServers"]["demo"]["url"].as_str()
    } else {
        info["url"].as_str()
    }
    .unwrap_or_default()
    .to_owned();
    let implementation = info["implementation"]
        .as_str()
        .unwrap_or("oidc-provider 9 + TypeScript MCP SDK v1")
        .to_owned();
    Ok(Stack {
        _stdin: child.stdin.take(),
        child,
        _stdout: reader,
        implementation,
        mcp_url,
        _state: state,
    })
}
