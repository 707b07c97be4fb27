//! The end-to-end tests: every other `.rs` file in this folder is a module of this binary
//! (see `tests/build.rs`), so a new file is picked up without touching Cargo.toml.

include!(concat!(env!("OUT_DIR"), "/e2e_modules.rs"));
