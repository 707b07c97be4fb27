//! The assistants' own CLIs as judges of what Lanyard wrote: `claude mcp get NAME` and
//! `codex mcp get NAME --json` exit 0 only when the entry exists and is valid (one invalid
//! `[mcp_servers.*]` entry stops every Codex command, so a rejected write is rolled back).
//!
//! They run with the same HOME / CLAUDE_CONFIG_DIR / CODEX_HOME the writer used ([`IdeEnv`]).
//! `LANYARD_SKIP_IDE_JUDGE=1` turns the check off.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::adapter::{IdeEnv, Location};
use super::{Ide, Scope};

/// What a judge said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The command line, for messages.
    pub judge: String,
    pub accepted: bool,
    /// stdout + stderr, trimmed.
    pub output: String,
}

const JUDGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Asks the assistant's CLI about entry `name` in `loc`; `None` when there is no CLI to ask.
pub fn judge(env: &IdeEnv, loc: &Location, name: &str) -> Option<Verdict> {
    if std::env::var_os("LANYARD_SKIP_IDE_JUDGE").is_some_and(|v| v == "1") {
        return None;
    }
    let cli = env.cli(loc.ide)?;
    if loc.ide == Ide::Codex {
        // Codex refuses to start when CODEX_HOME does not exist, and reads a project's
        // `.codex/config.toml` only once the project is trusted: nothing to ask otherwise.
        if !env.codex_home().is_dir() {
            return None;
        }
        if let Scope::Project(p) = &loc.scope
            && !codex_trusts(env, p)
        {
            return None;
        }
    }
    let args: Vec<&str> = match loc.ide {
        Ide::Claude => vec!["mcp", "get", name],
        Ide::Codex => vec!["mcp", "get", name, "--json"],
        Ide::Cursor => return None,
    };
    // Project and local scopes are read relative to the working directory.
    let cwd = match &loc.scope {
        Scope::Project(p) | Scope::Local(p) => p.clone(),
        Scope::User => env.home.clone(),
    };
    let judge = format!("{} {}", loc.ide.id(), args.join(" "));
    Some(run(&cli, &args, &cwd, env, &judge))
}

/// Whether `$CODEX_HOME/config.toml` marks the project (or its git root) trusted.
fn codex_trusts(env: &IdeEnv, project: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(env.codex_home().join("config.toml")) else {
        return false;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    let abs = std::fs::canonicalize(project).unwrap_or_else(|_| project.to_path_buf());
    let root = super::adapter::git_root(&abs);
    [abs, root].iter().any(|dir| {
        doc.get("projects")
            .and_then(|p| p.get(dir.to_string_lossy().as_ref()))
            .and_then(|e| e.get("trust_level"))
            .and_then(|t| t.as_str())
            == Some("trusted")
    })
}

/// Runs a CLI with a deadline, capturing its output.
pub fn run(cli: &Path, args: &[&str], cwd: &Path, env: &IdeEnv, judge: &str) -> Verdict {
    let mut cmd = Command::new(cli);
    cmd.args(args)
        .current_dir(if cwd.is_dir() { cwd } else { &env.home })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    env.apply(&mut cmd);
    let failed = |output: String| Verdict {
        judge: judge.to_owned(),
        accepted: false,
        output,
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("could not start {}: {e}", cli.display())),
    };
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + JUDGE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(25)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut output = out.join().unwrap_or_default();
    let e = err.join().unwrap_or_default();
    if !e.trim().is_empty() {
        output.push_str(&e);
    }
    match status {
        Some(s) => Verdict {
            judge: judge.to_owned(),
            accepted: s.success(),
            output: output.trim().to_owned(),
        },
        None => failed(format!(
            "timed out after {}s; {}",
            JUDGE_TIMEOUT.as_secs(),
            output.trim()
        )),
    }
}
