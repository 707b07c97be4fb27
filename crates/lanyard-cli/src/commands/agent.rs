//! `lanyard agent`: the sockets the running engine serves tokens on, and which servers a
//! forwarded connection may get (see `lanyard_core::agent`). Unix only: elsewhere every action
//! says the platform does not support the agent.

use lanyard_core::agent::{self, share};
use lanyard_core::paths::Paths;
use lanyard_core::servers::{StateError, StateFile};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Print the socket path: the local one, or with --forward the one to `ssh -R`.
    Path {
        /// The forwarding socket (serves only shared servers).
        #[arg(long)]
        forward: bool,
    },
    /// Let forwarded connections (remote machines) get this server's tokens.
    Share { name: String },
    /// Stop serving this server's tokens to forwarded connections.
    Unshare { name: String },
    /// List the servers shared with remote machines.
    Shared,
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    if cfg!(not(unix)) {
        return Err(agent::AgentError::Unsupported.into());
    }
    let paths = Paths::from_env()?;
    let dir = paths.dir().to_path_buf();
    match args.action {
        Action::Path { forward } => {
            let p = if forward {
                agent::forward_socket(&dir)
            } else {
                agent::local_socket(&dir)
            };
            println!("{}", p.display());
        }
        Action::Share { name } => {
            let added_at = StateFile::new(paths)
                .load()?
                .server(&name)
                .map(|s| s.added_at)
                .ok_or_else(|| StateError::UnknownServer(name.clone()))?;
            share::set(&dir, &name, Some(added_at))?;
            println!(
                "Forwarded connections may now get tokens for \"{name}\" (socket: {}).",
                agent::forward_socket(&dir).display()
            );
        }
        Action::Unshare { name } => {
            share::set(&dir, &name, None)?;
            println!("Forwarded connections no longer get tokens for \"{name}\".");
        }
        Action::Shared => {
            for name in share::load(&dir).servers.keys() {
                println!("{name}");
            }
        }
    }
    Ok(())
}
