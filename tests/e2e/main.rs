//! The end-to-end tests: every other `.rs` file in this folder is a module of this binary
//! (see `tests/build.rs`), so a new file is picked up without touching Cargo.toml.

// Test code through and through: a helper whose setup fails should panic with the value, like
// the tests that call it (clippy.toml allows unwrap/expect only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!(concat!(env!("OUT_DIR"), "/e2e_modules.rs"));
