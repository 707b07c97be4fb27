use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use serde_json::Value;
use url::Url;

use super::*;
use crate::discovery::{AuthServerMetadata, BearerChallenge, Discovery, ResourceMetadata};
use crate::error::UserFacing as _;
use crate::tokens::store::MemoryStore;

fn part(jwt: &str, i: usize) -> Value {
    let b = URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(i).unwrap())
        .unwrap();
    serde_json::from_slice(&b).unwrap()
}

/// Verify the ES256 signature with the public key the proof itself carries (what every
/// checker does first, RFC 9449 §4.3).
fn verifies(jwt: &str) -> bool {
    let header = part(jwt, 0);
    let x = URL_SAFE_NO_PAD
        .decode(header["jwk"]["x"].as_str().unwrap())
        .unwrap();
    let y = URL_SAFE_NO_PAD
        .decode(header["jwk"]["y"].as_str().unwrap())
        .unwrap();
    let mut point = vec![4u8];
    point.extend(x);
    point.extend(y);
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(input.as_bytes(), &sig)
        .is_ok()
}

#[test]
fn a_proof_has_the_rfc_9449_header_and_claims_and_verifies_with_its_own_jwk() {
    let d = Dpop::new(DpopKey::generate().unwrap());
    let url = Url::parse("https://mcp.example/mcp?x=1#frag").unwrap();
    let jwt = d.proof("post", &url, Some("the-token")).unwrap();
    let (h, c) = (part(&jwt, 0), part(&jwt, 1));
    assert_eq!(h["typ"], "dpop+jwt");
    assert_eq!(h["alg"], "ES256");
    assert_eq!(h["jwk"]["kty"], "EC");
    assert_eq!(h["jwk"]["crv"], "P-256");
    assert!(h["jwk"].get("d").is_none(), "no private part in the header");
    assert_eq!(c["htm"], "POST");
    assert_eq!(c["htu"], "https://mcp.example/mcp", "no query, no fragment");
    assert!((c["iat"].as_i64().unwrap() - crate::tokens::set::now()).abs() <= 2);
    // ath = base64url(SHA-256("the-token")), computed independently.
    use sha2::{Digest, Sha256};
    let want = URL_SAFE_NO_PAD.encode(Sha256::digest(b"the-token"));
    assert_eq!(c["ath"], want);
    assert!(c.get("nonce").is_none());
    assert!(verifies(&jwt));
}

#[test]
fn every_proof_has_a_new_jti_and_a_token_request_proof_has_no_ath() {
    let d = Dpop::new(DpopKey::generate().unwrap());
    let url = Url::parse("https://as.example/token").unwrap();
    let a = part(&d.proof("POST", &url, None).unwrap(), 1);
    let b = part(&d.proof("POST", &url, None).unwrap(), 1);
    assert_ne!(a["jti"], b["jti"]);
    assert!(a.get("ath").is_none());
}

#[test]
fn the_nonce_a_server_gave_goes_into_its_proofs_only() {
    let d = Dpop::new(DpopKey::generate().unwrap());
    let as_url = Url::parse("https://as.example/token").unwrap();
    let rs_url = Url::parse("https://mcp.example/mcp").unwrap();
    assert!(d.learn_nonce(&as_url, Some("n-as")));
    assert!(
        !d.learn_nonce(&as_url, Some("n-as")),
        "the same nonce is not new"
    );
    assert_eq!(
        part(&d.proof("POST", &as_url, None).unwrap(), 1)["nonce"],
        "n-as"
    );
    assert!(
        part(&d.proof("POST", &rs_url, Some("t")).unwrap(), 1)
            .get("nonce")
            .is_none()
    );
}

#[test]
fn the_thumbprint_is_rfc_7638() {
    // RFC 7638 §3.1's example is RSA; for EC the members are crv, kty, x, y. Recompute it from
    // the JWK the proofs carry.
    let k = DpopKey::generate().unwrap();
    let jwk = k.public_jwk();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    use sha2::{Digest, Sha256};
    assert_eq!(
        k.thumbprint(),
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    );
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn a_key_survives_the_keychain_and_is_forgotten_with_the_server() {
    let secrets = MemoryStore::new();
    let k = DpopKey::generate().unwrap();
    k.save(&secrets, "s").unwrap();
    let back = DpopKey::load(&secrets, "s").unwrap().unwrap();
    assert_eq!(back.thumbprint(), k.thumbprint());
    assert!(for_server(&secrets, "s").unwrap().is_some());
    forget(&secrets, "s").unwrap();
    assert!(for_server(&secrets, "s").unwrap().is_none());
}

#[test]
fn a_damaged_key_is_an_error_that_says_sign_in_again() {
    let secrets = MemoryStore::new();
    secrets
        .set(&store::dpop_key("s"), "es256-pkcs8:AAAA")
        .unwrap();
    let e = for_server(&secrets, "s").unwrap_err();
    assert_eq!(crate::error::UserFacing::code(&e), "dpop.key-corrupt");
    assert!(
        e.next_step().contains("lanyard login s"),
        "{}",
        e.next_step()
    );
}

/// What discovery found: the AS's DPoP algorithms, the PRM's, whether the PRM requires DPoP
/// and whether the 401 challenge used the `DPoP` scheme.
fn disc(as_algs: &[&str], prm_algs: &[&str], required: bool, dpop_challenge: bool) -> Discovery {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let u = |s: &str| Url::parse(s).unwrap();
    Discovery {
        server_url: u("http://127.0.0.1:2/mcp"),
        challenge: Some(BearerChallenge {
            dpop: dpop_challenge,
            ..Default::default()
        }),
        resource: ResourceMetadata {
            resource: u("http://127.0.0.1:2/mcp"),
            authorization_servers: vec![u("http://127.0.0.1:1/")],
            scopes_supported: None,
            bearer_methods_supported: None,
            resource_name: None,
            dpop_bound_access_tokens_required: required,
            dpop_signing_alg_values_supported: v(prm_algs),
            metadata_url: u("http://127.0.0.1:2/.well-known/oauth-protected-resource/mcp"),
        },
        auth_server: AuthServerMetadata {
            dpop_signing_alg_values_supported: v(as_algs),
            ..crate::discovery::auth_server::test_metadata("http://127.0.0.1:1")
        },
        steps: vec![],
    }
}

#[test]
fn an_as_that_merely_offers_dpop_does_not_make_a_bearer_server_dpop() {
    // oidc-provider and Keycloak list ES256 by default; the MCP server says nothing of DPoP.
    assert_eq!(
        stance(&disc(&["ES256"], &[], false, false)).unwrap(),
        Stance::Bearer
    );
}

#[test]
fn dpop_is_used_when_the_mcp_server_takes_it_and_the_as_takes_es256() {
    let es = &["ES256"][..];
    assert_eq!(
        stance(&disc(es, &[], false, true)).unwrap(),
        Stance::Dpop,
        "DPoP challenge"
    );
    assert_eq!(
        stance(&disc(es, es, false, false)).unwrap(),
        Stance::Dpop,
        "PRM algs"
    );
    assert_eq!(
        stance(&disc(es, &[], true, false)).unwrap(),
        Stance::Dpop,
        "PRM requires"
    );
    // The AS metadata field is optional: an AS that lists nothing may still bind.
    assert_eq!(stance(&disc(&[], &[], true, false)).unwrap(), Stance::Dpop);
    // Both take DPoP, not with ES256: Bearer while the resource still takes it.
    assert_eq!(
        stance(&disc(&["PS256"], &[], false, true)).unwrap(),
        Stance::Bearer
    );
}

#[test]
fn a_resource_that_requires_dpop_behind_an_as_without_es256_is_refused() {
    let e = stance(&disc(&["PS256"], &[], true, false)).unwrap_err();
    assert_eq!(crate::error::UserFacing::code(&e), "dpop.unsupported");
    assert!(e.to_string().contains("PS256"));
}

#[test]
fn a_sign_in_reuses_the_stored_key_and_saves_a_new_one_only_through_the_caller() {
    let secrets = MemoryStore::new();
    let bearer = disc(&["ES256"], &[], false, false);
    assert!(for_sign_in(&secrets, "s", &bearer).unwrap().is_none());
    let dpop = disc(&["ES256"], &[], false, true);
    let d = for_sign_in(&secrets, "s", &dpop).unwrap().unwrap();
    assert!(
        DpopKey::load(&secrets, "s").unwrap().is_none(),
        "not saved before the tokens"
    );
    d.key().save(&secrets, "s").unwrap();
    let again = for_sign_in(&secrets, "s", &dpop).unwrap().unwrap();
    assert_eq!(again.key().thumbprint(), d.key().thumbprint());
}

#[test]
fn nonce_refusals_are_recognised_from_either_server() {
    assert!(token_endpoint_asks_for_nonce(
        400,
        br#"{"error":"use_dpop_nonce","error_description":"x"}"#
    ));
    assert!(!token_endpoint_asks_for_nonce(
        400,
        br#"{"error":"invalid_grant"}"#
    ));
    assert!(!token_endpoint_asks_for_nonce(
        401,
        br#"{"error":"use_dpop_nonce"}"#
    ));
    assert!(resource_asks_for_nonce(
        401,
        &[
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
        ]
    ));
    assert!(resource_asks_for_nonce(
        401,
        &[r#"Bearer realm="x", DPoP algs="ES256", error="use_dpop_nonce""#]
    ));
    assert!(!resource_asks_for_nonce(
        401,
        &[r#"DPoP error="invalid_token""#]
    ));
    assert!(!resource_asks_for_nonce(
        401,
        &[r#"Bearer error="use_dpop_nonce""#]
    ));
}

#[test]
fn the_token_of_a_dpop_header_value_is_found() {
    assert_eq!(bound_token("DPoP abc"), Some("abc"));
    assert_eq!(bound_token("dpop abc"), Some("abc"));
    assert_eq!(bound_token("Bearer abc"), None);
    assert_eq!(bound_token(""), None);
}

#[test]
fn a_dpop_challenge_is_read_like_a_bearer_one_and_marks_the_server_as_taking_dpop() {
    // RFC 9449 §7.1: a DPoP-only server challenges with its own scheme, same parameters.
    let only = BearerChallenge::parse(
        r#"DPoP algs="ES256", resource_metadata="http://127.0.0.1:2/.well-known/oauth-protected-resource/mcp""#,
    )
    .unwrap();
    assert!(only.dpop);
    assert_eq!(
        only.resource_metadata.as_deref(),
        Some("http://127.0.0.1:2/.well-known/oauth-protected-resource/mcp")
    );
    // Both schemes: the Bearer challenge's parameters, and the server takes DPoP.
    let both = BearerChallenge::parse(r#"Bearer scope="a", DPoP algs="ES256" scope="b""#).unwrap();
    assert!(both.dpop);
    assert_eq!(both.scope.as_deref(), Some("a"));
    assert!(!BearerChallenge::parse(r#"Bearer scope="a""#).unwrap().dpop);
}

#[test]
fn the_metadata_fields_are_read_and_a_malformed_one_only_means_no_dpop() {
    let u = |s: &str| Url::parse(s).unwrap();
    let prm = |extra: serde_json::Value| {
        let mut doc = serde_json::json!({"resource": "http://127.0.0.1:2/mcp",
            "authorization_servers": ["http://127.0.0.1:1"]});
        doc.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        crate::discovery::resource_metadata::validate(
            &u("http://127.0.0.1:2/.well-known/oauth-protected-resource/mcp"),
            &doc,
            &u("http://127.0.0.1:2/mcp"),
        )
        .unwrap()
        .metadata
    };
    let read = prm(
        serde_json::json!({"dpop_bound_access_tokens_required": true,
        "dpop_signing_alg_values_supported": ["ES256"]}),
    );
    assert!(read.dpop_bound_access_tokens_required);
    assert_eq!(read.dpop_signing_alg_values_supported, vec!["ES256"]);
    // The Python MCP SDK's model may send nulls; a string is malformed: neither refuses the server.
    let odd = prm(
        serde_json::json!({"dpop_bound_access_tokens_required": "yes",
        "dpop_signing_alg_values_supported": null}),
    );
    assert!(!odd.dpop_bound_access_tokens_required);
    assert!(odd.dpop_signing_alg_values_supported.is_empty());
}
