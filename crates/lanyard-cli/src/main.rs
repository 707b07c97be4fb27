//! `lanyard`: sign in to OAuth-protected MCP servers from the command line.
//!
//! A thin shell over `lanyard_core`: parse arguments, run one command, print its result on
//! stdout, progress on stderr, and on failure one paragraph (what failed, what to do next) on
//! stderr with exit code 1. (`lanyard uninstall` and `lanyard clients prune` also exit 3: done on
//! this machine, with leftovers at identity providers listed.)
//!
//! Commands live in `commands/<name>.rs` (`Args` + `async fn run(Args)`) and are registered
//! with one line in `commands/mod.rs`.

mod commands;
mod fast_token;
mod output;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "lanyard",
    version,
    about = "Sign in once to OAuth-protected MCP servers; keep every AI coding assistant connected."
)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

/// `lanyard list --json | head -1`: the reader has what it wanted and closed the pipe. Rust
/// ignores SIGPIPE, so the next `println!` panics; end quietly instead, like a Unix filter.
/// (SIGPIPE itself stays ignored: a bridge or helper whose assistant went away must not die
/// by a signal in the middle of storing a rotated token.)
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    if let Some(code) = fast_token::serve(std::env::args_os()) {
        return code;
    }
    // Usage errors exit 1 like every other failure (0 ok, 1 failure); help and version 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    // One thread is plenty for a CLI, and starts fastest (`lanyard token` runs on every IDE
    // connection).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "lanyard could not start its async runtime: {e}\nThis is a bug or a resource limit; try again."
            );
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli.command.run()) {
        Ok(()) => ExitCode::from(output::exit_code()),
        Err(e) => {
            eprintln!("error: {}", e.paragraph());
            ExitCode::from(1)
        }
    }
}
