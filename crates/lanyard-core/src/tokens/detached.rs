//! The one refresh transaction every path goes through (`token`, `tools`, `call`, `bridge`, the
//! tray, the engine): the refresh runs in a detached child process (`lanyard daemon
//! --refresh-one NAME --seen-token ID`, in its own process group), so killing whoever asked —
//! an assistant killing its headers helper or bridge, `kill -9` of a command, the engine dying —
//! never loses a rotated refresh token: the child stores what the IdP sent, then exits.
//!
//! The child runs [`super::fresh::token_for`]: the server's lock, one keychain read under it,
//! a refresh only if that read is still the token the caller saw (by [`TokenId`]) and it is due.
//! Callers that find the lock held wait for it to be released (no polling) and read the result
//! instead of starting a child: a burst of callers costs one refresh plus one read each.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::fresh::{FreshError, Want, take_lock_bounded, token_for};
use super::set::{TokenSet, now};
use super::store::SecretStore;
use super::{TokenError, stored_tokens};
use crate::servers::{StateError, StateFile};

static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// Use `exe` (the `lanyard` binary) for refreshes from this process. The CLI needs not call it
/// (it is that binary); the tray calls it with the bundled binary when it has another place.
pub fn set_refresh_helper(exe: PathBuf) {
    let _ = HELPER.set(exe);
}

/// The `lanyard` binary that runs refreshes: the one set with [`set_refresh_helper`], else
/// this process when it is `lanyard`, else a `lanyard` beside it (the tray's layout). `None`:
/// refreshes run in this process (unit tests, embedders without the binary).
pub fn refresh_helper() -> Option<PathBuf> {
    if let Some(exe) = HELPER.get() {
        return Some(exe.clone());
    }
    let exe = std::env::current_exe().ok()?;
    let name = if cfg!(windows) {
        "lanyard.exe"
    } else {
        "lanyard"
    };
    if exe.file_name().is_some_and(|n| n == name) {
        return Some(exe);
    }
    let beside = exe.parent()?.join(name);
    beside.is_file().then_some(beside)
}

/// The command line of a refresh child for `want`.
fn child_args(name: &str, want: Want) -> Vec<String> {
    let mut args = vec!["daemon".into(), "--refresh-one".into(), name.into()];
    match want {
        Want::Usable => {}
        Want::Renew(id) => args.extend(["--seen-token".into(), id.to_string()]),
        Want::Refused(id) => {
            args.extend(["--seen-token".into(), id.to_string(), "--refused".into()])
        }
    }
    args
}

/// Run one refresh child and wait for it; its last stdout line is its outcome (JSON). The child
/// is in its own process group and not killed with the caller.
pub async fn run_child(
    exe: PathBuf,
    name: String,
    want: Want,
    stderr: std::process::Stdio,
) -> std::io::Result<(std::process::ExitStatus, String)> {
    let mut cmd = tokio::process::Command::new(exe);
    cmd.args(child_args(&name, want))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(false);
    #[cfg(unix)]
    cmd.process_group(0);
    let out = cmd.output().await?;
    Ok((
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// A valid access token for `name` for the reason `want`, refreshed when needed in a detached
/// child (see the module documentation); in this process when there is no `lanyard` binary to
/// run. Same answers as [`token_for`].
pub async fn obtain(
    state_file: &StateFile,
    secrets: &dyn SecretStore,
    http: impl FnOnce() -> Result<reqwest::Client, crate::http::HttpError>,
    name: &str,
    want: Want,
) -> Result<TokenSet, FreshError> {
    let stored = stored_tokens(secrets, name)?;
    let Some(seen) = stored.filter(|t| t.refreshable()) else {
        // Nothing a child could refresh (or nothing stored): the in-process path decides.
        return token_for(state_file, secrets, http, name, want).await;
    };
    if !want.wants_refresh(&seen, now()) {
        return Ok(seen);
    }
    let Some(exe) = refresh_helper() else {
        return token_for(state_file, secrets, http, name, want).await;
    };
    let child_want = match want {
        Want::Refused(id) if seen.is(id) => Want::Refused(id),
        _ => Want::Renew(seen.id()),
    };
    let lock_path = state_file.paths().server_lock(name);
    let busy = take_lock_bounded(&lock_path, std::time::Duration::ZERO)
        .await?
        .is_none();
    // The child is started in every case: it is what survives us.
    let child = tokio::spawn(run_child(
        exe.clone(),
        name.to_owned(),
        child_want,
        std::process::Stdio::null(),
    ));
    if busy {
        // A refresh in flight elsewhere: wait for it to end (woken on release, no polling) and
        // take its result; our child then finds the new token under the lock and just exits.
        let wait = super::fresh::lock_wait();
        if take_lock_bounded(&lock_path, wait).await?.is_none() {
            // Stuck holder: never refresh without the lock; a still-valid token is fine.
            return match stored_tokens(secrets, name)? {
                Some(t) if want.usable_as_is(&t, now()) => Ok(t),
                _ => Err(FreshError::LockBusy {
                    server: name.to_owned(),
                    secs: wait.as_secs(),
                    path: lock_path.display().to_string(),
                }),
            };
        }
        if let Some(t) = stored_tokens(secrets, name)?
            && !t.is(seen.id())
            && !want.wants_refresh(&t, now())
        {
            return Ok(t);
        }
    }
    let answer = match child.await {
        Ok(Ok((_, stdout))) => stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
        Ok(Err(e)) => {
            tracing::warn!(
                "cannot start the refresh helper {} ({e}); refreshing in-process",
                exe.display()
            );
            None
        }
        Err(_) => None,
    };
    let current = stored_tokens(secrets, name)?;
    if let Some(t) = &current
        && !want.wants_refresh(t, now())
    {
        return Ok(t.clone());
    }
    let outcome = answer
        .as_ref()
        .and_then(|a| a.get("outcome"))
        .and_then(|o| o.as_str());
    match outcome {
        // The IdP is down, or a local failure: a token that still works is handed out; asking
        // the IdP again from here would only make a refresh that dies with this process.
        Some("unreachable") | Some("failed") => {
            if let Some(t) = current.filter(|t| want.usable_as_is(t, now())) {
                return Ok(t);
            }
            let reason = answer
                .as_ref()
                .and_then(|a| a.get("reason"))
                .and_then(|r| r.as_str())
                .unwrap_or("the refresh failed")
                .to_owned();
            let state = state_file.load()?;
            let server = state
                .server(name)
                .ok_or_else(|| StateError::UnknownServer(name.to_owned()))?;
            Err(FreshError::Refresh {
                server: name.to_owned(),
                source: TokenError::Network {
                    endpoint: server.auth_server.token_endpoint.clone(),
                    detail: reason,
                },
            })
        }
        // Refreshed, or the grant or client is gone (the child recorded it in the state file),
        // or no answer at all (the child could not run): the in-process path finds the server's
        // true state and says it.
        _ => token_for(state_file, secrets, http, name, want).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::set::TokenId;

    #[test]
    fn the_child_is_told_exactly_which_token() {
        let id = TokenId::of("at");
        assert_eq!(
            child_args("s", Want::Renew(id)),
            [
                "daemon",
                "--refresh-one",
                "s",
                "--seen-token",
                &id.to_string()
            ]
        );
        assert_eq!(
            child_args("s", Want::Refused(id)).last().unwrap(),
            "--refused"
        );
        assert_eq!(child_args("s", Want::Usable).len(), 3);
    }
}
