//! The channel between the resident tray and its windows process: one JSON message per line
//! over the child's stdin (tray → windows) and stdout (windows → tray). Pipes, not a socket:
//! only the two processes hold their ends, so nothing else on the machine can talk to either.
//!
//! The windows process calls lanyard-core in-process for everything kept in files and the
//! keychain (discovery, add, sign-in, tools, assistants' configs). What lives in the tray's
//! memory or needs the engine goes through here: the server rows (engine statuses), the
//! activity log, "something changed, rescan", and the cleanup (the engine stops first).

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::model::UiError;

/// The argument that starts the binary in its windows role.
pub const WINDOWS_ROLE: &str = "--windows-role";

/// A window the tray asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "window", rename_all = "kebab-case")]
pub enum Open {
    /// The add wizard; `url` filled in; `from_link` for a `lanyard://add` link.
    Wizard {
        url: Option<String>,
        from_link: bool,
    },
    /// The dashboard, optionally at "remove-everything" or "uninstall".
    Dashboard { section: Option<String> },
    /// "Sign in again" to a saved server, in the sign-in window.
    SignIn { server: String },
    /// "Import from your gateway…", listing `registry` at once when given.
    Import { registry: Option<String> },
    /// The tray menu opened: load the wizard hidden, ready to be shown (see `menu_open.rs`).
    Prewarm,
}

/// Tray → windows process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum ToWindows {
    Open(Open),
    /// The answer to request `id`.
    Reply {
        id: u64,
        result: Result<serde_json::Value, UiError>,
    },
    /// The tray agrees the process is idle (see [`ToTray::Idle`]), or is quitting: exit now.
    Exit,
}

/// What the windows process asks of the tray.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum Call {
    /// The server rows with the engine's statuses (after a rescan).
    Servers,
    /// The activity log, newest first.
    Activity,
    RemoveEverything,
    UninstallLanyard,
    FinishUninstall {
        remove_package: bool,
    },
}

/// Windows process → tray.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum ToTray {
    Request {
        id: u64,
        #[serde(flatten)]
        call: Call,
    },
    /// A line for the tray's activity log.
    Log { kind: String, message: String },
    /// Servers or connections changed (add, sign-in, connect): rescan and update the menu.
    Changed,
    /// No window open and no flow running, after `opens` open requests: the tray answers
    /// [`ToWindows::Exit`] when it sent no other since, so a request in flight is never lost.
    Idle { opens: u64 },
}

/// Writes one message as a line; errors mean the other side is gone.
pub fn send<T: Serialize>(out: &mut impl Write, msg: &T) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads messages until end of input, calling `f` for each. A line that is not a message
/// (a library writing to stdout) is skipped.
pub fn receive<T: for<'de> Deserialize<'de>>(input: impl BufRead, mut f: impl FnMut(T)) {
    for line in input.lines() {
        let Ok(line) = line else { return };
        match serde_json::from_str::<T>(&line) {
            Ok(m) => f(m),
            Err(e) => tracing::debug!("not a link message ({e}): {line:.200}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_a_round_trip_and_stray_lines_are_skipped() {
        let mut buf = Vec::new();
        send(
            &mut buf,
            &ToTray::Request {
                id: 7,
                call: Call::FinishUninstall {
                    remove_package: true,
                },
            },
        )
        .unwrap();
        buf.extend_from_slice(b"Gtk-Message: not json\n");
        send(&mut buf, &ToTray::Idle { opens: 3 }).unwrap();
        let mut got = Vec::new();
        receive(&buf[..], |m: ToTray| got.push(m));
        assert_eq!(got.len(), 2);
        assert!(matches!(
            &got[0],
            ToTray::Request {
                id: 7,
                call: Call::FinishUninstall {
                    remove_package: true
                }
            }
        ));
        assert!(matches!(got[1], ToTray::Idle { opens: 3 }));
    }

    #[test]
    fn an_error_reply_keeps_its_code() {
        let mut buf = Vec::new();
        let err = UiError::new("tray.x", "what", "next");
        send(
            &mut buf,
            &ToWindows::Reply {
                id: 1,
                result: Err(err),
            },
        )
        .unwrap();
        let mut got = None;
        receive(&buf[..], |m: ToWindows| got = Some(m));
        match got {
            Some(ToWindows::Reply {
                id: 1,
                result: Err(e),
            }) => assert_eq!(e.code, "tray.x"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
