//! Without `--features oauth2`: reads a token answer with serde_json (the baseline). With it:
//! the crate's code exchange, refresh, revocation and device grant, answered in-process, so the
//! linker keeps every path Lanyard would use.

#[cfg(feature = "oauth2")]
fn main() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, DeviceAuthorizationUrl, PkceCodeChallenge,
        RefreshToken, RevocationUrl, StandardRevocableToken, TokenResponse, TokenUrl,
    };
    let body = std::env::args().nth(1).unwrap_or_default().into_bytes();
    let http = |_req: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, std::io::Error> {
        oauth2::http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(body.clone())
            .map_err(std::io::Error::other)
    };
    let u = url::Url::parse("http://127.0.0.1/t").expect("url");
    let c = BasicClient::new(ClientId::new("c".into()))
        .set_auth_uri(AuthUrl::from_url(u.clone()))
        .set_token_uri(TokenUrl::from_url(u.clone()))
        .set_revocation_url(RevocationUrl::from_url(u.clone()))
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(u.clone()));
    let (ch, v) = PkceCodeChallenge::new_random_sha256();
    let _ = c
        .authorize_url(oauth2::CsrfToken::new_random)
        .set_pkce_challenge(ch)
        .url();
    let t = c
        .exchange_code(AuthorizationCode::new("x".into()))
        .set_pkce_verifier(v)
        .request(&http);
    let r = c
        .exchange_refresh_token(&RefreshToken::new("r".into()))
        .request(&http);
    let rv = c
        .revoke_token(StandardRevocableToken::RefreshToken(RefreshToken::new(
            "r".into(),
        )))
        .map(|q| q.request(&http));
    let d: Result<oauth2::StandardDeviceAuthorizationResponse, _> =
        c.exchange_device_code().request(&http);
    if let Ok(d) = &d {
        let _ = c
            .exchange_device_access_token(d)
            .request(&http, std::thread::sleep, None);
    }
    println!(
        "{:?} {:?} {} {}",
        t.map(|t| t.access_token().secret().len()),
        r.map(|t| t.expires_in()),
        rv.is_ok(),
        d.is_ok()
    );
}

#[cfg(not(feature = "oauth2"))]
fn main() {
    let body = std::env::args().nth(1).unwrap_or_default();
    let u = url::Url::parse("http://127.0.0.1/t").expect("url");
    let v: Result<serde_json::Value, _> = serde_json::from_str(&body);
    println!("{:?} {}", v.map(|v| v["access_token"].is_string()), u);
}
