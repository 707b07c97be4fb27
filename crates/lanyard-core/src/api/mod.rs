//! The whole flow, for the shells (CLI, tray, daemon): add a server (discover → client id →
//! sign in → first tool call → save), log in again, log out (RFC 7009), remove, list, get a
//! valid token (single-flight refresh), list tools and call a tool (refresh once on 401,
//! step-up re-authorization on 403 `insufficient_scope`).
//!
//! Nothing is half-written: secrets go to the keychain before the state file mentions them, and
//! a server is saved only after its first tool call succeeded. One exception, on purpose: a new
//! dynamic registration is recorded as soon as the IdP created it, so a failed sign-in never
//! causes a second registration (no client sprawl) and cleanup can always find it.

mod add;
pub mod consent;
mod device_signin;
mod facade;
mod idp;
mod idp_path;
mod import;
mod import_check;
mod import_watch;
mod machine;
mod naming;
mod progress;
mod session;
pub(crate) mod signin;
mod signout;
#[cfg(test)]
mod tests_signout;
mod views;

pub use add::{AddOptions, AddOutcome, settled_url};
pub use consent::{Confirmed, SharedIssuer, shared_issuer};
pub use facade::Lanyard;
pub use idp::{IdpAddOptions, IdpAdded, IdpEnded, IdpView};
pub use idp_path::{IdpChoice, IdpPath};
pub use import::Listing;
pub use import_check::{Cost, EntryCheck, ImportError, cost_of};
pub use import_watch::{Gone, RegistryNews, SeenEntry};
pub use machine::{MachineOptions, MachineSetupError};
pub use naming::derive_name;
pub use progress::Progress;
pub use signout::LogoutOutcome;
pub use views::{RegistrationView, ServerView};

use crate::error::UserFacing;

/// Failures of the orchestration itself (each step's own errors pass through unchanged).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{url} is already managed by Lanyard as \"{name}\"")]
    AlreadyAdded { url: String, name: String },
    #[error("\"{0}\" is not a valid server name (use letters, digits, '-' and '_', at most 64)")]
    BadName(String),
    #[error("\"{0}\" is not a valid URL")]
    BadUrl(String),
    #[error("--args must be a JSON object: {0}")]
    BadArgs(String),
    #[error("{0}")]
    BadFlag(String),
    #[error("the tool reported an error (isError: true); its output is above")]
    ToolFailed,
    #[error(
        "the server kept asking for more scopes after {0} re-authorizations (last asked: \"{1}\")"
    )]
    StepUpLimit(usize, String),
    #[error("this command needs Lanyard's saved state, but it runs in --ephemeral mode")]
    Ephemeral,
    #[error("the server {url} refused a token Lanyard just obtained (HTTP 401)")]
    FreshTokenRefused { url: String },
    /// The code exchange refused the client's authentication, with every method the
    /// authorization server lists that Lanyard could try.
    #[error(
        "the authorization server {issuer} refused Lanyard's client {client_id} at the code exchange (tried {tried}): {detail}"
    )]
    ExchangeRefused {
        issuer: String,
        client_id: String,
        tried: String,
        detail: String,
    },
    /// Discovery now names another authorization server (or endpoint) than the one the user
    /// confirmed: nothing is registered, no sign-in starts.
    #[error(
        "the server's sign-in changed since you confirmed it: its {field} is now {now}, you confirmed {confirmed}"
    )]
    NotConfirmed {
        field: String,
        confirmed: String,
        now: String,
    },
}

impl UserFacing for FlowError {
    fn code(&self) -> &'static str {
        match self {
            FlowError::AlreadyAdded { .. } => "flow.already-added",
            FlowError::BadName(..) => "flow.bad-name",
            FlowError::BadUrl(..) => "flow.bad-url",
            FlowError::BadArgs(..) => "flow.bad-args",
            FlowError::BadFlag(..) => "flow.bad-flag",
            FlowError::ToolFailed => "flow.tool-failed",
            FlowError::StepUpLimit(..) => "flow.step-up-limit",
            FlowError::Ephemeral => "flow.ephemeral",
            FlowError::FreshTokenRefused { .. } => "flow.fresh-token-refused",
            FlowError::ExchangeRefused { .. } => "flow.exchange-refused",
            FlowError::NotConfirmed { .. } => "flow.not-confirmed",
        }
    }
    fn next_step(&self) -> String {
        match self {
            FlowError::AlreadyAdded { name, .. } => format!(
                "Use it as `{name}` (`lanyard tools {name}`), or `lanyard login {name}` to sign in again."
            ),
            FlowError::BadName(_) => "Pick another name with `--name NAME`.".into(),
            FlowError::BadUrl(_) => "Give the full URL of the MCP endpoint, e.g. https://gateway.example.com/mcp.".into(),
            FlowError::ToolFailed => "Check the tool's arguments (`lanyard tools NAME --json` shows its input schema).".into(),
            FlowError::BadFlag(_) => "Run the command with --help to see the expected form.".into(),
            FlowError::BadArgs(_) => "Pass the tool arguments as a JSON object, e.g. --args '{\"text\":\"hi\"}'.".into(),
            FlowError::StepUpLimit(..) => "Ask your admin which scopes this server needs and whether your account may have them; then `lanyard add URL --scope \"...\"`.".into(),
            FlowError::Ephemeral => "Drop --ephemeral, or give a URL instead of a name.".into(),
            FlowError::ExchangeRefused { .. } => "Nothing was saved. Run `lanyard probe URL --try-register` and show its output to the identity provider's admin; with a client id from them, run `lanyard add URL --client-id ID [--client-secret S]`.".into(),
            FlowError::NotConfirmed { .. } => "Nothing was sent to the identity provider. Check the server again and add it only if you trust where it now sends you to sign in.".into(),
            FlowError::FreshTokenRefused { .. } => "The server does not accept tokens from its own authorization server: an audience or issuer mismatch, an IdP that needs --no-resource or --audience, or a gateway that reads the token from another header than the one used (--token-header). Show `lanyard probe URL` to the server's admin.".into(),
        }
    }
}

/// Step 1, discovery: the guarded chain of `discovery::discover`.
pub(crate) async fn discover_step(
    url: &url::Url,
) -> Result<crate::discovery::Discovery, crate::Error> {
    let http = crate::http::Http::new()?;
    Ok(crate::discovery::discover(&http, url).await?)
}
