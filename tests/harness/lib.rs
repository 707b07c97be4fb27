//! The test world: starts and stops the real components the end-to-end tests talk to.
