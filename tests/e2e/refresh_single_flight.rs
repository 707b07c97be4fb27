//! Thirty `lanyard token` processes at the moment of expiry: one refresh at the IdP, thirty
//! identical valid tokens (the cross-process single flight, no daemon involved).

use std::process::Stdio;

use lanyard_e2e::lanyard_bin;

use crate::refresh_support::*;

#[test]
fn thirty_token_processes_at_expiry_cause_exactly_one_refresh() {
    // 80 s tokens: not due for their first 40 s (never before half their life), so the
    // refreshed token is fresh for late callers too (as real 5-minute tokens are).
    let world = world_with_ttl(80);
    let sandbox = signed_in(&world);
    let before = stored_tokens(&sandbox, "demo");
    let expires_at = before["expires_at"].as_i64().expect("expires_at");
    // Wait until the token is due (expiry - 40 s: half of its life).
    assert!(expires_at > 0);
    wait_until_due(&sandbox, "demo");
    world.reset_counts().expect("reset");

    let children: Vec<_> = (0..30)
        .map(|_| {
            let mut cmd = sandbox.command(lanyard_bin());
            cmd.args(["token", "demo"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("spawn lanyard token")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("lanyard token finishes"))
        .collect();

    for o in &outputs {
        assert!(
            o.status.success(),
            "lanyard token failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let tokens: std::collections::BTreeSet<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "30 processes should print the same token: {tokens:?}"
    );
    let token = tokens.into_iter().next().expect("one token");
    assert_ne!(
        token,
        before["access_token"].as_str().unwrap_or_default(),
        "it was refreshed"
    );

    let counts = world.counts().expect("counts");
    assert_eq!(
        counts.token_requests("idp", "refresh_token"),
        1,
        "exactly one refresh at the IdP for 30 concurrent callers"
    );
    assert_eq!(counts.token_errors("idp", "invalid_grant"), 0);
    crate::core_common::assert_server_accepts(&world, "demo", &token);
    // The rotated refresh token is the one in the keychain.
    let after = stored_tokens(&sandbox, "demo");
    assert_eq!(after["access_token"].as_str(), Some(token.as_str()));
    assert_ne!(after["refresh_token"], before["refresh_token"]);
}
