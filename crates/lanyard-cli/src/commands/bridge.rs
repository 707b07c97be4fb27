//! `lanyard bridge NAME`: the stdio MCP server an assistant starts; every message is forwarded to
//! the remote server with a fresh token (see `lanyard_core::mcp::bridge`).
//! `lanyard bridge --url URL`: the same to a server that needs no sign-in, sending no token.
//! With `LANYARD_AGENT_SOCK` (forwarded from the laptop) the URL and every token come from the
//! agent and nothing here is read or written; with a local engine running, tokens come from its
//! socket first.

use lanyard_core::agent::credentials::FromAgent;
use lanyard_core::agent::{Agent, Found};
use lanyard_core::api::{FlowError, Lanyard};
use lanyard_core::mcp::bridge::{Anonymous, Credentials, HeaderFuture};
use lanyard_core::tokens::fresh::Want;

/// Run a stdio MCP server that forwards to a saved server (for assistants' configs).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub name: Option<String>,
    /// Forward to this MCP endpoint without any credential (a server that needs no sign-in;
    /// one that asks for it is refused with a hint to `lanyard add` it).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

struct Live {
    lanyard: Lanyard,
    name: String,
    agent: Option<Agent>,
    /// The server's DPoP key (read once): its tokens go with a proof on every request.
    dpop: Option<lanyard_core::tokens::dpop::Dpop>,
}

impl Credentials for Live {
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            if let Some(agent) = &self.agent
                && let Ok(g) = agent.token(&self.name, rejected).await
            {
                return Ok((g.header_name, g.header_value));
            }
            let state = self.lanyard.state_file()?.load()?;
            let server = state.server(&self.name).ok_or_else(|| {
                lanyard_core::servers::StateError::UnknownServer(self.name.clone())
            })?;
            use lanyard_core::tokens::TokenId;
            let token_of = |v: &'a str| {
                lanyard_core::tokens::dpop::bound_token(v)
                    .unwrap_or_else(|| v.strip_prefix("Bearer ").unwrap_or(v))
            };
            let want = match rejected.map(token_of) {
                Some(refused) => Want::Refused(TokenId::of(refused)),
                None => Want::Usable,
            };
            // Refreshed in a detached child: assistants start and kill the bridge at will.
            let t = self.lanyard.fresh_token(&self.name, want).await?;
            Ok((server.quirks.header_name().to_owned(), t.header_value()))
        })
    }

    fn dpop(&self) -> Option<lanyard_core::tokens::dpop::Dpop> {
        self.dpop.clone()
    }

    /// As `lanyard call` does on a 403 `insufficient_scope`: a sign-in again in the browser with
    /// the scopes the server asks for added (the progress goes to stderr, which assistants log;
    /// stdout is the protocol).
    fn step_up<'a>(&'a self, _rejected: &'a str, scope: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            let t = self
                .lanyard
                .step_up(&self.name, scope, &crate::output::progress_quiet)
                .await?;
            self.lanyard.header_for(&self.name, &t)
        })
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    if let Some(url) = args.url {
        let parsed = url::Url::parse(&url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(FlowError::BadUrl(url))?;
        let http = Lanyard::ephemeral().http()?.clone();
        return lanyard_core::mcp::bridge::run(http, parsed, Box::new(Anonymous)).await;
    }
    let name = args.name.unwrap_or_default();
    let local = match Agent::find_for_user() {
        Found::Forwarded(agent) => return forwarded(agent, name).await,
        Found::Local(agent) => Some(agent),
        Found::None => None,
    };
    let lanyard = Lanyard::open()?;
    let url = {
        let state = lanyard.state_file()?.load()?;
        state
            .server(&name)
            .ok_or_else(|| lanyard_core::servers::StateError::UnknownServer(name.clone()))?
            .url
            .clone()
    };
    let http = lanyard.http()?.clone();
    let dpop = lanyard.dpop(&name)?;
    let creds = Box::new(Live {
        lanyard,
        name,
        agent: local,
        dpop,
    });
    lanyard_core::mcp::bridge::run(http, url, creds).await
}

/// The bridge on a remote machine: the server's URL from the agent's first answer, no state.
async fn forwarded(agent: Agent, name: String) -> lanyard_core::Result<()> {
    let first = agent.token(&name, None).await?;
    let url = url::Url::parse(&first.url).map_err(|_| FlowError::BadUrl(first.url.clone()))?;
    let http = Lanyard::ephemeral().http()?.clone();
    let creds = Box::new(FromAgent {
        agent,
        server: name,
    });
    lanyard_core::mcp::bridge::run(http, url, creds).await
}
