//! Enterprise-managed authorization (MCP auth extension SEP-990; ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant): the user signs in once to the company
//! identity provider, and every MCP server whose authorization server trusts that IdP gets its
//! tokens without a browser:
//!
//! 1. [`session`]: the IdP session — OpenID Connect sign-in (code + PKCE) to the IdP, its ID
//!    token and refresh token in the keychain, refreshed when the ID token has expired;
//! 2. [`exchange`]: RFC 8693 token exchange of the ID token for an Identity Assertion JWT
//!    Authorization Grant (ID-JAG) naming the server's authorization server and resource;
//! 3. [`redeem`]: the ID-JAG presented at the server's authorization server with the RFC 7523
//!    JWT bearer grant, for the server's access token.
//!
//! [`renew`] does 1–3 again whenever a server's access token is due, for every path to a token
//! (it registers with [`crate::tokens::fresh::assertion`]); [`signout`] revokes the IdP session
//! (RFC 7009). Which IdP sessions exist and which servers they serve is in `idps.json` beside
//! the state file ([`store`]); their tokens and client secrets are in the keychain.

pub mod claims;
pub mod error;
pub mod exchange;
pub mod redeem;
pub mod renew;
pub mod session;
pub mod signout;
pub mod store;

pub use error::EnterpriseError;
pub use renew::install;
pub use store::{Idp, IdpFile, IdpTokens};

/// RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 grant type, the one an authorization server that takes ID-JAGs lists.
pub use crate::tokens::grant::JWT_BEARER;
/// The token type of an ID-JAG.
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The token type of an OpenID Connect ID token.
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
