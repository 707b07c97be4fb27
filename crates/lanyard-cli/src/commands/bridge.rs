//! `lanyard bridge NAME`: the stdio MCP server an assistant starts; every message is forwarded to
//! the remote server with a fresh token (see `lanyard_core::bridge`).

use lanyard_core::bridge::{Credentials, HeaderFuture};
use lanyard_core::flow::Lanyard;

/// Run a stdio MCP server that forwards to a saved server (for assistants' configs).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's name.
    pub name: String,
}

struct Live {
    lanyard: Lanyard,
    name: String,
}

impl Credentials for Live {
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            let state = self.lanyard.state_file()?.load()?;
            let server = state.server(&self.name).ok_or_else(|| {
                lanyard_core::servers::StateError::UnknownServer(self.name.clone())
            })?;
            use lanyard_core::tokens::{TokenId, fresh::Want};
            let want = match rejected.map(|v| v.strip_prefix("Bearer ").unwrap_or(v)) {
                Some(refused) => Want::Refused(TokenId::of(refused)),
                None => Want::Usable,
            };
            // Refreshed in a detached child: assistants start and kill the bridge at will.
            let t = self.lanyard.fresh_token(&self.name, want).await?;
            Ok((server.quirks.header_name().to_owned(), t.header_value()))
        })
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?;
    let url = {
        let state = lanyard.state_file()?.load()?;
        state
            .server(&args.name)
            .ok_or_else(|| lanyard_core::servers::StateError::UnknownServer(args.name.clone()))?
            .url
            .clone()
    };
    let http = lanyard.http().clone();
    let creds = Box::new(Live {
        lanyard,
        name: args.name,
    });
    lanyard_core::bridge::run(http, url, creds).await
}
