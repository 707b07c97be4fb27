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
    /// A stable kebab-case name of the failure, `module.failure` (e.g. `discovery.no-metadata`):
    /// what the shells (the tray's UI) branch on, never the sentences.
    fn code(&self) -> &'static str;
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
    pub fn code(&self) -> &'static str {
        self.0.code()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Every string literal returned from a `fn code` in this crate's sources, with its file.
    fn literal_codes(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                literal_codes(&path, out);
                continue;
            }
            // This file names the pattern in the test below.
            if path.ends_with("src/error.rs") {
                continue;
            }
            let Ok(src) = std::fs::read_to_string(&path) else {
                continue;
            };
            for block in src.split("fn code(&self) -> &'static str {").skip(1) {
                let body = block.split("\n    }\n").next().unwrap_or("");
                for (i, part) in body.split('"').enumerate() {
                    if i % 2 == 1 {
                        out.push((part.to_owned(), path.display().to_string()));
                    }
                }
            }
        }
    }

    #[test]
    fn error_codes_are_unique_kebab_case_module_names() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut codes = Vec::new();
        literal_codes(&src, &mut codes);
        assert!(codes.len() > 50, "found only {} codes", codes.len());
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (code, file) in &codes {
            let well_formed = code.split_once('.').is_some_and(|(module, failure)| {
                [module, failure].iter().all(|p| {
                    !p.is_empty()
                        && !p.starts_with('-')
                        && !p.ends_with('-')
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                })
            });
            assert!(well_formed, "{code:?} in {file} is not `module.kebab-case`");
            if let Some(other) = seen.insert(code, file) {
                panic!("{code:?} is used in {file} and {other}");
            }
        }
    }
}
