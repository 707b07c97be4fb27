//! Messages a user can act on (issue 11): the right error first, and quiet pipes.

use std::process::Stdio;

use lanyard_e2e::Sandbox;

use crate::core_common::said;

#[test]
fn token_for_an_unknown_server_says_so_even_without_a_keychain() {
    let sb = Sandbox::new().expect("sandbox");
    let run = sb.lanyard_env(
        &["token", "nosuch"],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    run.assert_failed();
    let text = said(&run);
    assert!(
        text.contains("nosuch") && !text.contains("keychain is not available"),
        "an unknown name is the error, not the keychain:\n{}",
        run.describe()
    );
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_listing_quietly() {
    let sb = Sandbox::new().expect("sandbox");
    for args in [["list", "--json"], ["clients", "--json"]] {
        let mut cmd = sb.command(lanyard_e2e::lanyard_bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn lanyard");
        // `| head -0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{args:?} panicked on a closed pipe: {stderr}"
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
