//! The assistants' own CLIs as judges of what Lanyard wrote: `claude mcp get NAME` and
//! `codex mcp get NAME --json` exit 0 only when the entry exists and is valid (one invalid
//! `[mcp_servers.*]` entry stops every Codex command, so a rejected write is rolled back).
//!
//! They never see the user's live files: any run of Claude Code migrates the file it reads
//! (2.1.197 dropped every project's `history` from a 1.85 MB `.claude.json`, leaving 219 KB). Each
//! judge runs in a private temporary directory ([`Scratch`]) holding a copy of the file Lanyard
//! wrote — `CLAUDE_CONFIG_DIR` / `CODEX_HOME` / HOME point there, a project's `.mcp.json` or
//! `.codex/config.toml` is copied into a scratch project — and the directory is removed
//! afterwards, whatever the CLI did to the copy.
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
    let scratch = match Scratch::new(env, loc) {
        Ok(s) => s,
        Err(e) => {
            // Never judge on the live file; skipping the check keeps what was written.
            tracing::warn!(
                "could not prepare a scratch copy to validate {}: {e}",
                loc.file.display()
            );
            return None;
        }
    };
    let judge = format!("{} {}", loc.ide.id(), args.join(" "));
    Some(run(&cli, &args, &scratch.cwd, &scratch.env, &judge))
    // `scratch` is dropped here: the temporary directory and every copy in it are removed.
}

/// A private temporary directory (mode 0700) with copies of the config files a judge reads,
/// and the environment and working directory that make the CLI read the copies.
pub(crate) struct Scratch {
    dir: tempfile::TempDir,
    pub env: IdeEnv,
    pub cwd: std::path::PathBuf,
}

impl Scratch {
    pub(crate) fn new(real: &IdeEnv, loc: &Location) -> std::io::Result<Scratch> {
        let dir = tempfile::Builder::new()
            .prefix("lanyard-judge-")
            .tempdir()?;
        let root = dir.path();
        let home = root.join("home");
        let claude = root.join("claude");
        let codex = root.join("codex");
        for d in [&home, &claude, &codex] {
            std::fs::create_dir(d)?;
        }
        let env = IdeEnv {
            home: home.clone(),
            claude_config_dir: Some(claude.clone()),
            codex_home: Some(codex.clone()),
            path: real.path.clone(),
        };
        let copy = |from: &Path, to: &Path| -> std::io::Result<()> {
            match std::fs::copy(from, to) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        };
        let project = root.join("project");
        let cwd = match (loc.ide, &loc.scope) {
            // `~/.claude.json` (user scope; local scope under `projects[<abs root>]`, so the
            // real project stays the working directory: it is only read).
            (Ide::Claude, Scope::User) => {
                copy(&real.claude_json(), &env.claude_json())?;
                home.clone()
            }
            (Ide::Claude, Scope::Local(p)) => {
                copy(&real.claude_json(), &env.claude_json())?;
                p.clone()
            }
            // `<project>/.mcp.json`: a scratch project with a copy of it.
            (Ide::Claude, Scope::Project(_)) => {
                std::fs::create_dir(&project)?;
                copy(&loc.file, &project.join(".mcp.json"))?;
                project
            }
            (Ide::Codex, Scope::User | Scope::Local(_)) => {
                copy(
                    &real.codex_home().join("config.toml"),
                    &codex.join("config.toml"),
                )?;
                home.clone()
            }
            // `<project>/.codex/config.toml`, read only for a trusted project: a scratch project
            // with a copy of it, trusted in the scratch `config.toml`.
            (Ide::Codex, Scope::Project(_)) => {
                std::fs::create_dir_all(project.join(".codex"))?;
                copy(&loc.file, &project.join(".codex").join("config.toml"))?;
                let text = std::fs::read_to_string(real.codex_home().join("config.toml"))
                    .unwrap_or_default();
                let mut doc = text.parse::<toml_edit::DocumentMut>().unwrap_or_default();
                let key = std::fs::canonicalize(&project)?
                    .to_string_lossy()
                    .into_owned();
                let projects = doc
                    .entry("projects")
                    .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
                if let Some(t) = projects.as_table_like_mut() {
                    let mut entry = toml_edit::Table::new();
                    entry["trust_level"] = toml_edit::value("trusted");
                    t.insert(&key, toml_edit::Item::Table(entry));
                }
                std::fs::write(codex.join("config.toml"), doc.to_string())?;
                project
            }
            (Ide::Cursor, _) => home.clone(),
        };
        Ok(Scratch { dir, env, cwd })
    }

    /// The temporary directory (removed when the scratch is dropped).
    #[allow(dead_code)] // used by the tests
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
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
