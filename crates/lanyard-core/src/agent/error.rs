//! What can go wrong between a caller and the agent.

use std::path::PathBuf;

use crate::error::UserFacing;

/// How to use the laptop's Lanyard from a remote machine (what `ssh -A` is to ssh-agent).
pub const FORWARDING_HOWTO: &str = "On your laptop, with the tray or `lanyard daemon` running: `lanyard agent share NAME`, then `ssh -R /tmp/lanyard-agent.sock:$(lanyard agent path --forward) HOST`, and on HOST `export LANYARD_AGENT_SOCK=/tmp/lanyard-agent.sock`.";

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// `LANYARD_AGENT_SOCK` names a socket nobody answers on.
    #[error("Lanyard's agent socket {path} (LANYARD_AGENT_SOCK) does not answer: {source}")]
    Unreachable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the conversation with Lanyard's agent at {path} broke off: {detail}")]
    Broken { path: PathBuf, detail: String },
    /// The laptop's engine answered with an error of its own (its code is kept in `code`).
    #[error("Lanyard's agent at {path} answered: {message} ({code})")]
    Answered {
        path: PathBuf,
        code: String,
        message: String,
        next_step: String,
    },
    /// Asked on the forwarding socket for a server the user did not share.
    #[error("{server} is not shared with remote machines")]
    NotShared { server: String },
    #[error("the bridge cannot widen the scopes of {server} from a remote machine")]
    NoStepUp { server: String },
    #[error("Lanyard's agent could not listen on {path}: {source}")]
    Listen {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Lanyard could not record which servers are shared with remotes ({detail})")]
    Share { detail: String },
    /// The agent speaks over Unix sockets, which this platform (Windows) does not give Lanyard.
    #[error("Lanyard's agent is not supported on this platform (it needs Unix sockets)")]
    Unsupported,
}

impl UserFacing for AgentError {
    fn code(&self) -> &'static str {
        match self {
            AgentError::Unreachable { .. } => "agent.unreachable",
            AgentError::Broken { .. } => "agent.broken",
            AgentError::Answered { .. } => "agent.answered-error",
            AgentError::NotShared { .. } => "agent.not-shared",
            AgentError::NoStepUp { .. } => "agent.no-step-up",
            AgentError::Listen { .. } => "agent.listen",
            AgentError::Share { .. } => "agent.share",
            AgentError::Unsupported => "agent.unsupported",
        }
    }
    fn next_step(&self) -> String {
        match self {
            AgentError::Unreachable { .. } => format!(
                "Check that the SSH connection forwarding the socket is still open and that the laptop's tray or `lanyard daemon` runs, or unset LANYARD_AGENT_SOCK to use this machine's own Lanyard. {FORWARDING_HOWTO}"
            ),
            AgentError::Broken { .. } => {
                "Try again; if it keeps failing, restart the laptop's tray or `lanyard daemon`."
                    .into()
            }
            AgentError::Answered { next_step, .. } => {
                format!("{next_step} (on the machine running the agent)")
            }
            AgentError::NotShared { server } => format!(
                "On the laptop, run `lanyard agent share {server}` to let forwarded connections get its tokens."
            ),
            AgentError::NoStepUp { server } => format!(
                "Sign in with the wider scopes on the laptop (use the tool there once through `lanyard bridge {server}`, which asks for them), then try again."
            ),
            AgentError::Listen { path, .. } => format!(
                "Check that {} is writable by you and not used by another program, then start the engine again.",
                path.display()
            ),
            AgentError::Share { .. } => {
                "Check that Lanyard's state folder is writable by you, then run the command again."
                    .into()
            }
            AgentError::Unsupported => "Here `lanyard token` and `lanyard bridge` read the keychain themselves; unset LANYARD_AGENT_SOCK. To sign in from a remote machine, use `lanyard add URL --device` or `--no-browser` and paste-back there.".into(),
        }
    }
}
