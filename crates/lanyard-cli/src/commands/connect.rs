//! `lanyard connect NAME --ide claude,gemini,… [--mode …] [--project PATH]`: write the
//! server's entry into each assistant's config (byte-preserving, atomic, validated by the
//! assistant's own CLI when installed, rolled back when it objects).

use std::path::PathBuf;

use lanyard_core::ides::actions::{self, ConnectTarget};
use lanyard_core::ides::manage::ConnectReport;
use lanyard_core::ides::source::NativeClient;
use lanyard_core::ides::{Ide, Mode};

use crate::output;

/// Connect a server to AI coding assistants (`lanyard ides` lists them).
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
    /// Assistants, comma-separated ids (cursor, claude, codex, vscode, windsurf, zed,
    /// claude-desktop, gemini, copilot, opencode, amp) or all (default: those installed).
    #[arg(long, value_name = "IDES")]
    pub ide: Option<String>,
    /// helper | bridge | static | native (default: helper for Claude Code and Codex, bridge for
    /// the others).
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

/// Connects `name` as `target` says; one report per assistant.
pub async fn connect(name: &str, target: &Target) -> lanyard_core::Result<Vec<ConnectReport>> {
    let target = ConnectTarget {
        ides: target.ide.as_deref().map(Ide::parse_list).transpose()?,
        mode: target.mode.as_deref().map(Mode::parse).transpose()?,
        project: target.project.clone(),
        local: target.local,
        header: target.header.clone(),
        native: NativeClient {
            client_id: target.client_id.clone(),
            client_secret: target.client_secret.clone(),
            callback_port: target.callback_port,
            secret_in_keychain: false,
        },
        validate: !target.no_validate,
    };
    actions::connect(name, &target).await
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
