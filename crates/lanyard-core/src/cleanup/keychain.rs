//! Deleting this install's keychain items: every key the state names, plus (on the Secret
//! Service) any other item of this install's service — except the ones an unfinished item still
//! needs (a server's tokens not yet revoked, the registration token of a client not yet deleted).

use super::Cleanup;
use super::outcome::Outcome;
use crate::error::UserFacing;
use crate::tokens::store;

impl Cleanup {
    pub(crate) fn delete_keychain_items(&self, service: &str) -> Outcome {
        if !self.has_secrets() {
            return Outcome::gone("this install never used the keychain");
        }
        let st = match self.state_file().load() {
            Ok(s) => s,
            Err(e) => return Outcome::failed(e.to_string(), e.next_step()),
        };
        // Still needed: tokens not yet revoked, registrations not yet deleted.
        let mut needed: Vec<String> = Vec::new();
        for s in &st.servers {
            let key = store::tokens_key(&s.name);
            if matches!(self.secrets.get(&key), Ok(Some(_))) {
                needed.push(key);
                needed.push(store::server_secret_key(&s.name));
            }
        }
        for r in &st.registrations {
            needed.push(store::registration_token_key(r.issuer.as_str()));
            needed.push(store::registration_secret_key(r.issuer.as_str()));
        }
        let mut keys = self.known_keys(&st);
        if self.sweep_os_keychain {
            match os_items(service) {
                Ok(found) => keys.extend(found),
                Err(e) => tracing::warn!("could not search the keychain: {e}"),
            }
        }
        keys.sort();
        keys.dedup();
        let mut kept = Vec::new();
        for key in &keys {
            if needed.contains(key) {
                kept.push(key.clone());
                continue;
            }
            if let Err(e) = self.secrets.delete(key) {
                return Outcome::failed(e.to_string(), e.next_step());
            }
        }
        if kept.is_empty() {
            Outcome::Done {
                detail: Some(format!("{} item(s) checked", keys.len())),
            }
        } else {
            Outcome::Kept {
                why: format!(
                    "kept {} item(s) still needed by unfinished items: {}",
                    kept.len(),
                    kept.join(", ")
                ),
            }
        }
    }
}

/// The account names of every Secret Service item of `service` (Linux and BSDs).
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn os_items(service: &str) -> Result<Vec<String>, String> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(e.to_string());
    }
    let spec = std::collections::HashMap::from([("service", service)]);
    let entries = keyring_core::Entry::search(&spec).map_err(|e| e.to_string())?;
    Ok(entries
        .iter()
        .filter_map(|e| e.get_specifiers())
        .filter(|(s, _)| s == service)
        .map(|(_, user)| user)
        .collect())
}

/// Elsewhere the keychain cannot be searched by service: the keys the state names are used.
#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn os_items(_service: &str) -> Result<Vec<String>, String> {
    Ok(Vec::new())
}
