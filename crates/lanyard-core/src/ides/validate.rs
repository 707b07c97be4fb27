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
use super::assistants::spec::ScratchDirs;

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
    let cli = loc.ide.cli(env)?;
    let assistant = loc.ide.assistant();
    let args = assistant.judge_args(name)?;
    if !assistant.judge_reads(env, loc) {
        return None;
    }
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
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
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
        let mut env = IdeEnv::at_home(home);
        env.claude_config_dir = Some(claude);
        env.codex_home = Some(codex);
        env.path = real.path.clone();
        let dirs = ScratchDirs { root, env: &env };
        let cwd = loc.ide.assistant().prepare_scratch(real, &dirs, loc)?;
        Ok(Scratch { dir, env, cwd })
    }

    /// The temporary directory (removed when the scratch is dropped).
    #[allow(dead_code)] // used by the tests
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
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
