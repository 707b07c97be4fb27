//! Tokens: the [`TokenSet`] (always with an expiry), the keychain ([`SecretStore`]), the token
//! endpoint (code exchange, refresh, RFC 7009 revocation) and [`valid_token`], the one way to
//! get a usable access token for a managed server (single-flight refresh across processes).

pub mod detached;
pub mod device_grant;
pub mod dpop;
pub mod endpoint;
pub mod file_store;
pub mod fresh;
pub mod grant;
pub mod machine;
pub mod revoke;
pub mod set;
pub mod store;
pub mod store_choice;

pub use detached::{obtain, set_refresh_helper};
pub use endpoint::{
    ClientCredentials, ClientStanding, TokenAuthMethod, TokenError, TokenParams, client_standing,
};
pub use fresh::{FreshError, client_credentials, stored_tokens, token_params, valid_token};
pub use set::{TokenId, TokenSet};
pub use store::{KeyringStore, LazyKeyringStore, MemoryStore, SecretError, SecretStore};
