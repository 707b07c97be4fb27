//! What Lanyard manages: servers, registrations (one per authorization server issuer), the
//! loopback callback port. Non-secret only — tokens and client secrets live in the keychain
//! ([`crate::tokens::SecretStore`]).
//!
//! The state file is JSON, replaced atomically (temp file + fsync + rename) and written only
//! under `state.lock`, so concurrent writers (CLI, daemon, tray) never lose each other's changes:
//! use [`StateFile::update`] for every change. Readers need no lock.

mod state;

pub use state::{
    ClientSource, Quirks, Registration, Server, ServerStatus, State, StateError, StateFile,
};
