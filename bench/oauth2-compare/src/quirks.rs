//! Field answers of token endpoints that no stack of the test world gives, replayed by a
//! loopback HTTP server, each to one refresh request by Lanyard's own code
//! (`tokens::endpoint::refresh`), by the crate as documented, and by the crate + adapter.
//! All three go through the same guard.

use lanyard_core::http::{Http, Limits, build_client};
use lanyard_core::tokens::TokenError;
use lanyard_core::tokens::endpoint::{self, ClientCredentials, TokenAuthMethod, TokenParams};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RefreshToken, TokenResponse, TokenUrl};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::adapter::{self, AdaptedClient};
use crate::flow::describe;
use crate::guard::Guard;

pub struct Case {
    pub name: &'static str,
    status: u16,
    content_type: Option<&'static str>,
    extra_header: Option<&'static str>,
    body: Vec<u8>,
}

fn json(name: &'static str, status: u16, body: &str) -> Case {
    Case {
        name,
        status,
        content_type: Some("application/json"),
        extra_header: None,
        body: body.as_bytes().to_vec(),
    }
}

pub fn cases() -> Vec<Case> {
    let tok = |rest: &str| format!(r#"{{"access_token":"at-1"{rest}}}"#);
    vec![
        json(
            "standard answer",
            200,
            &tok(r#","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2""#),
        ),
        json(
            "`expires_in` as a string",
            200,
            &tok(r#","token_type":"Bearer","expires_in":"3600","refresh_token":"rt-2""#),
        ),
        json(
            "`expires_in` as a float",
            200,
            &tok(r#","token_type":"Bearer","expires_in":3599.5,"refresh_token":"rt-2""#),
        ),
        json("no `token_type`", 200, &tok(r#","expires_in":3600"#)),
        json(
            "`token_type` \"bearer\" (lower case)",
            200,
            &tok(r#","token_type":"bearer","expires_in":3600"#),
        ),
        json(
            "`token_type` \"mac\"",
            200,
            &tok(r#","token_type":"mac","expires_in":3600"#),
        ),
        json(
            "refresh answer without `refresh_token`",
            200,
            &tok(r#","token_type":"Bearer","expires_in":3600"#),
        ),
        Case {
            name: "no Content-Type",
            content_type: None,
            ..json("", 200, &tok(r#","token_type":"Bearer","expires_in":3600"#))
        },
        json(
            "201 Created with a token",
            201,
            &tok(r#","token_type":"Bearer","expires_in":3600"#),
        ),
        json("400 invalid_grant", 400, r#"{"error":"invalid_grant"}"#),
        json("401 invalid_client", 401, r#"{"error":"invalid_client"}"#),
        json(
            "401 unauthorized_client",
            401,
            r#"{"error":"unauthorized_client"}"#,
        ),
        Case {
            name: "401 HTML page (a proxy's login)",
            content_type: Some("text/html"),
            ..json("", 401, "<html><body>Sign in</body></html>")
        },
        Case {
            name: "401 empty body",
            content_type: None,
            ..json("", 401, "")
        },
        Case {
            name: "503 text/plain",
            content_type: Some("text/plain"),
            ..json("", 503, "upstream down")
        },
        Case {
            name: "302 to another host",
            content_type: None,
            extra_header: Some("Location: http://127.0.0.2:9/steal"),
            ..json("", 302, "")
        },
        Case {
            name: "5 MiB answer",
            ..json(
                "",
                200,
                &tok(&format!(
                    r#","token_type":"Bearer","pad":"{}""#,
                    "x".repeat(5 * 1024 * 1024)
                )),
            )
        },
    ]
}

/// Serves `case` to every connection until aborted.
async fn serve(case: &Case) -> (Url, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        case.status,
        case.body.len()
    );
    if let Some(ct) = case.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if let Some(h) = case.extra_header {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&case.body);
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut got = Vec::new();
                // The whole request (headers + the short form) before answering.
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        let text = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let _ = s.write_all(&answer).await;
                let _ = s.shutdown().await;
            });
        }
    });
    let url = Url::parse(&format!("http://127.0.0.1:{port}/token")).expect("url");
    (url, task)
}

fn short(s: String) -> String {
    let s = s.replace('|', "/").replace('\n', " ");
    if s.chars().count() > 90 {
        format!("{}…", s.chars().take(90).collect::<String>())
    } else {
        s
    }
}

fn lanyard_text(r: Result<lanyard_core::tokens::TokenSet, TokenError>) -> String {
    match r {
        Ok(t) => format!(
            "token, {} s, refresh {}",
            t.expires_at - t.obtained_at,
            match t.refresh_token.as_deref() {
                Some("rt-1") => "kept",
                Some(_) => "new",
                None => "none",
            }
        ),
        Err(e) => {
            let retry = if e.refused_client_auth() {
                " → retries other method"
            } else {
                ""
            };
            let class = match &e {
                TokenError::InvalidGrant { .. } => "invalid_grant".to_owned(),
                TokenError::InvalidClient { .. } => "invalid_client".to_owned(),
                TokenError::Rejected { status, error, .. } => format!("HTTP {status} ({error})"),
                TokenError::Network { .. } => "network".to_owned(),
                TokenError::BadResponse { detail, .. } => format!("refused: {detail}"),
            };
            format!("{class}{retry}")
        }
    }
}

fn token_text<T: TokenResponse>(t: &T) -> String {
    format!(
        "token, {}, refresh {}",
        t.expires_in()
            .map(|d| format!("{} s", d.as_secs()))
            .unwrap_or_else(|| "no expiry".into()),
        if t.refresh_token().is_some() {
            "new"
        } else {
            "none"
        }
    )
}

/// One row: (case, Lanyard, crate as documented, crate + adapter).
pub async fn run() -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for case in cases() {
        let (url, task) = serve(&case).await;
        let client = build_client(&Limits::oauth()).expect("client");
        let creds = ClientCredentials {
            client_id: "c".into(),
            secret: Some("s".into()),
            method: TokenAuthMethod::ClientSecretPost,
        };
        let ours =
            endpoint::refresh(&client, &url, &creds, "rt-1", &TokenParams::default(), None).await;
        let guard = Guard::new(Http::over(client.clone()));
        let rt = RefreshToken::new("rt-1".into());
        let plain = BasicClient::new(ClientId::new("c".into()))
            .set_client_secret(ClientSecret::new("s".into()))
            .set_auth_type(oauth2::AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(url.clone()));
        let plain_text = match plain
            .exchange_refresh_token(&rt)
            .request_async(&guard)
            .await
        {
            Ok(t) => token_text(&t),
            Err(e) => describe(&e),
        };
        let adapted = AdaptedClient::new(ClientId::new("c".into()))
            .set_client_secret(ClientSecret::new("s".into()))
            .set_auth_type(oauth2::AuthType::RequestBody)
            .set_auth_uri(oauth2::AuthUrl::from_url(url.clone()))
            .set_token_uri(TokenUrl::from_url(url.clone()));
        let adapted_text = match adapter::token_request(&adapted, true, &guard, |_| {
            adapted.exchange_refresh_token(&rt).request_async(&guard)
        })
        .await
        {
            Ok(t) => {
                let kept = adapter::keep_refresh_token(&t, "rt-1");
                format!(
                    "token, {}, refresh {}",
                    t.expires_in()
                        .map(|d| format!("{} s", d.as_secs()))
                        .unwrap_or_else(|| "no expiry".into()),
                    if kept == "rt-1" { "kept" } else { "new" }
                )
            }
            Err(r) => {
                let retry = if r.refused_client_auth() {
                    " → retries other method"
                } else {
                    ""
                };
                format!("{r}{retry}")
            }
        };
        task.abort();
        rows.push([
            case.name.to_owned(),
            short(lanyard_text(ours)),
            short(plain_text),
            short(adapted_text),
        ]);
    }
    rows
}
