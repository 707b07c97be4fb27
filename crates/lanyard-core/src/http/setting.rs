//! A network setting from the environment, and the error for one Lanyard cannot use.

/// An environment variable, `None` when unset or blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `setting` (a variable and its value, credentials masked) cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub setting: String,
    pub detail: String,
}
