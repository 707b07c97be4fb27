//! Step 3: the authorization code flow of a native app (RFC 8252) — PKCE S256 ([`pkce`]), the
//! authorization URL with `state`, RFC 8707 `resource` and scopes ([`request`]), the loopback
//! listener on 127.0.0.1 that accepts exactly one matching callback and checks RFC 9207 `iss`
//! ([`callback`]), and the system browser ([`browser`]; on WSL, Windows' browser: [`wsl`]). Without a browser here: the RFC 8628
//! device authorization grant's polling rules ([`device`]).

pub mod browser;
pub mod callback;
pub mod device;
pub mod paste;
pub mod pkce;
pub mod request;
pub mod wsl;

pub use callback::{AuthError, Callback, Listener};
pub use paste::PasteBack;
pub use pkce::Pkce;
pub use request::{AuthRequest, choose_scopes, resource_param};
