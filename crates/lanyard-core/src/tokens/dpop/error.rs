//! What can fail with DPoP, said to a person.

use crate::error::UserFacing;
use crate::tokens::store::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// The resource requires DPoP-bound tokens and its authorization server lists no
    /// algorithm Lanyard proves with.
    #[error("the server requires DPoP-bound tokens, but its authorization server {issuer} does not take ES256 proofs (it lists: {})", if .listed.is_empty() { "none" } else { .listed.as_str() })]
    Unsupported { issuer: String, listed: String },
    /// The stored key could not be read back.
    #[error("the DPoP key of {server} in the keychain is damaged: {detail}")]
    KeyCorrupt { server: String, detail: String },
    #[error("could not create or use a DPoP key: {detail}")]
    Crypto { detail: String },
    /// A bare token was asked for (`lanyard token`, a headers helper) but the server's tokens
    /// are bound to this machine's key: without a proof per request they are refused.
    #[error(
        "the tokens of {server} are bound to a key on this machine (DPoP, RFC 9449): a token alone is refused by the server, every request needs a proof Lanyard signs"
    )]
    BoundToKey { server: String },
    /// A DPoP-bound token reached a process without the key (the bridge on a remote machine,
    /// fed by a forwarded agent socket): it could only be refused.
    #[error(
        "the tokens of {url} are bound to a key on the machine that signed in (DPoP, RFC 9449), and this process has no key to sign requests with"
    )]
    NoKey { url: String },
    #[error(transparent)]
    Keychain(#[from] SecretError),
}

impl UserFacing for DpopError {
    fn code(&self) -> &'static str {
        match self {
            DpopError::Unsupported { .. } => "dpop.unsupported",
            DpopError::KeyCorrupt { .. } => "dpop.key-corrupt",
            DpopError::Crypto { .. } => "dpop.crypto",
            DpopError::BoundToKey { .. } => "dpop.bound-to-key",
            DpopError::NoKey { .. } => "dpop.no-key",
            DpopError::Keychain(e) => e.code(),
        }
    }
    fn next_step(&self) -> String {
        match self {
            DpopError::Unsupported { .. } => "Ask the server's admin to allow ES256 in the authorization server's dpop_signing_alg_values_supported (RFC 9449); Lanyard proves possession with ES256 keys.".into(),
            DpopError::KeyCorrupt { server, .. } => format!("Run `lanyard logout {server}` then `lanyard login {server}`: a new key is made and the server's tokens are bound to it."),
            DpopError::Crypto { .. } => "Try again; if it keeps failing, sign the server in again with `lanyard login NAME`, which makes a new key.".into(),
            DpopError::BoundToKey { server } => format!("Connect the assistant through the bridge, which signs each request: `lanyard bridge {server}` as a stdio MCP server (`lanyard ide ...` configures it that way); `lanyard call {server} TOOL` works too."),
            DpopError::NoKey { url } => format!("Run the assistant on the machine that signed in, or sign in on this one (`lanyard add {url}`): the key never leaves the keychain it was made in."),
            DpopError::Keychain(e) => e.next_step(),
        }
    }
}
