//! Interim bridge to the `lanyard` CLI for the assistants' configs (`ides --json`, `connect`,
//! `disconnect`): the tray runs the same binary the user has on PATH, with `--json` output.
//! Every call has the same shape: run, wait, turn a non-zero exit into a [`UiError`] carrying
//! the CLI's own "what failed / what to do" paragraph.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::process::Command;

use crate::model::UiError;

/// Where the `lanyard` binary is: `$LANYARD_BIN`, else beside the tray binary (as the
/// packages install it and as `cargo build` lays it out), else whatever PATH finds.
pub fn lanyard_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("LANYARD_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        let beside = dir.join(if cfg!(windows) {
            "lanyard.exe"
        } else {
            "lanyard"
        });
        if beside.is_file() {
            return beside;
        }
    }
    PathBuf::from("lanyard")
}

fn command(args: &[String]) -> Command {
    let mut c = Command::new(lanyard_bin());
    c.args(args).stdin(Stdio::null()).kill_on_drop(true);
    c
}

fn not_found(e: std::io::Error) -> UiError {
    UiError::new(
        "cli-missing",
        format!("Could not run {}: {e}", lanyard_bin().display()),
        "Install Lanyard's command-line tool (it ships in the same package) or set LANYARD_BIN.",
    )
}

/// Runs `lanyard ARGS` and returns stdout; a non-zero exit becomes the CLI's message.
pub async fn run(args: &[String]) -> Result<String, UiError> {
    let out = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(not_found)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // `uninstall` exits 3 when everything here is done and only what stays at an identity
    // provider (listed in its report) is left: finished, not failed.
    let finished_with_remote_leftovers =
        args.first().map(String::as_str) == Some("uninstall") && out.status.code() == Some(3);
    if out.status.success() || finished_with_remote_leftovers {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = if stderr.trim().is_empty() {
            stdout.as_str()
        } else {
            &*stderr
        };
        let msg = if msg.trim().is_empty() {
            format!("`lanyard {}` failed ({})", args.join(" "), out.status)
        } else {
            msg.to_owned()
        };
        Err(UiError::from_cli_message(&classify(&msg), &msg))
    }
}

/// Runs `lanyard ARGS` (which should include `--json`) and parses stdout.
pub async fn json(args: &[String]) -> Result<Value, UiError> {
    let out = run(args).await?;
    serde_json::from_str(out.trim()).map_err(|e| {
        UiError::new(
            "cli-output",
            format!(
                "`lanyard {}` printed something that is not JSON: {e}",
                args.join(" ")
            ),
            "Check that the tray and the `lanyard` command come from the same version.",
        )
    })
}

/// Names the failure classes the wizard reacts to.
pub fn classify(msg: &str) -> String {
    let m = msg.to_ascii_lowercase();
    if (m.contains("dcr") || m.contains("registration"))
        && (m.contains("disabled") || m.contains("--client-id"))
        || m.contains("ask the admin for a client id")
        || m.contains("ask your admin for a client id")
    {
        "needs-client-id".into()
    } else if m.contains("consent") && m.contains("denied") || m.contains("access_denied") {
        "access-denied".into()
    } else if m.contains("timed out") || m.contains("timeout") {
        "timeout".into()
    } else {
        "failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcr_refusal_asks_for_a_client_id() {
        assert_eq!(
            classify("DCR is disabled on this IdP (HTTP 403). Pass --client-id."),
            "needs-client-id"
        );
        assert_eq!(classify("connection refused"), "failed");
    }
}
