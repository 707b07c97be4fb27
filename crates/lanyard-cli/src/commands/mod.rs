//! The subcommands. Each file holds `pub struct Args` (clap) and `pub async fn run(Args)`.
//! To add one: create `commands/<name>.rs` and add ONE line `Name => name,` below.

macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident => $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        #[derive(clap::Subcommand)]
        pub enum Command {
            $($(#[$doc])* $variant($module::Args),)*
        }

        impl Command {
            pub async fn run(self) -> lanyard_core::Result<()> {
                match self {
                    $(Command::$variant(args) => $module::run(args).await,)*
                }
            }
        }
    };
}

pub mod common;
pub mod machine;

commands! {
    /// Add an MCP server: discover, register, sign in, first tool call, save.
    Add => add,
    /// List the managed servers with issuer, client id source, token expiry and status.
    List => list,
    /// List a server's tools (the MCP handshake + tools/list with a valid token).
    Tools => tools,
    /// Call one tool of a saved server, or of a URL (whole flow; --ephemeral saves nothing).
    Call => call,
    /// Print a valid access token for a server, refreshed first if needed.
    Token => token,
    /// Sign in to a saved server again.
    Login => login,
    /// Revoke a server's tokens at its identity provider and forget them.
    Logout => logout,
    /// Stop managing a server (revokes and deletes its tokens).
    Remove => remove,
    /// Change a saved server's IdP settings (resource, audience, token header, …).
    Set => set,
    /// Import remote servers from an MCP registry: list them, add the ones you choose.
    Import => import,
    /// Show how a server signs in, step by step, without signing in (what an admin runs first).
    Probe => probe,
    /// Remove everything Lanyard did: revoke tokens, delete registered clients, assistant entries, keychain items, state.
    Uninstall => uninstall,
    /// List the OAuth clients this machine registered; `clients prune` deletes unused ones.
    Clients => clients,
    /// Connect a server to AI coding assistants (`lanyard ides` lists them).
    Connect => connect,
    /// Remove a server's entries from the assistants' configs.
    Disconnect => disconnect,
    /// Show detected assistants, what is connected where, and drift (--watch keeps entries right).
    Ides => ides,
    /// Run a stdio MCP server that forwards to a saved server with fresh tokens.
    Bridge => bridge,
    /// Where tokens are kept: the OS keychain, or (opted in) a file only you can read.
    Store => store,
    /// Keep every server's tokens fresh in the background (what the tray runs); stop with ^C.
    Daemon => daemon,
    /// Sign in once to your company's identity provider (enterprise-managed authorization).
    Idp => idp,
    /// The engine's token sockets, and which servers forwarded connections (SSH) may get.
    Agent => agent,
}
