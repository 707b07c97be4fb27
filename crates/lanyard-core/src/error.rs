//! The user-facing error type. Every failure says what failed and what to do next.
//!
//! Each module owns its own error enum (e.g. `discovery::DiscoveryError`) implementing
//! [`UserFacing`]; [`Error`] wraps them so the shells print one paragraph and exit 1.

use std::fmt;

/// What every error of this crate can tell a person.
pub trait UserFacing: std::error::Error {
    /// One sentence: what failed, with the concrete value (URL, issuer, file and line…).
    fn what(&self) -> String {
        self.to_string()
    }
    /// One sentence: what the user (or their admin) should do next.
    fn next_step(&self) -> String;
}

/// The crate-wide error: a module error kept whole, so its message and next step survive.
pub struct Error(Box<dyn UserFacing + Send + Sync + 'static>);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(e: impl UserFacing + Send + Sync + 'static) -> Self {
        Error(Box::new(e))
    }
    pub fn what(&self) -> String {
        self.0.what()
    }
    pub fn next_step(&self) -> String {
        self.0.next_step()
    }
    /// The paragraph the shells print: what failed, then what to do.
    pub fn paragraph(&self) -> String {
        let what = self.what();
        let next = self.next_step();
        if next.is_empty() {
            what
        } else {
            format!("{what}\n{next}")
        }
    }
    /// Access to the module error, for callers that branch on a specific failure.
    pub fn inner(&self) -> &(dyn UserFacing + Send + Sync + 'static) {
        &*self.0
    }
    pub fn downcast_ref<T: UserFacing + 'static>(&self) -> Option<&T> {
        let e: &(dyn std::error::Error + 'static) = &*self.0;
        e.downcast_ref::<T>()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?})", self.paragraph())
    }
}

impl std::error::Error for Error {}

impl<E: UserFacing + Send + Sync + 'static> From<E> for Error {
    fn from(e: E) -> Self {
        Error::new(e)
    }
}
