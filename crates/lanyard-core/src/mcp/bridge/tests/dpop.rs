//! DPoP through the bridge, where the fake server can tell: a DPoP-bound token without the key
//! to prove it (a bridge fed by a forwarded agent socket) is never sent.

use super::*;

/// Hands out a DPoP-bound token and has no key for it.
struct BoundElsewhere;
impl Credentials for BoundElsewhere {
    fn header<'a>(&'a self, _: Option<&'a str>) -> HeaderFuture<'a> {
        Box::pin(async { Ok(("Authorization".to_owned(), "DPoP bound-token".to_owned())) })
    }
}

#[tokio::test]
async fn a_dpop_bound_token_without_its_key_is_never_sent_and_the_client_is_told_why() {
    let state = Arc::new(Mutex::new(FakeState::default()));
    let url = fake_server(state.clone()).await;
    let out = run_bridge_as(
        crate::http::oauth_client().unwrap(),
        url,
        Box::new(BoundElsewhere),
        &format!("{INIT}\n"),
    )
    .await;
    let answer = out.iter().find(|m| m["id"] == json!(0)).cloned().unwrap();
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("bound to a key"), "{answer}");
    assert!(
        state.lock().unwrap().seen.is_empty(),
        "nothing reached the server"
    );
}
