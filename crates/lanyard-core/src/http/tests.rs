//! The guarded client against canned loopback servers and a recording proxy: `localhost`
//! names, caps, redirects, proxies, trust settings.

use super::build::build_client_with;
use super::*;
use crate::error::UserFacing;
use url::Url;

fn u(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A canned HTTP/1.1 server on loopback: `answer(path)` gives the whole response.
async fn canned(answer: fn(&str, u16) -> Vec<u8>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let _ = s.write_all(&answer(&path, port)).await;
                let _ = s.shutdown().await;
            });
        }
    });
    port
}

fn resp(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn routes(path: &str, port: u16) -> Vec<u8> {
    let json = "Content-Type: application/json\r\n";
    match path {
        "/doc" => resp("200 OK", json, br#"{"a":1}"#),
        "/html" => resp("200 OK", "Content-Type: text/html\r\n", b"<p>hi</p>"),
        "/same" => resp("302 Found", "Location: /doc\r\n", b""),
        "/cross" => resp(
            "302 Found",
            &format!("Location: http://localhost:{port}/doc\r\n"),
            b"",
        ),
        "/insecure" => resp("302 Found", "Location: http://example.com/doc\r\n", b""),
        "/loop" => resp("302 Found", "Location: /loop\r\n", b""),
        "/big" => resp("200 OK", json, &vec![b' '; 4096]),
        "/chunked" => {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
            for _ in 0..8 {
                r.extend_from_slice(b"400\r\n");
                r.extend_from_slice(&[b' '; 1024]);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        }
        _ => resp("404 Not Found", json, b"{}"),
    }
}

/// `*.localhost` is trusted for plain http by name, so it must reach loopback without DNS
/// (a resolver could send it anywhere): a made-up name under localhost reaches the local
/// server, whatever the system resolver knows.
#[tokio::test]
async fn localhost_names_resolve_to_loopback_without_dns() {
    let port = canned(routes).await;
    let http = Http::new().unwrap();
    for host in ["lanyard-test-4f2c.localhost", "a.b.LOCALHOST.", "localhost"] {
        let r = http
            .get_json(&u(&format!("http://{host}:{port}/doc")))
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(r.json_value().unwrap()["a"], 1, "{host}");
    }
}

#[tokio::test]
async fn guarded_requests_on_loopback() {
    let port = canned(routes).await;
    let at = |p: &str| u(&format!("http://127.0.0.1:{port}{p}"));
    let http = Http::with_limits(Limits {
        max_body: 2048,
        ..Limits::default()
    })
    .unwrap();

    let r = http.get_json(&at("/doc")).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json_value().unwrap()["a"], 1);

    // Same-origin redirect: followed, re-validated, recorded.
    let r = http.get_json(&at("/same")).await.unwrap();
    assert_eq!((r.status, r.url.path()), (200, "/doc"));
    assert_eq!(r.redirected_from, vec![at("/same")]);
    // POSTs never follow.
    let r = http
        .post_form(&at("/same"), &[("a", "b")], None)
        .await
        .unwrap();
    assert_eq!(r.status, 302);

    assert!(matches!(
        http.get_json(&at("/cross")).await,
        Err(HttpError::CrossOriginRedirect { .. })
    ));
    assert!(matches!(
        http.get_json(&at("/insecure")).await,
        Err(HttpError::CrossOriginRedirect { .. })
    ));
    assert!(matches!(
        http.get_json(&at("/loop")).await,
        Err(HttpError::TooManyRedirects { .. })
    ));
    // Size cap, by Content-Length and by counting a chunked stream.
    assert!(matches!(
        http.get_json(&at("/big")).await,
        Err(HttpError::TooLarge { limit: 2048, .. })
    ));
    assert!(matches!(
        http.get_json(&at("/chunked")).await,
        Err(HttpError::TooLarge { .. })
    ));
    // Content type.
    let r = http.get_json(&at("/html")).await.unwrap();
    assert!(matches!(r.json_value(), Err(HttpError::NotJson { .. })));
    // Status comes back as is; the body of a discarded request is not read.
    assert_eq!(http.get_json(&at("/nothing")).await.unwrap().status, 404);
    let r = http
        .send(Request::new(Method::GET, at("/big")).discard_body())
        .await
        .unwrap();
    assert!(r.body.is_empty());
    // The URL policy is applied before connecting.
    assert!(matches!(
        http.get_json(&u("http://example.com/x")).await,
        Err(HttpError::InsecureUrl { .. })
    ));
}

/// A proxy that records the first line of every connection and answers 502.
async fn recording_proxy() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", l.local_addr().unwrap().port());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut s = tokio::io::BufReader::new(s);
                let mut line = String::new();
                let _ = s.read_line(&mut line).await;
                record.lock().unwrap().push(line.trim().to_owned());
                let _ = s
                    .get_mut()
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (url, seen)
}

fn vars(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
}

/// Plain http is allowed to loopback hosts because it never leaves the machine; a proxy
/// would take it off the machine, so loopback is never proxied, whatever the variables say.
#[tokio::test]
async fn loopback_hosts_are_reached_directly_whatever_the_proxy_variables_say() {
    let port = canned(routes).await;
    let (proxy, seen) = recording_proxy().await;
    let env = vars(
        ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"]
            .into_iter()
            .map(|k| (k, proxy.clone()))
            .collect(),
    );
    let http = Http::over(build_client_with(&Limits::default(), &env, None).unwrap());
    for host in [
        "127.0.0.1",
        "127.0.0.1.",
        "localhost",
        "LOCALHOST.",
        "a.b.localhost",
    ] {
        let r = http
            .get_json(&u(&format!("http://{host}:{port}/doc")))
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(r.json_value().unwrap()["a"], 1, "{host}");
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[tokio::test]
async fn other_hosts_are_tunnelled_through_https_proxy() {
    let (proxy, seen) = recording_proxy().await;
    let env = vars(vec![("https_proxy", proxy)]);
    let http = Http::over(build_client_with(&Limits::default(), &env, None).unwrap());
    let e = http
        .get_json(&u("https://lanyard-test.invalid:8443/x"))
        .await
        .unwrap_err();
    assert!(e.is_transport(), "{e}");
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("CONNECT lanyard-test.invalid:8443 HTTP/1.1")
    );
}

#[test]
fn an_unusable_ca_file_or_proxy_fails_the_client_naming_the_setting() {
    for (var, value, named) in [
        (
            "LANYARD_CA_FILE",
            "/nonexistent/ca.pem",
            "LANYARD_CA_FILE=/nonexistent/ca.pem",
        ),
        ("ALL_PROXY", "socks5://p:1080", "ALL_PROXY=socks5://p:1080"),
    ] {
        let env = vars(vec![(var, value.to_owned())]);
        match build_client_with(&Limits::default(), &env, None) {
            Err(e @ HttpError::Setting { .. }) => {
                assert!(e.to_string().contains(named), "{e}");
                assert_eq!(e.code(), "http.setting");
                assert!(e.next_step().contains(var), "{}", e.next_step());
            }
            other => panic!("{var}: {:?}", other.map(|_| "a client")),
        }
    }
}
