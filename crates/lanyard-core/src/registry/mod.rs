//! A client of the MCP Registry API (`GET /v0.1/servers`, the official OpenAPI of
//! modelcontextprotocol/registry): page through a registry or gateway catalogue and judge each
//! `server.json` entry — a remote Lanyard can add ([`Entry`]: name, description, URL, sign-in
//! hints) or one it skips with the reason ([`Skipped`]: stdio-only packages,
//! broken or unusable remotes).
//!
//! Nothing here signs in or contacts an entry's URL: listing only reads the registry. Adding a
//! chosen entry, and signing in to a protected registry, are `api`'s (`Lanyard::import_*`).

mod client;
mod entry;
mod error;

pub use client::{Catalogue, MAX_PAGES, PAGE_SIZE, fetch, list_url};
#[cfg(test)]
pub(crate) use entry::test_entry;
pub use entry::{Entry, HINTS_KEY, Hints, Judged, Skipped, judge, short_name};
pub use error::RegistryError;
