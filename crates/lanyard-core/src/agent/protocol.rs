//! The agent's wire: one JSON object per line each way.
//!
//! Asked: `{"op":"token","server":"NAME"}`, with `"refused":"TOKEN"` when the MCP server just
//! refused that access token (a refresh is then forced unless another caller replaced it).
//! Answered: `{"token":…,"expires_at":…,"header_name":…,"header_value":…,"url":…}`, or
//! `{"error":{"code":…,"message":…,"next_step":…}}`.

use serde::{Deserialize, Serialize};

/// The longest line either side reads.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Token {
        server: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<String>,
    },
}

/// A token handed out, with what a remote needs to use it (it has no state file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub header_name: String,
    pub header_value: String,
    /// The MCP endpoint, for `lanyard bridge` on a remote.
    pub url: String,
}

/// A failure, as the laptop's error said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub next_step: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Granted(Granted),
    Error { error: Failure },
}

impl Response {
    pub fn failure(e: &dyn crate::error::UserFacing) -> Response {
        Response::Error {
            error: Failure {
                code: e.code().to_owned(),
                message: e.what(),
                next_step: e.next_step(),
            },
        }
    }

    /// One line, newline included.
    pub fn line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_request_reads_from_the_documented_line() {
        let r: Request = serde_json::from_str(r#"{"op":"token","server":"docs"}"#).unwrap();
        assert_eq!(
            r,
            Request::Token {
                server: "docs".into(),
                refused: None
            }
        );
    }

    #[test]
    fn an_error_answer_is_not_mistaken_for_a_token() {
        let line = r#"{"error":{"code":"tokens.needs-sign-in","message":"m","next_step":"n"}}"#;
        assert!(matches!(
            serde_json::from_str::<Response>(line).unwrap(),
            Response::Error { .. }
        ));
    }
}
