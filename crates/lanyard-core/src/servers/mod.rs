//! What Lanyard manages: servers, registrations (one per authorization server issuer), the
//! loopback callback port. Non-secret only — tokens and client secrets live in the keychain
//! ([`crate::tokens::SecretStore`]).
//!
//! The state file is JSON, replaced atomically (temp file + fsync + rename) and written only
//! under `state.lock`, so concurrent writers (CLI, daemon, tray) never lose each other's changes:
//! use [`StateFile::update`] for every change. Readers need no lock.

mod machine;
mod name;
mod state;

pub use machine::MachineGrant;
pub use name::name_from;
pub use state::{
    ClientSource, Quirks, Registration, Server, ServerStatus, State, StateError, StateFile,
};

/// A saved server for unit tests: `name` at `http://127.0.0.1:9/mcp`, a pre-registered public
/// client `c`, the authorization server of [`crate::discovery::auth_server::test_metadata`].
#[cfg(test)]
pub(crate) fn test_server(name: &str) -> Server {
    let u = |s: &str| url::Url::parse(s).expect("test URL");
    Server {
        name: name.into(),
        url: u("http://127.0.0.1:9/mcp"),
        resource: u("http://127.0.0.1:9/mcp"),
        auth_server: crate::discovery::auth_server::test_metadata("http://127.0.0.1:9"),
        client: ClientSource::PreRegistered {
            client_id: "c".into(),
            has_secret: false,
        },
        scopes: vec![],
        quirks: Quirks::default(),
        status: ServerStatus::Ok,
        added_at: 0,
    }
}
