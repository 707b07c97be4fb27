//! The bridge's header from an agent (`lanyard bridge NAME` with `LANYARD_AGENT_SOCK`): the
//! laptop refreshes, the remote only forwards.

use super::client::Agent;
use super::error::AgentError;
use crate::mcp::bridge::{Credentials, HeaderFuture};

pub struct FromAgent {
    pub agent: Agent,
    pub server: String,
}

impl Credentials for FromAgent {
    fn header<'a>(&'a self, rejected: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            let g = self.agent.token(&self.server, rejected).await?;
            Ok((g.header_name, g.header_value))
        })
    }

    fn step_up<'a>(&'a self, _rejected: &'a str, _scope: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async move {
            Err(AgentError::NoStepUp {
                server: self.server.clone(),
            }
            .into())
        })
    }
}
