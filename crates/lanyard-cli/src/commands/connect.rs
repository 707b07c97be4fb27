//! `lanyard connect NAME --ide cursor,claude,codex [--mode …] [--project PATH]`: write the
//! server's entry into each assistant's config (byte-preserving, atomic, validated by the
//! assistant's own CLI when installed, rolled back when it objects).

use std::path::PathBuf;

use lanyard_core::ides::manage::{ConnectReport, Manager};
use lanyard_core::ides::records::RecordsFile;
use lanyard_core::ides::source::{LiveSource, NativeClient};
use lanyard_core::ides::{ConnectRequest, Ide, IdeEnv, Mode, Scope};
use lanyard_core::paths::Paths;

use crate::output;

/// Connect a server to AI coding assistants (Cursor, Claude Code, Codex).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The server's name (see `lanyard list`).
    pub name: String,
    #[command(flatten)]
    pub target: Target,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where and how to connect (shared with `add --connect`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Target {
    /// Assistants, comma-separated: cursor, claude, codex, or all (default: those installed).
    #[arg(long, value_name = "IDES")]
    pub ide: Option<String>,
    /// helper | bridge | static | native (default: helper for Claude Code and Codex, bridge for Cursor).
    #[arg(long)]
    pub mode: Option<String>,
    /// Write into this project's config instead of the user-wide one.
    #[arg(long, value_name = "PATH")]
    pub project: Option<PathBuf>,
    /// Claude Code only: with --project, the private per-project entry in ~/.claude.json
    /// (`local` scope) instead of the shared `.mcp.json`.
    #[arg(long, requires = "project")]
    pub local: bool,
    /// Static mode: the header carrying the token (default: the server's token header).
    #[arg(long, value_name = "NAME")]
    pub header: Option<String>,
    /// Native mode: a client id the assistant can use (registered for its redirect URI).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Native mode: that client's secret, if confidential.
    #[arg(
        long,
        value_name = "S",
        env = "LANYARD_NATIVE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Native mode: the assistant's loopback callback port (Claude Code).
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
    /// Do not ask the assistants' CLIs to validate the entry.
    #[arg(long)]
    pub no_validate: bool,
}

pub fn manager() -> lanyard_core::Result<Manager> {
    Ok(Manager::new(
        IdeEnv::from_env()?,
        RecordsFile::new(Paths::from_env()?),
    ))
}

/// Connects `name` as `target` says; one report per assistant.
pub async fn connect(name: &str, target: &Target) -> lanyard_core::Result<Vec<ConnectReport>> {
    let mut manager = manager()?;
    manager.judge = !target.no_validate;
    let ides = match &target.ide {
        Some(list) => Ide::parse_list(list)?,
        None => {
            let found: Vec<Ide> = Ide::ALL
                .into_iter()
                .filter(|i| i.detect(&manager.env).installed)
                .collect();
            if found.is_empty() {
                return Err(lanyard_core::ides::IdeError::NoneDetected.into());
            }
            found
        }
    };
    let mode = target.mode.as_deref().map(Mode::parse).transpose()?;
    let source = LiveSource::open()?;
    let native = NativeClient {
        client_id: target.client_id.clone(),
        client_secret: target.client_secret.clone(),
        callback_port: target.callback_port,
        secret_in_keychain: false,
    };
    let mut reports = Vec::new();
    for ide in ides {
        let scope = match &target.project {
            None => Scope::User,
            Some(p) if target.local && ide == Ide::Claude => Scope::Local(p.clone()),
            Some(p) => Scope::Project(p.clone()),
        };
        let mode = mode.unwrap_or(ide.default_mode());
        let params = source
            .params(name, mode, target.header.as_deref(), &native)
            .await?;
        let req = ConnectRequest { ide, scope, params };
        // File work and the judge are blocking; keep them off the async runtime's thread.
        let m = manager.clone();
        let report = tokio::task::spawn_blocking(move || m.connect(&req))
            .await
            .map_err(|e| lanyard_core::ides::IdeError::Watch(e.to_string()))??;
        reports.push(report);
    }
    Ok(reports)
}

pub fn print(name: &str, reports: &[ConnectReport]) {
    for r in reports {
        let what = if r.written {
            "connected"
        } else {
            "already connected"
        };
        let judged = match &r.judge {
            Some(j) => format!("; `{j}` accepted it"),
            None => String::new(),
        };
        println!(
            "{} {what} to {} ({} mode) in {}{judged}.",
            name,
            r.ide.label(),
            r.mode,
            r.file.display()
        );
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let reports = connect(&args.name, &args.target).await?;
    if args.json {
        output::json(&reports);
    } else {
        print(&args.name, &reports);
    }
    Ok(())
}
